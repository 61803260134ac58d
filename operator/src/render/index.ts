// Rendering is a pure, deterministic function: the same policy gives the same objects, in the same
// order, byte for byte once serialised. It needs no Secret: no key is rendered (docs/key-custody.md).
import type { LlmGuardPolicy } from '../api/v1alpha1/llm_guard_policy.js';
import { externalHosts, renderDestinationRule, renderServiceEntry } from './egress.js';
import { renderHoldFilter } from './hold_filter.js';
import { DEFAULT_KEY_SERVICE, type KeyServiceLocation } from './key_service.js';
import { renderPluginConfig } from './plugin_config.js';
import { renderWasmPlugin } from './wasm_plugin.js';

export { secretRefKey, type SecretValues } from './plugin_config.js';
export { DEFAULT_KEY_SERVICE, keyServicePath, parseKeyServiceLocation, type KeyServiceLocation } from './key_service.js';

export type RenderedObject = Record<string, unknown> & {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace: string };
};

export function renderPolicy(policy: LlmGuardPolicy, keyService: KeyServiceLocation = DEFAULT_KEY_SERVICE): RenderedObject[] {
  const pluginConfig = renderPluginConfig(policy, keyService);
  const objects: Record<string, unknown>[] = [renderWasmPlugin(policy, pluginConfig), renderHoldFilter(policy)];
  for (const h of externalHosts(policy)) {
    objects.push(renderServiceEntry(policy, h));
    if (h.tlsUpgrade) objects.push(renderDestinationRule(policy, h));
  }
  return objects as RenderedObject[];
}

/** Every Secret reference a policy makes, as `{name, key}`, in spec order without duplicates. */
export function secretRefs(policy: LlmGuardPolicy): { name: string; key: string }[] {
  const refs: { name: string; key: string }[] = [];
  const add = (name: string, key: string) => {
    if (!refs.some((r) => r.name === name && r.key === key)) refs.push({ name, key });
  };
  for (const p of policy.spec.providers) for (const k of p.apiKeys) add(k.secretKeyRef.name, k.secretKeyRef.key);
  const g = policy.spec.intelligentGuard;
  if (g) add(g.apiKeySecretRef.name, g.apiKeySecretRef.key);
  return refs;
}
