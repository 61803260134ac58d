// Why a configuration was refused: the field's path, a code a host can act on, and a message for
// people. The first problem found is the one reported.

/** The codes a refusal carries (docs/filter-config.md lists them). */
export namespace ConfigCode {
  export const Empty = "empty";
  export const InvalidJson = "invalid_json";
  export const WrongType = "wrong_type";
  export const UnknownField = "unknown_field";
  export const DuplicateField = "duplicate_field";
  export const Required = "required";
  export const OutOfRange = "out_of_range";
  export const InvalidValue = "invalid_value";
  export const InvalidPattern = "invalid_pattern";
  export const EnvNotSet = "env_not_set";
  export const NotHeaderSafe = "not_header_safe";
  export const Conflict = "conflict";
}

export class ConfigError {
  constructor(
    /** `deny_patterns[2]`, `intelligent_guard.port`; "" for the configuration as a whole. */
    public readonly path: string,
    public readonly code: string,
    public readonly message: string,
  ) {}

  /** The line Envoy's log shows after "config rejected: ". */
  describe(): string {
    return this.path.length > 0 ? this.path + ": " + this.message : this.message;
  }
}

export class ConfigErrors {
  first: ConfigError | null = null;
  get failed(): bool { return this.first != null; }
  add(path: string, code: string, message: string): void {
    if (this.first == null) this.first = new ConfigError(path, code, message);
  }
}

/** Longer than any of the words a field takes, shorter than any provider's key (Azure's are 32). */
const SHOWN_VALUE_MAX = 24;

/**
 * How a refusal names the value it refused: a short word as it is (most often a typo of an
 * allowed one), anything else by its length only, since a value in the wrong field may be a key.
 */
export function gotValue(value: string): string {
  if (value.length > 0 && value.length <= SHOWN_VALUE_MAX && isPlainWord(value)) return "got \"" + value + "\"";
  return "got a value of " + value.length.toString() + " characters";
}

function isPlainWord(s: string): bool {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    const ok = (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || (c >= 0x30 && c <= 0x39) || c == 0x2d || c == 0x5f || c == 0x2e;
    if (!ok) return false;
  }
  return true;
}
