// Every pluginConfig field the filter reads (plugin/config/parse.ts), with the bounds and values it
// enforces, its default, where docs/filter-config.md lists it, and the LlmGuardPolicy field the
// operator renders it from. contract.test.ts holds the filter, the docs and the CRD to this table.

import { AUTH_STYLES, BINARY_CONTENT, CONTROVERSIAL, FAIL_MODES, INSPECTED_ROLES, ON_UNINSPECTABLE, ON_UPGRADE, VERDICT_FORMATS } from './values.js';

export type FieldType = 'string' | 'string[]' | 'string or string[]' | 'int' | 'bool' | 'object' | 'object[]';

/** The tables of docs/filter-config.md. */
export type DocTable = 'asm-labs' | 'extensions' | 'guard' | 'key_service';

export interface FieldSpec {
  /** Path in the pluginConfig; `[]` stands for any list index: `providers[].auth_style`. */
  path: string;
  /** The table of docs/filter-config.md with a row for it (absent: described by another row). */
  table?: DocTable;
  type: FieldType;
  /** The default as the docs show it (`—` none, `required`). */
  default: string;
  /** Whole numbers the filter accepts, both ends included. */
  range?: readonly [number, number];
  /** The only values the filter accepts (for a list, for each item). */
  values?: readonly string[];
  /**
   * The LlmGuardPolicy field the operator renders it from; `[]` for list indices, carried over in
   * order. Absent: no policy field renders it (it exists for hand-written WasmPlugins, or the
   * operator fills it in from its own settings, as key_service).
   */
  policy?: string;
}


export const FIELDS: readonly FieldSpec[] = [
  // The asm-labs form: the top-level provider fields (the operator writes `providers` instead).
  { path: 'hosts', table: 'asm-labs', type: 'string[]', default: '[]' },
  { path: 'api_key', table: 'asm-labs', type: 'string', default: '—' },
  { path: 'deny_patterns', table: 'asm-labs', type: 'string[]', default: '[]', policy: 'spec.denyPatterns[]' },
  { path: 'allow_patterns', table: 'asm-labs', type: 'string[]', default: '[]', policy: 'spec.allowPatterns[]' },
  { path: 'intelligent_guard', table: 'asm-labs', type: 'object', default: '—', policy: 'spec.intelligentGuard' },
  { path: 'api_keys', table: 'extensions', type: 'string[]', default: '—' },
  { path: 'api_key_env', table: 'extensions', type: 'string or string[]', default: '—' },
  { path: 'auth_style', table: 'extensions', type: 'string', default: '"bearer"', values: AUTH_STYLES },
  { path: 'providers', table: 'extensions', type: 'object[]', default: '—', policy: 'spec.providers' },
  // Each provider has the provider fields above (the docs' `providers` row says so).
  { path: 'providers[].hosts', type: 'string[]', default: '[]', policy: 'spec.providers[].host' },
  { path: 'providers[].api_key', type: 'string', default: '—', policy: 'spec.providers[].apiKeys' },
  { path: 'providers[].api_keys', type: 'string[]', default: '—', policy: 'spec.providers[].apiKeys[]' },
  { path: 'providers[].api_key_env', type: 'string or string[]', default: '—' },
  { path: 'providers[].auth_style', type: 'string', default: '"bearer"', values: AUTH_STYLES, policy: 'spec.providers[].authStyle' },
  { path: 'inspect_roles', table: 'extensions', type: 'string[]', default: 'all', values: INSPECTED_ROLES, policy: 'spec.inspection.roles[]' },
  { path: 'deny_status', table: 'extensions', type: 'int', default: '403', range: [400, 599], policy: 'spec.inspection.denyStatus' },
  { path: 'on_uninspectable', table: 'extensions', type: 'string', default: '"refuse"', values: ON_UNINSPECTABLE, policy: 'spec.inspection.onUninspectable' },
  { path: 'normalize', table: 'extensions', type: 'bool', default: 'true', policy: 'spec.inspection.normalize' },
  { path: 'binary_content', table: 'extensions', type: 'string', default: '"allow"', values: BINARY_CONTENT, policy: 'spec.inspection.binaryContent' },
  // Not in the CRD: the operator's hold waits for a request's end, which an upgrade never has.
  { path: 'on_upgrade', table: 'extensions', type: 'string', default: '"refuse"', values: ON_UPGRADE },
  { path: 'max_body_bytes', table: 'extensions', type: 'int', default: '1048576', range: [1, 16777216], policy: 'spec.inspection.maxBodyBytes' },
  { path: 'max_json_depth', table: 'extensions', type: 'int', default: '64', range: [1, 512], policy: 'spec.inspection.maxJsonDepth' },
  { path: 'log_prompts', table: 'extensions', type: 'bool', default: 'false', policy: 'spec.inspection.logPrompts' },
  { path: 'redact_patterns', table: 'extensions', type: 'string[]', default: '[]', policy: 'spec.redactPatterns[]' },
  // At most 64 characters (the CRD's maxLength; the filter counts UTF-16 units).
  { path: 'redact_token', table: 'extensions', type: 'string', default: '"[REDACTED]"', policy: 'spec.redactToken' },
  { path: 'response_deny_patterns', table: 'extensions', type: 'string[]', default: '[]', policy: 'spec.response.denyPatterns[]' },
  { path: 'response_redact_patterns', table: 'extensions', type: 'string[]', default: '[]', policy: 'spec.response.redactPatterns[]' },
  { path: 'response_max_hold_back', table: 'extensions', type: 'int', default: '4096', range: [64, 65536], policy: 'spec.response.maxHoldBack' },
  // Always true from the operator, which installs the hold.
  { path: 'require_hold', table: 'extensions', type: 'bool', default: 'false' },
  { path: 'intelligent_guard.host', table: 'guard', type: 'string', default: 'required', policy: 'spec.intelligentGuard.host' },
  { path: 'intelligent_guard.port', table: 'guard', type: 'int', default: '443', range: [1, 65535], policy: 'spec.intelligentGuard.port' },
  { path: 'intelligent_guard.path', table: 'guard', type: 'string', default: '/compatible-mode/v1/chat/completions', policy: 'spec.intelligentGuard.path' },
  { path: 'intelligent_guard.model', table: 'guard', type: 'string', default: 'qwen-turbo', policy: 'spec.intelligentGuard.model' },
  { path: 'intelligent_guard.api_key', table: 'guard', type: 'string', default: 'required', policy: 'spec.intelligentGuard.apiKeySecretRef' },
  { path: 'intelligent_guard.cluster', table: 'guard', type: 'string', default: "Istio's name" },
  { path: 'intelligent_guard.timeout_ms', table: 'guard', type: 'int', default: '3000', range: [1, 60000], policy: 'spec.intelligentGuard.timeoutMs' },
  { path: 'intelligent_guard.system_prompt', table: 'guard', type: 'string', default: 'asks for {"result": "allow"|"deny", "reason": ...}', policy: 'spec.intelligentGuard.systemPrompt' },
  { path: 'intelligent_guard.verdict_format', table: 'guard', type: 'string', default: '"auto"', values: VERDICT_FORMATS, policy: 'spec.intelligentGuard.verdictFormat' },
  { path: 'intelligent_guard.fail_mode', table: 'guard', type: 'string', default: '"closed"', values: FAIL_MODES, policy: 'spec.intelligentGuard.failMode' },
  { path: 'intelligent_guard.controversial', table: 'guard', type: 'string', default: '"deny"', values: CONTROVERSIAL, policy: 'spec.intelligentGuard.controversial' },
  { path: 'intelligent_guard.expose_reason', table: 'guard', type: 'bool', default: 'false', policy: 'spec.intelligentGuard.exposeReason' },
  { path: 'intelligent_guard.cache', table: 'guard', type: 'object', default: '—', policy: 'spec.intelligentGuard.cache' },
  { path: 'intelligent_guard.cache.enabled', table: 'guard', type: 'bool', default: 'true', policy: 'spec.intelligentGuard.cache.enabled' },
  { path: 'intelligent_guard.cache.ttl_seconds', table: 'guard', type: 'int', default: '300', range: [1, 86400], policy: 'spec.intelligentGuard.cache.ttlSeconds' },
  { path: 'intelligent_guard.cache.max_entries', table: 'guard', type: 'int', default: '1024', range: [1, 65536], policy: 'spec.intelligentGuard.cache.maxEntries' },
  // Where keys not given inline are fetched at run time; the operator points it at its key service.
  { path: 'key_service', table: 'extensions', type: 'object', default: '—' },
  { path: 'key_service.host', table: 'key_service', type: 'string', default: 'required' },
  { path: 'key_service.port', table: 'key_service', type: 'int', default: '15443', range: [1, 65535] },
  { path: 'key_service.cluster', table: 'key_service', type: 'string', default: 'outbound|<port>||<host>' },
  { path: 'key_service.path', table: 'key_service', type: 'string', default: 'required' },
  { path: 'key_service.refresh_seconds', table: 'key_service', type: 'int', default: '10', range: [1, 3600] },
  { path: 'key_service.max_stale_seconds', table: 'key_service', type: 'int', default: '60', range: [0, 86400] },
  { path: 'key_service.timeout_ms', table: 'key_service', type: 'int', default: '2000', range: [1, 60000] },
];

/** The type as the docs write it: `int 400..599`, `"refuse" | "allow" | "scan_raw"`, `string[]`. */
export function typeText(f: FieldSpec): string {
  if (f.values && f.type === 'string') return f.values.map((v) => `"${v}"`).join(' | ');
  if (f.range) return `int ${f.range[0]}..${f.range[1]}`;
  return f.type;
}

/**
 * The LlmGuardPolicy field a filter field path is about: `deny_patterns[2]` -> `spec.denyPatterns[2]`,
 * `providers[1].hosts[0]` -> `spec.providers[1].host`. A path the table lacks maps by its longest
 * known prefix; undefined when nothing maps (the whole document, or a field the operator never writes).
 */
export function policyFieldOf(filterPath: string): string | undefined {
  const indices = [...filterPath.matchAll(/\[(\d+)\]/g)].map((m) => m[1]!);
  let bare = filterPath.replace(/\[\d+\]/g, '[]');
  while (bare) {
    const spec = FIELDS.find((f) => f.path === bare || `${f.path}[]` === bare);
    if (spec) {
      if (!spec.policy) return undefined;
      let i = 0;
      return spec.policy.replace(/\[\]/g, () => (i < indices.length ? `[${indices[i++]}]` : '[]')).replace(/\[\]$/, '');
    }
    const cut = Math.max(bare.lastIndexOf('.'), bare.endsWith('[]') ? bare.length - 2 : -1);
    if (cut <= 0) return undefined;
    bare = bare.slice(0, cut);
  }
  return undefined;
}
