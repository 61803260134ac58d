// Request counters visible in Envoy's /stats (Envoy adds and then strips a wasmcustom. prefix).
import { defineMetric, incrementMetric } from "../abi/host";
import { MetricType } from "../abi/enums";

export class RequestMetrics {
  readonly requests: u32 = defineMetric(MetricType.Counter, "llm_guard.requests_total");
  readonly inspected: u32 = defineMetric(MetricType.Counter, "llm_guard.requests_inspected");
  readonly allowed: u32 = defineMetric(MetricType.Counter, "llm_guard.requests_allowed");
  readonly deniedByPattern: u32 = defineMetric(MetricType.Counter, "llm_guard.requests_denied_by_pattern");
  readonly deniedByGuard: u32 = defineMetric(MetricType.Counter, "llm_guard.requests_denied_by_guard");
  readonly refused: u32 = defineMetric(MetricType.Counter, "llm_guard.requests_refused_uninspectable");
  readonly passedUninspected: u32 = defineMetric(MetricType.Counter, "llm_guard.requests_passed_uninspected");
  readonly refusedNoHold: u32 = defineMetric(MetricType.Counter, "llm_guard.requests_refused_no_hold");
  readonly refusedNoKey: u32 = defineMetric(MetricType.Counter, "llm_guard.requests_refused_no_key");
  readonly refusedKeyService: u32 = defineMetric(MetricType.Counter, "llm_guard.requests_refused_key_service");
  readonly refusedUpgrade: u32 = defineMetric(MetricType.Counter, "llm_guard.upgrades_refused");
  readonly passedUpgrade: u32 = defineMetric(MetricType.Counter, "llm_guard.upgrades_passed_uninspected");
  /** Binary contents (uploaded files, inline images, audio, PDFs) forwarded uninspected under binary_content: allow. */
  readonly binaryPartsAllowed: u32 = defineMetric(MetricType.Counter, "llm_guard.binary_parts_allowed");
  readonly refusedBinary: u32 = defineMetric(MetricType.Counter, "llm_guard.requests_refused_binary_content");
  /** Occurrences of an injected key the upstream sent back, masked before the app saw them. */
  readonly keyEchoMasked: u32 = defineMetric(MetricType.Counter, "llm_guard.response_key_echoes_masked");
  /** Compressed response bodies the filter could not search for an echoed key. */
  readonly keyEchoUnscanned: u32 = defineMetric(MetricType.Counter, "llm_guard.response_bodies_unscanned");

  /** Requests forwarded with text masked by redact_patterns. */
  readonly redacted: u32 = defineMetric(MetricType.Counter, "llm_guard.requests_redacted");
  readonly refusedRedaction: u32 = defineMetric(MetricType.Counter, "llm_guard.requests_refused_redaction");
  /** Provider replies (JSON or streams) with text masked by response_redact_patterns. */
  readonly responsesRedacted: u32 = defineMetric(MetricType.Counter, "llm_guard.responses_redacted");
  readonly responsesDenied: u32 = defineMetric(MetricType.Counter, "llm_guard.responses_denied_by_pattern");
  /** Streams whose held-back text reached response_max_hold_back: a match longer than that may be missed. */
  readonly holdBackOverflows: u32 = defineMetric(MetricType.Counter, "llm_guard.response_hold_back_overflows");

  count(id: u32): void { incrementMetric(id, 1); }
  countBy(id: u32, n: i64): void { incrementMetric(id, n); }
}
