// One per request: injects the provider key, buffers the body to its end, applies the patterns,
// asks the guard, and lets the request go on or answers it with a refusal. Envoy has already sent
// the request headers upstream once onRequestHeaders returns Continue, but the body is held here
// until judged, so a refused request never completes upstream.
import { HttpContext, RootContext } from "../abi/context";
import { BufferType, MapType, HeadersAction, BodyAction } from "../abi/enums";
import { getHeader, removeHeader, replaceHeader, getBufferBytes, continueRequest, setProperty, logInfo, logDebug, logWarn } from "../abi/host";
import { Policy, Provider, Uninspectable } from "../config/policy";
import { parseAuthority } from "../config/hosts";
import { CREDENTIAL_HEADERS, authHeaderName, authHeaderValue } from "../config/auth_style";
import { GuardClient, GuardQuestion } from "../guard/guard_client";
import { Verdict, Decision } from "../guard/verdict";
import { GuardMetrics } from "../guard/metrics";
import { TextPiece } from "../inspect";
import { RequestMetrics } from "./metrics";
import { Configured } from "./configured";
import { evaluateBody } from "./evaluate";
import { Refusal, sendRefusal, bodyTooLarge, unsupportedEncoding, guardUnavailable, deniedByGuard, holdNotInstalled } from "./replies";
import { holdInstalled } from "./hold_check";

/** Filter state naming the rule that denied a request (access logs: %FILTER_STATE(wasm.llm_guard.rule:PLAIN)%). */
const RULE_PROPERTY = "llm_guard.rule";

export class GuardStream extends HttpContext {
  private inspecting: bool = false;
  private finished: bool = false;
  private bufferedSize: u32 = 0;
  private authority: string = "";
  /** Read with the headers: Envoy refuses header access from body callbacks once headers continued. */
  private contentType: string = "";
  private question: GuardQuestion | null = null;

  constructor(id: u32, root: RootContext, private readonly configured: Configured) {
    super(id, root);
  }

  private get policy(): Policy { return this.configured.policy; }
  private get metrics(): RequestMetrics { return this.configured.metrics; }
  private get guardMetrics(): GuardMetrics { return this.configured.guardMetrics; }

  onRequestHeaders(headerCount: u32, endOfStream: bool): u32 {
    const policy = this.policy;
    const authority = getHeader(MapType.HttpRequestHeaders, ":authority");
    if (authority == null) return HeadersAction.Continue;
    const provider = policy.providerFor(parseAuthority(authority));
    if (provider == null) return HeadersAction.Continue;
    this.authority = authority;
    this.metrics.count(this.metrics.requests);
    injectKey(provider);

    if (!policy.inspectsBodies || endOfStream) return HeadersAction.Continue;
    if (policy.requireHold && !holdInstalled()) {
      // Continuing would let Envoy send the headers, key included, before the body is judged.
      this.finished = true;
      this.metrics.count(this.metrics.refusedNoHold);
      logWarn("llm-guard: refused a request to " + authority + ": the request hold is not installed on its route (require_hold)");
      sendRefusal(holdNotInstalled());
      return HeadersAction.StopIteration;
    }
    const encoding = getHeader(MapType.HttpRequestHeaders, "content-encoding");
    if (encoding != null && encoding.trim().length > 0 && encoding.trim().toLowerCase() != "identity") {
      if (policy.onUninspectable == Uninspectable.Allow) {
        this.metrics.count(this.metrics.passedUninspected);
        logInfo("llm-guard: forwarded a compressed body to " + authority + " uninspected (on_uninspectable: allow)");
        return HeadersAction.Continue;
      }
      this.refuse(unsupportedEncoding(), "compressed body (content-encoding: " + encoding + ")");
      return HeadersAction.StopIteration;
    }
    const length = getHeader(MapType.HttpRequestHeaders, "content-length");
    if (length != null && declaredLengthExceeds(length, policy.maxBodyBytes)) {
      this.refuse(bodyTooLarge(policy.maxBodyBytes), "content-length over max_body_bytes");
      return HeadersAction.StopIteration;
    }
    const contentType = getHeader(MapType.HttpRequestHeaders, "content-type");
    this.contentType = contentType != null ? contentType : "";
    this.inspecting = true;
    return HeadersAction.Continue;
  }

  onRequestBody(bodySize: u32, endOfStream: bool): u32 {
    if (!this.inspecting) return BodyAction.Continue;
    if (this.finished) return BodyAction.StopIterationAndBuffer;
    const policy = this.policy;
    this.bufferedSize = bodySize;
    if (bodySize > policy.maxBodyBytes) {
      this.refuse(bodyTooLarge(policy.maxBodyBytes), "body over max_body_bytes");
      return BodyAction.StopIterationAndBuffer;
    }
    if (!endOfStream) return BodyAction.StopIterationAndBuffer;
    return this.judgeBufferedBody() ? BodyAction.Continue : BodyAction.StopIterationAndBuffer;
  }

  onRequestTrailers(trailerCount: u32): u32 {
    if (!this.inspecting) return HeadersAction.Continue;
    if (this.finished) return HeadersAction.StopIteration;
    return this.judgeBufferedBody() ? HeadersAction.Continue : HeadersAction.StopIteration;
  }

  /** Returns true when the request may go on now; false when it was refused or waits for the guard. */
  private judgeBufferedBody(): bool {
    const policy = this.policy;
    this.finished = true;
    const bytes = this.bufferedSize > 0 ? getBufferBytes(BufferType.HttpRequestBody, 0, this.bufferedSize) : null;
    const body = Uint8Array.wrap(bytes != null ? bytes : new ArrayBuffer(0));
    this.metrics.count(this.metrics.inspected);
    const verdict = evaluateBody(policy, body, this.contentType);
    if (verdict.refusal != null) {
      const refusal = verdict.refusal!;
      if (refusal.type == "policy_violation") {
        this.metrics.count(this.metrics.deniedByPattern);
        logInfo("llm-guard: denied a request to " + this.authority + ": " + verdict.reason);
        setProperty(RULE_PROPERTY, verdict.rule);
        if (policy.logPrompts) logDebug("llm-guard: denied text: " + verdict.offendingText);
        sendRefusal(refusal);
      } else {
        this.refuse(refusal, verdict.reason);
      }
      return false;
    }
    if (verdict.passedUninspected) {
      this.metrics.count(this.metrics.passedUninspected);
      logInfo("llm-guard: forwarded a body to " + this.authority + " uninspected (on_uninspectable: allow): " + verdict.reason);
      return true;
    }
    const guard = this.configured.guard;
    if (guard == null || verdict.inspected.length == 0) {
      this.metrics.count(this.metrics.allowed);
      return true;
    }
    return this.askGuard(guard, verdict.inspected);
  }

  private askGuard(guard: GuardClient, pieces: TextPiece[]): bool {
    const q = guard.ask(pieces, this.id);
    if (q.immediate != null) return this.applyGuardVerdict(q.immediate!, q.fromCache);
    this.question = q;
    return false;
  }

  onHttpCallResponse(callId: u32, headerCount: u32, bodySize: u32, trailerCount: u32): void {
    const q = this.question;
    if (q == null || q.callId != callId) return;
    this.question = null;
    const verdict = this.configured.guard!.readAnswer(q, headerCount, bodySize);
    if (this.applyGuardVerdict(verdict, false)) continueRequest();
  }

  /** Acts on the guard's verdict; returns true when the request may go on. */
  private applyGuardVerdict(verdict: Verdict, fromCache: bool): bool {
    const settings = this.policy.guard!;
    const source = fromCache ? " (cached verdict)" : "";
    if (verdict.decision == Decision.Allow) {
      this.metrics.count(this.metrics.allowed);
      return true;
    }
    if (verdict.decision == Decision.Deny) {
      this.metrics.count(this.metrics.deniedByGuard);
      logInfo("llm-guard: the guard denied a request to " + this.authority + source + ": " + verdict.reason);
      sendRefusal(deniedByGuard(this.policy.denyStatus, settings.exposeReason ? verdict.reason : ""));
      return false;
    }
    this.guardMetrics.countError(verdict.errorKind);
    if (settings.failOpen) {
      this.guardMetrics.count(this.guardMetrics.failOpen);
      logWarn("llm-guard: no guard verdict (" + verdict.errorKind + ": " + verdict.reason + "); forwarded a request to "
        + this.authority + " unchecked by the guard (fail_mode: open)");
      return true;
    }
    logWarn("llm-guard: no guard verdict (" + verdict.errorKind + ": " + verdict.reason + "); refused a request to " + this.authority);
    sendRefusal(guardUnavailable());
    return false;
  }

  private refuse(refusal: Refusal, reason: string): void {
    this.finished = true;
    this.metrics.count(this.metrics.refused);
    logInfo("llm-guard: refused a request to " + this.authority + " (" + refusal.code + "): " + reason);
    sendRefusal(refusal);
  }
}

function injectKey(provider: Provider): void {
  for (let i = 0; i < CREDENTIAL_HEADERS.length; i++) removeHeader(MapType.HttpRequestHeaders, CREDENTIAL_HEADERS[i]);
  replaceHeader(MapType.HttpRequestHeaders, authHeaderName(provider.authStyle), authHeaderValue(provider.authStyle, provider.takeKey()));
}

/** True when a content-length header declares more than `limit` bytes. */
function declaredLengthExceeds(value: string, limit: u32): bool {
  const v = value.trim();
  if (v.length > 12) return true;
  let n: u64 = 0;
  for (let i = 0; i < v.length; i++) {
    const c = v.charCodeAt(i);
    if (c < 0x30 || c > 0x39) return false;
    n = n * 10 + <u64>(c - 0x30);
  }
  return n > <u64>limit;
}
