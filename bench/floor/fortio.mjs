// Runs fortio (built by tools/bench/install.sh into .tools/bench/bin/fortio) against one Envoy and
// reads its JSON result: requests done, achieved rate, status codes, latency percentiles.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
/** $FORTIO_BIN, else the checkout's .tools/bench/bin/fortio (make bench-tools). */
export const FORTIO_BIN = process.env.FORTIO_BIN ?? path.join(ROOT, '.tools', 'bench', 'bin', 'fortio');

export function fortioInstalled() {
  return existsSync(FORTIO_BIN);
}

/**
 * @typedef {object} LoadSpec
 * @property {string} url
 * @property {string} host           the Host header (a provider host)
 * @property {string} payloadFile    the request body (fortio POSTs it)
 * @property {Record<string, string>} [headers]
 * @property {number} qps            0 = as fast as it goes
 * @property {number} connections
 * @property {number} seconds
 * @property {number | null} cpu     run fortio pinned to this CPU (taskset -c), or unpinned
 * @property {string} jsonPath       where fortio writes its result
 */

/**
 * @typedef {object} LoadResult
 * @property {number} requests       requests completed (all status codes)
 * @property {number} ok             of which 200
 * @property {Record<string, number>} codes
 * @property {number} seconds        fortio's measured duration
 * @property {number} qps            achieved requests per second
 * @property {number} p50ms
 * @property {number} p90ms
 * @property {number} p99ms
 * @property {number} avgms
 */

/**
 * Parses what `fortio load -json` wrote (only the fields this bench uses).
 * @param {string} text
 * @returns {LoadResult}
 */
export function parseFortioJson(text) {
  const j = /** @type {{ActualQPS: number, ActualDuration: number, RetCodes?: Record<string, number>, DurationHistogram: {Count: number, Avg: number, Percentiles?: {Percentile: number, Value: number}[]}}} */ (
    JSON.parse(text)
  );
  const pct = (/** @type {number} */ p) => {
    const v = j.DurationHistogram.Percentiles?.find((x) => x.Percentile === p)?.Value;
    return v === undefined ? NaN : v * 1000;
  };
  const codes = j.RetCodes ?? {};
  return {
    requests: j.DurationHistogram.Count,
    ok: codes['200'] ?? 0,
    codes,
    seconds: j.ActualDuration / 1e9,
    qps: j.ActualQPS,
    p50ms: pct(50),
    p90ms: pct(90),
    p99ms: pct(99),
    avgms: j.DurationHistogram.Avg * 1000,
  };
}

/** The command line of one run. @param {LoadSpec} spec */
export function fortioArgs(spec) {
  const args = [
    'load', '-quiet',
    '-qps', String(spec.qps),
    '-c', String(spec.connections),
    '-t', `${spec.seconds}s`,
    // Histogram buckets from 10 us (the default 1 ms is coarser than the latencies measured here).
    '-r', '0.00001',
    '-p', '50,90,99',
    '-timeout', '10s',
    '-allow-initial-errors',
    '-json', spec.jsonPath,
    '-content-type', 'application/json',
    '-payload-file', spec.payloadFile,
    '-H', `Host: ${spec.host}`,
  ];
  // At a fixed rate, spread the connections' sends evenly instead of in lockstep.
  if (spec.qps > 0) args.push('-uniform');
  for (const [k, v] of Object.entries(spec.headers ?? {})) args.push('-H', `${k}: ${v}`);
  args.push(spec.url);
  return args;
}

/** Runs fortio once and returns its result. @param {LoadSpec} spec @returns {Promise<LoadResult>} */
export async function runFortio(spec) {
  const args = fortioArgs(spec);
  const [bin, argv] = spec.cpu === null ? [FORTIO_BIN, args] : ['taskset', ['-c', String(spec.cpu), FORTIO_BIN, ...args]];
  await new Promise((resolve, reject) => {
    execFile(bin, argv, { maxBuffer: 16 * 1024 * 1024, timeout: (spec.seconds + 60) * 1000 }, (err, _stdout, stderr) => {
      if (err) reject(new Error(`fortio failed: ${err.message}\n${stderr.slice(-2000)}`));
      else resolve(undefined);
    });
  });
  const result = parseFortioJson(await readFile(spec.jsonPath, 'utf8'));
  await rm(spec.jsonPath, { force: true });
  return result;
}
