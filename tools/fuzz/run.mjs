#!/usr/bin/env node
// @ts-check
// `make fuzz`: every fuzzer for a long run, 1,000,000 inputs of each kind by default, each kind's
// count split over several seeds (4 x 250,000), as a queue of (kind, seed, count) jobs run by two
// vitest processes at once (2 cores). Each job is
//   FUZZ_SEED=<seed> FUZZ_<KIND>=<count> npx vitest run --project fast <file>
// with its output in build/fuzz/<kind>-seed<seed>.log (the last run's). The seeds are new every
// run and printed (each job's command line too), so any job can be run again alone; FUZZ_SEEDS /
// --seeds pins them. Only a kind's first job replays the saved inputs (the others get FUZZ_REPLAY=0),
// and the fuzzers print a FUZZ_RESULT line for this runner (FUZZ_REPORT=1).
// A failing input is saved by its fuzzer to test/fixtures/fuzz/<kind>/seed<seed>-<index>.json
// (plugin/testing/fuzz_fixtures.ts); committed, it is replayed by every later run of that fuzzer
// (make test included): a regression test. At the end: a table (kind, seeds, inputs, failures,
// seconds), the saved files, and a non-zero exit when any job failed.
//
//   node tools/fuzz/run.mjs [--per-kind N] [--seed-count N | --seeds s1,s2,...] [--jobs N] [--kinds k1,k2]
//   env: FUZZ_TOTAL (= --per-kind), FUZZ_SEED_COUNT, FUZZ_SEEDS, FUZZ_JOBS
//
// A kind whose fuzzer file doesn't exist is skipped, and said so. A fuzzer that prints no
// FUZZ_RESULT line is counted from its exit status and the files that appear under its seed's name.
import { spawn } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { createWriteStream, existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)));
const FIXTURES = join(ROOT, 'test', 'fixtures', 'fuzz');
const LOGS = join(ROOT, 'build', 'fuzz');

/**
 * The fuzzers. `env` is the count each reads; `perInput` how many inputs one unit of it is (the
 * responses fuzzer runs two tests of FUZZ_RESPONSES each); `rate` inputs a second on one core,
 * measured on 2 cores with two jobs at once (20,000-input runs; guard replies with other work
 * running too), to order the queue longest first and say how long the run should take.
 * @type {{ kind: string, file: string, env: string, perInput?: number, rate: number }[]}
 */
const KINDS = [
  { kind: 'request-bodies', file: 'plugin/fuzz.test.ts', env: 'FUZZ_BODIES', rate: 2300 },
  { kind: 'request-headers', file: 'plugin/filter/header_fuzz.test.ts', env: 'FUZZ_HEADERS', rate: 7500 },
  { kind: 'plugin-config', file: 'plugin/config/config_fuzz.test.ts', env: 'FUZZ_CONFIGS', rate: 850 },
  { kind: 'guard-replies', file: 'plugin/guard/guard_fuzz.test.ts', env: 'FUZZ_GUARD_REPLIES', rate: 1650 },
  { kind: 'responses', file: 'plugin/filter/response_fuzz.test.ts', env: 'FUZZ_RESPONSES', perInput: 2, rate: 2250 },
  { kind: 'sse', file: 'plugin/sse/sse_fuzz.test.ts', env: 'FUZZ_SSE_INPUTS', rate: 3300 },
];

function usage(message = '') {
  if (message) console.error(message);
  console.error('usage: node tools/fuzz/run.mjs [--per-kind N] [--seed-count N | --seeds s1,s2,...] [--jobs N] [--kinds k1,k2]');
  console.error(`kinds: ${KINDS.map((k) => k.kind).join(', ')}`);
  process.exit(2);
}

/** @param {string[]} argv */
function options(argv) {
  const o = {
    perKind: Number(process.env.FUZZ_TOTAL || 1_000_000),
    seedCount: Number(process.env.FUZZ_SEED_COUNT || 4),
    seeds: process.env.FUZZ_SEEDS || '',
    jobs: Number(process.env.FUZZ_JOBS || 2),
    kinds: KINDS.map((k) => k.kind),
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => argv[++i] ?? usage(`${a} needs a value`);
    if (a === '--per-kind') o.perKind = Number(value());
    else if (a === '--seed-count') o.seedCount = Number(value());
    else if (a === '--seeds') o.seeds = value();
    else if (a === '--jobs') o.jobs = Number(value());
    else if (a === '--kinds') o.kinds = value().split(',');
    else if (a === '-h' || a === '--help') usage();
    else usage(`unknown argument ${a}`);
  }
  if (!Number.isInteger(o.perKind) || o.perKind < 1) usage('--per-kind must be a positive integer');
  if (!Number.isInteger(o.jobs) || o.jobs < 1) usage('--jobs must be a positive integer');
  if (!Number.isInteger(o.seedCount) || o.seedCount < 1) usage('--seed-count must be a positive integer');
  for (const k of o.kinds) if (!KINDS.some((x) => x.kind === k)) usage(`unknown kind ${k}`);
  // New seeds every run (printed), unless pinned.
  const seeds = o.seeds
    ? o.seeds.split(',').map((s) => Number(s.trim()))
    : Array.from({ length: o.seedCount }, () => randomInt(1, 2 ** 31 - 1));
  if (seeds.some((s) => !Number.isSafeInteger(s) || s < 0)) usage('--seeds: a comma-separated list of non-negative integers');
  return { ...o, seeds };
}

/** Fixture files of a kind now (relative to the repository). @param {string} kind */
function fixtures(kind) {
  const dir = join(FIXTURES, kind);
  if (!existsSync(dir)) return new Set();
  return new Set(readdirSync(dir).filter((f) => f.endsWith('.json')).map((f) => relative(ROOT, join(dir, f))));
}

/**
 * @typedef {{ kind: string, file: string, env: string, envValue: number, seed: number, count: number, replay: boolean, estimate: number, before: Set<string> }} Job
 * @typedef {Job & { status: number | null, signal: string | null, seconds: number, inputs: number, failures: number, saved: string[], results: number, log: string, testSeconds: number }} Done
 */

/** @param {number} s */
const clock = (s) => (s >= 90 ? `${Math.floor(s / 60)} min ${Math.round(s % 60)} s` : `${s.toFixed(1)} s`);
const stamp = () => new Date().toISOString().slice(11, 19);

/** @param {Job} job */
function command(job) {
  const replay = job.replay ? '' : 'FUZZ_REPLAY=0 ';
  return `${replay}FUZZ_SEED=${job.seed} ${job.env}=${job.envValue} LLM_GUARD_SKIP_BUILD=1 npx vitest run --project fast ${job.file}`;
}

/** @param {Job} job @returns {Promise<Done>} */
function run(job) {
  mkdirSync(LOGS, { recursive: true });
  const log = join(LOGS, `${job.kind}-seed${job.seed}.log`);
  const out = createWriteStream(log);
  const started = performance.now();
  const env = { ...process.env, FUZZ_SEED: String(job.seed), [job.env]: String(job.envValue), LLM_GUARD_SKIP_BUILD: '1', FUZZ_REPORT: '1', FORCE_COLOR: '0', NO_COLOR: '1' };
  if (!job.replay) env.FUZZ_REPLAY = '0';
  const child = spawn('npx', ['vitest', 'run', '--project', 'fast', job.file], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let text = '';
  for (const s of [child.stdout, child.stderr]) {
    s.on('data', (d) => {
      out.write(d);
      text += d.toString();
      // Only the result lines are needed: keep the tail short.
      if (text.length > 1 << 20) text = text.slice(text.length - (1 << 19));
    });
  }
  return new Promise((done) => {
    child.on('close', (status, signal) => {
      out.end();
      const results = [...text.matchAll(/^.*FUZZ_RESULT (\{.*\})\s*$/gm)].map((m) => JSON.parse(m[1] ?? '{}'));
      // A fuzzer that prints no result line (FuzzFailures.report): its count when it passed, and
      // the files that appeared with its seed's name when it failed.
      const ownFiles = [...fixtures(job.kind)].filter((f) => !job.before.has(f) && f.includes(`/seed${job.seed}-`));
      const passed = status === 0;
      done({
        ...job,
        status,
        signal,
        seconds: (performance.now() - started) / 1000,
        inputs: results.length ? results.reduce((n, r) => n + (r.inputs ?? 0), 0) : passed ? job.count : 0,
        failures: results.length ? results.reduce((n, r) => n + (r.failures ?? 0), 0) : passed ? 0 : ownFiles.length,
        testSeconds: results.reduce((n, r) => n + (r.seconds ?? 0), 0),
        saved: results.length ? results.flatMap((r) => r.saved ?? []) : ownFiles,
        results: results.length,
        log: relative(ROOT, log),
      });
    });
  });
}

async function main() {
  const o = options(process.argv.slice(2));
  const kinds = KINDS.filter((k) => o.kinds.includes(k.kind));
  const missing = kinds.filter((k) => !existsSync(join(ROOT, k.file)));
  const present = kinds.filter((k) => existsSync(join(ROOT, k.file)));
  const perSeed = Math.ceil(o.perKind / o.seeds.length);

  /** @type {Job[]} */
  const jobs = [];
  for (const k of present) {
    o.seeds.forEach((seed, i) => {
      const envValue = Math.ceil(perSeed / (k.perInput ?? 1));
      const count = envValue * (k.perInput ?? 1);
      // Only a kind's first job replays its saved inputs: a later one would replay what an earlier one just saved.
      jobs.push({ kind: k.kind, file: k.file, env: k.env, envValue, seed, count, replay: i === 0, estimate: count / k.rate, before: new Set() });
    });
  }
  // Longest first, so the two queues end together.
  jobs.sort((a, b) => b.estimate - a.estimate);
  const before = new Map(present.map((k) => [k.kind, fixtures(k.kind)]));
  for (const j of jobs) j.before = before.get(j.kind) ?? new Set();
  // vitest's start (about 2 s a job) included.
  const estimate = jobs.reduce((s, j) => s + j.estimate + 2, 0);

  console.log(`fuzz: ${o.perKind.toLocaleString('en')} inputs per kind, ${o.seeds.length} seed(s) x ${perSeed.toLocaleString('en')}: seeds ${o.seeds.join(', ')}`);
  console.log(`fuzz: ${jobs.length} jobs on ${o.jobs} processes at once, about ${clock(estimate / o.jobs)} by the rates measured (logs in ${relative(ROOT, LOGS)}/)`);
  for (const k of missing) console.log(`fuzz: ${k.kind}: ${k.file} does not exist, skipped`);
  console.log(`fuzz: to run one job again: FUZZ_SEED=<seed> <FUZZ_COUNT>=<n> LLM_GUARD_SKIP_BUILD=1 npx vitest run --project fast <file>`);

  // The last run's logs only.
  rmSync(LOGS, { recursive: true, force: true });
  const started = performance.now();
  /** @type {Done[]} */
  const done = [];
  let next = 0;
  const worker = async () => {
    while (next < jobs.length) {
      const job = /** @type {Job} */ (jobs[next++]);
      console.log(`[${stamp()}] start ${job.kind} seed ${job.seed}: ${command(job)}`);
      const d = await run(job);
      done.push(d);
      const ok = d.status === 0;
      const rate = d.testSeconds > 0 ? `, ${Math.round(d.inputs / d.testSeconds).toLocaleString('en')}/s in the test` : d.results === 0 ? ' (no FUZZ_RESULT line: counts from the exit status)' : '';
      console.log(
        `[${stamp()}] ${ok ? 'done ' : 'FAILED'} ${job.kind} seed ${job.seed}: ${d.inputs.toLocaleString('en')} inputs, ${d.failures} failure(s) in ${clock(d.seconds)}${rate}` +
          `${ok ? '' : ` (exit ${d.status ?? d.signal}; log ${d.log})`} [${done.length}/${jobs.length}]`,
      );
    }
  };
  await Promise.all(Array.from({ length: Math.min(o.jobs, jobs.length) }, worker));
  const wall = (performance.now() - started) / 1000;

  // The table: one row per kind.
  const rows = [['kind', 'seeds', 'inputs', 'failures', 'seconds', 'inputs/s (one core)']];
  for (const k of kinds) {
    const ds = done.filter((d) => d.kind === k.kind);
    if (ds.length === 0) {
      rows.push([k.kind, '-', '-', '-', '-', 'skipped: no fuzzer']);
      continue;
    }
    const inputs = ds.reduce((n, d) => n + d.inputs, 0);
    // A job that failed without saying why (a crash, a timeout, a saved input failing) counts once.
    const failures = ds.reduce((n, d) => n + (d.status !== 0 && d.failures === 0 ? 1 : d.failures), 0);
    const seconds = ds.reduce((n, d) => n + d.seconds, 0);
    const testSeconds = ds.reduce((n, d) => n + d.testSeconds, 0);
    const seeds = o.seeds.filter((s) => ds.some((d) => d.seed === s)).join(',');
    // Without result lines, the rate is over each job's whole run (vitest's start included).
    const rate = testSeconds > 0 ? inputs / testSeconds : inputs / seconds;
    rows.push([k.kind, seeds, inputs.toLocaleString('en'), String(failures), seconds.toFixed(0), `${Math.round(rate).toLocaleString('en')}${testSeconds > 0 ? '' : '*'}`]);
  }
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length)));
  console.log('');
  for (const [i, r] of rows.entries()) {
    console.log(r.map((x, c) => (c >= 2 ? x.padStart(widths[c] ?? 0) : x.padEnd(widths[c] ?? 0))).join('  '));
    if (i === 0) console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  }
  if (done.some((d) => d.results === 0)) console.log('(* no FUZZ_RESULT line from the fuzzer: inputs are the count asked for when it passed, the rate includes vitest\'s start)');
  console.log(`\nfuzz: ${jobs.length} jobs in ${clock(wall)} (wall), seeds ${o.seeds.join(', ')}`);

  const failed = done.filter((d) => d.status !== 0);
  // What the fuzzers said they saved, and any other file that appeared (a fuzzer without result lines).
  const saved = new Set(done.flatMap((d) => d.saved));
  for (const k of present) for (const f of fixtures(k.kind)) if (!before.get(k.kind)?.has(f)) saved.add(f);
  if (saved.size) {
    console.log(`\nfuzz: inputs saved (commit them once fixed: each is then a regression test):`);
    for (const f of [...saved].sort()) console.log(`  ${f}`);
  }
  if (failed.length) {
    console.log(`\nfuzz: ${failed.length} job(s) failed:`);
    for (const d of failed) console.log(`  ${d.kind} seed ${d.seed} (exit ${d.status ?? d.signal}): ${command(d)}\n    log: ${d.log}`);
    process.exit(1);
  }
  if (missing.length) console.log(`fuzz: skipped (no fuzzer file): ${missing.map((k) => k.kind).join(', ')}`);
}

await main();
