// From the samples of every round to medians, spreads and ratios to the no-filter Envoy; the
// tables printed on stdout; the targets next to the measured values (informational only).
import { diff, paired, ratio, spread } from './stats.mjs';

/**
 * One measured phase of fortio against the Envoy under test.
 * @typedef {object} Phase
 * @property {number} requests          completed by fortio (any status)
 * @property {number} ok                of which 200
 * @property {number} qps               achieved
 * @property {number} seconds
 * @property {number} cpuSeconds        Envoy's utime + stime during the phase
 * @property {number} cpuUsPerRequest
 * @property {number} util              cpuSeconds / wall seconds (1 = one core busy)
 * @property {number} p50ms
 * @property {number} p90ms
 * @property {number} p99ms
 */

/**
 * One Envoy under test, started fresh, for one body in one round.
 * @typedef {object} Sample
 * @property {number} round
 * @property {string} variant
 * @property {string} body              body id (4KiB, 64KiB)
 * @property {number} bytes
 * @property {number} liveMs            process start -> admin /ready says LIVE
 * @property {number} firstResponseMs   process start -> first 200 to a clean chat request
 * @property {number} rssStartMiB       VmRSS once LIVE
 * @property {number} rssAfterMiB       VmRSS after the load
 * @property {Phase} max                maximum throughput (-qps 0)
 * @property {Phase} fixed              fixed rate
 * @property {number | null} inspected  llm_guard.requests_inspected gained (our filter only)
 * @property {number | null} plantedStatus  what a request with a planted AWS key got (filter variants)
 */

/** @typedef {import('./stats.mjs').Spread} Spread */

/**
 * @typedef {object} Row
 * @property {string} variant
 * @property {string} label
 * @property {string} kind
 * @property {number | null} patterns
 * @property {string} body
 * @property {number} bytes
 * @property {number} rounds
 * @property {Spread} maxQps
 * @property {Spread} maxQpsRatio        to no-filter, paired by round
 * @property {Spread} util               Envoy's CPU / wall time at maximum throughput
 * @property {Spread} maxCpuUsPerRequest  at maximum throughput
 * @property {Spread} fixedQps
 * @property {Spread} cpuUsPerRequest     at the fixed rate (the same offered load for every variant)
 * @property {Spread} addedCpuUs          at the fixed rate, vs no-filter, paired by round
 * @property {Spread | null} inspectionMBps   body bytes / added CPU (filter variants)
 * @property {Spread} p50ms
 * @property {Spread} p90ms
 * @property {Spread} p99ms
 * @property {Spread} p50Ratio
 * @property {Spread} p99Ratio
 * @property {Spread} rssAfterMiB
 * @property {Spread} addedRssMiB
 * @property {Spread} liveMs
 * @property {Spread} addedLiveMs
 * @property {Spread} firstResponseMs
 * @property {Spread} addedFirstResponseMs
 * @property {number} non200
 * @property {number | null} uninspected   requests the filter's counter did not see inspected
 * @property {number[]} plantedStatuses
 */

/**
 * @typedef {object} StartupRow
 * @property {string} variant
 * @property {string} label
 * @property {Spread} liveMs
 * @property {Spread} addedLiveMs
 * @property {Spread} firstResponseMs
 * @property {Spread} addedFirstResponseMs
 * @property {Spread} rssStartMiB
 */

export const BASELINE = 'no-filter';

/**
 * @param {Sample[]} samples
 * @param {import('./variants.mjs').Variant[]} variants
 * @param {{id: string, bytes: number}[]} bodies
 */
export function summarize(samples, variants, bodies) {
  /** @type {Row[]} */
  const rows = [];
  /** @param {string} variant @param {string} body @param {(s: Sample) => number} f */
  const byRound = (variant, body, f) => new Map(samples.filter((s) => s.variant === variant && s.body === body).map((s) => [s.round, f(s)]));
  for (const body of bodies) {
    for (const v of variants) {
      const mine = samples.filter((s) => s.variant === v.id && s.body === body.id);
      if (!mine.length) continue;
      /** @param {(s: Sample) => number} f */
      const values = (f) => mine.map(f);
      /** @param {(s: Sample) => number} f @param {(a: number, b: number) => number} op */
      const vsBase = (f, op) => spread(paired(byRound(v.id, body.id, f), byRound(BASELINE, body.id, f), op));
      // CPU per request at the fixed rate: every variant serves the same load there, so the
      // difference is the filter's work, not a different amount of batching at another rate.
      const cpu = (/** @type {Sample} */ s) => s.fixed.cpuUsPerRequest;
      const added = paired(byRound(v.id, body.id, cpu), byRound(BASELINE, body.id, cpu), diff);
      const inspected = mine.map((s) => s.inspected);
      rows.push({
        variant: v.id,
        label: v.label,
        kind: v.kind,
        patterns: v.patterns ?? null,
        body: body.id,
        bytes: body.bytes,
        rounds: mine.length,
        maxQps: spread(values((s) => s.max.qps)),
        maxQpsRatio: vsBase((s) => s.max.qps, ratio),
        util: spread(values((s) => s.max.util)),
        maxCpuUsPerRequest: spread(values((s) => s.max.cpuUsPerRequest)),
        fixedQps: spread(values((s) => s.fixed.qps)),
        cpuUsPerRequest: spread(values(cpu)),
        addedCpuUs: spread(added),
        inspectionMBps: v.kind === 'wasm' && v.readsBody !== false ? spread(added.map((a) => (a > 0 ? body.bytes / a : NaN))) : null,
        p50ms: spread(values((s) => s.fixed.p50ms)),
        p90ms: spread(values((s) => s.fixed.p90ms)),
        p99ms: spread(values((s) => s.fixed.p99ms)),
        p50Ratio: vsBase((s) => s.fixed.p50ms, ratio),
        p99Ratio: vsBase((s) => s.fixed.p99ms, ratio),
        rssAfterMiB: spread(values((s) => s.rssAfterMiB)),
        addedRssMiB: vsBase((s) => s.rssAfterMiB, diff),
        liveMs: spread(values((s) => s.liveMs)),
        addedLiveMs: vsBase((s) => s.liveMs, diff),
        firstResponseMs: spread(values((s) => s.firstResponseMs)),
        addedFirstResponseMs: vsBase((s) => s.firstResponseMs, diff),
        non200: mine.reduce((n, s) => n + (s.max.requests - s.max.ok) + (s.fixed.requests - s.fixed.ok), 0),
        uninspected: inspected.every((x) => x === null) ? null : mine.reduce((n, s) => n + Math.max(0, s.max.ok + s.fixed.ok - (s.inspected ?? 0)), 0),
        plantedStatuses: [...new Set(mine.map((s) => s.plantedStatus).filter((x) => x !== null))].map(Number),
      });
    }
  }
  // Startup doesn't depend on the body: pooled over bodies, paired by (round, body).
  /** @type {StartupRow[]} */
  const startup = [];
  const key = (/** @type {Sample} */ s) => s.round * 1000 + bodies.findIndex((b) => b.id === s.body);
  /** @param {string} variant @param {(s: Sample) => number} f */
  const byKey = (variant, f) => new Map(samples.filter((s) => s.variant === variant).map((s) => [key(s), f(s)]));
  for (const v of variants) {
    const mine = samples.filter((s) => s.variant === v.id);
    if (!mine.length) continue;
    /** @param {(s: Sample) => number} f */
    const vsBase = (f) => spread(paired(byKey(v.id, f), byKey(BASELINE, f), diff));
    startup.push({
      variant: v.id,
      label: v.label,
      liveMs: spread(mine.map((s) => s.liveMs)),
      addedLiveMs: vsBase((s) => s.liveMs),
      firstResponseMs: spread(mine.map((s) => s.firstResponseMs)),
      addedFirstResponseMs: vsBase((s) => s.firstResponseMs),
      rssStartMiB: spread(mine.map((s) => s.rssStartMiB)),
    });
  }
  return { rows, startup };
}

/** @typedef {ReturnType<typeof summarize>} Summary */

/**
 * The targets next to what was measured. Informational: nothing here fails a run.
 * @param {Summary} summary
 */
export function targets(summary) {
  /** @param {string} variant @param {string} body */
  const row = (variant, body) => summary.rows.find((r) => r.variant === variant && r.body === body);
  /** @param {string} variant */
  const start = (variant) => summary.startup.find((r) => r.variant === variant);
  /** @type {{target: string, measured: string, value: number | null, within: boolean | null}[]} */
  const out = [];
  /** @param {string} target @param {number | undefined} value @param {(v: number) => boolean} ok @param {(v: number) => string} show */
  const add = (target, value, ok, show) => {
    const known = value !== undefined && Number.isFinite(value);
    out.push({ target, measured: known ? show(value) : 'n/a', value: known ? value : null, within: known ? ok(value) : null });
  };
  add('4 KiB, 50 patterns: throughput >= 0.80x no filter', row('llm-guard-50', '4KiB')?.maxQpsRatio.median, (v) => v >= 0.8, (v) => `${v.toFixed(2)}x`);
  add('4 KiB, 50 patterns: added CPU <= 15 us/request', row('llm-guard-50', '4KiB')?.addedCpuUs.median, (v) => v <= 15, (v) => `${v.toFixed(1)} us`);
  add('64 KiB, 50 patterns: inspection >= 300 MB/s', row('llm-guard-50', '64KiB')?.inspectionMBps?.median, (v) => v >= 300, (v) => `${v.toFixed(0)} MB/s`);
  for (const body of ['4KiB', '64KiB']) {
    const ten = row('llm-guard-10', body)?.maxQps.median;
    const thousand = row('llm-guard-1000', body)?.maxQps.median;
    const slower = ten !== undefined && thousand !== undefined ? ten / thousand : undefined;
    add(`${body.replace('KiB', ' KiB')}: 1,000 patterns <= 1.5x slower than 10 (req/s of 10 / of 1,000)`, slower, (v) => v <= 1.5, (v) => `${v.toFixed(2)}x`);
  }
  add('time to LIVE, 50 patterns: <= +50 ms', start('llm-guard-50')?.addedLiveMs.median, (v) => v <= 50, (v) => `+${v.toFixed(0)} ms`);
  add('time to LIVE, 1,000 patterns: <= +200 ms', start('llm-guard-1000')?.addedLiveMs.median, (v) => v <= 200, (v) => `+${v.toFixed(0)} ms`);
  const rss = summary.rows.filter((r) => r.variant === 'llm-guard-1000').map((r) => r.addedRssMiB.median);
  add('RSS after load, 1,000 patterns: <= +16 MiB', rss.length ? Math.max(...rss) : undefined, (v) => v <= 16, (v) => `+${v.toFixed(1)} MiB`);
  return out;
}

/** A number with `d` decimals, or '-' when not finite. @param {number} x @param {number} [d] */
export function num(x, d = 0) {
  return Number.isFinite(x) ? x.toFixed(d) : '-';
}

/** "median (min-max)". @param {Spread | null} s @param {number} [d] @param {string} [sign] */
export function med(s, d = 0, sign = '') {
  if (!s || !s.n) return '-';
  const p = (/** @type {number} */ x) => (sign && x > 0 ? '+' : '') + num(x, d);
  return s.n > 1 ? `${p(s.median)} (${p(s.min)}..${p(s.max)})` : p(s.median);
}

/** Columns padded; the first left-aligned, the others right-aligned. @param {string[][]} rows */
export function table(rows) {
  const w = rows[0].map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  const line = (/** @type {string[]} */ r) => r.map((c, i) => (i ? c.padStart(w[i]) : c.padEnd(w[i]))).join('  ').trimEnd();
  return [line(rows[0]), w.map((n) => '-'.repeat(n)).join('  '), ...rows.slice(1).map(line)].join('\n');
}

/**
 * Everything printed at the end of a run.
 * @param {Summary} summary
 * @param {{bodies: {id: string, bytes: number}[], fixedQps: number, connections: number, rounds: number, seconds: number}} cfg
 */
export function renderTables(summary, cfg) {
  const out = [];
  for (const body of cfg.bodies) {
    const rows = summary.rows.filter((r) => r.body === body.id);
    out.push(`\n## ${body.id} chat request (${body.bytes} B): maximum throughput, ${cfg.connections} connections, -qps 0 ` +
      `(median (min..max) of ${cfg.rounds} rounds of ${cfg.seconds} s)\n`);
    out.push(table([
      ['variant', 'req/s', 'x no filter', 'Envoy CPU', 'CPU us/req', 'non-200'],
      ...rows.map((r) => [r.label, med(r.maxQps), med(r.maxQpsRatio, 2), `${num(r.util.median * 100)}%`, num(r.maxCpuUsPerRequest.median, 1), String(r.non200)]),
    ]));
    out.push(`\n## ${body.id}: at a fixed ${cfg.fixedQps} req/s: latency (ms; p50, p90 medians) and Envoy's CPU per request (us)\n`);
    out.push(table([
      ['variant', 'req/s', 'p50', 'p90', 'p99', 'p99 x', 'CPU us/req', 'added us/req', 'inspect MB/s'],
      ...rows.map((r) => [r.label, num(r.fixedQps.median), num(r.p50ms.median, 3), num(r.p90ms.median, 3), med(r.p99ms, 3), num(r.p99Ratio.median, 2),
        med(r.cpuUsPerRequest, 1), r.variant === BASELINE ? '' : med(r.addedCpuUs, 1, '+'), med(r.inspectionMBps)]),
    ]));
  }
  out.push(`\n## Start and memory (time from process start; RSS = VmRSS of the Envoy under test)\n`);
  out.push(table([
    ['variant', 'LIVE ms', 'added ms', 'first 200 ms', 'RSS idle MiB', ...cfg.bodies.map((b) => `RSS ${b.id} MiB`), ...cfg.bodies.map((b) => `added ${b.id}`)],
    ...summary.startup.map((s) => {
      const rows = cfg.bodies.map((b) => summary.rows.find((r) => r.variant === s.variant && r.body === b.id));
      return [
        s.label, med(s.liveMs), s.variant === BASELINE ? '' : med(s.addedLiveMs, 0, '+'), med(s.firstResponseMs), num(s.rssStartMiB.median, 1),
        ...rows.map((r) => (r ? num(r.rssAfterMiB.median, 1) : '-')),
        ...rows.map((r) => (r && s.variant !== BASELINE ? med(r.addedRssMiB, 1, '+') : '')),
      ];
    }),
  ]));
  out.push('\n## Targets from the issue (informational, not pass/fail)\n');
  out.push(table([
    ['target', 'measured', ''],
    ...targets(summary).map((t) => [t.target, t.measured, t.within === null ? '' : t.within ? 'within' : 'outside']),
  ]));
  return out.join('\n');
}
