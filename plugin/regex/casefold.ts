// Unicode simple case folding, for (?i). Equivalent code points form small orbits (e.g. k, K and
// U+212A KELVIN SIGN); simpleFold walks an orbit in increasing order, wrapping around.
import { FOLD_ALTERNATE, FOLD_RUNS } from "./unicode_tables";
import { normalizeRanges } from "./charclass";

// Longest orbit is 4 code points; the bound only guards against a broken table.
const MAX_ORBIT: i32 = 8;

/** Index (in runs) of the first run whose hi >= cp, or the run count. */
function firstRunNotBelow(cp: i32): i32 {
  let lo = 0;
  let hi = FOLD_RUNS.length / 3;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (FOLD_RUNS[3 * mid + 1] < cp) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Next code point in cp's case folding orbit; cp itself when it has no other case forms. */
export function simpleFold(cp: i32): i32 {
  const r = firstRunNotBelow(cp);
  if (r >= FOLD_RUNS.length / 3) return cp;
  const lo = FOLD_RUNS[3 * r];
  if (cp < lo) return cp;
  const delta = FOLD_RUNS[3 * r + 2];
  if (delta == FOLD_ALTERNATE) return ((cp - lo) & 1) == 0 ? cp + 1 : cp - 1;
  return cp + delta;
}

function addOrbit(dst: Array<i32>, cp: i32): void {
  let c = simpleFold(cp);
  for (let guard = 0; c != cp && guard < MAX_ORBIT; guard++) {
    dst.push(c);
    dst.push(c);
    c = simpleFold(c);
  }
}

/** Normalized ranges of all code points case-equivalent to cp (including cp). */
export function foldOrbitRanges(cp: i32): Array<i32> {
  const out: Array<i32> = [cp, cp];
  addOrbit(out, cp);
  return normalizeRanges(out);
}

/** Normalized closure of a range list under simple case folding. */
export function foldRanges(src: Array<i32>): Array<i32> {
  const out = new Array<i32>();
  const runCount = FOLD_RUNS.length / 3;
  for (let i = 0; i + 1 < src.length; i += 2) {
    const lo = src[i];
    const hi = src[i + 1];
    out.push(lo);
    out.push(hi);
    // Only code points inside fold runs have other case forms; visit just those.
    for (let r = firstRunNotBelow(lo); r < runCount; r++) {
      const runLo = FOLD_RUNS[3 * r];
      const runHi = FOLD_RUNS[3 * r + 1];
      if (runLo > hi) break;
      const from = runLo > lo ? runLo : lo;
      const to = runHi < hi ? runHi : hi;
      for (let cp = from; cp <= to; cp++) addOrbit(out, cp);
    }
  }
  return normalizeRanges(out);
}
