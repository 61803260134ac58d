// Leader election against a real kube-apiserver: of two controllers with --leader-elect only the
// Lease holder reconciles; the other takes over when the leader stops (released Lease) or when a
// leader vanishes without releasing (expired Lease).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ControllerHandle, ControllerOptions } from './index.js';
import { MERGE_PATCH, type KubeObject } from '../kube/objects.js';
import { LEASE, objectPath, POLICY, WASM_PLUGIN } from '../kube/resources.js';
import { chatPolicy, conditionOf, eventually, putSecret, scrape, setupKube, sleep, type KubeEnv } from '../../../test/kube/operator_env.js';

const NS = 'team-a';
const OPERATOR_NS = 'llmguard-system';
const LEASE_NAME = 'llmguard-operator';

let env: KubeEnv;

const election: Partial<ControllerOptions> = {
  leaderElect: true,
  leaseNamespace: OPERATOR_NS,
  leaseDurationMs: 4_000,
  renewDeadlineMs: 3_000,
  retryPeriodMs: 500,
};

function start(identity: string, extra: Partial<ControllerOptions> = {}): ControllerHandle {
  return env.startTestController({ ...election, identity, ...extra });
}

function reconciles(h: ControllerHandle): number {
  return ['success', 'error', 'blocked'].reduce((n, result) => n + h.metrics.reconcileTotal.get({ result }), 0);
}

async function lease(): Promise<{ holderIdentity?: string; leaseTransitions?: number; leaseDurationSeconds?: number } | undefined> {
  const l = await env.api.get<KubeObject>(LEASE, OPERATOR_NS, LEASE_NAME);
  return l?.spec as never;
}

async function denyPatterns(): Promise<string[] | undefined> {
  const w = await env.api.get<KubeObject>(WASM_PLUGIN, NS, 'guard');
  return (w?.spec as { pluginConfig?: { deny_patterns?: string[] } } | undefined)?.pluginConfig?.deny_patterns;
}

async function setDenyPatterns(patterns: string[]): Promise<void> {
  await env.api.client.request('PATCH', objectPath(POLICY, NS, 'guard'), { body: { spec: { denyPatterns: patterns } }, contentType: MERGE_PATCH });
}

beforeAll(async () => {
  env = await setupKube([NS, OPERATOR_NS]);
  await putSecret(env.api, NS, 'openai', { 'api-key': 'sk-leader-test' });
});

afterAll(async () => {
  await env?.stop();
});

describe('leader election', () => {
  let a: ControllerHandle;
  let b: ControllerHandle;

  it('only the Lease holder reconciles', async () => {
    a = start('controller-a');
    await a.ready;
    expect(a.isLeader()).toBe(true);
    // b won't release the Lease when stopped: that's how a crashed leader looks to the others.
    b = start('controller-b', { releaseOnStop: false });
    const bPorts = await b.listening;
    await sleep(2_000);
    expect(b.isLeader()).toBe(false);
    expect(await lease()).toMatchObject({ holderIdentity: 'controller-a', leaseDurationSeconds: 4 });

    await env.api.create(POLICY, NS, chatPolicy(NS, 'guard', { denyPatterns: ['one'] }));
    await eventually('guard Ready', async () => conditionOf(await env.api.get(POLICY, NS, 'guard'), 'Ready')?.status === 'True');
    expect(await denyPatterns()).toEqual(['one']);
    expect(reconciles(a)).toBeGreaterThan(0);
    expect(reconciles(b)).toBe(0);
    expect(b.metrics.statusWrites.get()).toBe(0);
    expect(b.metrics.render()).not.toMatch(/^llmguard_object_writes_total/m);

    // The standby is live and ready (as a standby), and says it isn't the leader.
    const ready = await scrape(bPorts.healthPort, '/readyz');
    expect(ready.status).toBe(200);
    expect(ready.body).toContain('standby');
    expect((await scrape(bPorts.metricsPort)).body).toMatch(/^llmguard_leader 0$/m);
    expect((await scrape((await a.listening).metricsPort)).body).toMatch(/^llmguard_leader 1$/m);
  });

  it('the standby takes over at once when the leader stops and releases the Lease', async () => {
    const stoppedAt = Date.now();
    await a.stop();
    await b.ready;
    expect(b.isLeader()).toBe(true);
    // Released: well before the 4 s lease would have expired.
    expect(Date.now() - stoppedAt).toBeLessThan(3_500);
    expect(await lease()).toMatchObject({ holderIdentity: 'controller-b', leaseTransitions: 1 });

    await setDenyPatterns(['one', 'two']);
    await eventually('b re-rendered the WasmPlugin', async () => JSON.stringify(await denyPatterns()) === JSON.stringify(['one', 'two']));
    expect(reconciles(b)).toBeGreaterThan(0);
    expect(a.isLeader()).toBe(false);
  });

  it('a leader that vanishes without releasing is replaced once its Lease expires', async () => {
    const c = start('controller-c');
    await c.listening;
    await sleep(1_000);
    expect(c.isLeader()).toBe(false);
    // b "crashes": it stops without releasing the Lease.
    await b.stop();
    expect(await lease()).toMatchObject({ holderIdentity: 'controller-b' });
    const vanishedAt = Date.now();
    await c.ready;
    const waited = Date.now() - vanishedAt;
    expect(waited).toBeGreaterThanOrEqual(2_000);
    expect(waited).toBeLessThan(15_000);
    expect(await lease()).toMatchObject({ holderIdentity: 'controller-c', leaseTransitions: 2 });
    await setDenyPatterns(['three']);
    await eventually('c re-rendered the WasmPlugin', async () => JSON.stringify(await denyPatterns()) === JSON.stringify(['three']));
    await c.stop();
  });
});
