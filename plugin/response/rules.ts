// The response patterns of a policy as one set: response_deny_patterns first, then
// response_redact_patterns, so a span's lowest pattern index says whether it denies.
import { PatternSet } from "../regex";
import { Policy } from "../config/policy";

export class ResponseRules {
  constructor(
    public readonly set: PatternSet,
    public readonly denyCount: i32,
    public readonly token: string,
    public readonly maxHoldBack: i32,
  ) {}

  static of(policy: Policy): ResponseRules | null {
    const set = policy.responsePatterns;
    if (set == null) return null;
    return new ResponseRules(set, policy.responseDenyCount, policy.redactToken, policy.responseMaxHoldBack);
  }

  @inline denies(pattern: i32): bool {
    return pattern < this.denyCount;
  }

  ruleName(pattern: i32): string {
    if (pattern < this.denyCount) return "response_deny_patterns[" + pattern.toString() + "]";
    return "response_redact_patterns[" + (pattern - this.denyCount).toString() + "]";
  }
}
