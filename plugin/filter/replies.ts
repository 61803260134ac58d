// Replies the filter sends itself: OpenAI's error shape, so SDKs show them well. They never carry
// the prompt, the matched text or a key: only fixed messages chosen here.
import { sendLocalResponse, HeaderPair } from "../abi/host";
import { Refusal } from "../reply/refusal";

export { Refusal } from "../reply/refusal";

export function deniedByPattern(status: u32): Refusal {
  return new Refusal(status, "policy_violation", "denied_by_pattern",
    "The request was blocked by the LLM egress policy: its content matched a deny pattern.");
}

export function notAllowedByPattern(status: u32): Refusal {
  return new Refusal(status, "policy_violation", "not_allowed_by_pattern",
    "The request was blocked by the LLM egress policy: a user message matched none of the allowed patterns.");
}

export function cannotRedact(status: u32): Refusal {
  return new Refusal(status, "policy_violation", "redaction_not_possible",
    "The request was blocked by the LLM egress policy: text matching a redact pattern is where it can't be masked (an attached file, a form field or encoded text).");
}

export function deniedByGuard(status: u32, reason: string): Refusal {
  return new Refusal(status, "policy_violation", "denied_by_guard",
    "The request was blocked by the LLM egress policy's guard model" + (reason.length > 0 ? ": " + reason : ".") );
}

export function invalidJson(): Refusal {
  return new Refusal(400, "invalid_request_error", "invalid_json",
    "The request body is not valid JSON, so the LLM egress policy could not inspect it.");
}

export function invalidBody(detail: string): Refusal {
  return new Refusal(400, "invalid_request_error", "invalid_body",
    "The request body has an unexpected shape (" + detail + "), so the LLM egress policy could not inspect it.");
}

export function jsonTooDeep(limit: i32): Refusal {
  return new Refusal(400, "invalid_request_error", "json_too_deep",
    "The request body is nested deeper than " + limit.toString() + " levels, more than the LLM egress policy inspects.");
}

export function bodyTooLarge(limit: u32): Refusal {
  return new Refusal(413, "invalid_request_error", "body_too_large",
    "The request body is larger than " + limit.toString() + " bytes, more than the LLM egress policy inspects.");
}

export function unsupportedEncoding(): Refusal {
  return new Refusal(415, "invalid_request_error", "unsupported_content_encoding",
    "Compressed request bodies can't be inspected by the LLM egress policy; send the body uncompressed.");
}

export function unsupportedBody(): Refusal {
  return new Refusal(415, "invalid_request_error", "unsupported_body",
    "The request body is not JSON, so the LLM egress policy could not inspect it.");
}

export const BINARY_CONTENT_REFUSED = "binary_content_refused";

/** binary_content: refuse, and the body carries an image, audio, a PDF or another file that isn't text. */
export function binaryContentRefused(): Refusal {
  return new Refusal(400, "invalid_request_error", BINARY_CONTENT_REFUSED,
    "The request carries binary content (an image, audio, a PDF or another file that isn't text), which the LLM egress policy refuses because it can't inspect it.");
}

export function holdNotInstalled(): Refusal {
  return new Refusal(503, "service_unavailable", "hold_not_installed",
    "The LLM egress policy's request hold is not installed on this route, so the request was not sent.");
}

export function guardUnavailable(): Refusal {
  return new Refusal(503, "service_unavailable", "guard_unavailable",
    "The LLM egress policy could not get a verdict from its guard model; the request was not sent.");
}

/** Says nothing of the key service's answer, its errors or the Secrets behind them. */
export function providerKeyUnavailable(): Refusal {
  return new Refusal(503, "service_unavailable", "provider_key_unavailable",
    "The LLM egress policy has no key for this provider at the moment, so the request was not sent.");
}

export function upgradeNotInspectable(): Refusal {
  return new Refusal(403, "policy_violation", "upgrade_not_inspectable",
    "The LLM egress policy refuses WebSocket connections to this provider: their messages can't be inspected. Use the provider's HTTP API.");
}

export function keyServiceForbidden(): Refusal {
  return new Refusal(403, "policy_violation", "key_service_forbidden",
    "Applications may not call the LLM egress policy's key service.");
}

export function sendRefusal(r: Refusal): void {
  const headers: HeaderPair[] = [
    new HeaderPair("content-type", "application/json"),
    new HeaderPair("x-llm-guard", r.code),
  ];
  sendLocalResponse(r.status, "llm_guard_" + r.code, r.json(), headers);
}
