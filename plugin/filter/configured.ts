// What a configured root hands each stream it makes, built once per accepted configuration: the
// stream needs nothing else from its root.
import { HttpContext } from "../abi/context";
import { Policy } from "../config/policy";
import { GuardClient } from "../guard/guard_client";
import { GuardMetrics } from "../guard/metrics";
import { KeyClient } from "../keys/key_client";
import { RequestMetrics } from "./metrics";
import { ModelMetrics } from "./model_metrics";

export class Configured {
  /** Streams paused at request headers until the first key fetch of this configuration ends. */
  waiting: HttpContext[] = [];
  readonly modelMetrics: ModelMetrics = new ModelMetrics();

  constructor(
    public readonly policy: Policy,
    public readonly metrics: RequestMetrics,
    public readonly guardMetrics: GuardMetrics,
    /** Null when the policy has no intelligent_guard. */
    public readonly guard: GuardClient | null,
    /** Null when the policy has no key_service. */
    public readonly keys: KeyClient | null,
  ) {}
}
