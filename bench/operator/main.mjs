// The operator's scale benchmark (informational, never pass/fail): a real etcd + kube-apiserver,
// the operator as the shipped Deployment runs it (its own process, its ServiceAccount's RBAC,
// leader election, the Deployment's heap limit), and four phases:
//   create   N LlmGuardPolicies applied server-side as a GitOps tool does; time until all Ready
//   restart  SIGTERM, start again; writes made (should be 0) and time until ready and drained
//   idle     resident memory of the settled operator
//   secrets  M unrelated Secrets of ~1 KiB; resident memory before and 10 s after
// throughout, CPU seconds and RSS of the operator, kube-apiserver, etcd and this script every
// 250 ms. Prints a table and writes build/bench/operator.json.  make bench-operator
import { execFileSync } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { machineInfo } from '../floor/procstats.mjs';
import { apiserverDiff, apiserverRequestStats } from './apiserver_metrics.mjs';
import { installOperatorPrerequisites, startControlPlane } from './cluster.mjs';
import { createPolicies, createSecrets, secretObject } from './load.mjs';
import { deploymentNodeOptions, diff, runHasFlag, scrape, snapshotBuild, startOperator, summarize, summarizeLog, waitSettled } from './operator.mjs';
import { onExit, onInterrupt, sleep } from './procs.mjs';
import { printReport } from './report.mjs';
import { Sampler } from './sampler.mjs';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const NS = 'apps';
const OTHER_NS = 'unrelated';

const HELP = `Usage: node bench/operator/main.mjs [options]

The operator against a real kube-apiserver: N policies to Ready, a restart, M unrelated Secrets.
Informational: prints numbers, never fails on them.

  --policies N      LlmGuardPolicies to apply (default 1000)
  --secrets N       unrelated Secrets to create (default 10000)
  --concurrency N   applies in flight while creating (default 4)
  --workers N       passed to \`llmguard run --workers\` when run has that flag
  --timeout S       give up waiting for Ready after S seconds (default 600)
  --out DIR         where operator.json goes (default build/bench)
  --keep            keep the temp folder (logs of etcd, kube-apiserver and the operator)
  -h, --help
`;

async function main() {
  const { values } = parseArgs({
    options: {
      policies: { type: 'string', default: '1000' },
      secrets: { type: 'string', default: '10000' },
      concurrency: { type: 'string', default: '4' },
      workers: { type: 'string' },
      timeout: { type: 'string', default: '600' },
      out: { type: 'string', default: join(REPO, 'build', 'bench') },
      keep: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(HELP);
    return;
  }
  const nPolicies = positive('--policies', values.policies);
  const nSecrets = positive('--secrets', values.secrets, true);
  const concurrency = positive('--concurrency', values.concurrency);
  const timeoutMs = positive('--timeout', values.timeout) * 1000;
  const workers = values.workers === undefined ? undefined : positive('--workers', values.workers);
  if (!existsSync(join(REPO, 'build', 'operator', 'cli', 'main.js'))) throw new Error('build/operator/cli/main.js is missing: run `make build-operator`');

  const nodeOptions = deploymentNodeOptions(REPO);
  const build = await snapshotBuild(REPO);
  /** @type {string[]} */
  const extraArgs = [];
  /** @type {string[]} */
  const notes = [];
  if (workers !== undefined) {
    if (runHasFlag(build.cli, '--workers')) extraArgs.push('--workers', String(workers));
    else notes.push(`--workers ${workers} ignored: \`llmguard run\` has no --workers flag (the controller's default applies)`);
  }
  const opBase = { cli: build.cli, wasm: build.wasm, extraArgs, nodeOptions };

  const machine = machineInfo();
  const dir = await mkdtemp(join(tmpdir(), 'llmguard-bench-operator-'));
  const sampler = new Sampler(250);
  sampler.track('bench', () => process.pid);
  /** @type {Awaited<ReturnType<typeof startControlPlane>> | undefined} */
  let cp;
  /** @type {Awaited<ReturnType<typeof startOperator>> | undefined} */
  let op;
  let cleaned = false;
  const cleanup = async () => {
    if (cleaned) return;
    cleaned = true;
    sampler.stop();
    await op?.proc.stop();
    await cp?.stop();
    await build.remove();
    if (!values.keep) await rm(dir, { recursive: true, force: true });
    else process.stderr.write(`kept ${dir}\n`);
  };
  onInterrupt(cleanup);
  // However the process ends (a second Ctrl-C, an uncaught error): no snapshot or temp folder left.
  onExit(() => {
    build.removeSync();
    if (!values.keep) rmSync(dir, { recursive: true, force: true });
  });
  const log = (/** @type {string} */ s) => process.stderr.write(`[bench-operator ${sampler.sample().t.toFixed(1)}s] ${s}\n`);

  try {
    log(`control plane in ${dir}`);
    cp = await startControlPlane(REPO, dir);
    const cpRef = cp;
    sampler.track('kube-apiserver', () => cpRef.apiserver.pid);
    sampler.track('etcd', () => cpRef.etcd.pid);
    const saKubeconfig = await installOperatorPrerequisites(REPO, cp, dir, [NS, OTHER_NS]);
    await cp.kube.must('POST', `/api/v1/namespaces/${NS}/secrets`, { body: secretObject(NS, 'openai-keys', { primary: 'sk-bench-0001' }) });
    const kube = cp.kube;

    // start: an empty cluster.
    sampler.mark('start');
    log(`starting the operator (NODE_OPTIONS=${nodeOptions}${extraArgs.length ? `, ${extraArgs.join(' ')}` : ''})`);
    op = await startOperator({ ...opBase, dir, kubeconfig: saKubeconfig, instance: 1 });
    sampler.track('operator', () => op?.proc.pid);
    const first = await waitSettled(op, { quietMs: 2000 });
    await sleep(3000);
    const emptyIdleRss = sampler.recentRss('operator', 3);
    log(`ready after ${(first.readyMs / 1000).toFixed(2)} s; idle RSS with no policy ${emptyIdleRss.toFixed(1)} MiB`);

    // create
    sampler.mark('create');
    const opCreate = op;
    const m0 = summarize(await scrape(op));
    const a0 = await apiserverRequestStats(kube);
    /** @type {{ t: number, ready: number, queueDepth: number, reconciles: number, apiRequests: number }[]} */
    const timeline = [];
    let readyCount = 0;
    let maxDepth = 0;
    const t0 = performance.now();
    const tick = setInterval(() => {
      scrape(opCreate).then(
        (s) => {
          const m = summarize(s);
          maxDepth = Math.max(maxDepth, m.queueDepth);
          timeline.push({ t: Math.round((performance.now() - t0) / 100) / 10, ready: readyCount, queueDepth: m.queueDepth, reconciles: m.reconcileCount - m0.reconcileCount, apiRequests: m.apiRequests - m0.apiRequests });
        },
        () => undefined,
      );
    }, 1000);
    log(`applying ${nPolicies} policies, ${concurrency} in flight`);
    const create = await createPolicies(kube, {
      ns: NS,
      n: nPolicies,
      concurrency,
      timeoutMs,
      onProgress: (n) => {
        readyCount = n;
      },
    });
    const mReady = summarize(await scrape(op));
    const aReady = await apiserverRequestStats(kube);
    log(`all applied in ${create.applySeconds.toFixed(1)} s; ${create.readyInList}/${nPolicies} Ready ${create.lastApplyToAllReadyS.toFixed(1)} s after the last apply${create.timedOut ? ' (TIMED OUT)' : ''}`);
    sampler.mark('create-settle');
    const settled = await waitSettled(op, { quietMs: 3000 });
    clearInterval(tick);
    const mSettled = settled.summary;

    // restart
    sampler.mark('restart');
    log('restarting the operator (SIGTERM)');
    const stopMs = await op.proc.stop();
    const log1 = summarizeLog(op.proc.logPath);
    op = await startOperator({ ...opBase, dir, kubeconfig: saKubeconfig, instance: 2 });
    const second = await waitSettled(op, { quietMs: 3000 });
    log(`ready ${(second.readyMs / 1000).toFixed(2)} s after start, drained at ${(second.drainedMs / 1000).toFixed(2)} s; ${second.summary.resourceWrites} writes (+${second.summary.leaseWrites} Lease)`);

    // idle
    sampler.mark('idle');
    await sleep(5000);
    const idleRss = sampler.recentRss('operator', 5);
    const mIdle = summarize(await scrape(op));

    // secrets
    sampler.mark('secrets');
    log(`creating ${nSecrets} unrelated Secrets in ${OTHER_NS} and ${NS}`);
    const secrets = nSecrets > 0 ? await createSecrets(kube, { namespaces: [OTHER_NS, NS], n: nSecrets, concurrency: 8 }) : { seconds: 0 };
    sampler.mark('secrets-settle');
    await sleep(10_000);
    const afterSecretsRss = sampler.recentRss('operator', 3);
    const mSecrets = summarize(await scrape(op));
    sampler.mark('end');
    const log2 = summarizeLog(op.proc.logPath);

    const phases = sampler.phases();
    const result = {
      config: {
        policies: nPolicies,
        secrets: nSecrets,
        applyConcurrency: concurrency,
        operatorArgs: ['run', '--leader-elect', '--metrics-port', 'P', '--health-port', 'P', ...extraArgs],
        nodeOptions,
        notes,
        source: sourceInfo(),
      },
      machine: { ...machine, loadAverageAtEnd: loadavg().map((x) => Math.round(x * 100) / 100) },
      start: { readyS: first.readyMs / 1000, emptyIdleRssMiB: emptyIdleRss },
      create: {
        ...create,
        toReady: diff(m0, mReady),
        toSettled: diff(m0, mSettled),
        maxQueueDepth: maxDepth,
        apiserver: apiserverDiff(a0, aReady),
        timeline,
      },
      restart: { stopS: stopMs / 1000, readyS: second.readyMs / 1000, drainedS: second.drainedMs / 1000, operator: second.summary },
      idle: { rssMiB: idleRss, operatorSinceRestart: mIdle },
      secrets: { createS: secrets.seconds, rssBeforeMiB: idleRss, rssAfterMiB: afterSecretsRss, deltaMiB: afterSecretsRss - idleRss, operator: diff(mIdle, mSecrets) },
      peak: { operator: sampler.peak('operator'), apiserver: sampler.peak('kube-apiserver'), etcd: sampler.peak('etcd') },
      phases,
      logs: { first: log1, second: log2 },
      samples: sampler.samples,
    };
    await cleanup();
    await mkdir(values.out, { recursive: true });
    const outFile = join(values.out, 'operator.json');
    await writeFile(outFile, JSON.stringify(result, null, 1));
    printReport(result);
    process.stdout.write(`\nwritten: ${outFile}\n`);
  } catch (err) {
    if (op) process.stderr.write(`----- operator log tail -----\n${op.proc.tail(40)}\n`);
    values.keep = true;
    await cleanup();
    throw err;
  }
}

/** The checkout's commit and whether it had local changes (read-only git commands). */
function sourceInfo() {
  try {
    const commit = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: REPO, encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], { cwd: REPO, encoding: 'utf8' }).trim().length > 0;
    return { commit, dirty };
  } catch {
    return { commit: 'unknown', dirty: true };
  }
}

/** @param {string} flag @param {string | undefined} v @param {boolean} [zeroOk] */
function positive(flag, v, zeroOk = false) {
  const n = Number(v);
  if (!Number.isInteger(n) || n < (zeroOk ? 0 : 1)) throw new Error(`${flag} ${v}: expected a ${zeroOk ? 'non-negative' : 'positive'} integer`);
  return n;
}

main().then(
  () => process.exit(0),
  (err) => {
    process.stderr.write(`bench-operator: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
