// The controller under the project's own RBAC (manifests/rbac), as its ServiceAccount, against a
// real kube-apiserver with OwnerReferencesPermissionEnforcement on (as OpenShift and hardened
// clusters run): every call the controller makes must be allowed, including setting
// blockOwnerDeletion owner references on what it creates.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kubectl } from './control_plane.js';
import type { KubeObject } from '../../operator/src/kube/objects.js';
import { LEASE, POLICY } from '../../operator/src/kube/resources.js';
import { chatPolicy, conditionOf, eventsFor, eventually, installOperatorRbac, ownedObjects, putSecret, serviceAccountKubeconfig, setupKube, type KubeEnv } from './operator_env.js';

const NS = 'apps';
const OPERATOR_NS = 'llmguard-system';
const SA = `system:serviceaccount:${OPERATOR_NS}:llmguard-operator`;
let env: KubeEnv;
let saKubeconfig: string;
let canSetFinalizers = false;

/** Grants what the owner references need, for the rest of the checks, when manifests/rbac lacks it. */
const FINALIZERS_STOPGAP = `
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: { name: llmguard-test-policy-finalizers }
rules:
  - apiGroups: ["llmguard.io"]
    resources: ["llmguardpolicies/finalizers"]
    verbs: ["update"]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: { name: llmguard-test-policy-finalizers }
roleRef: { apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: llmguard-test-policy-finalizers }
subjects:
  - { kind: ServiceAccount, name: llmguard-operator, namespace: ${OPERATOR_NS} }
`;

beforeAll(async () => {
  env = await setupKube([NS], { controlPlane: { apiserverArgs: ['--enable-admission-plugins=OwnerReferencesPermissionEnforcement'] } });
  await installOperatorRbac(env.cp);
  const canI = await kubectl(env.cp, ['auth', 'can-i', 'update', 'llmguardpolicies.llmguard.io', '--subresource=finalizers', `--as=${SA}`, '-n', NS], { allowFailure: true });
  canSetFinalizers = canI.stdout.trim() === 'yes';
  saKubeconfig = await serviceAccountKubeconfig(env.cp, OPERATOR_NS, 'llmguard-operator');
  await putSecret(env.api, NS, 'openai', { 'api-key': 'sk-rbac-test' });
});

afterAll(async () => {
  await env?.stop();
});

describe('the controller as its ServiceAccount, under manifests/rbac', () => {
  it('may update llmguardpolicies/finalizers: needed to set blockOwnerDeletion owner references under OwnerReferencesPermissionEnforcement', () => {
    // Without it every apply is refused: `wasmplugins.extensions.istio.io "x" is forbidden: cannot
    // set blockOwnerDeletion if an ownerReference refers to a resource you can't set finalizers on`.
    expect(canSetFinalizers, 'manifests/rbac/cluster_role.yaml: add llmguardpolicies/finalizers with verb update').toBe(true);
  });

  it('leads, applies, prunes, writes status and Events with no request refused', async () => {
    if (!canSetFinalizers) await kubectl(env.cp, ['apply', '-f', '-'], { input: FINALIZERS_STOPGAP });
    const ctl = env.startTestController({ kubeconfig: saKubeconfig, leaderElect: true, leaseNamespace: OPERATOR_NS, identity: 'sa-operator' });
    await ctl.ready;
    expect((await env.api.get<KubeObject>(LEASE, OPERATOR_NS, 'llmguard-operator'))?.spec).toMatchObject({ holderIdentity: 'sa-operator' });

    await env.api.create(POLICY, NS, chatPolicy(NS, 'guard', {
        providers: [
          { host: 'api.openai.com', apiKeys: [{ secretKeyRef: { name: 'openai', key: 'api-key' } }] },
          { host: 'api.example.com', apiKeys: [{ secretKeyRef: { name: 'openai', key: 'api-key' } }] },
        ],
      }));
    const ready = async () => {
      const p = await env.api.get<KubeObject>(POLICY, NS, 'guard');
      const st = p?.status as { observedGeneration?: number } | undefined;
      return conditionOf(p, 'Ready')?.status === 'True' && st?.observedGeneration === p?.metadata?.generation;
    };
    await eventually('guard Ready', ready, 45_000);
    expect((await ownedObjects(env.api, NS, 'guard')).size).toBe(6);

    // Prune needs list + delete.
    await env.api.client.request('PATCH', `/apis/llmguard.io/v1alpha1/namespaces/${NS}/llmguardpolicies/guard`, {
      body: { spec: { providers: [{ host: 'api.openai.com', apiKeys: [{ secretKeyRef: { name: 'openai', key: 'api-key' } }] }] } },
      contentType: 'application/merge-patch+json',
    });
    await eventually('pruned', async () => (await ready()) && (await ownedObjects(env.api, NS, 'guard')).size === 4, 45_000);
    expect((await eventsFor(env.api, NS, 'guard')).some((e) => e.reason === 'Programmed')).toBe(true);

    const refused = env.logs.filter((l) => /\b(401|403)\b|forbidden|Unauthorized/i.test(l));
    expect(refused).toEqual([]);
    for (const code of ['401', '403']) {
      for (const method of ['GET', 'POST', 'PUT', 'PATCH', 'DELETE']) expect(ctl.metrics.apiRequests.get({ method, code }), `${method} ${code}`).toBe(0);
    }
    await ctl.stop();
  });
});
