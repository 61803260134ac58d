// Rendering is a pure, deterministic function: the same policy and Secret values give the same
// objects, in the same order, byte for byte once serialised.
import type { LlmGuardPolicy } from '../api/v1alpha1/llm_guard_policy.js';
import { externalHosts, renderDestinationRule, renderServiceEntry } from './egress.js';
import { renderHoldFilter } from './hold_filter.js';
import { renderPluginConfig, type SecretValues } from './plugin_config.js';
import { renderWasmPlugin } from './wasm_plugin.js';

export { MissingSecretError, secretRefKey, type SecretValues } from './plugin_config.js';

export type RenderedObject = Record<string, unknown> & {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace: string };
};

export function renderPolicy(policy: LlmGuardPolicy, secrets: SecretValues): RenderedObject[] {
  const pluginConfig = renderPluginConfig(policy, secrets);
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
