// Asks the guard model for a verdict: from the cache when it can, else with an HTTP call through
// Envoy. The answer arrives later on the root context; the stream passes it back here to read.
import { httpCall, getHeader, getBufferBytes, HeaderPair } from "../abi/host";
import { WasmResult, MapType, BufferType } from "../abi/enums";
import { registerHttpCall } from "../abi/registry";
import { TextPiece } from "../inspect";
import { guardRequestBody, guardRequestHeaders } from "./guard_request";
import { Verdict, failure, readGuardAnswer } from "./verdict";
import { VerdictCache } from "./verdict_cache";
import { GuardSettings } from "./settings";
import { GuardMetrics } from "./metrics";
import { sha256Hex } from "../util/sha256";

const MAX_GUARD_ANSWER_BYTES: u32 = 1 << 20;

/** A question put to the guard: answered at once (cache hit, or the call couldn't start) or pending. */
export class GuardQuestion {
  immediate: Verdict | null = null;
  fromCache: bool = false;
  callId: u32 = 0;
  cacheKey: string = "";
  startedMs: i64 = 0;
  /** From the call to its answer, once read (readAnswer); -1 before. */
  latencyMs: i64 = -1;
}

export class GuardClient {
  private readonly cache: VerdictCache;

  constructor(private readonly settings: GuardSettings, private readonly metrics: GuardMetrics) {
    // Verdicts depend on how answers are read too, so configs that read them differently don't share them.
    const readingRules = settings.cluster + "|" + settings.path + "|" + settings.verdictFormat.toString() + "|" + (settings.controversialDenies ? "c-deny" : "c-allow");
    this.cache = new VerdictCache(settings.cache, sha256Hex(String.UTF8.encode(readingRules)).substring(0, 16));
  }

  /**
   * `apiKey`: the guard key to send, inline or from the key service; "" when the key service has
   * none, which fails the question (no_key) unless the verdict is cached.
   */
  ask(pieces: TextPiece[], streamId: u32, apiKey: string): GuardQuestion {
    const q = new GuardQuestion();
    const body = String.UTF8.encode(guardRequestBody(this.settings, pieces));
    const now = Date.now();
    q.cacheKey = this.cache.keyOf(body);
    const cached = this.cache.lookup(q.cacheKey, now);
    if (cached != null) {
      this.metrics.count(this.metrics.cacheHits);
      q.immediate = cached;
      q.fromCache = true;
      return q;
    }
    if (apiKey.length == 0) {
      q.immediate = failure("no_key", "the key service has no guard key");
      return q;
    }
    const headers: HeaderPair[] = guardRequestHeaders(this.settings, body.byteLength, apiKey);
    const started = httpCall(this.settings.cluster, headers, body, this.settings.timeoutMs);
    if (started.status != WasmResult.Ok) {
      q.immediate = failure("no_cluster", "could not call the guard through cluster " + this.settings.cluster
        + " (status " + started.status.toString() + "): is there a ServiceEntry for " + this.settings.host + "?");
      return q;
    }
    this.metrics.count(this.metrics.calls);
    q.callId = started.callId;
    q.startedMs = now;
    registerHttpCall(started.callId, streamId);
    return q;
  }

  /** Reads the answer to `q` (call inside onHttpCallResponse) and caches a real verdict. */
  readAnswer(q: GuardQuestion, headerCount: u32, bodySize: u32): Verdict {
    const now = Date.now();
    const elapsed = now - q.startedMs;
    q.latencyMs = elapsed;
    this.metrics.recordLatency(elapsed);
    if (headerCount == 0) {
      // Envoy reports every failed call the same way; the clock tells a timeout from a failure to connect.
      if (elapsed + 20 >= <i64>this.settings.timeoutMs) return failure("timeout", "the guard did not answer within " + this.settings.timeoutMs.toString() + " ms");
      return failure("connect_failure", "the guard call failed (connection refused, reset or no healthy upstream)");
    }
    const status = getHeader(MapType.HttpCallResponseHeaders, ":status");
    if (bodySize > MAX_GUARD_ANSWER_BYTES) return failure(status == "200" ? "unparseable" : "non_200", "the guard's answer is larger than 1 MiB");
    const bytes = bodySize > 0 ? getBufferBytes(BufferType.HttpCallResponseBody, 0, bodySize) : null;
    if (status == null || status != "200") return this.classifyFailedStatus(status, bytes, elapsed);
    if (bytes == null) return failure("unparseable", "the guard's answer has no body");
    const verdict = readGuardAnswer(Uint8Array.wrap(bytes), this.settings.verdictFormat, this.settings.controversialDenies);
    if (this.cache.store(q.cacheKey, verdict, now)) this.metrics.add(this.metrics.cacheSlotsFilled, 1);
    return verdict;
  }

  /** Envoy's async client answers its own failures with local replies: 504 on timeout, 503 on connect failure. */
  private classifyFailedStatus(status: string | null, body: ArrayBuffer | null, elapsedMs: i64): Verdict {
    const code = status != null ? status : "none";
    const text = body != null ? String.UTF8.decode(body.slice(0, 256)) : "";
    if (code == "504" && (elapsedMs + 20 >= <i64>this.settings.timeoutMs || text.startsWith("upstream request timeout"))) {
      return failure("timeout", "the guard did not answer within " + this.settings.timeoutMs.toString() + " ms");
    }
    if (code == "503" && (text.startsWith("upstream connect error or disconnect/reset before headers") || text.startsWith("no healthy upstream"))) {
      return failure("connect_failure", "could not reach the guard: " + text);
    }
    return failure("non_200", "the guard answered with status " + code);
  }
}
