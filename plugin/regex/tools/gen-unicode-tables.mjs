#!/usr/bin/env node
// Regenerates plugin/regex/unicode_tables.ts from the Unicode data built into Node's own RegExp
// engine (ICU). Run: node plugin/regex/tools/gen-unicode-tables.mjs
import { writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { dirname, join } from "node:path";

const MAX_CP = 0x10ffff;

// Two-letter general categories Go's regexp knows (no Cn: Go has no table for it).
// One-letter names (L, N, ...) are unions computed at run time from these.
const CATEGORIES = [
  "Cc", "Cf", "Co", "Cs",
  "Ll", "Lm", "Lo", "Lt", "Lu",
  "Mc", "Me", "Mn",
  "Nd", "Nl", "No",
  "Pc", "Pd", "Pe", "Pf", "Pi", "Po", "Ps",
  "Sc", "Sk", "Sm", "So",
  "Zl", "Zp", "Zs",
];

const SCRIPTS = [
  "Han", "Latin", "Greek", "Cyrillic", "Arabic", "Hebrew", "Hiragana", "Katakana", "Hangul",
  "Thai", "Devanagari", "Common", "Inherited", "Armenian", "Georgian", "Bengali", "Tamil",
  "Telugu", "Kannada", "Malayalam", "Gujarati", "Gurmukhi", "Oriya", "Sinhala", "Ethiopic",
  "Khmer", "Lao", "Tibetan", "Myanmar", "Mongolian", "Bopomofo", "Syriac", "Thaana",
];

// Packed range entry: lo | (len - 1) << 21, len <= 2048 (code points fit in 21 bits).
const MAX_PACKED_LEN = 2048;

function rangesOf(re) {
  const ranges = [];
  let start = -1;
  for (let cp = 0; cp <= MAX_CP + 1; cp++) {
    const inside = cp <= MAX_CP && re.test(String.fromCodePoint(cp));
    if (inside && start < 0) start = cp;
    if (!inside && start >= 0) {
      ranges.push([start, cp - 1]);
      start = -1;
    }
  }
  return ranges;
}

function pack(ranges) {
  const out = [];
  for (const [lo, hi] of ranges) {
    for (let s = lo; s <= hi; s += MAX_PACKED_LEN) {
      const e = Math.min(hi, s + MAX_PACKED_LEN - 1);
      out.push((s | ((e - s) << 21)) >>> 0);
    }
  }
  return out;
}

function unpack(packed) {
  const out = [];
  for (const v of packed) {
    const lo = v & 0x1fffff;
    const hi = lo + (v >>> 21);
    if (out.length && out[out.length - 1][1] + 1 === lo) out[out.length - 1][1] = hi;
    else out.push([lo, hi]);
  }
  return out;
}

// ---- general categories and scripts
const names = [];
const offsets = [];
const packedAll = [];
for (const [list, prop] of [[CATEGORIES, (n) => `\\p{General_Category=${n}}`], [SCRIPTS, (n) => `\\p{Script=${n}}`]]) {
  for (const name of list) {
    const ranges = rangesOf(new RegExp(prop(name), "u"));
    const packed = pack(ranges);
    if (JSON.stringify(unpack(packed)) !== JSON.stringify(ranges)) throw new Error(`pack round trip failed for ${name}`);
    names.push(name);
    offsets.push(packedAll.length);
    packedAll.push(...packed);
  }
}
offsets.push(packedAll.length);

// ---- simple case folding orbits
// Two code points are case-equivalent when Node's /iu (Unicode simple case folding, like Go's
// unicode.SimpleFold) says so. Candidates come from single-code-point toLowerCase/toUpperCase.
const parent = new Map();
function find(x) {
  while (parent.has(x) && parent.get(x) !== x) x = parent.get(x);
  return x;
}
function union(a, b) {
  const ra = find(a), rb = find(b);
  if (!parent.has(ra)) parent.set(ra, ra);
  if (!parent.has(rb)) parent.set(rb, rb);
  if (ra !== rb) parent.set(Math.max(ra, rb), Math.min(ra, rb));
}
function single(s) {
  const cps = [...s];
  return cps.length === 1 ? cps[0].codePointAt(0) : -1;
}
function foldEqual(a, b) {
  const re = new RegExp(`^\\u{${a.toString(16)}}$`, "iu");
  return re.test(String.fromCodePoint(b));
}
for (let cp = 0; cp <= MAX_CP; cp++) {
  if (cp >= 0xd800 && cp <= 0xdfff) continue;
  const s = String.fromCodePoint(cp);
  const lower = single(s.toLowerCase());
  const upper = single(s.toUpperCase());
  const cands = new Set([lower, upper]);
  if (lower >= 0) cands.add(single(String.fromCodePoint(lower).toUpperCase()));
  if (upper >= 0) cands.add(single(String.fromCodePoint(upper).toLowerCase()));
  for (const c of cands) {
    if (c >= 0 && c !== cp && foldEqual(cp, c)) union(cp, c);
  }
}
const orbits = new Map();
for (const cp of parent.keys()) {
  const root = find(cp);
  if (!orbits.has(root)) orbits.set(root, []);
  orbits.get(root).push(cp);
}
const next = new Map();
for (const members of orbits.values()) {
  members.sort((a, b) => a - b);
  for (let i = 0; i < members.length; i++) {
    for (let j = 0; j < members.length; j++) {
      if (!foldEqual(members[i], members[j])) throw new Error(`orbit not closed: ${members}`);
    }
    next.set(members[i], members[(i + 1) % members.length]);
  }
}
// Runs over consecutive code points: delta = next - cp is constant, or (ALTERNATE) the run is
// pairs where even offsets map to cp + 1 and odd offsets to cp - 1.
const ALTERNATE = 0x40000000;
const cps = [...next.keys()].sort((a, b) => a - b);
const runs = [];
for (let i = 0; i < cps.length;) {
  const lo = cps[i];
  const d = next.get(lo) - lo;
  let j = i;
  while (j + 1 < cps.length && cps[j + 1] === cps[j] + 1 && next.get(cps[j + 1]) - cps[j + 1] === d) j++;
  let k = i;
  while (
    k + 1 < cps.length && cps[k + 1] === cps[k] + 1 &&
    next.get(cps[k + 1]) - cps[k + 1] === ((k + 1 - i) % 2 === 0 ? 1 : -1) &&
    next.get(cps[i]) - cps[i] === 1
  ) k++;
  if (k > j && (k - i + 1) % 2 === 0) {
    runs.push(lo, cps[k], ALTERNATE);
    i = k + 1;
  } else {
    runs.push(lo, cps[j], d);
    i = j + 1;
  }
}
function foldNext(cp) {
  for (let r = 0; r < runs.length; r += 3) {
    if (cp >= runs[r] && cp <= runs[r + 1]) {
      if (runs[r + 2] === ALTERNATE) return (cp - runs[r]) % 2 === 0 ? cp + 1 : cp - 1;
      return cp + runs[r + 2];
    }
  }
  return cp;
}
for (let cp = 0; cp <= MAX_CP; cp++) {
  if (foldNext(cp) !== (next.has(cp) ? next.get(cp) : cp)) throw new Error(`fold run encoding wrong at ${cp}`);
}

// ---- output
function numbers(list, perLine, hex) {
  const lines = [];
  for (let i = 0; i < list.length; i += perLine) {
    lines.push("  " + list.slice(i, i + perLine).map((n) => (hex ? (n < 0 ? "-0x" + (-n).toString(16) : "0x" + n.toString(16)) : String(n))).join(", ") + ",");
  }
  return lines.join("\n");
}
const out = `// GENERATED by plugin/regex/tools/gen-unicode-tables.mjs from Node ${process.version}
// (Unicode ${process.versions.unicode}). Do not edit by hand; rerun the script instead.

export const UNICODE_VERSION = "${process.versions.unicode}";

/** Number of leading CLASS_NAMES that are two-letter general categories. */
export const CATEGORY_COUNT: i32 = ${CATEGORIES.length};

export const CLASS_NAMES: StaticArray<string> = [
${names.map((n) => `  "${n}",`).join("\n")}
];

/** CLASS_RANGES[CLASS_OFFSETS[i] .. CLASS_OFFSETS[i + 1]) are the ranges of CLASS_NAMES[i]. */
export const CLASS_OFFSETS: StaticArray<i32> = [
${numbers(offsets, 12, false)}
];

/** Sorted ranges, each packed as lo | (hi - lo) << 21 with hi - lo < 2048. */
export const CLASS_RANGES: StaticArray<u32> = [
${numbers(packedAll, 8, true)}
];

/** Marks a FOLD_RUNS run whose even offsets fold to cp + 1 and odd offsets to cp - 1. */
export const FOLD_ALTERNATE: i32 = 0x${ALTERNATE.toString(16)};

/**
 * Simple case folding orbits as runs (lo, hi, delta): for lo <= cp <= hi the next member of cp's
 * orbit (in increasing order, wrapping around) is cp + delta. Code points in no run fold to
 * themselves.
 */
export const FOLD_RUNS: StaticArray<i32> = [
${numbers(runs, 9, true)}
];
`;
const target = join(dirname(fileURLToPath(import.meta.url)), "..", "unicode_tables.ts");
writeFileSync(target, out);
console.log(`wrote ${target}: ${names.length} classes, ${packedAll.length} ranges, ${runs.length / 3} fold runs, ${next.size} folding code points`);
