// The guard's metrics in Envoy's /stats: calls, cache hits, fail-open passes, latency and errors by kind.
import { defineMetric, incrementMetric, recordMetric } from "../abi/host";
import { MetricType } from "../abi/enums";

export const GUARD_ERROR_KINDS: string[] = ["timeout", "connect_failure", "non_200", "unparseable", "empty_choices", "no_cluster", "no_key"];

export class GuardMetrics {
  readonly calls: u32 = defineMetric(MetricType.Counter, "llm_guard.guard_calls");
  readonly cacheHits: u32 = defineMetric(MetricType.Counter, "llm_guard.guard_cache_hits");
  readonly failOpen: u32 = defineMetric(MetricType.Counter, "llm_guard.guard_fail_open");
  /** Cache slots holding a verdict, in all of the proxy's guard caches: at most max_entries per guard set-up. */
  readonly cacheSlotsFilled: u32 = defineMetric(MetricType.Gauge, "llm_guard.guard_cache_slots_filled");
  readonly latencyMs: u32 = defineMetric(MetricType.Histogram, "llm_guard.guard_latency_ms");
  private readonly errors: u32[] = defineErrorCounters();

  count(id: u32): void { incrementMetric(id, 1); }

  add(id: u32, n: i64): void { incrementMetric(id, n); }

  countError(kind: string): void {
    const i = GUARD_ERROR_KINDS.indexOf(kind);
    if (i >= 0) incrementMetric(this.errors[i], 1);
  }

  recordLatency(ms: i64): void {
    recordMetric(this.latencyMs, ms < 0 ? 0 : <u64>ms);
  }
}

function defineErrorCounters(): u32[] {
  const ids = new Array<u32>(GUARD_ERROR_KINDS.length);
  for (let i = 0; i < GUARD_ERROR_KINDS.length; i++) {
    ids[i] = defineMetric(MetricType.Counter, "llm_guard.guard_errors_" + GUARD_ERROR_KINDS[i]);
  }
  return ids;
}
