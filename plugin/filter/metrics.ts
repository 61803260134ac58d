// Metrics visible in Envoy's /stats (Envoy adds and then strips a wasmcustom. prefix).
import { defineMetric, incrementMetric, recordMetric } from "../abi/host";
import { MetricType } from "../abi/enums";

export const GUARD_ERROR_KINDS: string[] = ["timeout", "connect_failure", "non_200", "unparseable", "empty_choices", "no_cluster"];

export class GuardMetrics {
  readonly requests: u32 = defineMetric(MetricType.Counter, "llm_guard.requests_total");
  readonly inspected: u32 = defineMetric(MetricType.Counter, "llm_guard.requests_inspected");
  readonly allowed: u32 = defineMetric(MetricType.Counter, "llm_guard.requests_allowed");
  readonly deniedByPattern: u32 = defineMetric(MetricType.Counter, "llm_guard.requests_denied_by_pattern");
  readonly deniedByGuard: u32 = defineMetric(MetricType.Counter, "llm_guard.requests_denied_by_guard");
  readonly refused: u32 = defineMetric(MetricType.Counter, "llm_guard.requests_refused_uninspectable");
  readonly passedUninspected: u32 = defineMetric(MetricType.Counter, "llm_guard.requests_passed_uninspected");
  readonly guardCalls: u32 = defineMetric(MetricType.Counter, "llm_guard.guard_calls");
  readonly guardCacheHits: u32 = defineMetric(MetricType.Counter, "llm_guard.guard_cache_hits");
  readonly guardFailOpen: u32 = defineMetric(MetricType.Counter, "llm_guard.guard_fail_open");
  readonly guardLatencyMs: u32 = defineMetric(MetricType.Histogram, "llm_guard.guard_latency_ms");
  private readonly guardErrors: u32[] = defineErrorCounters();

  count(id: u32): void { incrementMetric(id, 1); }

  countGuardError(kind: string): void {
    const i = GUARD_ERROR_KINDS.indexOf(kind);
    if (i >= 0) incrementMetric(this.guardErrors[i], 1);
  }

  recordGuardLatency(ms: i64): void {
    recordMetric(this.guardLatencyMs, ms < 0 ? 0 : <u64>ms);
  }
}

function defineErrorCounters(): u32[] {
  const ids = new Array<u32>(GUARD_ERROR_KINDS.length);
  for (let i = 0; i < GUARD_ERROR_KINDS.length; i++) {
    ids[i] = defineMetric(MetricType.Counter, "llm_guard.guard_errors_" + GUARD_ERROR_KINDS[i]);
  }
  return ids;
}
