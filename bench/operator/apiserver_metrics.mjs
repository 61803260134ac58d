// kube-apiserver's own request metrics (apiserver_request_duration_seconds), read as the admin,
// summed by verb and resource: how many requests of each kind the apiserver served in a phase and
// how long it took over them, whoever sent them.
import { parseMetrics } from './operator.mjs';

/** @param {import('./kube.mjs').Kube} kube */
export async function apiserverRequestStats(kube) {
  const r = await kube.request('GET', '/metrics', { accept: 'text/plain' });
  const text = typeof r.body === 'string' ? r.body : '';
  /** @type {Record<string, { count: number, seconds: number }>} */
  const out = {};
  for (const s of parseMetrics(text)) {
    const isCount = s.name === 'apiserver_request_duration_seconds_count';
    const isSum = s.name === 'apiserver_request_duration_seconds_sum';
    if (!isCount && !isSum) continue;
    if (s.labels.verb === 'WATCH' || s.labels.verb === 'CONNECT') continue;
    const key = `${s.labels.verb} ${s.labels.resource}${s.labels.subresource ? `/${s.labels.subresource}` : ''}`;
    const e = (out[key] ??= { count: 0, seconds: 0 });
    if (isCount) e.count += s.value;
    else e.seconds += s.value;
  }
  return out;
}

/**
 * b - a, keeping kinds with requests in between, busiest first.
 * @param {Awaited<ReturnType<typeof apiserverRequestStats>>} a @param {Awaited<ReturnType<typeof apiserverRequestStats>>} b
 */
export function apiserverDiff(a, b) {
  /** @type {{ request: string, count: number, meanMs: number, totalS: number }[]} */
  const rows = [];
  for (const [k, v] of Object.entries(b)) {
    const count = v.count - (a[k]?.count ?? 0);
    const seconds = v.seconds - (a[k]?.seconds ?? 0);
    if (count > 0) rows.push({ request: k, count, meanMs: (seconds / count) * 1000, totalS: seconds });
  }
  return rows.sort((x, y) => y.count - x.count);
}
