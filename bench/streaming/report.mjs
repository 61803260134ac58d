// From the samples of every round to medians, spreads and paired ratios to the Envoy without the
// filter, and the table printed on stdout. Pure.
import { diff, paired, ratio, spread } from '../floor/stats.mjs';
import { BASELINE } from './envoys.mjs';

/**
 * One measured phase against one Envoy.
 * @typedef {object} Phase
 * @property {number} streams
 * @property {number} bytes           body bytes the client received
 * @property {number} seconds         wall time
 * @property {number} mbps            MB (10^6 bytes) per second
 * @property {number} cpuSeconds      the Envoy's utime + stime over the phase
 * @property {number} cpuMsPerMB
 * @property {number} util            Envoy CPU / wall (1 = one core busy)
 * @property {number} loadUtil        this script's CPU (upstream + client) / wall
 */

/**
 * One fresh Envoy in one round.
 * @typedef {object} Sample
 * @property {number} round
 * @property {string} variant
 * @property {number} ttfbMs          median time to first byte of the short streams
 * @property {number[]} ttfbAllMs     every short stream's
 * @property {Phase} small            one long stream of small events (repeated)
 * @property {Phase} large            one long stream of large events (repeated)
 * @property {Phase} concurrent       many streams at once
 * @property {number} rssAfterMiB
 * @property {number | null} tokensExpected  output tokens the streams' usage chunks report (filter only)
 * @property {number | null} tokensCounted   what the filter counted meanwhile
 */

/**
 * @typedef {object} Measure
 * @property {string} key
 * @property {string} label
 * @property {(s: Sample) => number} get
 * @property {number} digits
 * @property {boolean} [added]   also show the difference to no filter
 * @property {boolean} [noRatio] no ratio to no filter (a share of a core)
 */

/** @param {{smallLabel: string, largeLabel: string, concurrentLabel: string, ttfbN: number}} c @returns {Measure[]} */
export function measures(c) {
  return [
    { key: 'small_mbps', label: `MB/s, one stream, ${c.smallLabel}`, get: (s) => s.small.mbps, digits: 1 },
    { key: 'large_mbps', label: `MB/s, one stream, ${c.largeLabel}`, get: (s) => s.large.mbps, digits: 1 },
    { key: 'concurrent_mbps', label: `MB/s total, ${c.concurrentLabel}`, get: (s) => s.concurrent.mbps, digits: 1 },
    { key: 'small_cpu_ms_per_mb', label: `Envoy CPU ms/MB, ${c.smallLabel}`, get: (s) => s.small.cpuMsPerMB, digits: 2, added: true },
    { key: 'large_cpu_ms_per_mb', label: `Envoy CPU ms/MB, ${c.largeLabel}`, get: (s) => s.large.cpuMsPerMB, digits: 2, added: true },
    { key: 'concurrent_cpu_ms_per_mb', label: `Envoy CPU ms/MB, ${c.concurrentLabel}`, get: (s) => s.concurrent.cpuMsPerMB, digits: 2, added: true },
    { key: 'small_util', label: `Envoy busy %, one stream, ${c.smallLabel}`, get: (s) => s.small.util * 100, digits: 0, noRatio: true },
    { key: 'small_load_util', label: `load side busy %, one stream, ${c.smallLabel}`, get: (s) => s.small.loadUtil * 100, digits: 0, noRatio: true },
    { key: 'ttfb_ms', label: `time to first byte ms (p50 of ${c.ttfbN})`, get: (s) => s.ttfbMs, digits: 3, added: true },
    { key: 'rss_mib', label: 'RSS after, MiB', get: (s) => s.rssAfterMiB, digits: 1, added: true },
  ];
}

/** @param {Sample[]} samples @param {string} variant @param {(s: Sample) => number} get */
const byRound = (samples, variant, get) => new Map(samples.filter((s) => s.variant === variant).map((s) => [s.round, get(s)]));

/**
 * Per measure: each variant's spread, and each non-baseline variant's paired ratio (and
 * difference) to no filter.
 * @param {Sample[]} samples @param {{id: string}[]} variants @param {Measure[]} list
 */
export function summarize(samples, variants, list) {
  return list.map((m) => {
    const base = byRound(samples, BASELINE, m.get);
    /** @type {Record<string, {spread: import('../floor/stats.mjs').Spread, ratio?: import('../floor/stats.mjs').Spread, added?: import('../floor/stats.mjs').Spread}>} */
    const per = {};
    for (const v of variants) {
      const values = byRound(samples, v.id, m.get);
      per[v.id] = { spread: spread([...values.values()]) };
      if (v.id !== BASELINE) {
        if (!m.noRatio) per[v.id].ratio = spread(paired(values, base, ratio));
        if (m.added) per[v.id].added = spread(paired(values, base, diff));
      }
    }
    return { key: m.key, label: m.label, digits: m.digits, variants: per };
  });
}

/** @param {import('../floor/stats.mjs').Spread | undefined} s @param {number} digits */
function cell(s, digits) {
  if (!s || !s.n) return '-';
  const f = (/** @type {number} */ x) => x.toFixed(digits);
  return s.n > 1 ? `${f(s.median)} (${f(s.min)}..${f(s.max)})` : f(s.median);
}

/** The table: one line per measure, medians over rounds with (min..max). @param {ReturnType<typeof summarize>} rows @param {{id: string, label: string}[]} variants */
export function renderTable(rows, variants) {
  const others = variants.filter((v) => v.id !== BASELINE);
  const head = ['measure', ...variants.map((v) => v.label), ...others.flatMap((v) => [`${v.label} x no filter`, `${v.label} added`])];
  const lines = rows.map((r) => [
    r.label,
    ...variants.map((v) => cell(r.variants[v.id].spread, r.digits)),
    ...others.flatMap((v) => [cell(r.variants[v.id].ratio, 2), r.variants[v.id].added ? cell(r.variants[v.id].added, r.digits) : '']),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i].length)));
  const fmt = (/** @type {string[]} */ l) => `| ${l.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join(' | ')} |`;
  return [fmt(head), `|${widths.map((w, i) => (i === 0 ? '-'.repeat(w + 2) : `${'-'.repeat(w + 1)}:`)).join('|')}|`, ...lines.map(fmt)].join('\n');
}
