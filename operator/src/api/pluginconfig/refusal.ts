// Why the filter refused a configuration, as it reports it (plugin/config/errors.ts): the field
// path, a code, and a message. Hosts read it from the module's llm_guard_config_error export.

/** Every code the filter uses (plugin/config/errors.ts ConfigCode). */
export const CONFIG_REFUSAL_CODES = [
  'empty',
  'invalid_json',
  'wrong_type',
  'unknown_field',
  'duplicate_field',
  'required',
  'out_of_range',
  'invalid_value',
  'invalid_pattern',
  'env_not_set',
  'not_header_safe',
  'conflict',
] as const;

/** Codes of the host itself: the module could not be loaded, or trapped while configuring. */
export const HOST_REFUSAL_CODES = ['module_not_loadable', 'vm_failed'] as const;

export type ConfigRefusalCode = (typeof CONFIG_REFUSAL_CODES)[number] | (typeof HOST_REFUSAL_CODES)[number];

export interface ConfigRefusal {
  /** The pluginConfig field (`deny_patterns[2]`, `intelligent_guard.port`); '' for the whole document. */
  path: string;
  code: ConfigRefusalCode;
  message: string;
}

/** `deny_patterns[2]: lookahead ...`, as the filter's log line says it. */
export function describeRefusal(r: ConfigRefusal): string {
  return r.path ? `${r.path}: ${r.message}` : r.message;
}

/** Reads the filter's JSON report; undefined when it is not one. */
export function parseRefusal(text: string): ConfigRefusal | undefined {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return undefined;
  }
  const r = v as Partial<Record<keyof ConfigRefusal, unknown>>;
  if (typeof r?.path !== 'string' || typeof r.message !== 'string') return undefined;
  if (!(CONFIG_REFUSAL_CODES as readonly unknown[]).includes(r.code)) return undefined;
  return { path: r.path, code: r.code as ConfigRefusalCode, message: r.message };
}
