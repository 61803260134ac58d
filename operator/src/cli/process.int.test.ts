// The operator as it is deployed: the compiled `llmguard run` in its own process (runController),
// against a real kube-apiserver. It takes the Lease, reconciles, serves its endpoints, logs JSON
// lines, and on SIGTERM stops cleanly: Lease released, exit code 0.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, REPO_ROOT } from '../../../test/kube/control_plane.js';
import type { KubeObject } from '../kube/objects.js';
import { LEASE, POLICY, SECRET } from '../kube/resources.js';
import { chatPolicy, conditionOf, eventually, putSecret, scrape, setupKube, type KubeEnv } from '../../../test/kube/operator_env.js';

const NS = 'apps';
const OPERATOR_NS = 'llmguard-system';
const OUT_DIR = join(REPO_ROOT, 'build', `.operator-int-test-${process.pid}`);
const SECRET_VALUE = 'sk-process-test-0005';

let env: KubeEnv;
let child: ChildProcess | undefined;
let output = '';

beforeAll(async () => {
  // Compile the operator (the CLI and the controller) as the image does, into a private folder.
  const compile = promisify(execFile)(process.execPath, [join(REPO_ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(REPO_ROOT, 'operator', 'tsconfig.json'), '--outDir', OUT_DIR], {
    cwd: REPO_ROOT,
  });
  [env] = await Promise.all([setupKube([NS, OPERATOR_NS]), compile]);
  await putSecret(env.api, NS, 'openai', { 'api-key': SECRET_VALUE });
});

afterAll(async () => {
  child?.kill('SIGKILL');
  await env?.stop();
  await rm(OUT_DIR, { recursive: true, force: true });
});

describe('llmguard run (a real process)', () => {
  it('leads, reconciles and serves its endpoints; SIGTERM stops it cleanly and releases the Lease', async () => {
    const metricsPort = await freePort();
    const healthPort = await freePort();
    child = spawn(
      process.execPath,
      [join(OUT_DIR, 'cli', 'main.js'), 'run', '--kubeconfig', env.cp.kubeconfigPath, '--leader-elect', '--metrics-port', String(metricsPort), '--health-port', String(healthPort)],
      { cwd: REPO_ROOT, env: { ...process.env, POD_NAMESPACE: OPERATOR_NS, POD_NAME: 'llmguard-operator-test-0', KUBECONFIG: '' }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    child.stdout!.on('data', (c: Buffer) => (output += c.toString()));
    child.stderr!.on('data', (c: Buffer) => (output += c.toString()));
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child!.once('exit', (code, signal) => resolve({ code, signal })));

    await eventually('/readyz 200', async () => (await scrape(healthPort, '/readyz')).status === 200, 60_000);
    await eventually('the Lease taken', async () => {
      const l = await env.api.get<KubeObject>(LEASE, OPERATOR_NS, 'llmguard-operator');
      return (l?.spec as { holderIdentity?: string } | undefined)?.holderIdentity === 'llmguard-operator-test-0';
    });

    await env.api.create(POLICY, NS, chatPolicy(NS, 'guard'));
    await eventually('guard Ready', async () => conditionOf(await env.api.get(POLICY, NS, 'guard'), 'Ready')?.status === 'True');
    const metrics = await scrape(metricsPort);
    expect(metrics.body).toMatch(/^llmguard_leader 1$/m);
    expect(metrics.body).toMatch(/^llmguard_reconcile_total\{result="success"\} [1-9]\d*$/m);

    child.kill('SIGTERM');
    const exit = await Promise.race([exited, new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), 20_000))]);
    expect(exit, output).toEqual({ code: 0, signal: null });
    const l = await env.api.get<KubeObject>(LEASE, OPERATOR_NS, 'llmguard-operator');
    expect((l?.spec as { holderIdentity?: string }).holderIdentity).toBeUndefined();

    const lines = output.trim().split('\n');
    const records = lines.map((line) => JSON.parse(line) as { ts: string; level: string; msg: string; policy?: string });
    expect(records.map((r) => r.msg)).toEqual(expect.arrayContaining(['starting', 'became leader', 'programmed', 'released the Lease', 'stopped']));
    expect(records.find((r) => r.msg === 'programmed')?.policy).toBe('apps/guard');
    expect(output).not.toContain(SECRET_VALUE);
  });

  it('a cluster full of large unrelated Secrets (150 of 900 KiB, as Helm releases are) does not reach its heap', async () => {
    const blob = 'x'.repeat(900 * 1024);
    for (let i = 0; i < 150; i += 10) {
      await Promise.all(
        Array.from({ length: 10 }, (_, j) =>
          env.api.create(SECRET, NS, { apiVersion: 'v1', kind: 'Secret', metadata: { name: `sh.helm.release.v1.app-${i + j}.v1`, namespace: NS }, type: 'helm.sh/release.v1', stringData: { release: blob } }),
        ),
      );
    }
    const [healthPort, metricsPort] = [await freePort(), await freePort()];
    output = '';
    // The Deployment's limit is 256 MiB; 96 MiB of heap is far below what listing these Secrets with their data takes.
    child = spawn(
      process.execPath,
      ['--max-old-space-size=96', join(OUT_DIR, 'cli', 'main.js'), 'run', '--kubeconfig', env.cp.kubeconfigPath, '--metrics-port', String(metricsPort), '--health-port', String(healthPort)],
      { cwd: REPO_ROOT, env: { ...process.env, KUBECONFIG: '' }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    child.stdout!.on('data', (c: Buffer) => (output += c.toString()));
    child.stderr!.on('data', (c: Buffer) => (output += c.toString()));
    await eventually('/readyz 200', async () => {
      if (child!.exitCode !== null) throw new Error(`the operator exited (${child!.exitCode}):\n${output.slice(-2000)}`);
      return (await scrape(healthPort, '/readyz')).status === 200;
    }, 90_000);
    // A Secret change still reaches the controller: rotating the referenced one re-reconciles.
    await putSecret(env.api, NS, 'openai', { 'api-key': `${SECRET_VALUE}-rotated` });
    await env.api.create(POLICY, NS, {
      apiVersion: 'llmguard.io/v1alpha1',
      kind: 'LlmGuardPolicy',
      metadata: { name: 'after-helm', namespace: NS },
      spec: {
        selector: { matchLabels: { app: 'web' } },
        providers: [{ host: 'api.openai.com', apiKeys: [{ secretKeyRef: { name: 'openai', key: 'api-key' } }] }],
        plugin: { url: 'oci://ghcr.io/example/llm-guard:0.1.0' },
      },
    });
    await eventually('after-helm Ready', async () => conditionOf(await env.api.get(POLICY, NS, 'after-helm'), 'Ready')?.status === 'True', 60_000);
    expect(child.exitCode, output.slice(-2000)).toBeNull();
    child.kill('SIGTERM');
  });
});
