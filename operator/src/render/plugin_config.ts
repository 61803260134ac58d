// The filter's pluginConfig (api/pluginconfig, docs/filter-config.md) for a policy. It holds no
// key: providers and the guard get theirs at run time from the key service (key_service), so the
// WasmPlugin, Envoy's /config_dump and `llmguard render` output never carry one.
import type { GuardCacheConfig, KeyServiceGuardConfig, KeyServicePluginConfig, ProviderConfig } from '../api/pluginconfig/index.js';
import type { LlmGuardPolicy } from '../api/v1alpha1/llm_guard_policy.js';
import { DEFAULT_KEY_SERVICE, keyServiceConfig, type KeyServiceLocation } from './key_service.js';

/** Resolved secret values, by `<secret name>/<key>` (for the offline tools that run the filter). */
export type SecretValues = ReadonlyMap<string, string>;

export function secretRefKey(name: string, key: string): string {
  return `${name}/${key}`;
}

export const DEFAULT_GUARD_PORT = 80;

export function renderPluginConfig(policy: LlmGuardPolicy, keyService: KeyServiceLocation = DEFAULT_KEY_SERVICE): KeyServicePluginConfig {
  const spec = policy.spec;
  const providers = spec.providers.map((p): ProviderConfig => ({ hosts: [p.host], auth_style: p.authStyle ?? 'bearer' }));
  // The operator always installs the hold (render/hold_filter.ts): the filter refuses a request on
  // a route where it is missing instead of letting its headers go before the body is judged.
  const config: KeyServicePluginConfig = { providers, key_service: keyServiceConfig(policy, keyService), require_hold: true };
  if (spec.denyPatterns?.length) config.deny_patterns = spec.denyPatterns;
  if (spec.allowPatterns?.length) config.allow_patterns = spec.allowPatterns;
  if (spec.redactPatterns?.length) config.redact_patterns = spec.redactPatterns;
  if (spec.redactToken !== undefined) config.redact_token = spec.redactToken;
  const r = spec.response;
  if (r?.denyPatterns?.length) config.response_deny_patterns = r.denyPatterns;
  if (r?.redactPatterns?.length) config.response_redact_patterns = r.redactPatterns;
  if (r?.maxHoldBack !== undefined) config.response_max_hold_back = r.maxHoldBack;
  const i = spec.inspection;
  if (i?.roles) config.inspect_roles = i.roles;
  if (i?.denyStatus !== undefined) config.deny_status = i.denyStatus;
  if (i?.onUninspectable) config.on_uninspectable = i.onUninspectable;
  if (i?.normalize !== undefined) config.normalize = i.normalize;
  if (i?.binaryContent) config.binary_content = i.binaryContent;
  if (i?.maxBodyBytes !== undefined) config.max_body_bytes = i.maxBodyBytes;
  if (i?.maxJsonDepth !== undefined) config.max_json_depth = i.maxJsonDepth;
  if (i?.logPrompts !== undefined) config.log_prompts = i.logPrompts;
  const g = spec.intelligentGuard;
  if (g) {
    const guard: KeyServiceGuardConfig = { host: g.host, port: g.port ?? DEFAULT_GUARD_PORT };
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
  return config;
}
