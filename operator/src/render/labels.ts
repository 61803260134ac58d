import { API_VERSION, KIND, type LlmGuardPolicy } from '../api/v1alpha1/llm_guard_policy.js';

export const MANAGED_BY = 'llmguard-operator';
export const POLICY_LABEL = 'llmguard.io/policy';

export function ownedLabels(policy: LlmGuardPolicy): Record<string, string> {
  return { 'app.kubernetes.io/managed-by': MANAGED_BY, [POLICY_LABEL]: policy.metadata.name };
}

/** Owner reference to the policy; none when rendering offline (no uid), e.g. `llmguard render`. */
export function ownerReferences(policy: LlmGuardPolicy): object[] | undefined {
  if (!policy.metadata.uid) return undefined;
  return [{ apiVersion: API_VERSION, kind: KIND, name: policy.metadata.name, uid: policy.metadata.uid, controller: true, blockOwnerDeletion: true }];
}

export function childMetadata(policy: LlmGuardPolicy, name: string): Record<string, unknown> {
  const owners = ownerReferences(policy);
  return {
    name,
    namespace: policy.metadata.namespace,
    labels: ownedLabels(policy),
    ...(owners ? { ownerReferences: owners } : {}),
  };
}
