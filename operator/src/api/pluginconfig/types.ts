// The filter's configuration (the WasmPlugin's pluginConfig) as the operator writes it: one
// TypeScript statement of the schema plugin/config/parse.ts reads. Field names are the filter's
// (snake_case, the asm-labs wasm-llm-proxy names plus our extensions); docs/filter-config.md
// documents each one and fields.ts holds their bounds.

import type { AUTH_STYLES, CONTROVERSIAL, FAIL_MODES, INSPECTED_ROLES, ON_UNINSPECTABLE, VERDICT_FORMATS } from './values.js';

export type AuthStyle = (typeof AUTH_STYLES)[number];
export type InspectedRole = (typeof INSPECTED_ROLES)[number];
export type OnUninspectable = (typeof ON_UNINSPECTABLE)[number];
export type VerdictFormat = (typeof VERDICT_FORMATS)[number];
export type FailMode = (typeof FAIL_MODES)[number];
export type Controversial = (typeof CONTROVERSIAL)[number];

/** A provider: which hosts get its key, and how the key is sent. */
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

export interface GuardConfig {
  host: string;
  port?: number;
  path?: string;
  model?: string;
  api_key: string;
  cluster?: string;
  timeout_ms?: number;
  system_prompt?: string;
  verdict_format?: VerdictFormat;
  fail_mode?: FailMode;
  controversial?: Controversial;
  expose_reason?: boolean;
  cache?: GuardCacheConfig;
}

/** The whole pluginConfig. The top-level provider fields form one more provider (the asm-labs form). */
export interface PluginConfig extends Partial<ProviderConfig> {
  providers?: ProviderConfig[];
  deny_patterns?: string[];
  allow_patterns?: string[];
  inspect_roles?: InspectedRole[];
  deny_status?: number;
  on_uninspectable?: OnUninspectable;
  max_body_bytes?: number;
  max_json_depth?: number;
  log_prompts?: boolean;
  require_hold?: boolean;
  intelligent_guard?: GuardConfig;
}
