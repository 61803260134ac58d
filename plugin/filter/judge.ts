// Judges the text pieces of a request against the policy's patterns: deny patterns over every
// inspected piece, then allow patterns over every user piece. With policy.normalize (the default)
// each piece is matched as written and as normalized (plugin/normalize: what a model reads behind
// fullwidth letters, zero-width characters, stacked diacritics and look-alike letters), the
// normalized text against the pattern sets whose literals were normalized the same way
// (policy.denyNormalized / allowNormalized). When those are null (the usual ASCII patterns) the
// plain sets serve, and the second match runs only when normalization changed the text. A piece
// is denied if either form matches a deny pattern, and allowed if either form matches an allow
// pattern.
import { TextPiece, Role, roleName } from "../inspect";
import { normalizeForMatching } from "../normalize";
import { PatternSet } from "../regex";
import { JsonValue } from "../json";
import { Policy } from "../config/policy";
import { Refusal, deniedByPattern, notAllowedByPattern } from "./replies";

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
  /** A JSON body's top-level `model`, for the audit record ("" when none). */
  model: string = "";
  /** The body parsed as JSON, when it is JSON (for redaction). */
  document: JsonValue | null = null;
}

/** The pieces of the roles the policy inspects. */
export function inspectedPieces(policy: Policy, pieces: TextPiece[]): TextPiece[] {
  const out = new Array<TextPiece>();
  for (let i = 0; i < pieces.length; i++) {
    if ((pieces[i].role & policy.inspectRoles) != 0) out.push(pieces[i]);
  }
  return out;
}

/** The inspected pieces' normalized texts, computed once each and only when asked for. */
class NormalizedTexts {
  private texts: Array<string | null>;

  constructor(count: i32) {
    this.texts = new Array<string | null>(count);
  }

  /** Piece i's normalized text: `text` itself (the same instance) when nothing changes. */
  get(i: i32, text: string): string {
    const known = this.texts[i];
    if (known != null) return known;
    const n = normalizeForMatching(text);
    this.texts[i] = n;
    return n;
  }
}

class Hit {
  /** The lowest-numbered matching pattern, or -1. */
  index: i32 = -1;
  /** Found on the normalized text (the text as written matched none). */
  normalized: bool = false;
}

/** Matches piece i as written with `plain`, then as normalized (see the header). */
function firstMatch(plain: PatternSet, normalized: PatternSet | null, text: string, i: i32, norms: NormalizedTexts | null, hit: Hit): void {
  hit.normalized = false;
  hit.index = plain.firstMatch(text);
  if (hit.index >= 0 || norms == null) return;
  const n = norms.get(i, text);
  if (normalized != null) hit.index = normalized.firstMatch(n);
  else if (changetype<usize>(n) != changetype<usize>(text)) hit.index = plain.firstMatch(n);
  hit.normalized = hit.index >= 0;
}

/** Applies deny patterns to every inspected piece, then allow patterns to every user piece. */
export function judgePieces(policy: Policy, pieces: TextPiece[]): BodyVerdict {
  const verdict = new BodyVerdict();
  verdict.inspected = inspectedPieces(policy, pieces);
  const norms = policy.normalize ? new NormalizedTexts(verdict.inspected.length) : null;
  const hit = new Hit();
  const deny = policy.deny;
  if (deny != null) {
    for (let i = 0; i < verdict.inspected.length; i++) {
      const piece = verdict.inspected[i];
      firstMatch(deny, policy.denyNormalized, piece.text, i, norms, hit);
      if (hit.index >= 0) {
        verdict.refusal = deniedByPattern(policy.denyStatus);
        verdict.rule = "deny_patterns[" + hit.index.toString() + "]";
        verdict.reason = verdict.rule + " matched a " + roleName(piece.role) + " text" + (hit.normalized ? " (normalized)" : "");
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
      firstMatch(allow, policy.allowNormalized, piece.text, i, norms, hit);
      if (hit.index < 0) {
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
