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
