// Which responses the response patterns read, and how: a provider's successful JSON reply whole
// (the filter buffers it), its event stream as it flows. A reply of those types the filter can't
// read (compressed although identity was asked for) is not delivered: it is replaced by an error.
import { Policy } from "../config/policy";
import { essence, isContentEncoded, isJsonMediaType } from "../inspect/media_type";
import { Refusal } from "../reply/refusal";
import { responseDenied, responseNotInspectable } from "./errors";
import { ApiFormat, apiFormatOf, errorEvent } from "./api_format";
import { EventStreamInspector } from "./event_stream";
import { inspectReply } from "./json_reply";
import { ResponseRules } from "./rules";
import { SseLineEnd } from "../sse";

export enum ResponseMode { JsonReply, EventStream, Unreadable }

/** What the response patterns did, for the audit record: "", `redacted` or `denied`. */
export namespace ResponseOutcome {
  export const None = "";
  export const Redacted = "redacted";
  export const Denied = "denied";
}

export class ResponseInspection {
  stream: EventStreamInspector | null = null;
  outcome: string = ResponseOutcome.None;
  rule: string = "";
  /** Set when the reply is replaced by an error (denied, or unreadable). */
  refusal: Refusal | null = null;
  /** An unreadable reply that was a stream: its error goes as an event. */
  streamed: bool = false;

  constructor(
    public readonly mode: ResponseMode,
    private readonly rules: ResponseRules,
    private readonly format: ApiFormat,
    private readonly policy: Policy,
  ) {}

  /** The inspection a response needs, or null when the response patterns don't read it. */
  static forResponse(policy: Policy, requestPath: string, status: i32, contentType: string | null, encoding: string | null): ResponseInspection | null {
    const rules = ResponseRules.of(policy);
    if (rules == null || status < 200 || status > 299 || contentType == null) return null;
    const type = essence(contentType);
    const format = apiFormatOf(requestPath);
    let mode: ResponseMode;
    if (type == "text/event-stream") mode = ResponseMode.EventStream;
    else if (isJsonMediaType(type)) mode = ResponseMode.JsonReply;
    else return null;
    const streaming = mode == ResponseMode.EventStream;
    if (isContentEncoded(encoding)) mode = ResponseMode.Unreadable;
    const inspection = new ResponseInspection(mode, rules, format, policy);
    if (mode == ResponseMode.EventStream) inspection.stream = new EventStreamInspector(rules, format, policy.denyStatus, policy.maxJsonDepth);
    if (mode == ResponseMode.Unreadable) {
      inspection.refusal = responseNotInspectable("compressed (content-encoding: " + encoding! + ")");
      inspection.streamed = streaming;
    }
    return inspection;
  }

  /** A whole JSON reply: what to send instead (null: as it is). Sets refusal when it must not be delivered. */
  reply(bytes: Uint8Array): Uint8Array | null {
    const verdict = inspectReply(this.rules, bytes, this.policy.maxJsonDepth);
    if (verdict.unreadable) {
      this.refusal = responseNotInspectable("not valid JSON");
      return this.errorReply();
    }
    if (verdict.denied) {
      this.outcome = ResponseOutcome.Denied;
      this.rule = verdict.rule;
      this.refusal = responseDenied(this.policy.denyStatus);
      return this.errorReply();
    }
    if (verdict.body != null) {
      this.outcome = ResponseOutcome.Redacted;
      this.rule = verdict.rule;
    }
    return verdict.body;
  }

  /** Stream bytes to pass on for a chunk (see EventStreamInspector.feed). */
  streamChunk(chunk: Uint8Array, end: bool): Uint8Array {
    const stream = this.stream!;
    const out = stream.feed(chunk, end);
    if (stream.stopped) {
      if (this.refusal == null) {
        this.refusal = stream.refusal;
        this.rule = stream.rule;
        if (stream.rule.length > 0) this.outcome = ResponseOutcome.Denied;
      }
    } else if (stream.redactions > 0) {
      this.outcome = ResponseOutcome.Redacted;
      this.rule = stream.rule;
    }
    return out;
  }

  /** The error that replaces an unreadable or denied reply, as a body of the reply's kind. */
  errorReply(): Uint8Array {
    const refusal = this.refusal!;
    if (this.streamed) return errorEvent(this.format, refusal, 0, SseLineEnd.Lf);
    return Uint8Array.wrap(String.UTF8.encode(refusal.json()));
  }
}
