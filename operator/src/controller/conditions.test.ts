// Status conditions: Ready from the others, transition times kept unless the status changes.
import { describe, expect, it } from 'vitest';
import { nextStatus, readyCondition, statusDiffers, type ConditionInput } from './conditions.js';

describe('conditions', () => {
  const ok: ConditionInput[] = [
    { type: 'Accepted', status: 'True', reason: 'Accepted', message: 'm' },
    { type: 'ResolvedRefs', status: 'True', reason: 'ResolvedRefs', message: 'm' },
    { type: 'Programmed', status: 'True', reason: 'Programmed', message: 'm' },
  ];

  it('Ready follows the first failing condition', () => {
    expect(readyCondition(ok).status).toBe('True');
    const bad = [ok[0]!, { type: 'ResolvedRefs', status: 'False', reason: 'SecretNotFound', message: 'Secret "x" not found' } as ConditionInput, ok[2]!];
    expect(readyCondition(bad)).toMatchObject({ status: 'False', reason: 'SecretNotFound' });
  });

  it('keeps lastTransitionTime unless the status changes, and reports no difference when nothing changed', () => {
    const s1 = nextStatus(undefined, 1, [...ok, readyCondition(ok)], 'T1');
    expect(s1.observedGeneration).toBe(1);
    expect(s1.conditions?.map((c) => c.type)).toEqual(['Accepted', 'ResolvedRefs', 'Programmed', 'Ready']);
    expect(s1.conditions?.every((c) => c.lastTransitionTime === 'T1' && c.observedGeneration === 1)).toBe(true);
    const s2 = nextStatus(s1, 1, [...ok, readyCondition(ok)], 'T2');
    expect(statusDiffers(s1, s2)).toBe(false);
    const changed = [ok[0]!, { ...ok[1]!, status: 'False', reason: 'SecretNotFound' } as ConditionInput, ok[2]!];
    const s3 = nextStatus(s2, 1, [...changed, readyCondition(changed)], 'T3');
    expect(statusDiffers(s2, s3)).toBe(true);
    expect(s3.conditions?.find((c) => c.type === 'Accepted')?.lastTransitionTime).toBe('T1');
    expect(s3.conditions?.find((c) => c.type === 'ResolvedRefs')?.lastTransitionTime).toBe('T3');
    // A new message with the same status keeps the time but is a difference.
    const msg = [{ ...ok[0]!, message: 'other' }, ok[1]!, ok[2]!];
    const s4 = nextStatus(s1, 1, [...msg, readyCondition(msg)], 'T4');
    expect(statusDiffers(s1, s4)).toBe(true);
    expect(s4.conditions?.[0]?.lastTransitionTime).toBe('T1');
    // A new generation is a difference.
    expect(statusDiffers(s1, nextStatus(s1, 2, [...ok, readyCondition(ok)], 'T5'))).toBe(true);
  });

  it('puts Guarded, when there is one, before Ready; Ready does not follow it', () => {
    const guarded: ConditionInput = { type: 'Guarded', status: 'False', reason: 'WeakeningSettings', message: 'fail open' };
    const s = nextStatus(undefined, 1, [readyCondition(ok), guarded, ...ok], 'T1');
    expect(s.conditions?.map((c) => c.type)).toEqual(['Accepted', 'ResolvedRefs', 'Programmed', 'Guarded', 'Ready']);
    expect(s.conditions?.find((c) => c.type === 'Ready')?.status).toBe('True');
  });

  it('carries every provider host for kubectl get; a changed list is a difference', () => {
    const s1 = nextStatus(undefined, 1, [...ok, readyCondition(ok)], 'T1', 'api.openai.com, api.anthropic.com');
    expect(s1.hosts).toBe('api.openai.com, api.anthropic.com');
    expect(statusDiffers(s1, nextStatus(s1, 1, [...ok, readyCondition(ok)], 'T2', 'api.openai.com, api.anthropic.com'))).toBe(false);
    expect(statusDiffers(s1, nextStatus(s1, 1, [...ok, readyCondition(ok)], 'T2', 'api.openai.com'))).toBe(true);
    expect(nextStatus(undefined, 1, ok, 'T1').hosts).toBeUndefined();
  });
});
