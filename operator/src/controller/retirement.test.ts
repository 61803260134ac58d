import { describe, expect, it } from 'vitest';
import { Retirements } from './retirement.js';

describe('Retirements', () => {
  it('an object may go once its grace has passed since it was first seen unwanted', () => {
    let now = 1_000;
    const r = new Retirements(90_000, () => now);
    expect(r.remainingMs('apps/ServiceEntry/guard-x/uid-1')).toBe(90_000);
    now += 30_000;
    expect(r.remainingMs('apps/ServiceEntry/guard-x/uid-1'), 'seeing it again does not restart the grace').toBe(60_000);
    now += 60_000;
    expect(r.remainingMs('apps/ServiceEntry/guard-x/uid-1')).toBe(0);
  });

  it('wanted again in between: a later retirement starts a new grace', () => {
    let now = 0;
    const r = new Retirements(10_000, () => now);
    r.remainingMs('a');
    now += 9_000;
    r.forget('a');
    expect(r.size).toBe(0);
    expect(r.remainingMs('a')).toBe(10_000);
  });

  it('a grace of 0 deletes at once', () => {
    expect(new Retirements(0).remainingMs('a')).toBe(0);
  });

  it('forgetAll drops a deleted policy\'s objects, not another policy\'s', () => {
    const r = new Retirements(10_000);
    r.remainingMs('apps/chat/ServiceEntry/a/1');
    r.remainingMs('apps/chat2/ServiceEntry/b/2');
    r.forgetAll('apps/chat/');
    expect(r.size).toBe(1);
  });
});
