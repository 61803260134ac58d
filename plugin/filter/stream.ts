// One per request: refuses requests that would reach the key service, injects the provider key
// (waiting at the headers for the first key fetch when the key comes from the key service), buffers
// the body to its end, applies the patterns, asks the guard, and lets the request go on or answers
// it with a refusal. Envoy has already sent the request headers upstream once onRequestHeaders
// returns Continue, but the body is held here until judged, so a refused request never completes
// upstream.
import { HttpContext, RootContext } from "../abi/context";
import { BufferType, MapType, HeadersAction, BodyAction } from "../abi/enums";
import { HeaderSnapshot } from "../abi/header_snapshot";
import { addHeader, removeHeader, replaceHeader, getBufferBytes, replaceBuffer, getPropertyString, continueRequest, setProperty, logInfo, logDebug, logWarn } from "../abi/host";
import { EchoMask } from "./echo_mask";
import { Audit, Decided } from "./audit";
import { ResponseUsage } from "./response_usage";
import { isContentEncoded } from "../inspect/media_type";
import { Policy, Provider, Uninspectable, UpgradePolicy } from "../config/policy";
import { parseAuthority } from "../config/hosts";
import { CREDENTIAL_HEADERS, authHeaderName, authHeaderValue } from "../config/auth_style";
import { GuardClient, GuardQuestion } from "../guard/guard_client";
import { Verdict, Decision } from "../guard/verdict";
import { GuardMetrics } from "../guard/metrics";
import { TextPiece, Role } from "../inspect";
import { RequestMetrics } from "./metrics";
import { Configured } from "./configured";
import { evaluateBody, redactBody, BodyVerdict } from "./evaluate";
import { KeyClient, keyClockMs } from "../keys/key_client";
import {
  Refusal, sendRefusal, bodyTooLarge, unsupportedEncoding, guardUnavailable, deniedByGuard, holdNotInstalled,
  providerKeyUnavailable, keyServiceForbidden, upgradeNotInspectable, cannotRedact, BINARY_CONTENT_REFUSED,
} from "./replies";
import { holdInstalled, responseHoldInstalled } from "./hold_check";
import { ResponseInspection, ResponseMode, ResponseOutcome } from "../response/inspection";
import { trimmed } from "../util/trim";

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
  private provider: Provider | null = null;
  private headersEndStream: bool = false;
  /** A WebSocket upgrade the policy lets through uninspected. */
  private upgrade: bool = false;
  /** The request headers, read once at onRequestHeaders. */
  private headers: HeaderSnapshot | null = null;
  /** Paused at request headers until the first key fetch ends (the root resumes it). */
  waitingForKeys: bool = false;
  /** The injected key, searched for in the response (null: none injected, or too short to search). */
  private echoMask: EchoMask | null = null;
  /** Requests to a provider host: what was decided, for the access log and the metrics. */
  private audit: Audit | null = null;
  /** Reads the token usage the response reports (null: not a provider response, or not readable). */
  private usage: ResponseUsage | null = null;
  /** The response patterns' reading of this response (null: not read). */
  private inspection: ResponseInspection | null = null;
  private requestPath: string = "";

  constructor(id: u32, root: RootContext, private readonly configured: Configured) {
    super(id, root);
  }

  private get policy(): Policy { return this.configured.policy; }
  private get metrics(): RequestMetrics { return this.configured.metrics; }
  private get guardMetrics(): GuardMetrics { return this.configured.guardMetrics; }

  onRequestHeaders(headerCount: u32, endOfStream: bool): u32 {
    const policy = this.policy;
    const headers = HeaderSnapshot.read(MapType.HttpRequestHeaders);
    this.headers = headers;
    const authority = headers.first(":authority");
    const keys = this.configured.keys;
    if (keys != null && this.reachesKeyService(keys, authority)) {
      this.finished = true;
      this.metrics.count(this.metrics.refusedKeyService);
      logWarn("llm-guard: refused a request to " + (authority != null ? authority : "(no authority)") + ": it would reach the key service");
      sendRefusal(keyServiceForbidden());
      return HeadersAction.StopIteration;
    }
    if (authority == null) return HeadersAction.Continue;
    const provider = policy.providerFor(parseAuthority(authority));
    if (provider == null) return HeadersAction.Continue;
    this.authority = authority;
    this.provider = provider;
    this.headersEndStream = endOfStream;
    this.metrics.count(this.metrics.requests);
    this.audit = startAudit(parseAuthority(authority).host, headers);
    const path = headers.first(":path");
    if (path != null) this.requestPath = path;
    if (isUpgrade(headers)) {
      if (policy.onUpgrade == UpgradePolicy.Refuse) {
        this.finished = true;
        this.metrics.count(this.metrics.refusedUpgrade);
        logInfo("llm-guard: refused an upgrade (WebSocket) to " + authority + ": its messages can't be inspected (on_upgrade: refuse)");
        const refusal = upgradeNotInspectable();
        this.decide(Decided.Refused, refusal.code);
        sendRefusal(refusal);
        return HeadersAction.StopIteration;
      }
      this.upgrade = true;
    }
    if (keys != null && !keys.settled && this.needsServiceKeys(provider, endOfStream)) {
      // Paused (Envoy: StopAllIterationAndWatermark) until the root resumes it when the fetch ends,
      // at most timeout_ms later: the fetch's own timeout.
      this.waitingForKeys = true;
      this.configured.waiting.push(this);
      return HeadersAction.StopIteration;
    }
    return this.afterKeys();
  }

  /** The root calls this (as this stream's context) once the first key fetch has ended. */
  resumeAfterKeys(): void {
    if (!this.waitingForKeys) return;
    this.waitingForKeys = false;
    if (this.afterKeys() == HeadersAction.Continue) continueRequest();
  }

  onDelete(): void {
    this.waitingForKeys = false;
  }

  /** The app may not reach the key service: not by its name (or a short form), nor by a route to its cluster. */
  private reachesKeyService(keys: KeyClient, authority: string | null): bool {
    const settings = keys.settings;
    if (authority != null && settings.namesKeyService(parseAuthority(authority).host)) return true;
    const cluster = getPropertyString(["xds", "cluster_name"]);
    return cluster != null && cluster == settings.cluster;
  }

  /** Does this request need a key from the key service: the provider's, or the guard's to judge the body? */
  private needsServiceKeys(provider: Provider, endOfStream: bool): bool {
    if (provider.keysFromService) return true;
    const guard = this.policy.guard;
    return guard != null && guard.keyFromService && !endOfStream;
  }

  /** The rest of the headers' work once keys are known: returns the action for the headers. */
  private afterKeys(): u32 {
    const policy = this.policy;
    const authority = this.authority;
    const endOfStream = this.headersEndStream;
    if (policy.requireHold && !holdInstalled()) {
      // Not the provider's route: the headers would go on before the body is judged, and a host
      // spelled so the filter reads it as the provider's but the route table doesn't (a trailing
      // dot, an odd port) would take the key down the mesh's passthrough to wherever the app
      // connected. No key without the operator's mark, bodiless requests included.
      this.finished = true;
      this.metrics.count(this.metrics.refusedNoHold);
      logWarn("llm-guard: refused a request to " + authority + ": the request hold is not installed on its route (require_hold)");
      const refusal = holdNotInstalled();
      this.decide(Decided.Refused, refusal.code);
      sendRefusal(refusal);
      return HeadersAction.StopIteration;
    }
    if (!this.injectKey(this.provider!)) return HeadersAction.StopIteration;
    if (this.upgrade) {
      this.decide(Decided.PassedUninspected);
      this.metrics.count(this.metrics.passedUpgrade);
      logInfo("llm-guard: forwarded an upgrade (WebSocket) to " + authority + " uninspected (on_upgrade: allow)");
      return HeadersAction.Continue;
    }

    if (!policy.inspectsBodies || endOfStream) {
      this.decide(Decided.Allowed);
      return HeadersAction.Continue;
    }
    const headers = this.headers!;
    // Every content-encoding header counts: a first `identity` must not hide a second `gzip`.
    const encoding = headers.joined("content-encoding");
    if (isContentEncoded(encoding)) {
      if (policy.onUninspectable == Uninspectable.Allow) {
        this.decide(Decided.PassedUninspected);
        this.metrics.count(this.metrics.passedUninspected);
        logInfo("llm-guard: forwarded a compressed body to " + authority + " uninspected (on_uninspectable: allow)");
        return HeadersAction.Continue;
      }
      this.refuse(unsupportedEncoding(), "compressed body (content-encoding: " + encoding! + ")");
      return HeadersAction.StopIteration;
    }
    const length = headers.first("content-length");
    if (length != null && declaredLengthExceeds(length, policy.maxBodyBytes)) {
      this.refuse(bodyTooLarge(policy.maxBodyBytes), "content-length over max_body_bytes");
      return HeadersAction.StopIteration;
    }
    const contentType = headers.first("content-type");
    this.contentType = contentType != null ? contentType : "";
    this.inspecting = true;
    // A redacted body has another length, and the headers are gone before the body is judged.
    if (policy.redact != null && length != null) removeHeader(MapType.HttpRequestHeaders, "content-length");
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
    const verdict = evaluateBody(policy, body, this.contentType, this.metrics);
    if (this.audit != null && verdict.model.length > 0) this.audit!.setModel(verdict.model);
    if (verdict.refusal != null) {
      const refusal = verdict.refusal!;
      if (refusal.type == "policy_violation") {
        if (this.audit != null) this.audit!.rule = verdict.rule;
        this.decide(Decided.Denied, refusal.code);
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
      this.decide(Decided.PassedUninspected);
      this.metrics.count(this.metrics.passedUninspected);
      logInfo("llm-guard: forwarded a body to " + this.authority + " uninspected (on_uninspectable: allow): " + verdict.reason);
      return true;
    }
    if (policy.redact != null && !this.redact(body, verdict)) return false;
    const guard = this.configured.guard;
    const forGuard = guard != null ? conversationPieces(verdict.inspected) : [];
    if (forGuard.length == 0) {
      this.decide(Decided.Allowed);
      this.metrics.count(this.metrics.allowed);
      return true;
    }
    return this.askGuard(guard!, forGuard);
  }

  /** redact_patterns: the body is replaced by its redacted form; false when the request was refused. */
  private redact(body: Uint8Array, verdict: BodyVerdict): bool {
    const redaction = redactBody(this.policy, body, this.contentType, verdict);
    if (redaction.refused) {
      this.finished = true;
      const refusal = cannotRedact(this.policy.denyStatus);
      this.decide(Decided.Denied, refusal.code);
      this.metrics.count(this.metrics.refusedRedaction);
      logInfo("llm-guard: refused a request to " + this.authority + ": text matching redact_patterns where it can't be rewritten");
      sendRefusal(refusal);
      return false;
    }
    const rewritten = redaction.body;
    if (rewritten == null) return true;
    replaceBuffer(BufferType.HttpRequestBody, this.bufferedSize, rewritten.buffer);
    this.bufferedSize = rewritten.length;
    this.metrics.count(this.metrics.redacted);
    if (this.audit != null) this.audit!.redacted = true;
    return true;
  }

  private askGuard(guard: GuardClient, pieces: TextPiece[]): bool {
    const settings = this.policy.guard!;
    const keys = this.configured.keys;
    const apiKey = settings.keyFromService ? (keys != null ? keys.guardKey(keyClockMs()) : "") : settings.apiKey;
    const q = guard.ask(pieces, this.id, apiKey);
    if (q.immediate != null) {
      if (this.audit != null) this.audit!.guardLatencyMs = 0;
      return this.applyGuardVerdict(q.immediate!, q.fromCache);
    }
    this.question = q;
    return false;
  }

  onHttpCallResponse(callId: u32, headerCount: u32, bodySize: u32, trailerCount: u32): void {
    const q = this.question;
    if (q == null || q.callId != callId) return;
    this.question = null;
    const verdict = this.configured.guard!.readAnswer(q, headerCount, bodySize);
    if (this.audit != null) this.audit!.guardLatencyMs = q.latencyMs;
    if (this.applyGuardVerdict(verdict, false)) continueRequest();
  }

  /** Acts on the guard's verdict; returns true when the request may go on. */
  private applyGuardVerdict(verdict: Verdict, fromCache: bool): bool {
    const settings = this.policy.guard!;
    const source = fromCache ? " (cached verdict)" : "";
    const cached = fromCache ? " cached" : "";
    if (verdict.decision == Decision.Allow) {
      this.guardSaid("allow" + cached);
      this.decide(Decided.Allowed);
      this.metrics.count(this.metrics.allowed);
      return true;
    }
    if (verdict.decision == Decision.Deny) {
      this.metrics.count(this.metrics.deniedByGuard);
      logInfo("llm-guard: the guard denied a request to " + this.authority + source + ": " + verdict.reason);
      const refusal = deniedByGuard(this.policy.denyStatus, settings.exposeReason ? verdict.reason : "");
      this.guardSaid("deny" + cached);
      this.decide(Decided.Denied, refusal.code);
      sendRefusal(refusal);
      return false;
    }
    this.guardMetrics.countError(verdict.errorKind);
    if (settings.failOpen) {
      this.guardSaid("fail_open:" + verdict.errorKind);
      this.decide(Decided.Allowed);
      this.guardMetrics.count(this.guardMetrics.failOpen);
      logWarn("llm-guard: no guard verdict (" + verdict.errorKind + ": " + verdict.reason + "); forwarded a request to "
        + this.authority + " unchecked by the guard (fail_mode: open)");
      return true;
    }
    logWarn("llm-guard: no guard verdict (" + verdict.errorKind + ": " + verdict.reason + "); refused a request to " + this.authority);
    const refusal = guardUnavailable();
    this.guardSaid("error:" + verdict.errorKind);
    this.decide(Decided.Refused, refusal.code);
    sendRefusal(refusal);
    return false;
  }

  private guardSaid(what: string): void {
    if (this.audit != null) this.audit!.guard = what;
  }

  /** Records the decision in the audit record (filter state) and the per-model counters. */
  private decide(decision: string, reason: string = ""): void {
    const audit = this.audit;
    if (audit == null) return;
    audit.decision = decision;
    audit.reason = reason;
    audit.write();
    this.configured.modelMetrics.countDecision(audit.provider, audit.model, decision);
  }

  private refuse(refusal: Refusal, reason: string): void {
    this.finished = true;
    this.decide(Decided.Refused, refusal.code);
    // Binary content was readable, and is counted as refused for what it is (evaluate.ts).
    if (refusal.code != BINARY_CONTENT_REFUSED) this.metrics.count(this.metrics.refused);
    logInfo("llm-guard: refused a request to " + this.authority + " (" + refusal.code + "): " + reason);
    sendRefusal(refusal);
  }

  /** Puts the provider's key on the request; false when there is none (the request was refused). */
  private injectKey(provider: Provider): bool {
    let key = "";
    if (provider.keysFromService) {
      const keys = this.configured.keys;
      const fetched = keys != null ? keys.keysFor(provider.keyName, keyClockMs()) : null;
      if (fetched == null || fetched.length == 0) {
        this.finished = true;
        this.metrics.count(this.metrics.refusedNoKey);
        logWarn("llm-guard: refused a request to " + this.authority + ": the key service has no key for " + provider.keyName + " at the moment");
        const refusal = providerKeyUnavailable();
        this.decide(Decided.Refused, refusal.code);
        sendRefusal(refusal);
        return false;
      }
      key = provider.takeKeyFrom(fetched);
    } else {
      key = provider.takeKey();
    }
    // Only headers the request has: each removal is a call into the host.
    const headers = this.headers!;
    for (let i = 0; i < CREDENTIAL_HEADERS.length; i++) {
      if (headers.has(CREDENTIAL_HEADERS[i])) removeHeader(MapType.HttpRequestHeaders, CREDENTIAL_HEADERS[i]);
    }
    replaceHeader(MapType.HttpRequestHeaders, authHeaderName(provider.authStyle), authHeaderValue(provider.authStyle, key));
    this.echoMask = EchoMask.forKey(key);
    // The response is searched for the key: ask for it uncompressed (RFC 9110 12.5.3).
    if (this.echoMask != null && headers.has("accept-encoding")) replaceHeader(MapType.HttpRequestHeaders, "accept-encoding", "identity");
    return true;
  }

  onResponseHeaders(headerCount: u32, endOfStream: bool): u32 {
    // A reply of the filter's own that replaced the upstream's passes here too (where Envoy runs it
    // through the filters): it is not the provider's answer.
    if (this.inspection != null) {
      this.inspection = null;
      return HeadersAction.Continue;
    }
    const mask = this.echoMask;
    if (mask == null && this.audit == null) return HeadersAction.Continue;
    const snapshot = HeaderSnapshot.read(MapType.HttpResponseHeaders);
    if (mask != null) this.maskHeaders(mask, snapshot);
    const encoding = snapshot.joined("content-encoding");
    const audit = this.audit;
    if (audit != null) {
      const status = snapshot.first(":status");
      audit.status = status != null ? I32.parseInt(status) : 0;
      const usage = ResponseUsage.forResponse(snapshot.first("content-type"), encoding);
      if (usage != null) usage.wantModel = audit.model.length == 0;
      this.usage = usage;
      if (!endOfStream && (audit.decision == Decided.Allowed || audit.decision == Decided.PassedUninspected)) {
        this.startInspection(snapshot, audit.status, encoding);
      }
    }
    if (endOfStream) {
      this.responseEnded();
      return HeadersAction.Continue;
    }
    if (mask != null && isContentEncoded(encoding)) {
      // Asked for identity and answered compressed anyway: the bytes can't be searched.
      this.metrics.count(this.metrics.keyEchoUnscanned);
      logWarn("llm-guard: a response from " + this.authority + " came compressed (" + encoding! + "): not searched for an echoed key");
      this.reportMasked(mask);
      this.echoMask = null;
    }
    return HeadersAction.Continue;
  }

  /** Response patterns: a reply they read changes length, or is replaced whole when unreadable. */
  private startInspection(snapshot: HeaderSnapshot, status: i32, encoding: string | null): void {
    const inspection = ResponseInspection.forResponse(this.policy, this.requestPath, status, snapshot.first("content-type"), encoding);
    if (inspection == null) return;
    this.inspection = inspection;
    if (snapshot.has("content-length")) removeHeader(MapType.HttpResponseHeaders, "content-length");
    if (inspection.mode == ResponseMode.Unreadable) {
      // Its bytes are dropped for an error the app can read: that one isn't compressed.
      removeHeader(MapType.HttpResponseHeaders, "content-encoding");
      this.echoMask = null;
      this.usage = null;
    }
  }

  /** Every value of a header that echoed the key is put back masked, in order. */
  private maskHeaders(mask: EchoMask, snapshot: HeaderSnapshot): void {
    const pairs = snapshot.all();
    // Each value searched once: its masked form, or null when it holds no key.
    const masked = new Array<string | null>(pairs.length);
    const echoed = new Array<string>();
    for (let i = 0; i < pairs.length; i++) {
      masked[i] = mask.maskHeaderValue(pairs[i].value);
      if (masked[i] != null && !echoed.includes(pairs[i].name)) echoed.push(pairs[i].name);
    }
    for (let e = 0; e < echoed.length; e++) {
      removeHeader(MapType.HttpResponseHeaders, echoed[e]);
      for (let i = 0; i < pairs.length; i++) {
        if (pairs[i].name != echoed[e]) continue;
        const value = masked[i];
        addHeader(MapType.HttpResponseHeaders, echoed[e], value != null ? value : pairs[i].value);
      }
    }
  }

  onResponseBody(bodySize: u32, endOfStream: bool): u32 {
    const inspection = this.inspection;
    if (inspection != null) return this.inspectResponseBody(inspection, bodySize, endOfStream);
    const mask = this.echoMask;
    const usage = this.usage;
    if (mask == null && usage == null) {
      if (endOfStream) this.responseEnded();
      return BodyAction.Continue;
    }
    if (bodySize == 0 && !endOfStream) return BodyAction.Continue;
    const bytes = bodySize > 0 ? getBufferBytes(BufferType.HttpResponseBody, 0, bodySize) : null;
    const chunk = Uint8Array.wrap(bytes != null ? bytes : new ArrayBuffer(0));
    // Usage is read from what the upstream sent: masking only turns key bytes into '*'.
    if (usage != null) usage.feed(chunk, endOfStream);
    if (mask != null) {
      const out = mask.maskChunk(chunk, endOfStream);
      if (mask.changed) replaceBuffer(BufferType.HttpResponseBody, bodySize, out.slice().buffer);
    }
    if (endOfStream) this.responseEnded();
    return BodyAction.Continue;
  }

  /**
   * A response the patterns read: a stream passes on event by event as its text settles; a JSON
   * reply is held here whole, then sent on redacted, or replaced by an error when denied (a local
   * reply with its own status where the response hold keeps the headers, else in the body).
   */
  private inspectResponseBody(inspection: ResponseInspection, bodySize: u32, endOfStream: bool): u32 {
    const mode = inspection.mode;
    if (!endOfStream && mode == ResponseMode.JsonReply) return BodyAction.StopIterationAndBuffer;
    const bytes = bodySize > 0 ? getBufferBytes(BufferType.HttpResponseBody, 0, bodySize) : null;
    const received = Uint8Array.wrap(bytes != null ? bytes : new ArrayBuffer(0));
    let out = received;
    if (mode == ResponseMode.EventStream) {
      if (this.usage != null) this.usage!.feed(received, endOfStream);
      out = inspection.streamChunk(received, endOfStream);
    } else if (mode == ResponseMode.Unreadable) {
      out = endOfStream ? inspection.errorReply() : new Uint8Array(0);
    } else {
      if (this.usage != null) this.usage!.feed(received, true);
      const replaced = inspection.reply(received);
      if (replaced != null) out = replaced;
      if (inspection.refusal != null && responseHoldInstalled()) {
        this.responseInspected(inspection);
        const refusal = inspection.refusal!;
        if (this.audit != null) this.audit!.status = <i32>refusal.status;
        sendRefusal(refusal);
        this.responseEnded();
        return BodyAction.StopIterationAndBuffer;
      }
    }
    let changed = out != received;
    const mask = this.echoMask;
    if (mask != null) {
      out = mask.maskChunk(out, endOfStream);
      changed = changed || mask.changed;
    }
    if (changed) replaceBuffer(BufferType.HttpResponseBody, bodySize, out.slice().buffer);
    if (endOfStream) {
      this.responseInspected(inspection);
      this.responseEnded();
    }
    return BodyAction.Continue;
  }

  /** What the response patterns did, counted, logged (never the text) and put in the audit record. */
  private responseInspected(inspection: ResponseInspection): void {
    const stream = inspection.stream;
    if (stream != null && stream.overflows > 0) {
      this.metrics.countBy(this.metrics.holdBackOverflows, stream.overflows);
      logWarn("llm-guard: a stream from " + this.authority + " held more text than response_max_hold_back " + stream.overflows.toString() + " time(s): a match longer than that may have been missed");
    }
    const audit = this.audit;
    const refusal = inspection.refusal;
    if (inspection.outcome == ResponseOutcome.Denied) {
      this.metrics.count(this.metrics.responsesDenied);
      logInfo("llm-guard: denied a response from " + this.authority + ": " + inspection.rule + " matched");
    } else if (inspection.outcome == ResponseOutcome.Redacted) {
      this.metrics.count(this.metrics.responsesRedacted);
    } else if (refusal != null) {
      logWarn("llm-guard: a response from " + this.authority + " was not delivered: " + refusal.message);
    }
    if (audit == null) return;
    audit.response = inspection.outcome.length > 0 ? inspection.outcome : refusal != null ? refusal.code : "";
    audit.responseRule = inspection.rule;
  }

  /** The response ended: echoes counted, and the audit record completed with its usage. */
  private responseEnded(): void {
    const mask = this.echoMask;
    if (mask != null) this.reportMasked(mask);
    const audit = this.audit;
    if (audit == null) return;
    const usage = this.usage;
    if (usage != null) {
      const u = usage.usage;
      if (audit.model.length == 0) audit.setModel(u.model);
      audit.usage = u;
      this.configured.modelMetrics.countTokens(audit.provider, audit.model, u.input, u.output);
      this.usage = null;
    }
    audit.write();
  }

  private reportMasked(mask: EchoMask): void {
    if (mask.masked == 0) return;
    this.metrics.countBy(this.metrics.keyEchoMasked, mask.masked);
    logWarn("llm-guard: the response from " + this.authority + " carried the injected key " + mask.masked.toString() + " time(s): masked");
    mask.masked = 0;
  }
}

/** The audit record of a request to a provider host: who judges it, and what the request says of itself. */
function startAudit(providerHost: string, headers: HeaderSnapshot): Audit {
  const audit = new Audit();
  const plugin = getPropertyString(["plugin_name"]);
  audit.policy = plugin != null ? plugin : "";
  audit.provider = providerHost;
  const requestId = headers.first("x-request-id");
  if (requestId != null) audit.requestId = requestId.length > 128 ? requestId.substring(0, 128) : requestId;
  const path = headers.first(":path");
  if (path != null) audit.setModel(modelInPath(path));
  return audit;
}

/** Gemini and Vertex name the model in the path: `.../models/<model>:generateContent`. */
function modelInPath(path: string): string {
  const at = path.indexOf("/models/");
  if (at < 0) return "";
  const start = at + 8;
  let end = start;
  while (end < path.length) {
    const c = path.charCodeAt(end);
    if (c == 0x3a || c == 0x2f || c == 0x3f) break; // : / ?
    end++;
  }
  return path.substring(start, end);
}

/**
 * What the guard judges: the text of the conversation, with its roles. Text in no known place
 * (`other`: member names, ids, settings) is for the patterns only; it would drown the guard's prompt.
 */
function conversationPieces(pieces: TextPiece[]): TextPiece[] {
  const out = new Array<TextPiece>();
  for (let i = 0; i < pieces.length; i++) if (pieces[i].role != Role.Other) out.push(pieces[i]);
  return out;
}

/**
 * An HTTP/1.1 upgrade (`upgrade:` header, e.g. websocket) or an HTTP/2 or HTTP/3 extended CONNECT
 * (`:protocol`, RFC 8441/9220). Envoy keeps the `upgrade` header on requests it will upgrade.
 */
function isUpgrade(headers: HeaderSnapshot): bool {
  const upgrade = headers.first("upgrade");
  if (upgrade != null && trimmed(upgrade).length > 0) return true;
  const protocol = headers.first(":protocol");
  return protocol != null && trimmed(protocol).length > 0;
}

/** True when a content-length header declares more than `limit` bytes. */
function declaredLengthExceeds(value: string, limit: u32): bool {
  const v = trimmed(value);
  if (v.length > 12) return true;
  let n: u64 = 0;
  for (let i = 0; i < v.length; i++) {
    const c = v.charCodeAt(i);
    if (c < 0x30 || c > 0x39) return false;
    n = n * 10 + <u64>(c - 0x30);
  }
  return n > <u64>limit;
}
