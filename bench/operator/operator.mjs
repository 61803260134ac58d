// The operator as the shipped Deployment runs it (manifests/deployment/deployment.yaml): `run
// --leader-elect --metrics-port P --health-port P`, NODE_OPTIONS=--max-old-space-size=192,
// POD_NAMESPACE and POD_NAME, acting as its ServiceAccount. Its /metrics parsed, its /readyz
// polled, its JSON log summarised.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { cp, mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Proc, freePorts, sleep, waitFor } from './procs.mjs';

/** The shipped Deployment's NODE_OPTIONS, read from the manifest (fallback: the value it had when this was written). @param {string} repo */
export function deploymentNodeOptions(repo) {
  try {
    const y = readFileSync(join(repo, 'manifests', 'deployment', 'deployment.yaml'), 'utf8');
    const m = /name:\s*NODE_OPTIONS\s*\n\s*value:\s*"?([^"\n]+)"?/.exec(y);
    if (m) return m[1].trim();
  } catch {
    /* fall back */
  }
  return '--max-old-space-size=192';
}

/** Whether `run` takes a flag (`--workers` appears in its --help). @param {string} cli the CLI's main.js @param {string} flag */
export function runHasFlag(cli, flag) {
  const help = execFileSync(process.execPath, [cli, 'run', '--help'], { encoding: 'utf8' });
  return new RegExp(`^\\s*${flag}\\b`, 'm').test(help);
}

/**
 * A copy of build/operator (and build/llm_guard.wasm, which the operator loads to check
 * pluginConfigs) under build/bench/, so that a rebuild during the run (make build-operator in
 * another terminal) doesn't give the restarted operator other code than the first one had.
 * Inside the checkout, so the copy still finds node_modules and the root package.json.
 * @param {string} repo
 */
export async function snapshotBuild(repo) {
  const dir = join(repo, 'build', 'bench', `.operator-snapshot-${process.pid}`);
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  await cp(join(repo, 'build', 'operator'), join(dir, 'operator'), { recursive: true });
  const wasm = join(repo, 'build', 'llm_guard.wasm');
  const hasWasm = existsSync(wasm);
  if (hasWasm) await cp(wasm, join(dir, 'llm_guard.wasm'));
  return {
    cli: join(dir, 'operator', 'cli', 'main.js'),
    /** $LLMGUARD_WASM for the operator: the caller's, else the copy. */
    wasm: process.env.LLMGUARD_WASM ?? (hasWasm ? join(dir, 'llm_guard.wasm') : undefined),
    remove: () => rm(dir, { recursive: true, force: true }),
    removeSync: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/**
 * @param {{ cli: string, wasm?: string, dir: string, kubeconfig: string, instance: number, extraArgs?: string[], nodeOptions: string }} o
 */
export async function startOperator(o) {
  const [metricsPort, healthPort] = await freePorts(2);
  const args = [
    o.cli,
    'run',
    '--leader-elect',
    '--metrics-port',
    String(metricsPort),
    '--health-port',
    String(healthPort),
    '--kubeconfig',
    o.kubeconfig,
    ...(o.extraArgs ?? []),
  ];
  /** @type {NodeJS.ProcessEnv} */
  const env = {
    PATH: process.env.PATH,
    HOME: o.dir,
    NODE_OPTIONS: o.nodeOptions,
    POD_NAMESPACE: 'llmguard-system',
    POD_NAME: 'llmguard-operator-bench-0',
  };
  if (process.env.LLMGUARD_LOG_LEVEL) env.LLMGUARD_LOG_LEVEL = process.env.LLMGUARD_LOG_LEVEL;
  if (o.wasm) env.LLMGUARD_WASM = o.wasm;
  const proc = new Proc(`operator#${o.instance}`, process.execPath, args, { logPath: join(o.dir, `operator-${o.instance}.log`), cwd: o.dir, env });
  return { proc, metricsPort, healthPort };
}

/** @typedef {Awaited<ReturnType<typeof startOperator>>} Operator */

/** @param {Operator} op */
export async function readyz(op) {
  try {
    const r = await fetch(`http://127.0.0.1:${op.healthPort}/readyz`);
    await r.text();
    return r.status === 200;
  } catch {
    return false;
  }
}

/**
 * Prometheus text to samples.
 * @param {string} text
 * @returns {{ name: string, labels: Record<string, string>, value: number }[]}
 */
export function parseMetrics(text) {
  const out = [];
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
    if (!m) continue;
    /** @type {Record<string, string>} */
    const labels = {};
    for (const l of (m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]] = l[2];
    out.push({ name: m[1], labels, value: Number(m[3]) });
  }
  return out;
}

/** @typedef {ReturnType<typeof parseMetrics>} Samples */

/** @param {Operator} op @returns {Promise<Samples>} */
export async function scrape(op) {
  const r = await fetch(`http://127.0.0.1:${op.metricsPort}/metrics`);
  return parseMetrics(await r.text());
}

/** Sum of a metric's samples whose labels match. @param {Samples} s @param {string} name @param {Record<string, string>} [match] */
export function sum(s, name, match = {}) {
  let v = 0;
  for (const x of s) if (x.name === name && Object.entries(match).every(([k, w]) => x.labels[k] === w)) v += x.value;
  return v;
}

/** A compact view of the operator's counters, for differences between two scrapes. @param {Samples} s */
export function summarize(s) {
  /** @type {Record<string, number>} */
  const byMethod = {};
  /** @type {Record<string, number>} */
  const byMethodCode = {};
  for (const x of s) {
    if (x.name !== 'llmguard_api_requests_total') continue;
    byMethod[x.labels.method] = (byMethod[x.labels.method] ?? 0) + x.value;
    byMethodCode[`${x.labels.method} ${x.labels.code}`] = (byMethodCode[`${x.labels.method} ${x.labels.code}`] ?? 0) + x.value;
  }
  /** @type {Record<string, number>} */
  const objectWrites = {};
  for (const x of s) if (x.name === 'llmguard_object_writes_total') objectWrites[`${x.labels.operation} ${x.labels.kind}`] = x.value;
  /** @type {Record<string, number>} */
  const reconciles = {};
  for (const x of s) if (x.name === 'llmguard_reconcile_total') reconciles[x.labels.result] = x.value;
  /** @type {Record<string, number>} */
  const durationBuckets = {};
  for (const x of s) if (x.name === 'llmguard_reconcile_duration_seconds_bucket') durationBuckets[x.labels.le] = x.value;
  const apiTotal = Object.values(byMethod).reduce((a, b) => a + b, 0);
  const writes = apiTotal - (byMethod.GET ?? 0);
  const resourceWrites = Object.values(objectWrites).reduce((a, b) => a + b, 0) + sum(s, 'llmguard_status_writes_total') + sum(s, 'llmguard_events_total');
  return {
    apiRequests: apiTotal,
    apiByMethod: byMethod,
    apiByMethodCode: byMethodCode,
    /** Every request that isn't a GET (a LIST is a GET): POST, PUT, PATCH, DELETE. */
    writes,
    /** Writes of owned objects, policy status and Events (what a GitOps diff or an audit log sees). */
    resourceWrites,
    /** The rest: leader election's Lease (created, renewed every 2 s, released). */
    leaseWrites: writes - resourceWrites,
    objectWrites,
    statusWrites: sum(s, 'llmguard_status_writes_total'),
    events: sum(s, 'llmguard_events_total'),
    reconciles,
    reconcileCount: sum(s, 'llmguard_reconcile_duration_seconds_count'),
    reconcileSeconds: sum(s, 'llmguard_reconcile_duration_seconds_sum'),
    durationBuckets,
    informerRestarts: sum(s, 'llmguard_informer_restarts_total'),
    queueDepth: sum(s, 'llmguard_workqueue_depth'),
    queueDelayed: sum(s, 'llmguard_workqueue_delayed'),
    leader: sum(s, 'llmguard_leader'),
    policies: sum(s, 'llmguard_policies'),
  };
}

/** @typedef {ReturnType<typeof summarize>} Summary */

/**
 * b - a for every number in a summary (nested one level).
 * @param {Summary | undefined} a @param {Summary} b @returns {Summary}
 */
export function diff(a, b) {
  if (!a) return b;
  /** @type {any} */
  const out = {};
  for (const [k, v] of Object.entries(b)) {
    const av = /** @type {any} */ (a)[k];
    if (typeof v === 'number') out[k] = v - (typeof av === 'number' ? av : 0);
    else {
      /** @type {Record<string, number>} */
      const o = {};
      for (const [kk, vv] of Object.entries(v)) o[kk] = vv - (av?.[kk] ?? 0);
      out[k] = o;
    }
  }
  return out;
}

/**
 * Waits until the operator is ready (/readyz 200), then until its queue is drained: depth 0,
 * nothing delayed, and the reconcile count unchanged for `quietMs`. Returns the times, in ms from
 * the operator's start.
 * @param {Operator} op @param {{ quietMs?: number, timeoutMs?: number }} [o]
 */
export async function waitSettled(op, o = {}) {
  const quietMs = o.quietMs ?? 3000;
  await waitFor('operator /readyz', () => readyz(op), { procs: [op.proc], intervalMs: 100, timeoutMs: o.timeoutMs ?? 120_000 });
  const readyMs = performance.now() - op.proc.startedAt;
  let last = -1;
  let since = performance.now();
  const deadline = Date.now() + (o.timeoutMs ?? 600_000);
  for (;;) {
    if (op.proc.hasExited) throw new Error(`${op.proc.describeExit()}:\n${op.proc.tail()}`);
    const s = summarize(await scrape(op));
    const busy = s.queueDepth > 0 || s.queueDelayed > 0 || s.leader !== 1;
    if (busy || s.reconcileCount !== last) {
      last = s.reconcileCount;
      since = performance.now();
    } else if (performance.now() - since >= quietMs) {
      return { readyMs, drainedMs: since - op.proc.startedAt, summary: s };
    }
    if (Date.now() > deadline) throw new Error('timed out waiting for the operator to settle');
    await sleep(250);
  }
}

/**
 * The operator's log lines by level and message, and the first warnings/errors.
 * @param {string} path
 */
export function summarizeLog(path) {
  /** @type {Record<string, number>} */
  const byMsg = {};
  /** @type {string[]} */
  const problems = [];
  let text = '';
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return { byMsg, problems };
  }
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    let rec;
    try {
      rec = JSON.parse(line);
    } catch {
      byMsg['(not JSON)'] = (byMsg['(not JSON)'] ?? 0) + 1;
      if (problems.length < 10) problems.push(line.slice(0, 300));
      continue;
    }
    const k = `${rec.level} ${rec.msg}`;
    byMsg[k] = (byMsg[k] ?? 0) + 1;
    if ((rec.level === 'warn' || rec.level === 'error') && problems.length < 10) problems.push(line.slice(0, 400));
  }
  return { byMsg, problems };
}
