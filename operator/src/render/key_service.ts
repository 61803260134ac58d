// Where the filter fetches provider keys at run time (docs/key-custody.md): the key service's
// Service, and each policy's path on it. The pluginConfig names these, never a key.
import type { KeyServiceConfig } from '../api/pluginconfig/index.js';
import type { LlmGuardPolicy } from '../api/v1alpha1/llm_guard_policy.js';

export interface KeyServiceLocation {
  /** The Service's cluster-local name. */
  host: string;
  port: number;
}

/** manifests/keyservice: Service llmguard-keys in llmguard-system, port 15443. */
export const DEFAULT_KEY_SERVICE: KeyServiceLocation = { host: 'llmguard-keys.llmguard-system.svc.cluster.local', port: 15443 };

export function keyServicePath(policy: LlmGuardPolicy): string {
  return `/v1/keys/${policy.metadata.namespace}/${policy.metadata.name}`;
}

export function keyServiceConfig(policy: LlmGuardPolicy, at: KeyServiceLocation): KeyServiceConfig {
  return { host: at.host, port: at.port, path: keyServicePath(policy) };
}

/** `host:port` as flags take it (`--key-service`). */
export function parseKeyServiceLocation(text: string): KeyServiceLocation | undefined {
  const m = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*):(\d{1,5})$/.exec(text);
  if (!m) return undefined;
  const port = Number(m[5]);
  return port >= 1 && port <= 65535 ? { host: m[1]!, port } : undefined;
}
