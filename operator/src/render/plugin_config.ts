// The filter's pluginConfig (api/pluginconfig, docs/filter-config.md) for a policy, with its Secret
// values resolved.
import type { GuardCacheConfig, GuardConfig, PluginConfig, ProviderConfig } from '../api/pluginconfig/index.js';
import type { LlmGuardPolicy } from '../api/v1alpha1/llm_guard_policy.js';

/** Resolved secret values, by `<secret name>/<key>`. */
export type SecretValues = ReadonlyMap<string, string>;

export function secretRefKey(name: string, key: string): string {
  return `${name}/${key}`;
}

export const DEFAULT_GUARD_PORT = 80;

export class MissingSecretError extends Error {
  constructor(readonly refs: string[]) {
    super(`missing Secret values: ${refs.join(', ')}`);
  }
}

function valueOf(secrets: SecretValues, name: string, key: string, missing: string[]): string {
  const v = secrets.get(secretRefKey(name, key));
  if (v === undefined || v.length === 0) {
    missing.push(secretRefKey(name, key));
    return '';
  }
  return v;
}

export function renderPluginConfig(policy: LlmGuardPolicy, secrets: SecretValues): PluginConfig {
  const spec = policy.spec;
  const missing: string[] = [];
  const providers = spec.providers.map((p): ProviderConfig => ({
    hosts: [p.host],
    auth_style: p.authStyle ?? 'bearer',
    api_keys: p.apiKeys.map((k) => valueOf(secrets, k.secretKeyRef.name, k.secretKeyRef.key, missing)),
  }));
  // The operator always installs the hold (render/hold_filter.ts): the filter refuses a request on
  // a route where it is missing instead of letting its headers go before the body is judged.
  const config: PluginConfig = { providers, require_hold: true };
  if (spec.denyPatterns?.length) config.deny_patterns = spec.denyPatterns;
  if (spec.allowPatterns?.length) config.allow_patterns = spec.allowPatterns;
  const i = spec.inspection;
  if (i?.roles) config.inspect_roles = i.roles;
  if (i?.denyStatus !== undefined) config.deny_status = i.denyStatus;
  if (i?.onUninspectable) config.on_uninspectable = i.onUninspectable;
  if (i?.maxBodyBytes !== undefined) config.max_body_bytes = i.maxBodyBytes;
  if (i?.maxJsonDepth !== undefined) config.max_json_depth = i.maxJsonDepth;
  if (i?.logPrompts !== undefined) config.log_prompts = i.logPrompts;
  const g = spec.intelligentGuard;
  if (g) {
    const guard: GuardConfig = {
      host: g.host,
      port: g.port ?? DEFAULT_GUARD_PORT,
      api_key: valueOf(secrets, g.apiKeySecretRef.name, g.apiKeySecretRef.key, missing),
    };
    if (g.path) guard.path = g.path;
    if (g.model) guard.model = g.model;
    if (g.timeoutMs !== undefined) guard.timeout_ms = g.timeoutMs;
    if (g.failMode) guard.fail_mode = g.failMode;
    if (g.verdictFormat) guard.verdict_format = g.verdictFormat;
    if (g.systemPrompt !== undefined) guard.system_prompt = g.systemPrompt;
    if (g.controversial) guard.controversial = g.controversial;
    if (g.exposeReason !== undefined) guard.expose_reason = g.exposeReason;
    if (g.cache) {
      const cache: GuardCacheConfig = {};
      if (g.cache.enabled !== undefined) cache.enabled = g.cache.enabled;
      if (g.cache.ttlSeconds !== undefined) cache.ttl_seconds = g.cache.ttlSeconds;
      if (g.cache.maxEntries !== undefined) cache.max_entries = g.cache.maxEntries;
      guard.cache = cache;
    }
    config.intelligent_guard = guard;
  }
  if (missing.length) throw new MissingSecretError(missing);
  return config;
}
