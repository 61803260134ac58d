// Decides what happens to a complete request body: forwarded, or refused with which reply.
import { parseJson, JsonLimits, JsonLimitExceeded } from "../json";
import { extractPromptText, TextPiece, Role, roleName } from "../inspect";
import { Policy, Uninspectable } from "../config/policy";
import {
  Refusal, deniedByPattern, notAllowedByPattern, invalidJson, invalidBody, jsonTooDeep, unsupportedBody, bodyTooLarge,
} from "./replies";

export class BodyVerdict {
  refusal: Refusal | null = null;
  /** Forwarded without inspection because the policy says so for bodies it can't read. */
  passedUninspected: bool = false;
  /** Why, for the log; never contains prompt text. */
  reason: string = "";
  /** The rule that denied: `deny_patterns[N]` or `allow_patterns` ("" otherwise). */
  rule: string = "";
  /** The text piece that decided a deny, for debug logging when log_prompts is on. */
  offendingText: string = "";
  /** The pieces that passed the patterns, for the guard to judge next. */
  inspected: TextPiece[] = [];
}

export function evaluateBody(policy: Policy, body: Uint8Array, contentType: string): BodyVerdict {
  const limits = new JsonLimits();
  limits.maxDepth = policy.maxJsonDepth;
  const parsed = parseJson(body, limits);
  if (parsed.value == null) {
    // Resource bounds, not a format the policy could choose to pass: always refused.
    if (parsed.limitExceeded == JsonLimitExceeded.Depth) return refused(jsonTooDeep(policy.maxJsonDepth), "JSON nested too deep");
    if (parsed.limitExceeded == JsonLimitExceeded.Nodes) return refused(bodyTooLarge(policy.maxBodyBytes), "JSON has too many values: " + parsed.error);
    const refusal = looksLikeJson(body, contentType) ? invalidJson() : unsupportedBody();
    return uninspectable(policy, body, refusal, "body is not valid JSON: " + parsed.error);
  }
  const extraction = extractPromptText(parsed.value!, limits);
  if (extraction.error.length > 0) {
    return uninspectable(policy, body, invalidBody(extraction.error), "unexpected body shape: " + extraction.error);
  }
  return judgePieces(policy, extraction.pieces);
}

/** Applies deny patterns to every inspected piece, then allow patterns to every user piece. */
export function judgePieces(policy: Policy, pieces: TextPiece[]): BodyVerdict {
  const verdict = new BodyVerdict();
  for (let i = 0; i < pieces.length; i++) {
    if ((pieces[i].role & policy.inspectRoles) != 0) verdict.inspected.push(pieces[i]);
  }
  const deny = policy.deny;
  if (deny != null) {
    for (let i = 0; i < verdict.inspected.length; i++) {
      const piece = verdict.inspected[i];
      const hit = deny.firstMatch(piece.text);
      if (hit >= 0) {
        verdict.refusal = deniedByPattern(policy.denyStatus);
        verdict.rule = "deny_patterns[" + hit.toString() + "]";
        verdict.reason = verdict.rule + " matched a " + roleName(piece.role) + " text";
        verdict.offendingText = piece.text;
        return verdict;
      }
    }
  }
  const allow = policy.allow;
  if (allow != null && (policy.inspectRoles & Role.User) != 0) {
    for (let i = 0; i < verdict.inspected.length; i++) {
      const piece = verdict.inspected[i];
      if (piece.role != Role.User) continue;
      if (allow.firstMatch(piece.text) < 0) {
        verdict.refusal = notAllowedByPattern(policy.denyStatus);
        verdict.rule = "allow_patterns";
        verdict.reason = "a user text matched none of allow_patterns";
        verdict.offendingText = piece.text;
        return verdict;
      }
    }
  }
  return verdict;
}

function refused(refusal: Refusal, reason: string): BodyVerdict {
  const v = new BodyVerdict();
  v.refusal = refusal;
  v.reason = reason;
  return v;
}

function uninspectable(policy: Policy, body: Uint8Array, refusal: Refusal, reason: string): BodyVerdict {
  if (policy.onUninspectable == Uninspectable.Allow) {
    const v = new BodyVerdict();
    v.passedUninspected = true;
    v.reason = reason;
    return v;
  }
  if (policy.onUninspectable == Uninspectable.ScanRaw) {
    const pieces: TextPiece[] = [new TextPiece(Role.User, String.UTF8.decode(body.buffer.slice(body.byteOffset, body.byteOffset + body.byteLength)))];
    const v = judgePieces(policy, pieces);
    if (v.refusal != null) v.reason += " (raw scan: " + reason + ")";
    return v;
  }
  return refused(refusal, reason);
}

function looksLikeJson(body: Uint8Array, contentType: string): bool {
  const ct = contentType.toLowerCase();
  if (ct.startsWith("application/json") || ct.includes("+json")) return true;
  for (let i = 0; i < body.length; i++) {
    const c = body[i];
    if (c == 0x20 || c == 0x09 || c == 0x0a || c == 0x0d) continue;
    return c == 0x7b || c == 0x5b;
  }
  return false;
}
