// Code point sets as flat range lists [lo0, hi0, lo1, hi1, ...]. A list is "normalized" when its
// ranges are sorted, non-overlapping and non-adjacent.

export const MAX_RUNE: i32 = 0x10ffff;

export function addRange(dst: Array<i32>, lo: i32, hi: i32): void {
  dst.push(lo);
  dst.push(hi);
}

export function appendRanges(dst: Array<i32>, src: Array<i32>): void {
  for (let i = 0; i + 1 < src.length; i += 2) {
    dst.push(src[i]);
    dst.push(src[i + 1]);
  }
}

function compareI64(a: i64, b: i64): i32 {
  return i32(a > b) - i32(a < b);
}

/** Sorts and merges any range list into a new normalized list. */
export function normalizeRanges(src: Array<i32>): Array<i32> {
  const count = src.length >> 1;
  const keys = new Array<i64>(count);
  for (let i = 0; i < count; i++) {
    keys[i] = (i64(src[2 * i]) << 32) | i64(u32(src[2 * i + 1]));
  }
  keys.sort(compareI64);
  const out = new Array<i32>();
  for (let i = 0; i < count; i++) {
    const lo = i32(keys[i] >> 32);
    const hi = i32(keys[i] & 0xffffffff);
    const n = out.length;
    if (n > 0 && lo <= out[n - 1] + 1) {
      if (hi > out[n - 1]) out[n - 1] = hi;
    } else {
      out.push(lo);
      out.push(hi);
    }
  }
  return out;
}

/** Complement of a normalized list within [0, MAX_RUNE]. */
export function negateRanges(src: Array<i32>): Array<i32> {
  const out = new Array<i32>();
  let next = 0;
  for (let i = 0; i + 1 < src.length; i += 2) {
    if (src[i] > next) {
      out.push(next);
      out.push(src[i] - 1);
    }
    next = src[i + 1] + 1;
  }
  if (next <= MAX_RUNE) {
    out.push(next);
    out.push(MAX_RUNE);
  }
  return out;
}

export function rangesContain(ranges: Array<i32>, cp: i32): bool {
  let lo = 0;
  let hi = ranges.length >> 1;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (cp < ranges[2 * mid]) hi = mid;
    else if (cp > ranges[2 * mid + 1]) lo = mid + 1;
    else return true;
  }
  return false;
}

function isAsciiAlnum(c: i32): bool {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);
}

/** RE2's ASCII word characters [0-9A-Za-z_], used by \w and \b. */
export function isWordChar(c: i32): bool {
  return isAsciiAlnum(c) || c == 0x5f;
}

export function isAsciiAlnumChar(c: i32): bool {
  return isAsciiAlnum(c);
}

/** Ranges of the Perl class \d, \s or \w (ASCII only, as in RE2); null for other letters. */
export function perlClassRanges(letter: i32): Array<i32> | null {
  switch (letter) {
    case 0x64: // d
      return [0x30, 0x39];
    case 0x73: // s: [\t\n\f\r ] (no \v, as in RE2)
      return [0x09, 0x0a, 0x0c, 0x0d, 0x20, 0x20];
    case 0x77: // w
      return [0x30, 0x39, 0x41, 0x5a, 0x5f, 0x5f, 0x61, 0x7a];
  }
  return null;
}

/** Ranges of a POSIX class name as in [[:alpha:]]; null when unknown. */
export function posixClassRanges(name: string): Array<i32> | null {
  if (name == "alnum") return [0x30, 0x39, 0x41, 0x5a, 0x61, 0x7a];
  if (name == "alpha") return [0x41, 0x5a, 0x61, 0x7a];
  if (name == "ascii") return [0x00, 0x7f];
  if (name == "blank") return [0x09, 0x09, 0x20, 0x20];
  if (name == "cntrl") return [0x00, 0x1f, 0x7f, 0x7f];
  if (name == "digit") return [0x30, 0x39];
  if (name == "graph") return [0x21, 0x7e];
  if (name == "lower") return [0x61, 0x7a];
  if (name == "print") return [0x20, 0x7e];
  if (name == "punct") return [0x21, 0x2f, 0x3a, 0x40, 0x5b, 0x60, 0x7b, 0x7e];
  if (name == "space") return [0x09, 0x0d, 0x20, 0x20];
  if (name == "upper") return [0x41, 0x5a];
  if (name == "word") return [0x30, 0x39, 0x41, 0x5a, 0x5f, 0x5f, 0x61, 0x7a];
  if (name == "xdigit") return [0x30, 0x39, 0x41, 0x46, 0x61, 0x66];
  return null;
}

/** Cap on the distinct class ranges one pattern set may hold (2 MB of range data). */
export const MAX_CLASS_RANGES: i32 = 250000;

/**
 * Shares equal class range lists across a pattern set, so repeated classes (\p{L} many times,
 * or one copied by a counted repeat) are stored and compiled once, and counts the distinct
 * ranges against MAX_CLASS_RANGES.
 */
export class ClassInterner {
  private byKey: Map<string, Array<i32>> = new Map<string, Array<i32>>();
  /** Finished classes by their spelling (plus the fold flag), to skip recomputing \p{L} etc. */
  private bySource: Map<string, Array<i32>> = new Map<string, Array<i32>>();
  totalRanges: i32 = 0;

  lookupSource(key: string): Array<i32> | null {
    return this.bySource.has(key) ? this.bySource.get(key) : null;
  }

  rememberSource(key: string, ranges: Array<i32>): void {
    this.bySource.set(key, ranges);
  }

  /** The shared copy of a normalized list; null when it would exceed MAX_CLASS_RANGES. */
  intern(ranges: Array<i32>): Array<i32> | null {
    const units = new Array<i32>(ranges.length * 2);
    for (let i = 0; i < ranges.length; i++) {
      units[2 * i] = ranges[i] & 0xffff;
      units[2 * i + 1] = ranges[i] >>> 16;
    }
    const key = String.fromCharCodes(units);
    if (this.byKey.has(key)) return this.byKey.get(key);
    const pairs = ranges.length >> 1;
    if (this.totalRanges + pairs > MAX_CLASS_RANGES) return null;
    this.totalRanges += pairs;
    this.byKey.set(key, ranges);
    return ranges;
  }
}
