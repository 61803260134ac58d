#!/usr/bin/env node
// The filter against Envoy's own floor, side by side in one run (issue 12): Envoy without the
// filter, with the request hold alone, with build/llm_guard.wasm and 10 / 50 / 1,000 deny patterns
// (and any --wasm given), each fed 4 KiB and 64 KiB chat requests by fortio, in interleaved rounds.
// Prints tables, writes build/bench/floor-<timestamp>.json, floor-latest.json and floor-latest.svg.
// Informational: no pass/fail. See bench/README.md.
//
//   node bench/floor/main.mjs [--rounds 5] [--duration 3] [--warmup 1] [--qps 1000] [--connections 8]
//                             [--wasm PATH]... [--wasm-patterns 50] [--variants ID,...] [--bodies 4,64]
//                             [--no-pin] [--out build/bench]
//   node bench/floor/main.mjs --report build/bench/floor-<timestamp>.json   (tables and plot of a saved run)
//
// Needs build/llm_guard.wasm, the compiled kit (make build build-operator), Envoy (.venv) and fortio
// (make bench-tools).
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { FilterHost } from '../../build/operator/wasm/index.js';
import { defaultWasmPath, envoyBin, freePort, startEnvoy } from '../../build/operator/localmesh/index.js';
import { chatBody, plantedSecretBody } from './bodies.mjs';
import { FORTIO_BIN, fortioInstalled, runFortio } from './fortio.mjs';
import { DENY_50_PATH, patternSets } from './patterns.mjs';
import { cpuSeconds, machineInfo, pinProcess, pinningPlan, rssMiB } from './procstats.mjs';
import { BASELINE, renderTables, summarize, targets } from './report.mjs';
import { floorSvg } from './svg.mjs';
import { API_KEY, CHAT_PATH, PROVIDER_HOST, STAGES, pluginConfig, postChat, portsForEnvoy, startMeasured, upstreamBootstrap, variantBootstrap, variantList, writeLauncher } from './variants.mjs';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const USAGE = `usage: node bench/floor/main.mjs [options]
  --rounds N          interleaved rounds (default 5)
  --duration S        seconds of each measured phase: maximum throughput, then fixed rate (default 3)
  --warmup S          seconds of load before measuring, on each fresh Envoy (default 1)
  --qps N             the fixed rate of the latency phase (default 1000)
  --connections N     fortio connections in both phases (default 8)
  --wasm PATH         another filter module to run with the same config (repeatable)
  --wasm-patterns L   pattern counts for --wasm modules, from 10,50,1000 (default 50)
  --variants L        run only these variant ids (no-filter is always run), e.g. hold,llm-guard-50
  --stages            add the stage variants, where the filter's cost goes (stage-idle,
                      stage-inject, stage-inspect-1; see bench/README.md)
  --bodies L          body sizes in KiB, from 4,64 (default 4,64)
  --no-pin            don't pin processes to CPUs
  --out DIR           where the JSON and SVG go (default build/bench)
  --report FILE       measure nothing: print the tables of a saved run's JSON again and plot it
                      into FILE's name with .svg
`;

/** @param {string[]} argv */
function parseArgs(argv) {
  const o = { rounds: 5, duration: 3, warmup: 1, qps: 1000, connections: 8, wasm: /** @type {string[]} */ ([]), wasmPatterns: [50], variants: /** @type {string[] | null} */ (null), stages: false, bodies: [4, 64], pin: true, out: path.join(ROOT, 'build', 'bench'), report: /** @type {string | null} */ (null) };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    const positive = () => {
      const n = Number(value());
      if (!(n > 0)) throw new Error(`${a} needs a positive number`);
      return n;
    };
    const list = () => value().split(',').map((s) => s.trim()).filter(Boolean);
    if (a === '--rounds') o.rounds = Math.round(positive());
    else if (a === '--duration') o.duration = positive();
    else if (a === '--warmup') o.warmup = positive();
    else if (a === '--qps') o.qps = positive();
    else if (a === '--connections') o.connections = Math.round(positive());
    else if (a === '--wasm') o.wasm.push(value());
    else if (a === '--wasm-patterns') o.wasmPatterns = list().map(Number);
    else if (a === '--variants') o.variants = list();
    else if (a === '--bodies') o.bodies = list().map(Number);
    else if (a === '--stages') o.stages = true;
    else if (a === '--no-pin') o.pin = false;
    else if (a === '--out') o.out = path.resolve(value());
    else if (a === '--report') o.report = path.resolve(value());
    else if (a === '--help' || a === '-h') {
      process.stdout.write(USAGE);
      process.exit(0);
    } else throw new Error(`unknown option ${a}\n${USAGE}`);
  }
  for (const n of o.wasmPatterns) if (![10, 50, 1000].includes(n)) throw new Error(`--wasm-patterns: ${n} is not one of 10, 50, 1000`);
  for (const n of o.bodies) if (![4, 64].includes(n)) throw new Error(`--bodies: ${n} is not one of 4, 64`);
  return o;
}

const sha256 = (/** @type {Buffer | string} */ b) => createHash('sha256').update(b).digest('hex');
const log = (/** @type {string} */ s) => process.stderr.write(`${s}\n`);
/** @param {string} cmd @param {string[]} args */
const tryRun = (cmd, args) => {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, GIT_OPTIONAL_LOCKS: '0' } }).trim();
  } catch {
    return null;
  }
};

/**
 * Our filter in the in-process host first: every pattern set compiles, the bodies pass, a planted
 * key is denied. A clear error here beats an Envoy that won't start.
 * @param {string} wasmPath @param {Record<number, string[]>} sets @param {Buffer[]} bodies
 */
async function preflight(wasmPath, sets, bodies) {
  /** @param {Buffer} body */
  const spec = (body) => ({ headers: /** @type {[string, string][]} */ ([[':method', 'POST'], [':scheme', 'http'], [':path', CHAT_PATH], [':authority', PROVIDER_HOST], ['content-type', 'application/json']]), body });
  for (const [n, patterns] of Object.entries(sets)) {
    const host = await FilterHost.load({ wasmPath, pluginConfig: pluginConfig(patterns) });
    if (!host.configure()) throw new Error(`${wasmPath} refused the ${n}-pattern config:\n${host.logs.map(([, m]) => m).slice(-5).join('\n')}`);
    for (const b of bodies) {
      const s = host.request(spec(b));
      if (!s.forwarded) throw new Error(`with ${n} patterns the ${b.length}-byte bench body is not forwarded: ${s.localReply?.status} ${String(s.localReply?.body ?? '')}`);
    }
    const denied = host.request(spec(plantedSecretBody()));
    if (denied.forwarded) throw new Error(`with ${n} patterns a planted AWS key is not denied`);
  }
}

/** The llm_guard.requests_inspected counter of an Envoy. @param {import('../../build/operator/localmesh/index.js').EnvoyProcess} envoy */
async function inspectedCount(envoy) {
  const stats = await envoy.stats('llm_guard\\.requests_inspected');
  for (const [k, v] of stats) if (k.endsWith('llm_guard.requests_inspected')) return v;
  return 0;
}

/** The title of a run's plot. @param {Date} startedAt @param {number} rounds */
const plotTitle = (startedAt, rounds) => `llm_guard against Envoy's floor, ${startedAt.toISOString().slice(0, 16).replace('T', ' ')} UTC, ${rounds} rounds`;

/** --report: the tables of a saved run again, and its plot next to its JSON. @param {string} file */
function reprint(file) {
  const saved = JSON.parse(readFileSync(file, 'utf8'));
  /** @type {import('./report.mjs').Summary} */
  const summary = { rows: saved.results, startup: saved.startup };
  const c = saved.config;
  const bodies = c.bodies.map((/** @type {{id: string, bytes: number}} */ b) => ({ id: b.id, bytes: b.bytes }));
  console.log(`# Envoy floor, the run of ${saved.startedAt} (${path.relative(process.cwd(), file)})`);
  console.log(`Envoy ${c.envoy.version}; fortio ${c.fortio.version}; ${saved.machine.cpuModel}, ${saved.machine.cpus} CPUs; pinning: ${c.pinning.why}`);
  console.log(renderTables(summary, { bodies, fixedQps: c.fixedQps, connections: c.connections, rounds: c.rounds, seconds: c.phaseSeconds }));
  if (saved.warnings?.length) console.log(`\nWarnings:\n${saved.warnings.map((/** @type {string} */ w) => `- ${w}`).join('\n')}`);
  const svgPath = file.replace(/\.json$/, '') + '.svg';
  writeFileSync(svgPath, floorSvg(summary, { bodies, fixedQps: c.fixedQps, title: plotTitle(new Date(saved.startedAt), c.rounds) }));
  console.log(`\nplot: ${path.relative(process.cwd(), svgPath)}`);
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  if (opts.report) return reprint(opts.report);
  const startedAt = new Date();
  const ourWasm = defaultWasmPath();
  if (!fortioInstalled()) throw new Error(`fortio is not installed at ${FORTIO_BIN}: run make bench-tools`);
  for (const w of opts.wasm) if (!existsSync(w)) throw new Error(`--wasm ${w}: no such file`);
  const sets = patternSets();
  const bodies = opts.bodies.map((k) => ({ id: `${k}KiB`, bytes: k * 1024, buf: chatBody(k * 1024) }));
  await preflight(ourWasm, sets, bodies.map((b) => b.buf));

  const stages = opts.stages || (opts.variants ?? []).some((id) => id.startsWith('stage-'));
  let variants = variantList({ ourWasm, extraWasm: opts.wasm, extraPatterns: opts.wasmPatterns, stages });
  if (opts.variants) {
    const keep = new Set([BASELINE, ...opts.variants, ...(opts.stages ? STAGES.map((st) => st.id) : [])]);
    const unknown = opts.variants.filter((id) => !variants.some((v) => v.id === id));
    if (unknown.length) throw new Error(`--variants: unknown ${unknown.join(', ')} (known: ${variants.map((v) => v.id).join(', ')})`);
    variants = variants.filter((v) => keep.has(v.id));
  }

  const plan = opts.pin ? pinningPlan() : /** @type {const} */ ({ pinned: false, why: '--no-pin: running unpinned' });
  if (plan.pinned) pinProcess(process.pid, plan.loadCpu);
  const envoyCpu = plan.pinned ? plan.envoyCpu : null;
  const loadCpu = plan.pinned ? plan.loadCpu : null;

  const tmp = mkdtempSync(path.join(os.tmpdir(), 'llm-guard-floor-'));
  const cells = opts.rounds * bodies.length * variants.length;
  const envoyVersion = tryRun(envoyBin(), ['--version'])?.split('\n').find((l) => l.includes('version:'))?.replace(/^.*version:\s*/, '') ?? 'unknown';
  const fortioVersion = tryRun(FORTIO_BIN, ['version']) ?? 'unknown';
  log(`Envoy ${envoyBin()}: ${envoyVersion}`);
  log(`fortio ${FORTIO_BIN} ${fortioVersion}`);
  log(`pinning: ${plan.why}`);
  log(`${variants.length} variants x ${bodies.length} bodies x ${opts.rounds} rounds = ${cells} fresh Envoys; ` +
    `about ${Math.ceil((cells * (opts.warmup + 2 * opts.duration + 1.5)) / 60)} min`);

  const upLauncher = writeLauncher(tmp, 'envoy-upstream', loadCpu);
  const sutLauncher = writeLauncher(tmp, 'envoy-under-test', envoyCpu);
  const bodyFiles = new Map(bodies.map((b) => {
    const f = path.join(tmp, `${b.id}.json`);
    writeFileSync(f, b.buf);
    return [b.id, f];
  }));
  const upstream = await startEnvoy(upstreamBootstrap(await freePort()), { bin: upLauncher, componentLogLevel: '', timeoutMs: 60_000 });
  const upstreamPort = upstream.ports.upstream;

  /** @type {import('./report.mjs').Sample[]} */
  const samples = [];
  let done = 0;
  try {
    // One unrecorded start of the first variants: the first Envoy of a run starts slower (cold
    // caches), which would count against whichever variant round 1 starts with.
    for (const v of variants.slice(0, 3)) {
      const { adminPort, listenerPort } = await portsForEnvoy();
      const bootstrap = variantBootstrap(v, { upstreamPort, adminPort, listenerPort, patterns: v.patterns ? sets[/** @type {10 | 50 | 1000} */ (v.patterns)] : [] });
      const { envoy } = await startMeasured(bootstrap, { launcher: sutLauncher, startFile: path.join(tmp, 'start'), adminPort, listenerPort, probeBody: bodies[0].buf });
      await envoy.stop();
    }
    for (let round = 1; round <= opts.rounds; round++) {
      for (const body of bodies) {
        // Interleaved: each round runs every variant once per body, starting one later each round.
        const order = variants.map((_, i) => variants[(i + round - 1) % variants.length]);
        for (const v of order) {
          const { adminPort, listenerPort } = await portsForEnvoy();
          const bootstrap = variantBootstrap(v, { upstreamPort, adminPort, listenerPort, patterns: v.patterns ? sets[/** @type {10 | 50 | 1000} */ (v.patterns)] : [] });
          const { envoy, liveMs, firstResponseMs } = await startMeasured(bootstrap, {
            launcher: sutLauncher, startFile: path.join(tmp, 'start'), adminPort, listenerPort, probeBody: body.buf,
          });
          try {
            const pid = /** @type {number} */ (envoy.child.pid);
            const rssStartMiB = rssMiB(pid);
            // Stage variants have no (or no matching) patterns: nothing to deny.
            const plantedStatus = v.kind === 'wasm' && !v.config ? await postChat(listenerPort, plantedSecretBody()) : null;
            const load = {
              url: `http://127.0.0.1:${listenerPort}${CHAT_PATH}`, host: PROVIDER_HOST, payloadFile: /** @type {string} */ (bodyFiles.get(body.id)),
              headers: { authorization: `Bearer ${API_KEY}` }, connections: opts.connections, cpu: loadCpu, jsonPath: path.join(tmp, 'fortio.json'),
            };
            await runFortio({ ...load, qps: 0, seconds: opts.warmup });
            const inspected0 = v.ours ? await inspectedCount(envoy) : null;
            /** @param {number} qps @returns {Promise<import('./report.mjs').Phase>} */
            const phase = async (qps) => {
              const c0 = cpuSeconds(pid);
              const t0 = performance.now();
              const r = await runFortio({ ...load, qps, seconds: opts.duration });
              const wall = (performance.now() - t0) / 1000;
              const cpu = cpuSeconds(pid) - c0;
              return { requests: r.requests, ok: r.ok, qps: r.qps, seconds: r.seconds, cpuSeconds: cpu, cpuUsPerRequest: (cpu / r.requests) * 1e6, util: cpu / wall, p50ms: r.p50ms, p90ms: r.p90ms, p99ms: r.p99ms };
            };
            const max = await phase(0);
            const fixed = await phase(opts.qps);
            const rssAfterMiB = rssMiB(pid);
            const inspected = inspected0 === null ? null : (await inspectedCount(envoy)) - inspected0;
            if (!envoy.running) throw new Error(`${v.label} Envoy exited during the load:\n${await envoy.logTail(30)}`);
            samples.push({ round, variant: v.id, body: body.id, bytes: body.bytes, liveMs, firstResponseMs, rssStartMiB, rssAfterMiB, max, fixed, inspected, plantedStatus });
            done++;
            log(`[${done}/${cells}] round ${round} ${body.id} ${v.label}: ${max.qps.toFixed(0)} req/s, ${max.cpuUsPerRequest.toFixed(1)} us CPU/req, ` +
              `p50/p99 ${fixed.p50ms.toFixed(3)}/${fixed.p99ms.toFixed(3)} ms at ${fixed.qps.toFixed(0)} req/s, LIVE ${liveMs.toFixed(0)} ms, RSS ${rssAfterMiB.toFixed(1)} MiB` +
              (max.requests - max.ok + fixed.requests - fixed.ok ? `, NON-200: ${max.requests - max.ok + fixed.requests - fixed.ok}` : ''));
          } finally {
            await envoy.stop();
          }
        }
      }
    }
  } finally {
    await upstream.stop();
    rmSync(tmp, { recursive: true, force: true });
  }

  const summary = summarize(samples, variants, bodies);
  const cfg = { bodies: bodies.map((b) => ({ id: b.id, bytes: b.bytes })), fixedQps: opts.qps, connections: opts.connections, rounds: opts.rounds, seconds: opts.duration };
  const finishedAt = new Date();
  const minutes = (finishedAt.getTime() - startedAt.getTime()) / 60000;
  const machine = machineInfo();
  console.log(`# Envoy floor: llm_guard against Envoy without the filter (${startedAt.toISOString()}, ${minutes.toFixed(1)} min)`);
  console.log(`Envoy ${envoyVersion}, --concurrency 1; fortio ${fortioVersion}; ${machine.cpuModel}, ${machine.cpus} CPUs, load average at start ${machine.loadAverageAtStart.join(' ')}`);
  console.log(`pinning: ${plan.why}`);
  console.log(`upstream: a second Envoy answering 200 (direct_response); filter config: asm-labs schema, deny_patterns from ${path.relative(ROOT, DENY_50_PATH)} (+950 generated for 1,000)`);
  console.log(renderTables(summary, cfg));
  const warnings = [];
  for (const r of summary.rows) {
    if (r.non200) warnings.push(`${r.label} ${r.body}: ${r.non200} responses were not 200`);
    if (r.uninspected) warnings.push(`${r.label} ${r.body}: ${r.uninspected} requests forwarded without the filter counting them inspected`);
    if (r.kind === 'wasm' && r.plantedStatuses.some((s) => s === 200)) warnings.push(`${r.label}: a request with a planted AWS key was forwarded (200): its patterns are not in effect`);
    if (r.fixedQps.median < 0.95 * opts.qps) warnings.push(`${r.label} ${r.body}: reached ${r.fixedQps.median.toFixed(0)} of the ${opts.qps} req/s asked: its latency is that of a saturated Envoy (queueing)`);
    if (r.variant === BASELINE && r.util.median < 0.9) warnings.push(`no filter, ${r.body}: Envoy under test was busy ${(r.util.median * 100).toFixed(0)}% of a core at -qps 0, so the load side, not Envoy, set its maximum (ratios to it understate the filter's cost)`);
  }
  if (warnings.length) console.log(`\nWarnings:\n${warnings.map((w) => `- ${w}`).join('\n')}`);

  const stamp = startedAt.toISOString().replace(/[:.]/g, '-');
  mkdirSync(opts.out, { recursive: true });
  const gitCommit = tryRun('git', ['-C', ROOT, 'rev-parse', 'HEAD']);
  const gitStatus = tryRun('git', ['-C', ROOT, 'status', '--porcelain', '--untracked-files=no']);
  const report = {
    schema: 'llm-guard/bench-floor/v1',
    startedAt: startedAt.toISOString(),
    finishedAt: finishedAt.toISOString(),
    durationSeconds: Math.round((finishedAt.getTime() - startedAt.getTime()) / 1000),
    config: {
      rounds: opts.rounds, phaseSeconds: opts.duration, warmupSeconds: opts.warmup, fixedQps: opts.qps, connections: opts.connections,
      bodies: bodies.map((b) => ({ id: b.id, bytes: b.bytes, sha256: sha256(b.buf) })),
      patterns: { file: path.relative(ROOT, DENY_50_PATH), sha256: { 10: sha256(sets[10].join('\n')), 50: sha256(sets[50].join('\n')), 1000: sha256(sets[1000].join('\n')) } },
      variants: variants.map((v) => ({ ...v, ...(v.wasmPath ? { wasmPath: path.relative(ROOT, v.wasmPath) || v.wasmPath, wasmSha256: sha256(readFileSync(v.wasmPath)) } : {}) })),
      pinning: plan,
      envoy: { bin: envoyBin(), version: envoyVersion, concurrency: 1 },
      fortio: { bin: FORTIO_BIN, version: fortioVersion },
      git: { commit: gitCommit, dirty: gitStatus === null ? null : gitStatus !== '' },
    },
    machine,
    results: summary.rows,
    startup: summary.startup,
    targets: targets(summary),
    warnings,
    samples,
  };
  // Six significant digits are plenty for timings; NaN (nothing measured) becomes null.
  const json = `${JSON.stringify(report, (_, v) => (typeof v === 'number' && !Number.isInteger(v) ? Number(v.toPrecision(6)) : v), 2)}\n`;
  const jsonPath = path.join(opts.out, `floor-${stamp}.json`);
  writeFileSync(jsonPath, json);
  writeFileSync(path.join(opts.out, 'floor-latest.json'), json);
  const svgPath = path.join(opts.out, 'floor-latest.svg');
  writeFileSync(svgPath, floorSvg(summary, { bodies: cfg.bodies, fixedQps: opts.qps, title: plotTitle(startedAt, opts.rounds) }));
  console.log(`\nJSON: ${path.relative(process.cwd(), jsonPath)} (and floor-latest.json); plot: ${path.relative(process.cwd(), svgPath)}`);
}

main().catch((e) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
