// The soak (`make soak`; short in `make test`): the product in the real mesh (operator, istiod,
// pilot-agent running Envoy with the filter pulled from the registry) under SOAK_REQUESTS requests
// at SOAK_CONCURRENCY (64) over keep-alive connections: allowed, pattern-denied, guard-allowed and
// guard-denied prompts, guard faults (timeouts, resets, 500s, garbage, slow answers) and provider
// faults (resets mid-answer, slow bodies). Every SOAK_SWITCH_EVERY_MS (0: never) the policy
// switches between two versions that differ in patterns and in the guard being on, and the key in
// its Secret rotates, by kubectl apply through the operator and istiod. Defaults: 4,000 requests,
// a change every 2.5 s.
//
// Holds when: every request's outcome is one that version A or version B alone gives (so none is
// wrong, none is a 5xx the mix doesn't call for, and none was judged by a mix of the two); nothing
// refused reached the provider; every forwarded request carries exactly one of the keys; Envoy
// made no Wasm VM but with a new filter config, reloaded none, released the replaced ones; on runs
// of 40 s or more, its allocated memory grew less than 10% over the second half;
// the guard cache's filled slots stay within max_entries. The figures go to build/soak-report.md.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { garbage, hang, llamaGuard, reset, slow, status } from '../../operator/src/localmesh/guard_answers.js';
import { byConversation } from '../../operator/src/localmesh/mock_guard.js';
import { credentialsOf } from '../../operator/src/localmesh/mock_provider.js';
import { REPO_ROOT } from '../kube/control_plane.js';
import { startAgent, type Agent } from '../mesh/agent.js';
import { workloadEntry } from '../mesh/key_service.js';
import { NS, PROVIDER_HOST, PROVIDER_PORT, UNSAFE, secretObject, startMesh, type Mesh } from '../mesh/mesh_env.js';
import { ecdsFilters } from '../mesh/proxy_state.js';
import { scenario } from '../mesh/scenario.js';
import { EnvoyWatch, envoyPid, secondHalfGrowth, statEndingWith } from './envoy_watch.js';
import { runLoad, type Answer } from './load.js';
import { percentile, soakReport } from './report.js';
import {
  GUARD_FAULTS,
  GUARD_SLOW,
  PROVIDER_RESET,
  PROVIDER_SLOW,
  VERSIONS,
  classOf,
  promptOf,
  requestNumberIn,
  versionsExplaining,
  type ClassName,
  type Observed,
  type Seen,
  type Version,
} from './traffic.js';
import { GUARD_CACHE_ENTRIES, GUARD_TIMEOUT_MS, PolicySwitcher, policyFor } from './versions.js';

// Short by default, as `make test` runs it; `make soak` sets 100,000 requests and a change every 10 s.
const REQUESTS = Number(process.env.SOAK_REQUESTS ?? 4_000);
const CONCURRENCY = Number(process.env.SOAK_CONCURRENCY ?? 64);
const SWITCH_EVERY_MS = Number(process.env.SOAK_SWITCH_EVERY_MS ?? 2_500);
/** Memory is judged only on runs long enough for the second half's fifths to hold several samples. */
const MIN_SAMPLES_FOR_MEMORY = 40;
const KEYS: [string, string] = ['sk-soak-first-key-5d1e77', 'sk-soak-second-key-a93c02'];
const FILTER = `extensions.istio.io/trafficextension/${NS}.chat~istio-translated-wasmplugin`;
const WARM_UP = 200;

let mesh: Mesh;
let sidecar: Agent;

function bodyOf(prompt: string, user: string): string {
  return JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: prompt }], user });
}

const userOf = (i: number) => `soak-${i}`;

beforeAll(async () => {
  mesh = await startMesh();
  const app = scenario(mesh, `app-0.${NS}`);
  await mesh.apply(workloadEntry(NS, 'app-0', { app: 'chat' }, 'chat', '127.0.0.1'));
  await mesh.apply(secretObject('openai', { key: KEYS[0] }), secretObject('guard', { token: 'guard-soak-token' }), policyFor(mesh, 'A'));
  await app.waitReady();
  sidecar = await startAgent(mesh.cp, mesh.istiod, { namespace: NS, name: 'app-0', serviceAccount: 'chat', labels: { app: 'chat' } });
  await app.waitSynced();
  mesh.guard.setBehaviour(
    byConversation(
      [
        [UNSAFE, llamaGuard('unsafe', 'S2')],
        [GUARD_FAULTS.timeout, hang()],
        [GUARD_FAULTS.reset, reset()],
        [GUARD_FAULTS.status500, status(500)],
        [GUARD_FAULTS.garbage, garbage()],
        [GUARD_SLOW, slow(llamaGuard('safe'), GUARD_TIMEOUT_MS / 4)],
      ],
      llamaGuard('safe'),
    ),
  );
  mesh.provider.opts.fault = (rec) => {
    const text = rec.body.toString('utf8');
    if (text.includes(PROVIDER_RESET)) return { kind: 'reset' };
    if (text.includes(PROVIDER_SLOW)) return { kind: 'slow', pieces: 4, delayMs: 150 };
    return undefined;
  };
}, 900_000);

afterAll(async () => {
  await sidecar?.stop();
  await mesh?.stop();
});

/** Whether the filter config Envoy runs is version v's (its deny patterns and guard say so). */
async function envoyRuns(v: Version): Promise<boolean> {
  const config = ecdsFilters(await sidecar.configDump()).get(FILTER)?.config?.configuration?.value;
  if (typeof config !== 'string') return false;
  const parsed = JSON.parse(config) as { deny_patterns?: string[]; intelligent_guard?: unknown };
  return JSON.stringify(parsed.deny_patterns) === JSON.stringify(VERSIONS[v].denyPatterns) && (parsed.intelligent_guard !== undefined) === VERSIONS[v].guard;
}

const seenOf = (a: Answer): Seen => {
  if (a.dropped) return { dropped: a.dropped };
  let code: string | undefined;
  try {
    code = (JSON.parse(a.body) as { error?: { code?: string } }).error?.code;
  } catch {
    code = undefined;
  }
  return { status: a.status, code };
};

/** The sum of the stats whose names match. */
function sumOf(stats: Map<string, number>, name: RegExp): number {
  let n = 0;
  for (const [k, v] of stats) if (name.test(k)) n += v;
  return n;
}

/** The filter's own refusal (an error code), or a status no forwarded request gets (Envoy's 503 after a provider reset aside). */
const isRefusal = (s: Seen) => !('dropped' in s) && (s.code !== undefined || (s.status !== 200 && s.status !== 503));

const outcomeName = (s: Seen) => ('dropped' in s ? `dropped (${s.dropped})` : `${s.status}${s.code ? ` ${s.code}` : ''}`);

describe('soak', () => {
  it(`${REQUESTS} requests at concurrency ${CONCURRENCY}, faults injected, the policy switching every ${SWITCH_EVERY_MS} ms`, async () => {
    const port = PROVIDER_PORT;
    // Warm up (not judged): every worker's VM made, the first key fetched, connections open.
    await runLoad({ port, host: PROVIDER_HOST, path: '/v1/chat/completions', total: WARM_UP, concurrency: CONCURRENCY, timeoutMs: 30_000,
      body: (i) => bodyOf(`warm-up ${i}`, 'soak-warmup'), onAnswer: () => undefined });
    await mesh.provider.settle();
    await mesh.guard.settle();
    mesh.provider.reset();
    mesh.guard.reset();

    const watch = new EnvoyWatch(envoyPid(), sidecar.admin);
    const before = await watch.stats();
    await watch.sample();
    watch.start(1000);
    const t0 = Date.now();
    const switcher = new PolicySwitcher(mesh, envoyRuns, KEYS, t0);
    if (SWITCH_EVERY_MS > 0) switcher.start(SWITCH_EVERY_MS, 'A');

    const answers: Answer[] = new Array(REQUESTS);
    await runLoad({
      port, host: PROVIDER_HOST, path: '/v1/chat/completions', total: REQUESTS, concurrency: CONCURRENCY,
      timeoutMs: 30_000,
      body: (i) => bodyOf(promptOf(i, classOf(i)), userOf(i)),
      onAnswer: (i, a) => { answers[i] = a; },
    });
    const seconds = (Date.now() - t0) / 1000;
    await switcher.stop();
    watch.stop();
    await watch.sample();
    await mesh.provider.settle(10_000);
    await mesh.guard.settle(10_000);
    const after = await watch.stats();

    // What reached the guard and the provider, by request number.
    const guardHeard = new Set<number>();
    for (const g of mesh.guard.requests) {
      const n = requestNumberIn(g.conversation);
      if (n !== null) guardHeard.add(n);
    }
    const providerGot = new Map<number, string[]>();
    let wrongKeys = 0;
    const keysInForce = SWITCH_EVERY_MS > 0 ? KEYS : [KEYS[0]];
    for (const r of mesh.provider.requests) {
      let user = '';
      try {
        user = String((JSON.parse(r.body.toString('utf8')) as { user?: unknown }).user ?? '');
      } catch {
        user = '';
      }
      const creds = credentialsOf(r.headers);
      if (creds.length !== 1 || !keysInForce.includes(creds[0]!)) wrongKeys++;
      const n = /^soak-(\d+)$/.exec(user);
      if (n) providerGot.set(Number(n[1]), creds);
    }

    const versions: Version[] = SWITCH_EVERY_MS > 0 ? ['A', 'B'] : ['A'];
    const outcomes = new Map<string, Map<string, number>>();
    const problems: string[] = [];
    let unexplained = 0;
    let deniedReachingProvider = 0;
    for (let i = 0; i < REQUESTS; i++) {
      const c: ClassName = classOf(i);
      const seen = seenOf(answers[i]!);
      const observed: Observed = { seen, guard: guardHeard.has(i), provider: providerGot.has(i) };
      const name = outcomeName(seen);
      const byClass = outcomes.get(c) ?? new Map<string, number>();
      byClass.set(name, (byClass.get(name) ?? 0) + 1);
      outcomes.set(c, byClass);
      if (observed.provider && isRefusal(seen)) deniedReachingProvider++;
      if (versionsExplaining(c, observed, versions).length === 0) {
        unexplained++;
        if (problems.length < 20) {
          problems.push(`#${i} ${c} at ${((answers[i]!.startedAt - t0) / 1000).toFixed(1)} s: ${name}, guard ${observed.guard ? 'heard' : 'did not hear'}, provider ${observed.provider ? 'got it' : 'did not'} (${answers[i]!.body.slice(0, 160)})`);
        }
      }
    }

    const latencies = answers.map((a) => a.ms).sort((a, b) => a - b);
    const figures = {
      requests: REQUESTS,
      concurrency: CONCURRENCY,
      seconds,
      outcomes,
      unexplained,
      deniedReachingProvider,
      wrongKeys,
      vmsCreated: { before: statEndingWith(before, 'wasm.envoy.wasm.runtime.v8.created'), after: statEndingWith(after, 'wasm.envoy.wasm.runtime.v8.created') },
      vmsActive: { before: statEndingWith(before, 'wasm.envoy.wasm.runtime.v8.active'), after: statEndingWith(after, 'wasm.envoy.wasm.runtime.v8.active') },
      vmReloads: sumOf(after, /\.vm_reload$/),
      memory: {
        allocated: secondHalfGrowth(watch.samples, (s) => s.allocatedMiB),
        rss: secondHalfGrowth(watch.samples, (s) => s.rssMiB),
        samples: watch.samples,
      },
      cacheSlots: { filled: statEndingWith(after, 'llm_guard.guard_cache_slots_filled'), bound: GUARD_CACHE_ENTRIES },
      guardCalls: mesh.guard.requests.length,
      guardCacheHits: statEndingWith(after, 'llm_guard.guard_cache_hits'),
      changes: switcher.changes,
      latencyMs: { p50: percentile(latencies, 50), p99: percentile(latencies, 99), max: latencies[latencies.length - 1] ?? 0 },
    };
    const report = soakReport(figures);
    console.log(report);
    if (problems.length) console.log(`unexplained requests (first ${problems.length}):\n  ${problems.join('\n  ')}`);
    mkdirSync(join(REPO_ROOT, 'build'), { recursive: true });
    writeFileSync(join(REPO_ROOT, 'build', 'soak-report.md'), `${report}\n`);
    writeFileSync(join(REPO_ROOT, 'build', 'soak-memory.json'), JSON.stringify(watch.samples));
    // For a failed run: the sidecar's log (Envoy's warnings, the filter's log lines) and its stats.
    writeFileSync(join(REPO_ROOT, 'build', 'soak-sidecar.log'), sidecar.logs());
    writeFileSync(join(REPO_ROOT, 'build', 'soak-keys.log'), mesh.keys.logs());
    writeFileSync(join(REPO_ROOT, 'build', 'soak-stats.txt'), await sidecar.admin('/stats'));

    expect(problems, problems.join('\n')).toEqual([]);
    expect(deniedReachingProvider).toBe(0);
    expect(wrongKeys).toBe(0);
    expect(figures.vmsCreated.after, 'Envoy reports its Wasm VMs').toBeDefined();
    // A new filter config may come with a new VM; nothing else may make one (a trap's reload would).
    expect(figures.vmsCreated.after! - figures.vmsCreated.before!, 'Wasm VMs created during the run').toBeLessThanOrEqual(switcher.changes.length);
    expect(figures.vmsActive.after, 'the VMs of replaced configs are released').toBeLessThanOrEqual(figures.vmsActive.before!);
    expect(figures.vmReloads, 'no VM reloaded after a failure').toBe(0);
    if (watch.samples.length >= MIN_SAMPLES_FOR_MEMORY) {
      expect(figures.memory.allocated.to, 'allocated memory flat over the second half').toBeLessThan(figures.memory.allocated.from * 1.1);
    }
    expect(figures.cacheSlots.filled, 'the filter reports its cache slots').toBeDefined();
    expect(figures.cacheSlots.filled!).toBeLessThanOrEqual(GUARD_CACHE_ENTRIES);
    if (SWITCH_EVERY_MS > 0) expect(switcher.changes.length, 'the policy changed during the run').toBeGreaterThan(0);
  }, 3_600_000);
});
