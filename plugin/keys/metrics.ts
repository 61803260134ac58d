// The key service client's counters in Envoy's /stats: fetches started (or tried) and fetches that
// failed, whatever the reason (no answer, a status other than 200, an answer that breaks the format).
import { defineMetric, incrementMetric } from "../abi/host";
import { MetricType } from "../abi/enums";

export class KeyMetrics {
  readonly fetches: u32 = defineMetric(MetricType.Counter, "llm_guard.key_fetches");
  readonly fetchFailures: u32 = defineMetric(MetricType.Counter, "llm_guard.key_fetch_failures");

  count(id: u32): void { incrementMetric(id, 1); }
}
