#!/usr/bin/env node
// The streaming path through the filter: what reading response bodies (the injected key searched
// for, Server-Sent Events parsed for token usage) costs on streamed replies, against the same
// Envoy without the filter, in interleaved rounds. Per fresh Envoy: time to first byte of short
// streams, one long stream of small events and one of large events (MB/s downstream), many streams
// at once (total MB/s), Envoy CPU per MB and RSS after. Prints a table, writes
// build/bench/streaming.json. Informational: no pass/fail. See bench/README.md.
//
//   node bench/streaming/main.mjs [--rounds 3] [--mb 20] [--repeat 5] [--large-kib 8]
//                                 [--concurrent 32] [--concurrent-mb 1] [--ttfb 100] [--write-kib 16]
//                                 [--wasm PATH] [--no-pin] [--out build/bench]
//
// Needs build/llm_guard.wasm, the compiled kit (make build build-operator) and Envoy (.venv).
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { defaultWasmPath, envoyBin } from '../../build/operator/localmesh/index.js';
import { cpuSeconds, machineInfo, pinProcess, pinningPlan, rssMiB } from '../floor/procstats.mjs';
import { writeLauncher } from '../floor/variants.mjs';
import { spread } from '../floor/stats.mjs';
import { readConcurrent, readStream } from './client.mjs';
import { BASELINE, outputTokensCounted, startVariant, variantList } from './envoys.mjs';
import { measures, renderTable, summarize } from './report.mjs';
import { chatStream, writesOf } from './sse_streams.mjs';
import { startUpstream } from './upstream.mjs';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const USAGE = `usage: node bench/streaming/main.mjs [options]
  --rounds N          interleaved rounds, a fresh Envoy per variant each (default 3)
  --mb N              size of the long stream, MB (default 20)
  --repeat N          per Envoy: long streams read one after another per event size, and
                      batches of concurrent streams (default 5)
  --large-kib N       text per event of the large-event stream, KiB (default 8)
  --concurrent N      streams at once in the concurrent phase (default 32)
  --concurrent-mb N   size of each of those, MB (default 1)
  --ttfb N            short streams for time to first byte, one after another (default 100)
  --write-kib N       the upstream's writes: whole events up to N KiB each; 0 = one write per event (default 16)
  --wasm PATH         the filter module (default $LLMGUARD_WASM, else build/llm_guard.wasm)
  --no-pin            don't pin processes to CPUs
  --out DIR           where streaming.json goes (default build/bench)
`;

/** @param {string[]} argv */
function parseArgs(argv) {
  const o = { rounds: 3, mb: 20, repeat: 5, largeKib: 8, concurrent: 32, concurrentMb: 1, ttfb: 100, writeKib: 16, wasm: defaultWasmPath(), pin: true, out: path.join(ROOT, 'build', 'bench') };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    const number = (min = Number.MIN_VALUE) => {
      const n = Number(value());
      if (!(n >= min)) throw new Error(`${a} needs a number >= ${min === Number.MIN_VALUE ? 'above 0' : min}`);
      return n;
    };
    if (a === '--rounds') o.rounds = Math.round(number(1));
    else if (a === '--mb') o.mb = number();
    else if (a === '--repeat') o.repeat = Math.round(number(1));
    else if (a === '--large-kib') o.largeKib = number();
    else if (a === '--concurrent') o.concurrent = Math.round(number(1));
    else if (a === '--concurrent-mb') o.concurrentMb = number();
    else if (a === '--ttfb') o.ttfb = Math.round(number(1));
    else if (a === '--write-kib') o.writeKib = number(0);
    else if (a === '--wasm') o.wasm = path.resolve(value());
    else if (a === '--no-pin') o.pin = false;
    else if (a === '--out') o.out = path.resolve(value());
    else if (a === '--help' || a === '-h') {
      process.stdout.write(USAGE);
      process.exit(0);
    } else throw new Error(`unknown flag ${a}\n${USAGE}`);
  }
  return o;
}

const log = (/** @type {string} */ s) => process.stderr.write(`${s}\n`);
const median = (/** @type {number[]} */ xs) => spread(xs).median;

/** CPU of the Envoy and of this script (upstream + client) around `run`, which returns bytes received. @param {number} pid @param {() => Promise<{streams: number, bytes: number}>} run @returns {Promise<import('./report.mjs').Phase>} */
async function phase(pid, run) {
  const c0 = cpuSeconds(pid);
  const l0 = process.cpuUsage();
  const t0 = performance.now();
  const { streams, bytes } = await run();
  const seconds = (performance.now() - t0) / 1000;
  const cpu = cpuSeconds(pid) - c0;
  const l = process.cpuUsage(l0);
  const mb = bytes / 1e6;
  return { streams, bytes, seconds, mbps: mb / seconds, cpuSeconds: cpu, cpuMsPerMB: (cpu * 1000) / mb, util: cpu / seconds, loadUtil: (l.user + l.system) / 1e6 / seconds };
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  const startedAt = new Date();
  const variants = variantList(opts.wasm);
  const plan = opts.pin ? pinningPlan() : /** @type {const} */ ({ pinned: false, why: '--no-pin: running unpinned' });
  if (plan.pinned) pinProcess(process.pid, plan.loadCpu);
  const why = plan.pinned ? `Envoy under test on CPU ${plan.envoyCpu}; the upstream and the client (this script) on CPU ${plan.loadCpu}` : plan.why;

  // The streams: long ones of small and of large events, the concurrent phase's, a short one.
  const small = chatStream('small', opts.mb * 1e6, { minChars: 1, maxChars: 8 });
  const large = chatStream('large', opts.mb * 1e6, { minChars: opts.largeKib * 1024 - 256, maxChars: opts.largeKib * 1024 + 256 });
  const each = chatStream('each', opts.concurrentMb * 1e6, { minChars: 1, maxChars: 8 });
  const short = chatStream('short', 8 * 1024, { minChars: 1, maxChars: 8 });
  const all = [small, large, each, short];
  const writeMax = opts.writeKib * 1024;
  const upstream = await startUpstream(new Map(all.map((s) => [s.id, writesOf(s.bytes, writeMax)])));
  const avg = (/** @type {import('./sse_streams.mjs').SseStream} */ s) => Math.round(s.bytes.length / s.events);
  const labels = {
    smallLabel: `${avg(small)} B events`,
    largeLabel: `${(avg(large) / 1024).toFixed(1)} KiB events`,
    concurrentLabel: `${opts.concurrent} x ${opts.concurrentMb} MB at once`,
    ttfbN: opts.ttfb,
  };
  const envoyVersion = tryRun(envoyBin(), ['--version'])?.split('\n').find((l) => l.includes('version:'))?.replace(/^.*version:\s*/, '') ?? 'unknown';
  log(`Envoy ${envoyBin()}: ${envoyVersion}; filter ${path.relative(ROOT, opts.wasm) || opts.wasm}`);
  log(`pinning: ${why}`);
  log(`streams: ${all.map((s) => `${s.id} ${(s.bytes.length / 1e6).toFixed(2)} MB in ${s.events} events (${avg(s)} B each)`).join('; ')}; upstream writes up to ${opts.writeKib} KiB`);

  const tmp = mkdtempSync(path.join(os.tmpdir(), 'llm-guard-streaming-'));
  const launcher = writeLauncher(tmp, 'envoy-under-test', plan.pinned ? plan.envoyCpu : null);
  /** @type {import('./report.mjs').Sample[]} */
  const samples = [];
  /** @type {string[]} */
  const warnings = [];
  try {
    for (let round = 1; round <= opts.rounds; round++) {
      const order = variants.map((_, i) => variants[(i + round - 1) % variants.length]);
      for (const v of order) {
        const envoy = await startVariant(v, upstream.port, launcher);
        try {
          const port = envoy.ports.outbound;
          const pid = /** @type {number} */ (envoy.child.pid);
          // Byte for byte: the stream arrives as the upstream sent it (also the warm-up).
          const check = await readStream(port, each.id, { keep: true });
          if (check.status !== 200 || !check.body?.equals(each.bytes)) throw new Error(`${v.label}: the ${each.id} stream arrived changed (status ${check.status}, ${check.bytes} of ${each.bytes.length} bytes)`);
          const tokens0 = v.wasmPath ? await outputTokensCounted(envoy) : 0;
          let tokensExpected = 0;
          /** @param {import('./sse_streams.mjs').SseStream} s @param {{streams: number, bytes: number, results: {status: number, bytes: number}[]}} r */
          const served = (s, r) => {
            for (const x of r.results) if (x.status !== 200 || x.bytes !== s.bytes.length) throw new Error(`${v.label}: a ${s.id} stream ended with status ${x.status} after ${x.bytes} of ${s.bytes.length} bytes`);
            tokensExpected += r.streams * s.completionTokens;
            return { streams: r.streams, bytes: r.bytes };
          };
          // Time to first byte: short streams one after another on one kept-alive connection.
          const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
          const ttfbAll = [];
          const warm = await readStream(port, short.id, { agent });
          served(short, { streams: 1, bytes: warm.bytes, results: [warm] });
          for (let i = 0; i < opts.ttfb; i++) {
            const r = await readStream(port, short.id, { agent });
            served(short, { streams: 1, bytes: r.bytes, results: [r] });
            ttfbAll.push(r.ttfbMs);
          }
          agent.destroy();
          /** @param {import('./sse_streams.mjs').SseStream} s */
          const longStreams = async (s) => {
            const results = [];
            for (let i = 0; i < opts.repeat; i++) results.push(await readStream(port, s.id));
            return served(s, { streams: results.length, bytes: results.reduce((n, x) => n + x.bytes, 0), results });
          };
          const smallPhase = await phase(pid, () => longStreams(small));
          const largePhase = await phase(pid, () => longStreams(large));
          const concurrentPhase = await phase(pid, async () => {
            const results = [];
            for (let i = 0; i < opts.repeat; i++) results.push(...(await readConcurrent(port, each.id, opts.concurrent)).results);
            return served(each, { streams: results.length, bytes: results.reduce((n, x) => n + x.bytes, 0), results });
          });
          const rssAfterMiB = rssMiB(pid);
          const tokensCounted = v.wasmPath ? (await outputTokensCounted(envoy)) - tokens0 : null;
          if (!envoy.running) throw new Error(`${v.label} Envoy exited:\n${await envoy.logTail(30)}`);
          const sample = {
            round, variant: v.id, ttfbMs: median(ttfbAll), ttfbAllMs: ttfbAll, small: smallPhase, large: largePhase, concurrent: concurrentPhase, rssAfterMiB,
            tokensExpected: v.wasmPath ? tokensExpected : null, tokensCounted,
          };
          samples.push(sample);
          log(`round ${round} ${v.label}: ${smallPhase.mbps.toFixed(1)} / ${largePhase.mbps.toFixed(1)} MB/s (small / large events), ` +
            `${concurrentPhase.mbps.toFixed(1)} MB/s at once; CPU ${smallPhase.cpuMsPerMB.toFixed(2)} / ${largePhase.cpuMsPerMB.toFixed(2)} / ${concurrentPhase.cpuMsPerMB.toFixed(2)} ms/MB; ` +
            `TTFB ${sample.ttfbMs.toFixed(3)} ms; RSS ${rssAfterMiB.toFixed(1)} MiB` + (tokensCounted === null ? '' : `; usage read ${tokensCounted}/${tokensExpected} tokens`));
        } finally {
          await envoy.stop();
        }
      }
    }
  } finally {
    await upstream.close();
    rmSync(tmp, { recursive: true, force: true });
  }

  const list = measures(labels);
  const rows = summarize(samples, variants, list);
  for (const s of samples) {
    if (s.tokensCounted !== null && s.tokensCounted !== s.tokensExpected) warnings.push(`round ${s.round} ${s.variant}: the filter counted ${s.tokensCounted} output tokens of the ${s.tokensExpected} the streams reported: it did not read every stream's usage`);
  }
  const baseUtil = median(samples.filter((s) => s.variant === BASELINE).map((s) => s.small.util));
  if (baseUtil < 0.9) warnings.push(`no filter, one stream of small events: the Envoy under test was busy ${(baseUtil * 100).toFixed(0)}% of a core, so the load side (upstream and client), not Envoy, set its rate: ratios to it understate the filter's cost; the CPU rows don't depend on it`);
  const finishedAt = new Date();
  const machine = machineInfo();
  console.log(`# Streaming through the filter (${startedAt.toISOString()}, ${((finishedAt.getTime() - startedAt.getTime()) / 60000).toFixed(1)} min)`);
  console.log(`Envoy ${envoyVersion}, --concurrency 1; ${machine.cpuModel}, ${machine.cpus} CPUs, load average at start ${machine.loadAverageAtStart.join(' ')}`);
  console.log(`pinning: ${why}`);
  console.log(`${opts.rounds} rounds; per Envoy: ${opts.ttfb} short streams, ${opts.repeat} x ${opts.mb} MB of each event size, ${opts.repeat} x ${opts.concurrent} x ${opts.concurrentMb} MB at once; MB = 10^6 bytes; medians (min..max) over rounds\n`);
  console.log(renderTable(rows, variants));
  for (const v of variants.filter((x) => x.id !== BASELINE)) {
    const rate = (/** @type {string} */ key) => {
      const added = rows.find((r) => r.key === key)?.variants[v.id].added?.median ?? NaN;
      return added > 0 ? `${(1000 / added).toFixed(0)} MB/s` : 'n/a';
    };
    console.log(`\n${v.label}'s own rate (MB per added Envoy CPU second): ${rate('small_cpu_ms_per_mb')} (${labels.smallLabel}), ${rate('large_cpu_ms_per_mb')} (${labels.largeLabel}), ${rate('concurrent_cpu_ms_per_mb')} (${labels.concurrentLabel})`);
  }
  if (warnings.length) console.log(`\nWarnings:\n${warnings.map((w) => `- ${w}`).join('\n')}`);

  mkdirSync(opts.out, { recursive: true });
  const gitStatus = tryRun('git', ['-C', ROOT, 'status', '--porcelain', '--untracked-files=no']);
  const report = {
    schema: 'llm-guard/bench-streaming/v1',
    startedAt: startedAt.toISOString(),
    finishedAt: finishedAt.toISOString(),
    config: {
      ...opts,
      wasm: path.relative(ROOT, opts.wasm) || opts.wasm,
      out: undefined,
      streams: all.map((s) => ({ id: s.id, bytes: s.bytes.length, events: s.events, avgEventBytes: avg(s), completionTokens: s.completionTokens })),
      pinning: { ...plan, why },
      envoy: { bin: envoyBin(), version: envoyVersion, concurrency: 1 },
      git: { commit: tryRun('git', ['-C', ROOT, 'rev-parse', 'HEAD']), dirty: gitStatus === null ? null : gitStatus !== '' },
    },
    machine,
    results: rows,
    warnings,
    samples,
  };
  const json = `${JSON.stringify(report, (_, x) => (typeof x === 'number' && !Number.isInteger(x) ? Number(x.toPrecision(6)) : x), 2)}\n`;
  const jsonPath = path.join(opts.out, 'streaming.json');
  writeFileSync(jsonPath, json);
  console.log(`\nJSON: ${path.relative(process.cwd(), jsonPath)}`);
}

/** A command's trimmed stdout, or null. @param {string} cmd @param {string[]} args */
function tryRun(cmd, args) {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return null;
  }
}

main().catch((e) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
