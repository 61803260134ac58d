// Test-only entry exposing plugin/regex to JS (built by plugin/testing/probes.mjs).
import { compilePatternSet, PatternSet, RegexError, Spans } from "../regex";

let current: PatternSet | null = null;
let lastError: RegexError | null = null;

/** Compiles the set and makes it current; returns false (see error*) when refused. */
export function compile(patterns: string[]): bool {
  const r = compilePatternSet(patterns);
  current = r.set;
  lastError = r.error;
  return r.set != null;
}

export function errorIndex(): i32 {
  const e = lastError;
  return e != null ? e.patternIndex : -1;
}

export function errorOffset(): i32 {
  const e = lastError;
  return e != null ? e.offset : -1;
}

export function errorMessage(): string {
  const e = lastError;
  return e != null ? e.message : "";
}

export function setSize(): i32 {
  const s = current;
  return s != null ? s.size : -1;
}

/** firstMatch on the current set; -2 when there is none. */
export function firstMatch(text: string): i32 {
  const s = current;
  return s != null ? s.firstMatch(text) : -2;
}

/** firstMatch through the Pike VM alone (no lazy DFA); -2 when there is no set. */
export function firstMatchNFA(text: string): i32 {
  const s = current;
  return s != null ? s.firstMatchNFA(text) : -2;
}

/** Runs firstMatch `times` times (for benchmarks without JS call overhead); returns the last. */
export function firstMatchRepeated(text: string, times: i32, nfaOnly: bool): i32 {
  const s = current;
  if (s == null) return -2;
  let r = -1;
  for (let i = 0; i < times; i++) r = nfaOnly ? s.firstMatchNFA(text) : s.firstMatch(text);
  return r;
}

const spanOut = new Spans();

/**
 * PatternSet.spans on the current set, as "start-end:pattern,...|settled" (UTF-16 indexes);
 * "!" when there is no set.
 */
export function spans(text: string, before: i32, atStart: bool, final: bool): string {
  const s = current;
  if (s == null) return "!";
  s.spans(text, spanOut, before, atStart, final);
  let out = "";
  for (let i = 0; i < spanOut.length; i++) {
    if (i > 0) out += ",";
    out += spanOut.starts[i].toString() + "-" + spanOut.ends[i].toString() + ":" + spanOut.patterns[i].toString();
  }
  return out + "|" + spanOut.settled.toString();
}

/** PatternSet.idleFrom on the current set; -2 when there is no set. */
export function idleFrom(text: string, before: i32): i32 {
  const s = current;
  return s != null ? s.idleFrom(text, before) : -2;
}
