import { describe, expect, it } from 'vitest';
import { policy } from '../controller/testdata/policy.js';
import { accountsOf, decide, labelSelectorText, workloadSelectors } from './authorize.js';

const caller = (namespace: string, serviceAccount: string, trustDomain = 'cluster.local') => ({ trustDomain, namespace, serviceAccount });

describe('who may read a policy’s keys', () => {
  const p = policy({ selector: { matchLabels: { app: 'chat', tier: 'web' } } });

  it('a ServiceAccount that runs a selected workload, in the policy’s namespace and the mesh’s trust domain', () => {
    expect(decide(caller('ns', 'chat'), 'cluster.local', p, new Set(['chat']))).toEqual({ allowed: true });
  });

  it('refuses another namespace, another ServiceAccount and another trust domain, saying why', () => {
    expect(decide(caller('other', 'chat'), 'cluster.local', p, new Set(['chat']))).toEqual({
      allowed: false,
      reason: "a workload of namespace other can't read keys of namespace ns",
    });
    expect(decide(caller('ns', 'default'), 'cluster.local', p, new Set(['chat']))).toEqual({
      allowed: false,
      reason: 'ServiceAccount default runs no workload policy guard selects',
    });
    expect(decide(caller('ns', 'chat', 'evil.example'), 'cluster.local', p, new Set(['chat']))).toMatchObject({ allowed: false });
    expect(decide(caller('ns', 'chat'), 'cluster.local', p, new Set())).toMatchObject({ allowed: false });
  });

  it('selects a sidecar policy’s workloads by its labels, a gateway policy’s by the Gateways’ pod label', () => {
    expect(workloadSelectors(p).map(labelSelectorText)).toEqual(['app=chat,tier=web']);
    const gw = policy({ targetRefs: [{ group: 'gateway.networking.k8s.io', kind: 'Gateway', name: 'egress' }, { group: 'gateway.networking.k8s.io', kind: 'Gateway', name: 'b' }] });
    expect(workloadSelectors(gw).map(labelSelectorText)).toEqual(['gateway.networking.k8s.io/gateway-name=egress', 'gateway.networking.k8s.io/gateway-name=b']);
  });

  it('takes the ServiceAccounts of live pods and of WorkloadEntries (default when unset)', () => {
    const accounts = accountsOf(
      [{ spec: { serviceAccountName: 'chat' } }, { spec: {} }, { spec: { serviceAccountName: 'gone' }, status: { phase: 'Succeeded' } }, { spec: { serviceAccountName: 'crashed' }, status: { phase: 'Failed' } }],
      [{ spec: { serviceAccount: 'vm' } }, {}],
    );
    expect([...accounts].sort()).toEqual(['chat', 'default', 'vm']);
  });
});
