// What the benchmark applies: N LlmGuardPolicies in one namespace (each its own workloads,
// api.openai.com, a key in a Secret), applied server-side with a few requests in flight as a
// GitOps tool does; a watch that sees each one become Ready at its generation; and unrelated
// Secrets of ~1 KiB.
import { randomBytes } from 'node:crypto';
import { pool } from './kube.mjs';

export const POLICY_PATH = '/apis/llmguard.io/v1alpha1';
export const FIELD_MANAGER = 'bench-gitops';

/** @param {string} ns @param {number} i */
export function policyObject(ns, i) {
  return {
    apiVersion: 'llmguard.io/v1alpha1',
    kind: 'LlmGuardPolicy',
    metadata: { name: `policy-${String(i).padStart(5, '0')}`, namespace: ns },
    spec: {
      selector: { matchLabels: { app: `app-${i}` } },
      providers: [{ host: 'api.openai.com', authStyle: 'bearer', apiKeys: [{ secretKeyRef: { name: 'openai-keys', key: 'primary' } }] }],
      denyPatterns: ['(?i)ignore\\s+(all\\s+|any\\s+)?(previous|prior|above)\\s+instructions', '\\bAKIA[0-9A-Z]{16}\\b', `(?i)project-${i}-codename`],
      plugin: { url: 'oci://ghcr.io/llm-egress-guard/llm-guard:0.1.0' },
    },
  };
}

/** @param {string} ns @param {string} name @param {Record<string, string>} data */
export function secretObject(ns, name, data) {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name, namespace: ns },
    type: 'Opaque',
    data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v).toString('base64')])),
  };
}

/** @param {any} p */
export function isReady(p) {
  const st = p?.status;
  const ready = st?.conditions?.find((/** @type {any} */ c) => c.type === 'Ready');
  return ready?.status === 'True' && st?.observedGeneration === p?.metadata?.generation;
}

/**
 * Applies `n` policies with `concurrency` applies in flight while a watch records when each turns
 * Ready; resolves once all are Ready (or after timeoutMs).
 * @param {import('./kube.mjs').Kube} kube
 * @param {{ ns: string, n: number, concurrency: number, timeoutMs: number, onProgress?: (ready: number) => void }} o
 */
export async function createPolicies(kube, o) {
  const collection = `${POLICY_PATH}/namespaces/${o.ns}/llmguardpolicies`;
  const list = await kube.must('GET', collection);
  /** @type {Map<string, number>} name -> ms (performance.now) the watch first saw it Ready */
  const readyAt = new Map();
  /** @type {Map<string, number>} name -> ms its apply returned */
  const appliedAt = new Map();
  /** @type {(() => void) | undefined} */
  let allReady;
  const done = new Promise((r) => (allReady = () => r(undefined)));
  let statusEvents = 0;
  const stopWatch = kube.watch(collection, list.metadata.resourceVersion, (type, obj) => {
    if (type !== 'MODIFIED' && type !== 'ADDED') return;
    const name = obj.metadata.name;
    if (type === 'MODIFIED') statusEvents++;
    if (!readyAt.has(name) && isReady(obj)) {
      readyAt.set(name, performance.now());
      o.onProgress?.(readyAt.size);
      if (readyAt.size >= o.n) allReady?.();
    }
  });
  const objs = Array.from({ length: o.n }, (_, i) => policyObject(o.ns, i));
  const firstApply = performance.now();
  /** @type {number[]} */
  const applyMs = [];
  await pool(objs, o.concurrency, async (obj) => {
    const t = performance.now();
    await kube.apply(`${collection}/${obj.metadata.name}`, obj, FIELD_MANAGER);
    const now = performance.now();
    applyMs.push(now - t);
    appliedAt.set(obj.metadata.name, now);
  });
  const lastApply = performance.now();
  const timeout = new Promise((r) => setTimeout(() => r('timeout'), o.timeoutMs).unref());
  const outcome = await Promise.race([done, timeout]);
  const finished = performance.now();
  stopWatch();
  // Check with a list, not only the watch.
  const final = await kube.must('GET', collection);
  const readyNow = final.items.filter(isReady).length;
  const notReady = final.items.filter((/** @type {any} */ p) => !isReady(p)).slice(0, 5);
  /** per policy: ms from its own apply to its Ready */
  const latencies = [...readyAt].map(([name, t]) => t - (appliedAt.get(name) ?? firstApply)).sort((a, b) => a - b);
  const lastReady = Math.max(...readyAt.values(), lastApply);
  return {
    timedOut: outcome === 'timeout',
    applied: o.n,
    readyInList: readyNow,
    notReadySample: notReady.map((/** @type {any} */ p) => ({ name: p.metadata.name, status: p.status })),
    applySeconds: (lastApply - firstApply) / 1000,
    applyMsMedian: median(applyMs),
    /** from the last apply's return to the last policy Ready */
    lastApplyToAllReadyS: (lastReady - lastApply) / 1000,
    /** from the first apply to the last policy Ready */
    firstApplyToAllReadyS: (lastReady - firstApply) / 1000,
    readyAtLastApply: [...readyAt.values()].filter((t) => t <= lastApply).length,
    perPolicyReadyMs: { p50: pct(latencies, 0.5), p90: pct(latencies, 0.9), p99: pct(latencies, 0.99), max: latencies.at(-1) ?? NaN },
    statusEvents,
    startedAt: firstApply,
    lastApplyAt: lastApply,
    finishedAt: finished,
  };
}

/**
 * Creates `n` Secrets of ~1 KiB of data, alternately in each namespace of `namespaces`.
 * @param {import('./kube.mjs').Kube} kube @param {{ namespaces: string[], n: number, concurrency: number }} o
 */
export async function createSecrets(kube, o) {
  const t0 = performance.now();
  const items = Array.from({ length: o.n }, (_, i) => i);
  await pool(items, o.concurrency, async (i) => {
    const ns = o.namespaces[i % o.namespaces.length];
    const body = secretObject(ns, `unrelated-${String(i).padStart(5, '0')}`, { 'tls.key': randomBytes(512).toString('hex') + '\n', note: `bench ${i}` });
    await kube.must('POST', `/api/v1/namespaces/${ns}/secrets`, { body });
  });
  return { seconds: (performance.now() - t0) / 1000 };
}

/** @param {number[]} v */
function median(v) {
  return pct([...v].sort((a, b) => a - b), 0.5);
}

/** @param {number[]} sorted @param {number} q */
function pct(sorted, q) {
  if (!sorted.length) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}
