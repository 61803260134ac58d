// The pattern sets matched against normalized text (plugin/normalize; see filter/judge.ts): the
// deny and allow patterns compiled again with their literals normalized the same way, so a
// pattern written with a fullwidth letter or a Cyrillic look-alike inside a Latin word matches
// the normalized text it is meant for. Only kept when normalizing changed a literal: for the
// usual ASCII patterns the plain sets serve both.
import { compilePatternSet, PatternSet } from "../regex";
import { Policy } from "./policy";

/**
 * Sets policy.denyNormalized and policy.allowNormalized; called after policy.deny, policy.allow
 * and policy.normalize are set. Leaves them null when normalization is off, when a list is empty
 * or unchanged by normalization, or when the normalized set cannot be compiled (e.g. a literal
 * expanding past the instruction budget): the plain set is then matched on normalized text too.
 */
export function compileNormalizedPatterns(policy: Policy, denyPatterns: string[], allowPatterns: string[]): void {
  policy.denyNormalized = null;
  policy.allowNormalized = null;
  if (!policy.normalize) return;
  if (policy.deny != null) policy.denyNormalized = normalizedSet(denyPatterns);
  if (policy.allow != null) policy.allowNormalized = normalizedSet(allowPatterns);
}

function normalizedSet(patterns: string[]): PatternSet | null {
  if (patterns.length == 0 || allAscii(patterns)) return null;
  const r = compilePatternSet(patterns, true);
  return r.literalsChanged ? r.set : null;
}

/**
 * ASCII literals normalize to themselves: no need to compile again when every pattern is ASCII
 * and names no other code point by an escape (\x{..}, or octal \0nn, \1nn... up to \377).
 */
function allAscii(patterns: string[]): bool {
  for (let i = 0; i < patterns.length; i++) {
    const p = patterns[i];
    for (let j = 0; j < p.length; j++) {
      const c = p.charCodeAt(j);
      if (c >= 0x80) return false;
      if (c == 0x5c && j + 1 < p.length) {
        const d = p.charCodeAt(j + 1);
        if (d == 0x78 || (d >= 0x30 && d <= 0x37)) return false;
        j++; // an escaped character, e.g. \\, is skipped with its backslash
      }
    }
  }
  return true;
}
