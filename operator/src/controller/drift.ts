// Deciding whether an owned object needs applying: each rendered object carries the hash of its
// rendering in an annotation; an object needs applying when it's missing, its hash differs, or its
// live content no longer contains what we render (someone edited or removed a field we own).
// Fields the apiserver or others add (defaults, other managers) don't count as drift.
import { createHash } from 'node:crypto';
import type { RenderedObject } from '../render/index.js';
import type { KubeObject } from '../kube/objects.js';

export const RENDER_HASH_ANNOTATION = 'llmguard.io/render-hash';

export function renderHash(obj: RenderedObject): string {
  return 'sha256:' + createHash('sha256').update(JSON.stringify(obj)).digest('hex');
}

/** The object as it is applied: the rendering plus its hash annotation. */
export function withRenderHash(obj: RenderedObject): RenderedObject {
  const hash = renderHash(obj);
  const meta = obj.metadata as RenderedObject['metadata'] & { annotations?: Record<string, string> };
  const metadata = { ...meta, annotations: { ...(meta.annotations ?? {}), [RENDER_HASH_ANNOTATION]: hash } };
  return { ...obj, metadata } as RenderedObject;
}

/** Whether `want` (scalars, objects, arrays) is contained in `have`: same arrays, objects with at least these keys. */
export function contains(want: unknown, have: unknown): boolean {
  return firstDifference(want, have, '') === undefined;
}

/**
 * Where `have` first fails to contain `want`, as a path under `path` (`spec.url`,
 * `spec.ports[0].number`); undefined when it contains it. Names the field, never its value.
 */
export function firstDifference(want: unknown, have: unknown, path: string): string | undefined {
  if (Array.isArray(want)) {
    if (!Array.isArray(have) || have.length !== want.length) return path;
    for (let i = 0; i < want.length; i++) {
      const d = firstDifference(want[i], have[i], `${path}[${i}]`);
      if (d !== undefined) return d;
    }
    return undefined;
  }
  if (typeof want === 'object' && want !== null) {
    if (typeof have !== 'object' || have === null || Array.isArray(have)) return path;
    const h = have as Record<string, unknown>;
    for (const [k, v] of Object.entries(want as Record<string, unknown>)) {
      const d = firstDifference(v, h[k], path ? `${path}.${k}` : k);
      if (d !== undefined) return d;
    }
    return undefined;
  }
  return want === have ? undefined : path;
}

/** Why `desired` (with its hash annotation) must be applied over `live`, or undefined when it need not. */
export function driftReason(desired: RenderedObject, live: KubeObject | undefined): string | undefined {
  if (!live) return 'missing';
  const dm = desired.metadata as Record<string, unknown> & { annotations?: Record<string, string>; labels?: Record<string, string>; ownerReferences?: unknown[] };
  const lm = live.metadata ?? {};
  if (lm.deletionTimestamp) return 'being deleted';
  if (lm.annotations?.[RENDER_HASH_ANNOTATION] !== dm.annotations?.[RENDER_HASH_ANNOTATION]) return 'rendering changed';
  if (!contains(dm.labels ?? {}, lm.labels ?? {})) return 'labels changed';
  for (const ref of (dm.ownerReferences ?? []) as Record<string, unknown>[]) {
    if (!(lm.ownerReferences ?? []).some((r) => contains(ref, r))) return 'owner reference changed';
  }
  for (const [k, v] of Object.entries(desired)) {
    if (k === 'apiVersion' || k === 'kind' || k === 'metadata') continue;
    const d = firstDifference(v, live[k], k);
    if (d !== undefined) return `${d} changed`;
  }
  return undefined;
}
