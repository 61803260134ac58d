// Who may have a policy's keys: the workloads the policy puts the filter on, and nobody else. A
// caller is known by the SPIFFE identity of its mesh certificate (spiffe://<td>/ns/<ns>/sa/<sa>),
// which only its sidecar (or gateway) can present; it must be in the policy's namespace and run as
// a ServiceAccount of one of the Pods or WorkloadEntries the policy selects (for a gateway policy:
// the Gateways' pods, labelled gateway.networking.k8s.io/gateway-name). The filter itself refuses
// app requests to this service, so an app can't borrow its sidecar's identity.
import type { LlmGuardPolicy } from '../api/v1alpha1/llm_guard_policy.js';
import type { WorkloadIdentity } from './spiffe_identity.js';

/** The label Istio gives a Gateway API Gateway's pods (and matches a policy's targetRefs with). */
export const GATEWAY_NAME_LABEL = 'gateway.networking.k8s.io/gateway-name';

/** The label selectors whose workloads a policy covers, in its namespace. */
export function workloadSelectors(policy: LlmGuardPolicy): Record<string, string>[] {
  if (policy.spec.selector) return [policy.spec.selector.matchLabels];
  return (policy.spec.targetRefs ?? []).map((r) => ({ [GATEWAY_NAME_LABEL]: r.name }));
}

export function labelSelectorText(labels: Record<string, string>): string {
  return Object.keys(labels)
    .sort()
    .map((k) => `${k}=${labels[k]}`)
    .join(',');
}

export type Decision = { allowed: true } | { allowed: false; reason: string };

/** Whether `caller` may read the keys of `policy`, whose workloads run as `accounts`. */
export function decide(caller: WorkloadIdentity, trustDomain: string, policy: LlmGuardPolicy, accounts: ReadonlySet<string>): Decision {
  if (caller.trustDomain !== trustDomain) return { allowed: false, reason: `trust domain ${caller.trustDomain} is not the mesh's (${trustDomain})` };
  if (caller.namespace !== policy.metadata.namespace) return { allowed: false, reason: `a workload of namespace ${caller.namespace} can't read keys of namespace ${policy.metadata.namespace}` };
  if (!accounts.has(caller.serviceAccount)) {
    return { allowed: false, reason: `ServiceAccount ${caller.serviceAccount} runs no workload policy ${policy.metadata.name} selects` };
  }
  return { allowed: true };
}

interface PodLike {
  spec?: { serviceAccountName?: string };
  status?: { phase?: string };
}

interface WorkloadEntryLike {
  spec?: { serviceAccount?: string };
}

/** The ServiceAccounts of running (or starting) Pods and of WorkloadEntries. */
export function accountsOf(pods: PodLike[], workloadEntries: WorkloadEntryLike[]): Set<string> {
  const accounts = new Set<string>();
  for (const p of pods) {
    if (p.status?.phase === 'Succeeded' || p.status?.phase === 'Failed') continue;
    accounts.add(p.spec?.serviceAccountName || 'default');
  }
  for (const w of workloadEntries) accounts.add(w.spec?.serviceAccount || 'default');
  return accounts;
}
