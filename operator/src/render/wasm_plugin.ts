// The Istio WasmPlugin that installs the filter on the policy's workloads (or gateways).
import type { PluginConfig } from '../api/pluginconfig/index.js';
import type { LlmGuardPolicy } from '../api/v1alpha1/llm_guard_policy.js';
import { childMetadata } from './labels.js';

export function wasmPluginName(policy: LlmGuardPolicy): string {
  return policy.metadata.name;
}

/** A label map with its keys sorted, so the input's key order never changes the output. */
export function sortedLabels(labels: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k of Object.keys(labels).sort()) out[k] = labels[k] as string;
  return out;
}

export function renderWasmPlugin(policy: LlmGuardPolicy, pluginConfig: PluginConfig): Record<string, unknown> {
  const spec = policy.spec;
  const image = spec.plugin;
  const wasmSpec: Record<string, unknown> = {};
  if (spec.selector) wasmSpec.selector = { matchLabels: sortedLabels(spec.selector.matchLabels) };
  if (spec.targetRefs?.length) wasmSpec.targetRefs = spec.targetRefs.map((r) => ({ group: r.group, kind: r.kind, name: r.name }));
  wasmSpec.url = image.url;
  if (image.sha256) wasmSpec.sha256 = image.sha256;
  if (image.imagePullPolicy) wasmSpec.imagePullPolicy = image.imagePullPolicy;
  // istiod reads this Secret and hands its docker config to the agent that pulls the image.
  if (image.imagePullSecret) wasmSpec.imagePullSecret = image.imagePullSecret;
  wasmSpec.phase = image.phase ?? 'UNSPECIFIED_PHASE';
  if (image.priority !== undefined) wasmSpec.priority = image.priority;
  wasmSpec.failStrategy = image.failStrategy ?? 'FAIL_CLOSE';
  // Outbound only: the guard judges what leaves the pod (and what a gateway sends on).
  wasmSpec.match = [{ mode: 'CLIENT' }];
  wasmSpec.pluginConfig = pluginConfig;
  return {
    apiVersion: 'extensions.istio.io/v1alpha1',
    kind: 'WasmPlugin',
    metadata: childMetadata(policy, wasmPluginName(policy)),
    spec: wasmSpec,
  };
}
