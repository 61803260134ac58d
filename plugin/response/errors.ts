// Why a reply, or what is left of a stream, is not delivered: in the OpenAI error shape of the
// filter's other replies (filter/replies.ts), never with the text that matched.
import { jsonString } from "../json/encode";

export class ResponseError {
  constructor(
    public readonly status: u32,
    public readonly type: string,
    public readonly code: string,
    public readonly message: string,
  ) {}

  /** `{"error":{"message","type","param","code"}}`, as OpenAI's SDK reads errors. */
  json(): string {
    return "{\"error\":{\"message\":" + jsonString(this.message) + ",\"type\":" + jsonString(this.type)
      + ",\"param\":null,\"code\":" + jsonString(this.code) + "}}";
  }
}

export function responseDenied(status: u32): ResponseError {
  return new ResponseError(status, "policy_violation", "response_denied_by_pattern",
    "The model's answer was blocked by the LLM egress policy: it matched a response deny pattern.");
}

export function responseNotInspectable(detail: string): ResponseError {
  return new ResponseError(502, "upstream_error", "response_not_inspectable",
    "The model's answer could not be inspected by the LLM egress policy (" + detail + "), so it was not delivered.");
}
