// Why a reply, or what is left of a stream, is not delivered (reply/refusal.ts: never with the
// text that matched).
import { Refusal } from "../reply/refusal";

export function responseDenied(status: u32): Refusal {
  return new Refusal(status, "policy_violation", "response_denied_by_pattern",
    "The model's answer was blocked by the LLM egress policy: it matched a response deny pattern.");
}

export function responseNotInspectable(detail: string): Refusal {
  return new Refusal(502, "upstream_error", "response_not_inspectable",
    "The model's answer could not be inspected by the LLM egress policy (" + detail + "), so it was not delivered.");
}
