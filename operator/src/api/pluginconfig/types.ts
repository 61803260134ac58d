// The filter's configuration (the WasmPlugin's pluginConfig) as the operator writes it: one
// TypeScript statement of the schema plugin/config/parse.ts reads. Field names are the filter's
// (snake_case, the asm-labs wasm-llm-proxy names plus our extensions); docs/filter-config.md
// documents each one and fields.ts holds their bounds.

import type { AUTH_STYLES, BINARY_CONTENT, CONTROVERSIAL, FAIL_MODES, INSPECTED_ROLES, ON_UNINSPECTABLE, ON_UPGRADE, VERDICT_FORMATS } from './values.js';

export type AuthStyle = (typeof AUTH_STYLES)[number];
export type InspectedRole = (typeof INSPECTED_ROLES)[number];
export type OnUninspectable = (typeof ON_UNINSPECTABLE)[number];
export type BinaryContent = (typeof BINARY_CONTENT)[number];
export type OnUpgrade = (typeof ON_UPGRADE)[number];
export type VerdictFormat = (typeof VERDICT_FORMATS)[number];
export type FailMode = (typeof FAIL_MODES)[number];
export type Controversial = (typeof CONTROVERSIAL)[number];

/**
 * A provider: which hosts get its key, and how the key is sent. Without key_service it must give
 * at least one of api_key, api_keys and api_key_env; with key_service it may give none, and its keys
 * are then fetched at run time, looked up by hosts[0].
 */
export interface ProviderConfig {
  hosts: string[];
  api_key?: string;
  api_keys?: string[];
  /** Environment variables of the VM (WasmPlugin vmConfig.env) holding keys. */
  api_key_env?: string | string[];
  auth_style?: AuthStyle;
}

export interface GuardCacheConfig {
  enabled?: boolean;
  ttl_seconds?: number;
  max_entries?: number;
}

/** The guard's fields but its key. */
export interface GuardSettingsConfig {
  host: string;
  port?: number;
  path?: string;
  model?: string;
  cluster?: string;
  timeout_ms?: number;
  system_prompt?: string;
  verdict_format?: VerdictFormat;
  fail_mode?: FailMode;
  controversial?: Controversial;
  expose_reason?: boolean;
  cache?: GuardCacheConfig;
}

/** The guard with its key inline: what a config without key_service must give. */
export interface GuardConfig extends GuardSettingsConfig {
  api_key: string;
}

/** The guard of a config with key_service: without api_key, its key is fetched at run time. */
export interface KeyServiceGuardConfig extends GuardSettingsConfig {
  api_key?: string;
}

/**
 * Where the filter fetches keys at run time (GET <path> on <cluster>, :authority <host>), so that no
 * key sits in the pluginConfig (and so in Envoy's /config_dump). Requests from the app to this host
 * or cluster are refused.
 */
export interface KeyServiceConfig {
  /** Lower-case DNS name, e.g. llmguard-keys.llmguard-system.svc.cluster.local. */
  host: string;
  /** 1..65535, default 15443. */
  port?: number;
  /** Default Istio's `outbound|<port>||<host>`. */
  cluster?: string;
  /** Starts with /, printable ASCII without spaces, at most 1024 characters. */
  path: string;
  /** 1..3600, default 10. */
  refresh_seconds?: number;
  /** 0..86400, default 60. */
  max_stale_seconds?: number;
  /** 1..60000, default 2000. */
  timeout_ms?: number;
}

/** The fields every pluginConfig may have. The top-level provider fields form one more provider (the asm-labs form). */
export interface PluginConfigBase extends Partial<ProviderConfig> {
  providers?: ProviderConfig[];
  deny_patterns?: string[];
  allow_patterns?: string[];
  redact_patterns?: string[];
  /** At most 64 characters, default "[REDACTED]". */
  redact_token?: string;
  response_deny_patterns?: string[];
  response_redact_patterns?: string[];
  /** 64..65536, default 4096. */
  response_max_hold_back?: number;
  inspect_roles?: InspectedRole[];
  deny_status?: number;
  on_uninspectable?: OnUninspectable;
  normalize?: boolean;
  binary_content?: BinaryContent;
  on_upgrade?: OnUpgrade;
  max_body_bytes?: number;
  max_json_depth?: number;
  log_prompts?: boolean;
  require_hold?: boolean;
}

/** Every key inline: the guard's api_key is required. */
export interface InlineKeysPluginConfig extends PluginConfigBase {
  key_service?: undefined;
  intelligent_guard?: GuardConfig;
}

/** Keys not given inline are fetched from the key service: the guard's api_key may be left out. */
export interface KeyServicePluginConfig extends PluginConfigBase {
  key_service: KeyServiceConfig;
  intelligent_guard?: KeyServiceGuardConfig;
}

/** The whole pluginConfig. */
export type PluginConfig = InlineKeysPluginConfig | KeyServicePluginConfig;
