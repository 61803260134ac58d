// One audit record per request to a provider host, as Envoy users collect such data: a JSON object
// in the filter state `wasm.llm_guard.audit` (what the access log prints with
// %FILTER_STATE(wasm.llm_guard.audit:PLAIN)%), written when the request is decided and again when
// the response ends (with the token usage it reported). It names the pattern that decided by its
// index, never the text; it holds no prompt, completion or key.
import { setProperty } from "../abi/host";
import { jsonString } from "../json/encode";
import { Usage } from "./usage";

export const AUDIT_PROPERTY = "llm_guard.audit";
/** Model names come from the request: cut, so a request can't make the record arbitrarily long. */
const MAX_MODEL_CHARS: i32 = 128;

export namespace Decided {
  export const Pending = "pending";
  export const Allowed = "allowed";
  export const Denied = "denied";
  export const Refused = "refused";
  export const PassedUninspected = "passed_uninspected";
}

export class Audit {
  /** The WasmPlugin (Envoy's plugin_name): which policy judged. */
  policy: string = "";
  provider: string = "";
  model: string = "";
  decision: string = Decided.Pending;
  /** The reply code of a denial or refusal (denied_by_pattern, denied_by_guard, body_too_large...). */
  reason: string = "";
  /** `deny_patterns[N]` or `allow_patterns` when a pattern decided. */
  rule: string = "";
  /** allow, deny, error:<kind> or fail_open:<kind>, `cached` appended for a cached verdict; "" when not asked. */
  guard: string = "";
  guardLatencyMs: i64 = -1;
  requestId: string = "";
  /** What the response reported (the reader's own, once the response ended). */
  usage: Usage = new Usage();
  /** Response status, 0 until the response headers. */
  status: i32 = 0;
  /** redact_patterns masked text in the request. */
  redacted: bool = false;
  /** What response patterns did: "" (nothing matched or not inspected), `redacted`, `denied`. */
  response: string = "";
  /** The response pattern that decided (a denial) or the first that redacted, by index. */
  responseRule: string = "";

  setModel(model: string): void {
    this.model = model.length > MAX_MODEL_CHARS ? model.substring(0, MAX_MODEL_CHARS) : model;
  }

  toJson(): string {
    let out = "{\"policy\":" + jsonString(this.policy) + ",\"provider\":" + jsonString(this.provider);
    out += ",\"model\":" + jsonString(this.model) + ",\"decision\":" + jsonString(this.decision);
    if (this.reason.length > 0) out += ",\"reason\":" + jsonString(this.reason);
    if (this.rule.length > 0) out += ",\"rule\":" + jsonString(this.rule);
    if (this.guard.length > 0) {
      out += ",\"guard\":" + jsonString(this.guard);
      if (this.guardLatencyMs >= 0) out += ",\"guard_latency_ms\":" + this.guardLatencyMs.toString();
    }
    if (this.redacted) out += ",\"redacted\":true";
    if (this.status > 0) out += ",\"status\":" + this.status.toString();
    if (this.response.length > 0) {
      out += ",\"response\":" + jsonString(this.response);
      if (this.responseRule.length > 0) out += ",\"response_rule\":" + jsonString(this.responseRule);
    }
    const u = this.usage;
    if (u.known) {
      out += ",\"usage\":{";
      let first = true;
      if (u.input >= 0) { out += "\"input_tokens\":" + u.input.toString(); first = false; }
      if (u.output >= 0) { out += (first ? "" : ",") + "\"output_tokens\":" + u.output.toString(); first = false; }
      if (u.total >= 0) out += (first ? "" : ",") + "\"total_tokens\":" + u.total.toString();
      out += "}";
    }
    if (this.requestId.length > 0) out += ",\"request_id\":" + jsonString(this.requestId);
    return out + "}";
  }

  write(): void {
    setProperty(AUDIT_PROPERTY, this.toJson());
  }
}
