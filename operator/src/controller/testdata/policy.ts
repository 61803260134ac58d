// A minimal valid policy for the controller's unit tests; `overrides` replace spec fields.
import type { LlmGuardPolicy } from '../../api/v1alpha1/llm_guard_policy.js';

export function policy(overrides: Partial<LlmGuardPolicy['spec']> = {}, name = 'guard'): LlmGuardPolicy {
  return {
    apiVersion: 'llmguard.io/v1alpha1',
    kind: 'LlmGuardPolicy',
    metadata: { name, namespace: 'ns', uid: 'u-1', generation: 3 },
    spec: {
      providers: [{ host: 'api.openai.com', apiKeys: [{ secretKeyRef: { name: 'openai', key: 'k' } }] }],
      plugin: { url: 'oci://example/guard:1' },
      ...overrides,
    },
  };
}
