// The closed sets of values the filter accepts (plugin/config/parse.ts); the CRD's enums are these.

export const AUTH_STYLES = ['bearer', 'x-api-key', 'api-key', 'x-goog-api-key'] as const;
export const INSPECTED_ROLES = ['system', 'developer', 'user', 'assistant', 'tool', 'tool_definition', 'other'] as const;
export const ON_UNINSPECTABLE = ['refuse', 'allow', 'scan_raw'] as const;
export const BINARY_CONTENT = ['allow', 'refuse'] as const;
export const ON_UPGRADE = ['refuse', 'allow'] as const;
export const VERDICT_FORMATS = ['auto', 'json', 'llama_guard', 'qwen_guard', 'openai_moderation'] as const;
export const FAIL_MODES = ['closed', 'open'] as const;
export const CONTROVERSIAL = ['deny', 'allow'] as const;
