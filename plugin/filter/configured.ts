// What a configured root hands each stream it makes, built once per accepted configuration: the
// stream needs nothing else from its root.
import { Policy } from "../config/policy";
import { GuardClient } from "../guard/guard_client";
import { GuardMetrics } from "../guard/metrics";
import { RequestMetrics } from "./metrics";

export class Configured {
  constructor(
    public readonly policy: Policy,
    public readonly metrics: RequestMetrics,
    public readonly guardMetrics: GuardMetrics,
    /** Null when the policy has no intelligent_guard. */
    public readonly guard: GuardClient | null,
  ) {}
}
