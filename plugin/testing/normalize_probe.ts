// Test-only entry exposing plugin/normalize (and pattern sets compiled with normalized literals)
// to JS. Built by plugin/testing/probes.mjs into build/test/normalize_probe.{wasm,js}.
import { normalizeForMatching, normalizeLiteral, normalizeWhole, toNfkc, NORMALIZE_UNICODE_VERSION, CONFUSABLES_VERSION } from "../normalize";
import { compilePatternSet, PatternSet } from "../regex";

export function normalize(text: string): string {
  return normalizeForMatching(text);
}

/** The same pipeline over the whole text at once (no quick check, no segments). */
export function normalizeWholeText(text: string): string {
  return normalizeWhole(text);
}

/** normalizeForMatching gave back the very instance it was given (nothing to change). */
export function isUnchanged(text: string): bool {
  return changetype<usize>(normalizeForMatching(text)) == changetype<usize>(text);
}

export function nfkc(text: string): string {
  return toNfkc(text);
}

export function literal(cp: i32, inMixedWord: bool): string {
  return normalizeLiteral(cp, inMixedWord);
}

export function versions(): string {
  return NORMALIZE_UNICODE_VERSION + " " + CONFUSABLES_VERSION;
}

let plain: PatternSet | null = null;
let normalized: PatternSet | null = null;
let changed = false;
let lastError = "";

/**
 * Compiles `patterns` twice, as written and with normalized literals; false (see error()) when
 * refused. The normalized set is the plain one when nothing changed (literalsChanged()).
 */
export function compile(patterns: string[]): bool {
  const p = compilePatternSet(patterns);
  const n = compilePatternSet(patterns, true);
  const e = p.error != null ? p.error : n.error;
  lastError = e != null ? "pattern " + e.patternIndex.toString() + ": " + e.message : "";
  plain = p.set;
  changed = n.literalsChanged;
  normalized = n.set;
  return plain != null && normalized != null;
}

export function error(): string {
  return lastError;
}

export function literalsChanged(): bool {
  return changed;
}

/** firstMatch of the plain set on `text`; -2 without a set. */
export function matchPlain(text: string): i32 {
  const s = plain;
  return s != null ? s.firstMatch(text) : -2;
}

/** firstMatch of the normalized-literal set on `text` as given (not normalized); -2 without a set. */
export function matchNormalizedSet(text: string): i32 {
  const s = normalized;
  return s != null ? s.firstMatch(text) : -2;
}

/**
 * What filter/judge.ts does with one piece: the plain set on the text, then the normalized set on
 * the normalized text (skipped when neither the set nor the text changed).
 */
export function judge(text: string): i32 {
  const p = plain;
  const n = normalized;
  if (p == null || n == null) return -2;
  const hit = p.firstMatch(text);
  if (hit >= 0) return hit;
  const norm = normalizeForMatching(text);
  if (!changed && changetype<usize>(norm) == changetype<usize>(text)) return -1;
  return n.firstMatch(norm);
}

/** judge (or the plain match alone) `times` times, for benchmarks without JS call overhead. */
export function judgeRepeated(text: string, times: i32, withNormalization: bool): i32 {
  let r = -1;
  for (let i = 0; i < times; i++) {
    if (withNormalization) r = judge(text);
    else {
      const p = plain;
      r = p != null ? p.firstMatch(text) : -2;
    }
  }
  return r;
}

/** normalizeForMatching `times` times; returns the last result's length. */
export function normalizeRepeated(text: string, times: i32): i32 {
  let n = 0;
  for (let i = 0; i < times; i++) n = normalizeForMatching(text).length;
  return n;
}
