// Unit tests of the controller's pure parts: work queue, conditions, drift detection, Secret
// resolution, validation, redaction, metrics text. The controller against a real apiserver is in
// *.int.test.ts.
import { describe, expect, it } from 'vitest';
import type { LlmGuardPolicy } from '../src/api/v1alpha1/llm_guard_policy.js';
import { nextStatus, readyCondition, statusDiffers, type ConditionInput } from '../src/controller/conditions.js';
import { contains, driftReason, RENDER_HASH_ANNOTATION, withRenderHash } from '../src/controller/drift.js';
import { microTime } from '../src/controller/leader.js';
import { Metrics } from '../src/controller/metrics.js';
import { WorkQueue } from '../src/controller/queue.js';
import { redact } from '../src/controller/redact.js';
import { SecretIndex } from '../src/controller/secret_index.js';
import { resolveSecrets } from '../src/controller/secrets.js';
import { validatePolicy } from '../src/controller/validate.js';
import { renderPolicy } from '../src/render/index.js';

const b64 = (s: string) => Buffer.from(s).toString('base64');

function policy(overrides: Partial<LlmGuardPolicy['spec']> = {}, name = 'guard'): LlmGuardPolicy {
  return {
    apiVersion: 'llmguard.io/v1alpha1',
    kind: 'LlmGuardPolicy',
    metadata: { name, namespace: 'ns', uid: 'u-1', generation: 3 },
    spec: {
      providers: [{ host: 'api.openai.com', apiKeys: [{ secretKeyRef: { name: 'openai', key: 'k' } }] }],
      plugin: { url: 'oci://example/guard:1' },
      ...overrides,
    },
  };
}

describe('WorkQueue', () => {
  it('de-duplicates queued keys and hands them out in order', async () => {
    const q = new WorkQueue();
    q.add('a');
    q.add('b');
    q.add('a');
    expect(q.len()).toBe(2);
    expect(await q.get()).toBe('a');
    expect(await q.get()).toBe('b');
    expect(q.len()).toBe(0);
  });

  it('never hands out a key being processed; an add meanwhile re-queues it after done()', async () => {
    const q = new WorkQueue();
    q.add('a');
    const k = await q.get();
    q.add('a');
    q.add('a');
    expect(q.len()).toBe(0);
    let got: string | undefined;
    void q.get().then((x) => (got = x));
    await Promise.resolve();
    expect(got).toBeUndefined();
    q.done(k!);
    await new Promise((r) => setTimeout(r, 0));
    expect(got).toBe('a');
    q.done('a');
    expect(q.len()).toBe(0);
  });

  it('backs off per key exponentially up to the cap, and forget() resets', () => {
    const q = new WorkQueue({ baseDelayMs: 100, maxDelayMs: 1000 });
    const delays = [1, 2, 3, 4, 5, 6].map(() => q.addRateLimited('a'));
    expect(delays).toEqual([100, 200, 400, 800, 1000, 1000]);
    expect(q.addRateLimited('b')).toBe(100);
    q.forget('a');
    expect(q.addRateLimited('a')).toBe(100);
    q.shutdown();
  });

  it('delayed adds fire once, the earliest winning', async () => {
    const q = new WorkQueue();
    q.addAfter('a', 200);
    q.addAfter('a', 20);
    expect(q.delayedLen()).toBe(1);
    expect(await q.get()).toBe('a');
    expect(q.delayedLen()).toBe(0);
    q.shutdown();
  });

  it('shutdown releases waiting workers', async () => {
    const q = new WorkQueue();
    const waiting = q.get();
    q.shutdown();
    expect(await waiting).toBeUndefined();
    expect(await q.get()).toBeUndefined();
  });
});

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
});

describe('drift', () => {
  const values = new Map([['openai/k', 'sk-1']]);
  const [wasm] = renderPolicy(policy(), values).map(withRenderHash);

  it('contains() ignores extra fields but not changed or missing ones', () => {
    expect(contains({ a: 1, b: [{ c: 2 }] }, { a: 1, x: 9, b: [{ c: 2, d: 3 }] })).toBe(true);
    expect(contains({ a: 1 }, { a: 2 })).toBe(false);
    expect(contains({ b: [1, 2] }, { b: [1] })).toBe(false);
    expect(contains({ a: { b: 1 } }, {})).toBe(false);
  });

  it('needs no apply when the live object holds the rendering and its hash', () => {
    const live = JSON.parse(JSON.stringify(wasm)) as Record<string, unknown>;
    (live.metadata as Record<string, unknown>).resourceVersion = '7';
    (live.metadata as Record<string, unknown>).managedFields = [];
    (live.spec as Record<string, unknown>).extra = 'defaulted';
    expect(driftReason(wasm!, live)).toBeUndefined();
  });

  it('applies when missing, re-rendered, or edited', () => {
    expect(driftReason(wasm!, undefined)).toBe('missing');
    const rotated = withRenderHash(renderPolicy(policy(), new Map([['openai/k', 'sk-2']]))[0]!);
    const hashOf = (o: unknown) => (o as { metadata: { annotations: Record<string, string> } }).metadata.annotations[RENDER_HASH_ANNOTATION];
    expect(hashOf(rotated)).toMatch(/^sha256:/);
    expect(hashOf(rotated)).not.toBe(hashOf(wasm));
    expect(driftReason(rotated, JSON.parse(JSON.stringify(wasm)))).toBe('rendering changed');
    const edited = JSON.parse(JSON.stringify(wasm)) as { spec: { url: string } };
    edited.spec.url = 'oci://other';
    expect(driftReason(wasm!, edited)).toBe('spec changed');
  });
});

describe('resolveSecrets', () => {
  const p = policy({
    providers: [
      { host: 'a.example', apiKeys: [{ secretKeyRef: { name: 's1', key: 'k' } }, { secretKeyRef: { name: 's2', key: 'k' } }] },
      { host: 'b.example', apiKeys: [{ secretKeyRef: { name: 's3', key: 'k' } }] },
    ],
  });

  it('reports missing Secrets and keys, decodes values and drops a trailing newline', () => {
    const secrets: Record<string, { data?: Record<string, string> }> = {
      s1: { data: { k: b64('v1\n') } },
      s2: { data: { other: b64('x') } },
    };
    const r = resolveSecrets(p, (_ns, name) => secrets[name]);
    expect(r.values.get('s1/k')).toBe('v1');
    expect(r.unresolved.map((u) => [u.name, u.reason])).toEqual([
      ['s2', 'SecretKeyNotFound'],
      ['s3', 'SecretNotFound'],
    ]);
    expect(r.total).toBe(3);
  });
});

describe('validatePolicy', () => {
  it('accepts a valid policy', () => {
    expect(validatePolicy(policy())).toEqual([]);
  });

  it('reports hosts whose objects would share a name', () => {
    const p = policy({
      providers: [
        { host: 'api.openai.com', apiKeys: [{ secretKeyRef: { name: 's', key: 'k' } }] },
        { host: 'api-openai.com', apiKeys: [{ secretKeyRef: { name: 's', key: 'k' } }] },
      ],
    });
    expect(validatePolicy(p).join('\n')).toMatch(/both render ServiceEntry "guard-api-openai-com"/);
  });

  it('reports names too long to label with and https plugins without sha256', () => {
    expect(validatePolicy(policy({}, 'x'.repeat(64))).join('\n')).toMatch(/at most 63/);
    expect(validatePolicy(policy({ plugin: { url: 'https://example/guard.wasm' } })).join('\n')).toMatch(/sha256 is required/);
  });
});

describe('SecretIndex', () => {
  it('maps Secrets to the policies that reference them', () => {
    const idx = new SecretIndex();
    idx.set('ns/a', 'ns', ['s1', 's2']);
    idx.set('ns/b', 'ns', ['s2']);
    expect(idx.policiesFor('ns', 's2').sort()).toEqual(['ns/a', 'ns/b']);
    expect(idx.policiesFor('other', 's2')).toEqual([]);
    idx.set('ns/a', 'ns', ['s3']);
    expect(idx.policiesFor('ns', 's1')).toEqual([]);
    idx.remove('ns/b');
    expect(idx.policiesFor('ns', 's2')).toEqual([]);
  });
});

describe('redact and metrics', () => {
  it('redacts every resolved value, longest first', () => {
    expect(redact('key sk-abc and sk-abcdef leaked', ['sk-abc', 'sk-abcdef', ''])).toBe('key [redacted] and [redacted] leaked');
  });

  it('renders the Prometheus text format', () => {
    const m = new Metrics();
    m.reconcileTotal.inc({ result: 'success' });
    m.reconcileTotal.inc({ result: 'success' });
    m.reconcileDuration.observe(0.02);
    m.queueDepth.set(() => 3);
    const text = m.render();
    expect(text).toContain('# TYPE llmguard_reconcile_total counter\nllmguard_reconcile_total{result="success"} 2\n');
    expect(text).toContain('llmguard_reconcile_duration_seconds_bucket{le="0.025"} 1\n');
    expect(text).toContain('llmguard_reconcile_duration_seconds_bucket{le="0.01"} 0\n');
    expect(text).toContain('llmguard_reconcile_duration_seconds_count 1\n');
    expect(text).toContain('llmguard_workqueue_depth 3\n');
    expect(text).toContain('llmguard_leader 0\n');
  });

  it('formats Lease times with microseconds', () => {
    expect(microTime(Date.UTC(2025, 0, 2, 3, 4, 5, 678))).toBe('2025-01-02T03:04:05.678000Z');
  });
});
