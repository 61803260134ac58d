// Informer recovery against a real kube-apiserver: the controller started before its CRD exists,
// and the CRD deleted and re-created under a running controller. Each time the policy informer
// fails (list 404) it restarts with backoff, and the controller carries on once the API is back.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kubectl } from '../../../test/kube/control_plane.js';
import type { ControllerHandle } from './index.js';
import type { KubeObject } from '../kube/objects.js';
import { POLICY } from '../kube/resources.js';
import { chatPolicy, conditionOf, eventually, installCrd, ownedObjects, putSecret, scrape, setupKube, sleep, type KubeEnv } from '../../../test/kube/operator_env.js';

const NS = 'apps';
const NS2 = 'scoped';
let env: KubeEnv;
let ctl: ControllerHandle;

const restarts = () => ctl.metrics.informerRestarts.get({ resource: 'llmguardpolicies' });

function policy(name: string, namespace = NS): KubeObject {
  return chatPolicy(namespace, name);
}

async function readyPolicy(name: string, namespace = NS): Promise<KubeObject> {
  return eventually(`${name} Ready`, async () => {
    const p = await env.api.get<KubeObject>(POLICY, namespace, name);
    return conditionOf(p, 'Ready')?.status === 'True' ? p : undefined;
  });
}

beforeAll(async () => {
  env = await setupKube([NS, NS2], { installCrd: false });
  await putSecret(env.api, NS, 'openai', { 'api-key': 'sk-recovery-test' });
  await putSecret(env.api, NS2, 'openai', { 'api-key': 'sk-scoped-test' });
});

afterAll(async () => {
  await env?.stop();
});

describe('informer recovery', () => {
  it('started before the CRD exists: retries with backoff, then syncs and reconciles once it is installed', async () => {
    ctl = env.startTestController({ informerBaseDelayMs: 200, informerMaxDelayMs: 1_000 });
    let ready = false;
    void ctl.ready.then(() => (ready = true));
    const ports = await ctl.listening;
    await eventually('two informer restarts', async () => restarts() >= 2);
    expect(ready).toBe(false);
    const readyz = await scrape(ports.healthPort, '/readyz');
    expect(readyz.status).toBe(503);
    expect(readyz.body).toContain('caches not synced');
    expect((await scrape(ports.healthPort, '/healthz')).status).toBe(200);
    expect((await scrape(ports.metricsPort)).body).toMatch(/^llmguard_informer_restarts_total\{resource="llmguardpolicies"\} [2-9]\d*$/m);
    // Backoff: restarts slow down (200, 400, 800, 1000 ms ...), they don't spin.
    const before = restarts();
    await sleep(2_000);
    expect(restarts() - before).toBeLessThanOrEqual(4);
    expect(env.logs.some((l) => l.includes('"msg":"informer error, restarting"') && l.includes('"informer":"llmguardpolicies"'))).toBe(true);

    await installCrd(env.cp);
    await ctl.ready;
    expect((await scrape(ports.healthPort, '/readyz')).status).toBe(200);
    await env.api.create(POLICY, NS, policy('first'));
    await readyPolicy('first');
    expect((await ownedObjects(env.api, NS, 'first')).size).toBe(4);
  });

  it('the CRD deleted and re-created under a running controller: the informer recovers without a restart', async () => {
    const before = restarts();
    await kubectl(env.cp, ['delete', 'crd', 'llmguardpolicies.llmguard.io', '--wait=true', '--timeout=120s']);
    await eventually('the informer failing and restarting', async () => restarts() > before);
    await installCrd(env.cp);
    await env.api.create(POLICY, NS, policy('second'));
    const p = await readyPolicy('second');
    const owned = await ownedObjects(env.api, NS, 'second');
    expect(owned.size).toBe(4);
    for (const o of owned.values()) expect(o.metadata?.ownerReferences?.[0]?.uid).toBe(p.metadata?.uid);
  });

  it('--namespace: a controller watching one namespace reconciles only the policies there', async () => {
    await ctl.stop();
    ctl = env.startTestController({ namespace: NS2 });
    await ctl.ready;
    await env.api.create(POLICY, NS, policy('outside'));
    await env.api.create(POLICY, NS2, policy('inside', NS2));
    const inside = await readyPolicy('inside', NS2);
    const owned = await ownedObjects(env.api, NS2, 'inside');
    expect(owned.size).toBe(4);
    expect((owned.get('WasmPlugin/inside')?.spec as { pluginConfig: { key_service: { path: string } } }).pluginConfig.key_service.path).toBe(`/v1/keys/${NS2}/inside`);
    // Its Secret was read (ResolvedRefs) in the watched namespace.
    expect(conditionOf(inside, 'ResolvedRefs')?.status).toBe('True');
    expect(inside.metadata?.generation).toBe(1);
    await sleep(1_000);
    expect((await env.api.get<KubeObject>(POLICY, NS, 'outside'))?.status).toBeUndefined();
    expect((await ownedObjects(env.api, NS, 'outside')).size).toBe(0);
  });
});
