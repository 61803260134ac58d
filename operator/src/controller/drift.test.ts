// Drift detection: when a rendered object needs applying again.
import { describe, expect, it } from 'vitest';
import { renderPolicy } from '../render/index.js';
import { contains, driftReason, RENDER_HASH_ANNOTATION, withRenderHash } from './drift.js';
import { policy } from './testdata/policy.js';

describe('drift', () => {
  const [wasm] = renderPolicy(policy()).map(withRenderHash);

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
    const rotated = withRenderHash(renderPolicy(policy({ denyPatterns: ['(?i)new-pattern'] }))[0]!);
    const hashOf = (o: unknown) => (o as { metadata: { annotations: Record<string, string> } }).metadata.annotations[RENDER_HASH_ANNOTATION];
    expect(hashOf(rotated)).toMatch(/^sha256:/);
    expect(hashOf(rotated)).not.toBe(hashOf(wasm));
    expect(driftReason(rotated, JSON.parse(JSON.stringify(wasm)))).toBe('rendering changed');
    const edited = JSON.parse(JSON.stringify(wasm)) as { spec: { url: string } };
    edited.spec.url = 'oci://other';
    expect(driftReason(wasm!, edited)).toBe('spec.url changed');
  });
});
