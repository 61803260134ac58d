// The controller against a real kube-apiserver + etcd (test/kube), in process. The control plane
// runs no controller-manager, so there's no garbage collector: deletion is checked through the
// owner references the collector would follow. Tests in this file build on each other in order.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ControllerHandle } from './index.js';
import { ApiError } from '../kube/errors.js';
import { MERGE_PATCH, type KubeObject } from '../kube/objects.js';
import { objectPath, OWNED_TYPES, POLICY, SERVICE_ENTRY, WASM_PLUGIN } from '../kube/resources.js';
import { kubectl } from '../../../test/kube/control_plane.js';
import { conditionOf, deleteSecret, ensureWasm, eventsFor, eventually, ownedObjects, putSecret, scrape, setupKube, sleep, type KubeEnv } from '../../../test/kube/operator_env.js';
import { hostObjectName } from '../render/names.js';

const NS = 'apps';
const OPENAI_KEY_1 = 'sk-test-openai-0001';
const OPENAI_KEY_2 = 'sk-test-openai-0002-rotated';
const ANTHROPIC_KEY = 'sk-ant-test-0003';
const LATE_KEY = 'sk-late-test-0004';
const WEAK_KEY = 'sk-weak-test-0005';
const GROQ_KEY = 'sk-groq-test-0006';
const ALL_KEYS = [OPENAI_KEY_1, OPENAI_KEY_2, ANTHROPIC_KEY, LATE_KEY, WEAK_KEY, GROQ_KEY];

let env: KubeEnv;
let ctl: ControllerHandle;

function policyObject(name: string, spec: Record<string, unknown>): KubeObject {
  return { apiVersion: 'llmguard.io/v1alpha1', kind: 'LlmGuardPolicy', metadata: { name, namespace: NS }, spec };
}

const guardSpec = {
  selector: { matchLabels: { app: 'chat' } },
  providers: [{ host: 'api.openai.com', authStyle: 'bearer', apiKeys: [{ secretKeyRef: { name: 'openai', key: 'api-key' } }] }],
  denyPatterns: ['(?i)project-falcon'],
  plugin: { url: 'oci://ghcr.io/example/llm-guard:0.1.0' },
};

async function getPolicy(name: string): Promise<KubeObject | undefined> {
  return env.api.get<KubeObject>(POLICY, NS, name);
}

async function patchPolicy(name: string, patch: unknown): Promise<KubeObject> {
  return env.api.client.request<KubeObject>('PATCH', objectPath(POLICY, NS, name), { body: patch, contentType: MERGE_PATCH });
}

/** Deletes a policy and what it owns, as the garbage collector this control plane lacks would. */
async function deleteWithOwned(name: string): Promise<void> {
  await env.api.delete(POLICY, NS, name);
  for (const [id, o] of await ownedObjects(env.api, NS, name)) {
    const rt = OWNED_TYPES.find((t) => t.kind === id.split('/')[0])!;
    await env.api.delete(rt, NS, o.metadata!.name!);
  }
}

/** The policy once its status reflects its current generation and Ready has `status`. */
async function waitReady(name: string, status: 'True' | 'False' = 'True', timeoutMs = 30_000): Promise<KubeObject> {
  return eventually(
    `${name} Ready=${status} at its generation`,
    async () => {
      const p = await getPolicy(name);
      const ready = conditionOf(p, 'Ready');
      const st = p?.status as { observedGeneration?: number } | undefined;
      return p && ready?.status === status && st?.observedGeneration === p.metadata?.generation ? p : undefined;
    },
    timeoutMs,
  );
}

function pluginConfig(wasm: KubeObject | undefined): { providers: { hosts: string[]; api_keys?: string[]; auth_style: string }[]; deny_patterns?: string[]; key_service?: unknown } {
  return (wasm?.spec as { pluginConfig: never }).pluginConfig;
}

function reconciles(h: ControllerHandle): number {
  return ['success', 'error', 'blocked'].reduce((n, result) => n + h.metrics.reconcileTotal.get({ result }), 0);
}

beforeAll(async () => {
  env = await setupKube([NS]);
  ensureWasm();
  ctl = env.startTestController(); // no wasmPath: the filter check is always on
  await ctl.ready;
});

afterAll(async () => {
  await env?.stop();
});

describe('LlmGuardPolicy controller', () => {
  let guardUid = '';

  it('create: renders WasmPlugin, EnvoyFilter, ServiceEntry and DestinationRule with owner references and no key, then Ready', async () => {
    await putSecret(env.api, NS, 'openai', { 'api-key': OPENAI_KEY_1 });
    const created = await env.api.create(POLICY, NS, policyObject('guard', guardSpec));
    guardUid = created.metadata!.uid!;

    const p = await waitReady('guard');
    for (const type of ['Accepted', 'ResolvedRefs', 'Programmed', 'Ready']) {
      const c = conditionOf(p, type);
      expect(c, type).toMatchObject({ status: 'True', observedGeneration: p.metadata!.generation });
      expect(c!.reason.length).toBeGreaterThan(0);
      expect(c!.message.length).toBeGreaterThan(0);
      expect(Date.parse(c!.lastTransitionTime)).not.toBeNaN();
    }
    expect(conditionOf(p, 'Guarded')).toMatchObject({ status: 'True', reason: 'Guarded' });

    const owned = await ownedObjects(env.api, NS, 'guard');
    expect([...owned.keys()].sort()).toEqual([
      `DestinationRule/${hostObjectName('guard', 'api.openai.com')}`,
      'EnvoyFilter/guard-hold',
      `ServiceEntry/${hostObjectName('guard', 'api.openai.com')}`,
      'WasmPlugin/guard',
    ]);
    for (const [id, o] of owned) {
      expect(o.metadata?.ownerReferences, id).toEqual([
        { apiVersion: 'llmguard.io/v1alpha1', kind: 'LlmGuardPolicy', name: 'guard', uid: guardUid, controller: true, blockOwnerDeletion: true },
      ]);
      expect(o.metadata?.labels).toMatchObject({ 'llmguard.io/policy': 'guard', 'app.kubernetes.io/managed-by': 'llmguard-operator' });
      expect(o.metadata?.annotations?.['llmguard.io/render-hash'], id).toMatch(/^sha256:[0-9a-f]{64}$/);
      const managers = (o.metadata?.managedFields as { manager: string; operation: string }[]).map((m) => `${m.manager}:${m.operation}`);
      expect(managers, id).toContain('llmguard-operator:Apply');
    }
    const cfg = pluginConfig(owned.get('WasmPlugin/guard'));
    expect(cfg.providers).toEqual([{ hosts: ['api.openai.com'], auth_style: 'bearer' }]);
    expect(cfg.key_service).toEqual({ host: 'llmguard-keys.llmguard-system.svc.cluster.local', port: 15443, path: `/v1/keys/${NS}/guard` });
    // No key in any object the policy owns (docs/key-custody.md).
    for (const [id, o] of owned) expect(JSON.stringify(o), id).not.toContain(OPENAI_KEY_1);
    expect(cfg.deny_patterns).toEqual(['(?i)project-falcon']);
    expect((owned.get('WasmPlugin/guard')?.spec as { selector: unknown }).selector).toEqual({ matchLabels: { app: 'chat' } });

    const events = await eventually('a Programmed event', async () => {
      const evs = await eventsFor(env.api, NS, 'guard');
      return evs.some((e) => e.reason === 'Programmed' && e.type === 'Normal') ? evs : undefined;
    });
    expect(events.find((e) => e.reason === 'Programmed')?.message).toMatch(/WasmPlugin guard/);
  });

  it('update: a changed denyPatterns and an added provider re-render; a removed provider is pruned', async () => {
    await putSecret(env.api, NS, 'anthropic', { key: ANTHROPIC_KEY });
    const before = await env.api.get<KubeObject>(WASM_PLUGIN, NS, 'guard');
    await patchPolicy('guard', {
      spec: {
        denyPatterns: ['(?i)project-falcon', '(?i)codename-[a-z]+'],
        providers: [
          ...guardSpec.providers,
          { host: 'api.anthropic.com', authStyle: 'x-api-key', apiKeys: [{ secretKeyRef: { name: 'anthropic', key: 'key' } }] },
        ],
      },
    });
    let p = await waitReady('guard');
    expect(p.metadata?.generation).toBe(2);
    let owned = await ownedObjects(env.api, NS, 'guard');
    expect([...owned.keys()].sort()).toEqual([
      `DestinationRule/${hostObjectName('guard', 'api.anthropic.com')}`,
      `DestinationRule/${hostObjectName('guard', 'api.openai.com')}`,
      'EnvoyFilter/guard-hold',
      `ServiceEntry/${hostObjectName('guard', 'api.anthropic.com')}`,
      `ServiceEntry/${hostObjectName('guard', 'api.openai.com')}`,
      'WasmPlugin/guard',
    ]);
    const wasm = owned.get('WasmPlugin/guard');
    expect(wasm?.metadata?.resourceVersion).not.toBe(before?.metadata?.resourceVersion);
    const cfg = pluginConfig(wasm);
    expect(cfg.deny_patterns).toEqual(['(?i)project-falcon', '(?i)codename-[a-z]+']);
    expect(cfg.providers.map((x) => [x.hosts[0], x.auth_style])).toEqual([
      ['api.openai.com', 'bearer'],
      ['api.anthropic.com', 'x-api-key'],
    ]);
    // The hold filter now buffers both providers' virtual hosts.
    const ef = owned.get('EnvoyFilter/guard-hold')?.spec as { configPatches: { applyTo: string }[] };
    expect(ef.configPatches.filter((c) => c.applyTo === 'VIRTUAL_HOST')).toHaveLength(2);

    // Remove the OpenAI provider: its ServiceEntry and DestinationRule go, after their grace
    // (retireAfterMs), so requests the filter's previous config still routes there can finish.
    await patchPolicy('guard', {
      spec: { providers: [{ host: 'api.anthropic.com', authStyle: 'x-api-key', apiKeys: [{ secretKeyRef: { name: 'anthropic', key: 'key' } }] }] },
    });
    p = await waitReady('guard');
    expect(p.metadata?.generation).toBe(3);
    owned = await eventually('the OpenAI objects pruned', async () => {
      const o = await ownedObjects(env.api, NS, 'guard');
      return o.has(`ServiceEntry/${hostObjectName('guard', 'api.openai.com')}`) ? undefined : o;
    });
    expect([...owned.keys()].sort()).toEqual([
      `DestinationRule/${hostObjectName('guard', 'api.anthropic.com')}`,
      'EnvoyFilter/guard-hold',
      `ServiceEntry/${hostObjectName('guard', 'api.anthropic.com')}`,
      'WasmPlugin/guard',
    ]);
    expect(pluginConfig(owned.get('WasmPlugin/guard')).providers.map((x) => x.hosts[0])).toEqual(['api.anthropic.com']);
    const retiring = env.logs.filter((l) => l.includes('retiring objects the policy no longer wants'));
    expect(retiring.join('\n')).toContain(`ServiceEntry ${hostObjectName('guard', 'api.openai.com')}`);
    expect(retiring.join('\n')).toContain(`DestinationRule ${hostObjectName('guard', 'api.openai.com')}`);

    // Back to OpenAI + Anthropic for the tests that follow.
    await patchPolicy('guard', {
      spec: {
        providers: [
          ...guardSpec.providers,
          { host: 'api.anthropic.com', authStyle: 'x-api-key', apiKeys: [{ secretKeyRef: { name: 'anthropic', key: 'key' } }] },
        ],
      },
    });
    await waitReady('guard');
    expect((await ownedObjects(env.api, NS, 'guard')).size).toBe(6);

    // kubectl get shows every host (status.hosts; a list's jsonPath would show the first) and the reason.
    const table = (await kubectl(env.cp, ['get', 'lgp', 'guard', '-n', NS])).stdout;
    expect(table).toMatch(/^NAME\s+HOSTS\s+GUARD\s+READY\s+REASON\s+AGE$/m);
    expect(table).toMatch(/^guard\s+api\.openai\.com, api\.anthropic\.com\s.*\bTrue\s+Ready\s/m);
  });

  it('an invalid spec is rejected by the apiserver with the CRD validation message', async () => {
    let err: unknown;
    try {
      await env.api.create(POLICY, NS, policyObject('bad-https', { ...guardSpec, plugin: { url: 'https://example.com/llm-guard.wasm' } }));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ApiError);
    expect((err as ApiError).statusCode).toBe(422);
    expect((err as ApiError).serverMessage).toContain('an https:// plugin url requires sha256');
    expect(await getPolicy('bad-https')).toBeUndefined();
  });

  it('hosts whose names slug alike, in one policy or across policies, get objects of their own', async () => {
    const key = [{ secretKeyRef: { name: 'openai', key: 'api-key' } }];
    // `api.openai.com` and `api-openai.com` slug alike; so do policy `team` + `a-api.example.com`
    // and policy `team-a` + `api.example.com`.
    await env.api.create(POLICY, NS, policyObject('collide', { ...guardSpec, selector: { matchLabels: { app: 'collide' } }, providers: [{ host: 'api.openai.com', apiKeys: key }, { host: 'api-openai.com', apiKeys: key }] }));
    await env.api.create(POLICY, NS, policyObject('team', { ...guardSpec, selector: { matchLabels: { app: 'team' } }, providers: [{ host: 'a-api.example.com', apiKeys: key }] }));
    await env.api.create(POLICY, NS, policyObject('team-a', { ...guardSpec, selector: { matchLabels: { app: 'team-a' } }, providers: [{ host: 'api.example.com', apiKeys: key }] }));
    for (const name of ['collide', 'team', 'team-a']) await waitReady(name, 'True');
    const collide = await ownedObjects(env.api, NS, 'collide');
    expect([...collide.keys()].filter((k) => k.startsWith('ServiceEntry/')).sort()).toEqual(
      [`ServiceEntry/${hostObjectName('collide', 'api-openai.com')}`, `ServiceEntry/${hostObjectName('collide', 'api.openai.com')}`].sort(),
    );
    const team = (await ownedObjects(env.api, NS, 'team')).get(`ServiceEntry/${hostObjectName('team', 'a-api.example.com')}`);
    const teamA = (await ownedObjects(env.api, NS, 'team-a')).get(`ServiceEntry/${hostObjectName('team-a', 'api.example.com')}`);
    expect((team?.spec as { hosts: string[] }).hosts).toEqual(['a-api.example.com']);
    expect((teamA?.spec as { hosts: string[] }).hosts).toEqual(['api.example.com']);
    expect(team?.metadata?.name).not.toBe(teamA?.metadata?.name);
    for (const name of ['collide', 'team', 'team-a']) await deleteWithOwned(name);
  });

  it('the filter refuses a pattern: Accepted=False with its reason, nothing applied', async () => {
    await env.api.create(POLICY, NS, policyObject('lookahead', { ...guardSpec, selector: { matchLabels: { app: 'lookahead' } }, denyPatterns: ['(?i)fine', 'secret(?=s)'] }));
    const p = await waitReady('lookahead', 'False');
    const accepted = conditionOf(p, 'Accepted');
    expect(accepted).toMatchObject({ status: 'False', reason: 'FilterRejectedConfig' });
    expect(accepted!.message).toMatch(/deny_patterns\[1\].*look/);
    expect(accepted!.message).toContain('spec.denyPatterns[1]');
    expect(conditionOf(p, 'Ready')).toMatchObject({ status: 'False', reason: 'FilterRejectedConfig' });
    expect((await ownedObjects(env.api, NS, 'lookahead')).size).toBe(0);
    await eventually('a FilterRejectedConfig warning', async () =>
      (await eventsFor(env.api, NS, 'lookahead')).some((e) => e.type === 'Warning' && e.reason === 'FilterRejectedConfig'),
    );
    await env.api.delete(POLICY, NS, 'lookahead');
  });

  it('the filter check is on without --wasm: a programmed policy updated with a refused pattern keeps its objects as they were', async () => {
    await env.api.create(POLICY, NS, policyObject('tightened', { ...guardSpec, selector: { matchLabels: { app: 'tightened' } } }));
    await waitReady('tightened');
    const before = (await ownedObjects(env.api, NS, 'tightened')).get('WasmPlugin/tightened');
    await patchPolicy('tightened', { spec: { denyPatterns: ['(?=x)'] } });
    const p = await waitReady('tightened', 'False');
    expect(conditionOf(p, 'Accepted')).toMatchObject({ status: 'False', reason: 'FilterRejectedConfig' });
    expect(conditionOf(p, 'Programmed')!.message).toMatch(/Nothing applied.*left as they are/);
    const after = (await ownedObjects(env.api, NS, 'tightened')).get('WasmPlugin/tightened');
    expect(after?.metadata?.resourceVersion).toBe(before?.metadata?.resourceVersion);
    expect(pluginConfig(after).deny_patterns).toEqual(pluginConfig(before).deny_patterns);
    await deleteWithOwned('tightened');
  });

  it('overlapping policies (same workloads, same host): the older is programmed, the newer is not, each names the other', async () => {
    const key = [{ secretKeyRef: { name: 'openai', key: 'api-key' } }];
    const spec = (app: Record<string, string>, hosts: string[]) => ({ ...guardSpec, selector: { matchLabels: app }, providers: hosts.map((host) => ({ host, apiKeys: key })) });
    await env.api.create(POLICY, NS, policyObject('shared-old', spec({ app: 'shared' }, ['api.openai.com'])));
    await waitReady('shared-old');
    await sleep(1_100); // creationTimestamp has one-second resolution
    await env.api.create(POLICY, NS, policyObject('shared-new', spec({ app: 'shared', tier: 'web' }, ['api.anthropic.com', 'api.openai.com'])));
    const loser = await waitReady('shared-new', 'False');
    expect(conditionOf(loser, 'Accepted')).toMatchObject({ status: 'False', reason: 'Conflicted' });
    expect(conditionOf(loser, 'Accepted')!.message).toContain(`${NS}/shared-old (api.openai.com)`);
    expect(conditionOf(loser, 'Conflicted')).toMatchObject({ status: 'True', reason: 'OverlappingPolicy' });
    expect(conditionOf(loser, 'Ready')).toMatchObject({ status: 'False', reason: 'Conflicted' });
    expect((await ownedObjects(env.api, NS, 'shared-new')).size).toBe(0);
    const winner = await eventually('the older policy names the newer', async () => {
      const p = await getPolicy('shared-old');
      return conditionOf(p, 'Conflicted')?.message.includes(`${NS}/shared-new`) ? p : undefined;
    });
    expect(conditionOf(winner, 'Ready')).toMatchObject({ status: 'True' });
    await eventually('a Warning event on each', async () => {
      const events = [...(await eventsFor(env.api, NS, 'shared-new')), ...(await eventsFor(env.api, NS, 'shared-old'))];
      return events.filter((e) => e.type === 'Warning' && e.reason === 'OverlappingPolicy').length >= 2;
    });

    // A programmed policy that becomes the newer of an overlapping pair loses its objects.
    await env.api.create(POLICY, NS, policyObject('shared-later', spec({ app: 'later' }, ['api.openai.com'])));
    await waitReady('shared-later');
    expect((await ownedObjects(env.api, NS, 'shared-later')).has('WasmPlugin/shared-later')).toBe(true);
    await patchPolicy('shared-old', { spec: { selector: { matchLabels: { app: 'later' } } } });
    const overtaken = await waitReady('shared-later', 'False');
    expect(conditionOf(overtaken, 'Programmed')).toMatchObject({ status: 'False', reason: 'Conflicted' });
    expect(conditionOf(overtaken, 'Programmed')!.message).toMatch(/what it had programmed is removed/);
    expect((await ownedObjects(env.api, NS, 'shared-later')).size).toBe(0);
    // shared-new no longer overlaps shared-old: it is programmed now, and the condition is gone.
    const freed = await waitReady('shared-new');
    expect(conditionOf(freed, 'Conflicted')).toBeUndefined();
    expect((await ownedObjects(env.api, NS, 'shared-new')).has('WasmPlugin/shared-new')).toBe(true);

    // Deleting the older one hands the host to the newer.
    await deleteWithOwned('shared-old');
    const taken = await waitReady('shared-later');
    expect(conditionOf(taken, 'Conflicted')).toBeUndefined();
    for (const name of ['shared-new', 'shared-later']) await deleteWithOwned(name);
  });

  it('a hold the cluster refuses (an admission policy forbidding EnvoyFilters): HoldNotInstalled, not Ready, until it is allowed', async () => {
    // As platforms that forbid EnvoyFilter do, here with a ValidatingAdmissionPolicy limited to this policy's objects.
    const forbid = [
      {
        apiVersion: 'admissionregistration.k8s.io/v1',
        kind: 'ValidatingAdmissionPolicy',
        metadata: { name: 'no-envoyfilters' },
        spec: {
          failurePolicy: 'Fail',
          matchConstraints: { resourceRules: [{ apiGroups: ['networking.istio.io'], apiVersions: ['*'], operations: ['CREATE', 'UPDATE'], resources: ['envoyfilters'] }] },
          matchConditions: [{ name: 'this-test', expression: "object.metadata.name.startsWith('nohold-')" }],
          validations: [{ expression: 'false', message: 'EnvoyFilters are not allowed in this cluster' }],
        },
      },
      { apiVersion: 'admissionregistration.k8s.io/v1', kind: 'ValidatingAdmissionPolicyBinding', metadata: { name: 'no-envoyfilters' }, spec: { policyName: 'no-envoyfilters', validationActions: ['Deny'] } },
    ];
    await kubectl(env.cp, ['apply', '-f', '-'], { input: forbid.map((o) => JSON.stringify(o)).join('\n---\n') });
    // The binding takes effect once the apiserver has loaded it.
    await eventually('the admission policy in force', async () => {
      const probe = { apiVersion: 'networking.istio.io/v1alpha3', kind: 'EnvoyFilter', metadata: { name: 'nohold-probe', namespace: NS }, spec: {} };
      const r = await kubectl(env.cp, ['apply', '--dry-run=server', '-f', '-'], { input: JSON.stringify(probe), allowFailure: true });
      return r.code !== 0 && r.stderr.includes('not allowed in this cluster');
    });

    await env.api.create(POLICY, NS, policyObject('nohold', { ...guardSpec, selector: { matchLabels: { app: 'nohold' } } }));
    const p = await waitReady('nohold', 'False');
    const programmed = conditionOf(p, 'Programmed');
    expect(programmed).toMatchObject({ status: 'False', reason: 'HoldNotInstalled' });
    expect(programmed!.message).toContain('EnvoyFilter nohold-hold');
    expect(programmed!.message).toContain('EnvoyFilters are not allowed in this cluster');
    expect(conditionOf(p, 'Ready')).toMatchObject({ status: 'False', reason: 'HoldNotInstalled' });
    // The filter went first: on the proxy without its hold it refuses inspected requests (require_hold).
    const owned = await ownedObjects(env.api, NS, 'nohold');
    expect(owned.has('WasmPlugin/nohold')).toBe(true);
    expect(owned.has('EnvoyFilter/nohold-hold')).toBe(false);
    await eventually('a HoldNotInstalled warning', async () =>
      (await eventsFor(env.api, NS, 'nohold')).some((e) => e.type === 'Warning' && e.reason === 'HoldNotInstalled'),
    );

    await kubectl(env.cp, ['delete', 'validatingadmissionpolicybinding', 'no-envoyfilters']);
    await kubectl(env.cp, ['delete', 'validatingadmissionpolicy', 'no-envoyfilters']);
    await waitReady('nohold', 'True', 60_000);
    expect((await ownedObjects(env.api, NS, 'nohold')).has('EnvoyFilter/nohold-hold')).toBe(true);
    await env.api.delete(POLICY, NS, 'nohold');
    // No garbage collector in this control plane: remove what it owned, as the GC would.
    for (const [id] of await ownedObjects(env.api, NS, 'nohold')) {
      const [kind, name] = id.split('/');
      await kubectl(env.cp, ['delete', kind!.toLowerCase(), '-n', NS, name!]);
    }
  });

  it('a missing Secret: ResolvedRefs=False and a Warning event; the objects are applied (they hold no key, the filter refuses that provider); the Secret makes it Ready', async () => {
    await env.api.create(
      POLICY,
      NS,
      policyObject('late', { ...guardSpec, providers: [{ host: 'api.mistral.ai', apiKeys: [{ secretKeyRef: { name: 'mistral', key: 'token' } }] }] }),
    );
    let p = await waitReady('late', 'False');
    expect(conditionOf(p, 'Accepted')?.status).toBe('True');
    expect(conditionOf(p, 'ResolvedRefs')).toMatchObject({ status: 'False', reason: 'SecretNotFound' });
    expect(conditionOf(p, 'ResolvedRefs')!.message).toContain('"mistral"');
    expect(conditionOf(p, 'Programmed')).toMatchObject({ status: 'True' });
    expect(conditionOf(p, 'Ready')).toMatchObject({ status: 'False', reason: 'SecretNotFound' });
    expect((await kubectl(env.cp, ['get', 'lgp', 'late', '-n', NS])).stdout).toMatch(/^late\s+api\.mistral\.ai\s.*\bFalse\s+SecretNotFound\s/m);
    const warning = await eventually('a SecretNotFound warning', async () =>
      (await eventsFor(env.api, NS, 'late')).find((e) => e.type === 'Warning' && e.reason === 'SecretNotFound'),
    );
    expect(warning.message).toContain('mistral');
    const applied = await ownedObjects(env.api, NS, 'late');
    expect(applied.size).toBe(4);
    const acceptedSince = conditionOf(p, 'Accepted')!.lastTransitionTime;

    // The Secret appears, with the wrong key: SecretKeyNotFound.
    await putSecret(env.api, NS, 'mistral', { wrong: LATE_KEY });
    p = await eventually('SecretKeyNotFound', async () => {
      const x = await getPolicy('late');
      return conditionOf(x, 'ResolvedRefs')?.reason === 'SecretKeyNotFound' ? x : undefined;
    });
    expect(conditionOf(p, 'ResolvedRefs')!.message).toContain('"token"');

    // The right key: Ready without any change to the policy, and nothing rewritten.
    await putSecret(env.api, NS, 'mistral', { token: LATE_KEY });
    p = await waitReady('late');
    expect(p.metadata?.generation).toBe(1);
    const owned = await ownedObjects(env.api, NS, 'late');
    for (const [id, o] of applied) expect(owned.get(id)?.metadata?.resourceVersion, id).toBe(o.metadata?.resourceVersion);
    expect(JSON.stringify([...owned.values()])).not.toContain(LATE_KEY);
    // Accepted stayed True throughout: its lastTransitionTime never moved.
    expect(conditionOf(p, 'Accepted')!.lastTransitionTime).toBe(acceptedSince);
  });

  it('a Secret that disappears leaves the applied objects as they are, and the policy says so', async () => {
    const before = await ownedObjects(env.api, NS, 'late');
    await deleteSecret(env.api, NS, 'mistral');
    await eventually('ResolvedRefs=False', async () => conditionOf(await getPolicy('late'), 'ResolvedRefs')?.reason === 'SecretNotFound');
    await sleep(500);
    const after = await ownedObjects(env.api, NS, 'late');
    expect([...after].map(([k, o]) => [k, o.metadata?.resourceVersion])).toEqual([...before].map(([k, o]) => [k, o.metadata?.resourceVersion]));
    await putSecret(env.api, NS, 'mistral', { token: LATE_KEY });
    await waitReady('late');
  });

  it('Secret rotation rewrites nothing: the objects hold no key (the key service serves the new one)', async () => {
    const before = await ownedObjects(env.api, NS, 'guard');
    const handled = reconciles(ctl);
    await putSecret(env.api, NS, 'openai', { 'api-key': OPENAI_KEY_2 });
    await eventually('the change seen', async () => reconciles(ctl) > handled && ctl.metrics.queueDepth.get() === 0);
    await waitReady('guard');
    const owned = await ownedObjects(env.api, NS, 'guard');
    for (const [id, o] of before) expect(owned.get(id)?.metadata?.resourceVersion, id).toBe(o.metadata?.resourceVersion);
    expect(JSON.stringify([...owned.values()])).not.toContain(OPENAI_KEY_2);
  });

  it('serves /healthz, /readyz and /metrics', async () => {
    const ports = await ctl.listening;
    expect((await scrape(ports.healthPort, '/healthz')).status).toBe(200);
    const ready = await scrape(ports.healthPort, '/readyz');
    expect(ready.status).toBe(200);
    expect(ready.body).toContain('running');
    const m = await scrape(ports.metricsPort);
    expect(m.status).toBe(200);
    expect(m.body).toMatch(/^llmguard_reconcile_total\{result="success"\} [1-9]\d*$/m);
    expect(m.body).toMatch(/^llmguard_reconcile_duration_seconds_count [1-9]\d*$/m);
    expect(m.body).toMatch(/^llmguard_workqueue_depth \d+$/m);
    expect(m.body).toMatch(/^llmguard_leader 1$/m);
    expect(m.body).toMatch(/^llmguard_object_writes_total\{kind="WasmPlugin",operation="apply"\} [1-9]\d*$/m);
    expect(m.body).toMatch(/^llmguard_object_writes_total\{kind="ServiceEntry",operation="prune"\} [1-9]\d*$/m);
  });

  it('logs are JSON lines with ts, level, msg and policy, and never carry a Secret value', () => {
    expect(env.logs.length).toBeGreaterThan(10);
    let withPolicy = 0;
    for (const line of env.logs) {
      const rec = JSON.parse(line) as Record<string, unknown>;
      expect(typeof rec.ts).toBe('string');
      expect(['debug', 'info', 'warn', 'error']).toContain(rec.level);
      expect(typeof rec.msg).toBe('string');
      if (typeof rec.policy === 'string') withPolicy++;
      for (const key of ALL_KEYS) expect(line).not.toContain(key);
    }
    expect(withPolicy).toBeGreaterThan(0);
  });

  it('restart: a new controller converges on the unchanged cluster with no writes', async () => {
    const policies = ['guard', 'late'];
    for (const name of policies) await waitReady(name);
    await ctl.stop();

    const snapshot = async () => {
      const owned = await ownedObjects(env.api, NS);
      const out: Record<string, string | undefined> = {};
      for (const [id, o] of owned) out[id] = o.metadata?.resourceVersion;
      for (const name of policies) out[`LlmGuardPolicy/${name}`] = (await getPolicy(name))?.metadata?.resourceVersion;
      out.events = String((await eventsFor(env.api, NS, 'guard')).length + (await eventsFor(env.api, NS, 'late')).length);
      return out;
    };
    const before = await snapshot();
    expect(Object.keys(before).filter((k) => !k.startsWith('LlmGuardPolicy/') && k !== 'events')).toHaveLength(10);

    ctl = env.startTestController({ wasmPath: ensureWasm() });
    await ctl.ready;
    await eventually('both policies reconciled', async () => reconciles(ctl) >= policies.length && ctl.metrics.queueDepth.get() === 0);
    await sleep(1_500);
    expect(await snapshot()).toEqual(before);
    expect(ctl.metrics.reconcileTotal.get({ result: 'success' })).toBeGreaterThanOrEqual(2);
    expect(ctl.metrics.render()).not.toMatch(/^llmguard_object_writes_total/m);
    expect(ctl.metrics.statusWrites.get()).toBe(0);
    expect(ctl.metrics.eventsEmitted.get({ type: 'Normal' }) + ctl.metrics.eventsEmitted.get({ type: 'Warning' })).toBe(0);
    expect(ctl.metrics.apiRequests.get({ method: 'PATCH', code: '200' })).toBe(0);
  });

  it('drift: an owned object edited or deleted by hand is restored at once, from its watch', async () => {
    await ctl.stop();
    ctl = env.startTestController({ resyncPeriodMs: 10 * 60_000 }); // no resync within this test
    await ctl.ready;
    await eventually('startup reconciles done', async () => reconciles(ctl) >= 2 && ctl.metrics.queueDepth.get() === 0);
    const before = reconciles(ctl);
    // A hand edit of a field we own, and a deleted ServiceEntry; the policy itself doesn't change.
    await env.api.client.request('PATCH', objectPath(WASM_PLUGIN, NS, 'guard'), {
      body: { spec: { url: 'oci://ghcr.io/someone/else:1' } },
      contentType: MERGE_PATCH,
    });
    await env.api.delete(SERVICE_ENTRY, NS, hostObjectName('guard', 'api.anthropic.com'));
    await eventually('the WasmPlugin url restored and the ServiceEntry recreated', async () => {
      const o = await ownedObjects(env.api, NS, 'guard');
      return (o.get('WasmPlugin/guard')?.spec as { url: string }).url === guardSpec.plugin.url && o.has(`ServiceEntry/${hostObjectName('guard', 'api.anthropic.com')}`);
    }, 10_000);
    expect(reconciles(ctl)).toBeGreaterThan(before);
    // A Warning event names what was restored (the field, never its value).
    const reverted = await eventually('a DriftReverted warning naming both', async () =>
      (await eventsFor(env.api, NS, 'guard')).filter((e) => e.type === 'Warning' && e.reason === 'DriftReverted').map((e) => e.message).join('\n') || undefined,
    );
    expect(reverted).toContain('WasmPlugin guard: spec.url changed');
    expect(reverted).toContain(`ServiceEntry ${hostObjectName('guard', 'api.anthropic.com')}: missing`);
    expect(reverted).not.toContain('someone/else');
    // Our own writes come back as watch events; they must settle, not feed a loop.
    await sleep(1_500);
    const settled = reconciles(ctl);
    await sleep(1_500);
    expect(reconciles(ctl)).toBe(settled);
  });

  it('delete: the owned objects carry the controller owner reference the garbage collector follows', async () => {
    const before = await ownedObjects(env.api, NS, 'guard');
    expect(before.size).toBe(6);
    await env.api.delete(POLICY, NS, 'guard');
    await eventually('the policy gone', async () => (await getPolicy('guard')) === undefined);
    await sleep(1_000);
    const after = await ownedObjects(env.api, NS, 'guard');
    // No GC in this control plane: the objects stay, untouched by the controller, each owned by the deleted policy.
    expect([...after.keys()].sort()).toEqual([...before.keys()].sort());
    for (const [id, o] of after) {
      expect(o.metadata?.resourceVersion, id).toBe(before.get(id)?.metadata?.resourceVersion);
      const controllers = (o.metadata?.ownerReferences ?? []).filter((r) => r.controller);
      expect(controllers, id).toEqual([
        { apiVersion: 'llmguard.io/v1alpha1', kind: 'LlmGuardPolicy', name: 'guard', uid: guardUid, controller: true, blockOwnerDeletion: true },
      ]);
    }
  });

  it('settings that weaken the guard: Guarded=False naming them and a Warning event; still Ready; gone when fixed', async () => {
    await putSecret(env.api, NS, 'cohere', { key: WEAK_KEY });
    const weakSpec = {
      ...guardSpec,
      selector: { matchLabels: { app: 'weak' } },
      providers: [{ host: 'api.cohere.com', apiKeys: [{ secretKeyRef: { name: 'cohere', key: 'key' } }] }],
      inspection: { logPrompts: true },
      plugin: { ...guardSpec.plugin, failStrategy: 'FAIL_OPEN' },
    };
    await env.api.create(POLICY, NS, policyObject('weak', weakSpec));
    let p = await waitReady('weak');
    const guarded = conditionOf(p, 'Guarded');
    expect(guarded).toMatchObject({ status: 'False', reason: 'WeakeningSettings' });
    expect(guarded!.message).toContain('inspection.logPrompts is true');
    expect(guarded!.message).toContain('plugin.failStrategy is FAIL_OPEN');
    expect((p.status as { conditions: { type: string }[] }).conditions.map((c) => c.type)).toEqual(['Accepted', 'ResolvedRefs', 'Programmed', 'Guarded', 'Ready']);
    const warning = await eventually('a WeakeningSettings warning', async () =>
      (await eventsFor(env.api, NS, 'weak')).find((e) => e.type === 'Warning' && e.reason === 'WeakeningSettings'),
    );
    expect(warning.message).toContain('FAIL_OPEN');

    await patchPolicy('weak', { spec: { inspection: null, plugin: { failStrategy: null } } });
    p = await waitReady('weak');
    expect(conditionOf(p, 'Guarded')).toMatchObject({ status: 'True', reason: 'Guarded' });
  });

  it('an object of the same name that no controller owns is never overwritten: Programmed=False Conflict until it is gone', async () => {
    const handMade: KubeObject = {
      apiVersion: 'networking.istio.io/v1',
      kind: 'ServiceEntry',
      metadata: { name: hostObjectName('byhand', 'api.groq.com'), namespace: NS },
      spec: { hosts: ['api.groq.com'], ports: [{ number: 443, name: 'tls', protocol: 'TLS' }], resolution: 'DNS', location: 'MESH_EXTERNAL' },
    };
    await env.api.create(SERVICE_ENTRY, NS, handMade);
    await putSecret(env.api, NS, 'groq', { key: GROQ_KEY });
    const spec = { ...guardSpec, selector: { matchLabels: { app: 'byhand' } }, providers: [{ host: 'api.groq.com', apiKeys: [{ secretKeyRef: { name: 'groq', key: 'key' } }] }] };
    await env.api.create(POLICY, NS, policyObject('byhand', spec));
    const p = await waitReady('byhand', 'False');
    expect(conditionOf(p, 'Programmed')).toMatchObject({ status: 'False', reason: 'Conflict' });
    expect(conditionOf(p, 'Programmed')!.message).toContain(`ServiceEntry "${hostObjectName('byhand', 'api.groq.com')}" already exists and no controller owns it`);
    const se = await env.api.get<KubeObject>(SERVICE_ENTRY, NS, hostObjectName('byhand', 'api.groq.com'));
    expect(se?.metadata?.ownerReferences).toBeUndefined();
    expect(se?.metadata?.labels).toBeUndefined();
    expect(se?.spec).toEqual(handMade.spec);
    expect((await ownedObjects(env.api, NS, 'byhand')).size).toBe(0);

    // Gone: the next retry programs the policy.
    await env.api.delete(SERVICE_ENTRY, NS, hostObjectName('byhand', 'api.groq.com'));
    await waitReady('byhand', 'True', 60_000);
    expect((await ownedObjects(env.api, NS, 'byhand')).has(`ServiceEntry/${hostObjectName('byhand', 'api.groq.com')}`)).toBe(true);
  });
});
