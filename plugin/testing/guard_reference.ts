// A reference reading of the intelligent guard's answers, for plugin/guard/guard_fuzz.test.ts:
// written from the filter's documented reading rules (docs/filter-config.md, "The intelligent
// guard"; plugin/guard/verdict.ts and guard_client.ts), independently of the filter's code, over a
// strict RFC 8259 reading of the bytes. It says which verdicts an answer may be read as, a set of
// allow / deny / error:
//   * a transport failure, a :status other than exactly "200", an empty body or one over 1 MiB:
//     error (no verdict);
//   * otherwise the body as verdict.ts reads it: moderation results (openai_moderation, or auto
//     with a "results" member), else choices[0].message.content (or choices[0].text) read as the
//     asm-labs JSON verdict, Qwen3Guard's "Safety:" lines, or Llama Guard's first line, in that
//     order under auto.
// Where the bytes leave room, the set holds every reading:
//   * duplicate member names: the filter's parser keeps them all and reads the first
//     (getAll()[0]); JSON.parse and most JSON readers keep the last. Both readings are in the set,
//     so an answer one common reader sees as deny is never "clearly allow";
//   * a document within a level or 1% of the parser's limits (depth 32, 100,000 values);
//   * a lone surrogate in a verdict object (the filter re-encodes it as WTF-8, which its parser
//     refuses; a TextEncoder would write U+FFFD).
import { isUtf8 } from 'node:buffer';

export type Reading = 'allow' | 'deny' | 'error';
export type VerdictFormatName = 'auto' | 'json' | 'llama_guard' | 'qwen_guard' | 'openai_moderation';

export interface ReadingRules {
  format: VerdictFormatName;
  /** controversial: deny (the default). */
  controversialDenies: boolean;
}

/** guard_client.ts MAX_GUARD_ANSWER_BYTES: a larger answer is no verdict, whatever it says. */
export const MAX_ANSWER_BYTES = 1 << 20;

/** What the filter may read from an answer delivered with `status` (the first :status) and `body`. */
export function readingsOfAnswer(status: string | undefined, body: Uint8Array, rules: ReadingRules): Set<Reading> {
  if (body.length > MAX_ANSWER_BYTES || status !== '200' || body.length === 0) return new Set(['error']);
  return readingsOfBody(body, rules);
}

// ---------------------------------------------------------------- readings and their variants

/** How a reading resolves what the bytes leave open. */
interface Variant {
  /** keep: every member, the first one read (the filter's parser); last: JSON.parse's object. */
  duplicates: 'keep' | 'last';
  limits: 'low' | 'high';
  surrogates: 'fail' | 'replace';
}

/** What a reading met that another variant could read differently. */
interface Seen {
  duplicates: boolean;
  nearLimits: boolean;
  loneSurrogates: boolean;
  /** Documents already parsed (the body's bytes, a candidate's text), by how duplicates are kept: variants re-read them. */
  parsed: Record<Variant['duplicates'], Map<Uint8Array | string, Parsed>>;
}

interface Parsed {
  value: JValue | undefined;
  maxDepth: number;
  nodes: number;
  duplicates: boolean;
}

const LIMITS = { low: { depth: 31, nodes: 99_000 }, high: { depth: 33, nodes: 101_000 } };

export function readingsOfBody(body: Uint8Array, rules: ReadingRules): Set<Reading> {
  // Well-formed UTF-8 or no verdict (a BOM stays: JSON text may not start with one). The parser
  // reads the bytes themselves (a plain Uint8Array: a Buffer is another kind of object to V8).
  if (!isUtf8(body)) return new Set(['error']);
  const bytes = new Uint8Array(body.buffer, body.byteOffset, body.byteLength);
  const out = new Set<Reading>();
  const seen: Seen = { duplicates: false, nearLimits: false, loneSurrogates: false, parsed: { keep: new Map(), last: new Map() } };
  const done = new Set<string>();
  // Read with every combination of the choices the answer made matter, until no new one appears.
  for (let round = 0; round < 4; round++) {
    let fresh = false;
    for (const v of variants(seen)) {
      const id = `${v.duplicates}/${v.limits}/${v.surrogates}`;
      if (done.has(id)) continue;
      done.add(id);
      fresh = true;
      out.add(readBody(bytes, rules, v, seen));
    }
    if (!fresh) break;
  }
  return out;
}

function variants(seen: Seen): Variant[] {
  const out: Variant[] = [];
  for (const duplicates of seen.duplicates ? (['keep', 'last'] as const) : (['keep'] as const)) {
    for (const limits of seen.nearLimits ? (['low', 'high'] as const) : (['low'] as const)) {
      for (const surrogates of seen.loneSurrogates ? (['fail', 'replace'] as const) : (['fail'] as const)) {
        out.push({ duplicates, limits, surrogates });
      }
    }
  }
  return out;
}

// ---------------------------------------------------------------- verdict.ts, rule by rule

function readBody(body: Uint8Array, rules: ReadingRules, v: Variant, seen: Seen): Reading {
  const doc = parseWithLimits(body, v, seen);
  if (!(doc instanceof JObject)) return 'error';
  if (rules.format === 'openai_moderation' || (rules.format === 'auto' && all(doc, 'results').length > 0)) return readModeration(doc);
  const choices = all(doc, 'choices');
  const list = choices[0];
  if (!Array.isArray(list) || list.length === 0) return 'error';
  const first = list[0];
  let content = '';
  const message = all(first, 'message');
  if (message.length > 0) {
    const c = all(message[0], 'content');
    if (typeof c[0] === 'string') content = c[0];
  }
  if (content.length === 0) {
    const t = all(first, 'text');
    if (typeof t[0] === 'string') content = t[0];
  }
  if (content.trim().length === 0) return 'error';
  return readVerdictText(content, rules, v, seen);
}

function readVerdictText(content: string, rules: ReadingRules, v: Variant, seen: Seen): Reading {
  const f = rules.format;
  if (f === 'json' || f === 'auto') {
    const r = readJsonVerdict(content, v, seen);
    if (r !== null || f === 'json') return r ?? 'error';
  }
  if (f === 'qwen_guard' || f === 'auto') {
    const r = readQwenVerdict(content, rules.controversialDenies);
    if (r !== null || f === 'qwen_guard') return r ?? 'error';
  }
  if (f === 'llama_guard' || f === 'auto') {
    const r = readLlamaGuardVerdict(content);
    if (r !== null) return r;
  }
  return 'error';
}

/** Objects with a result/verdict/decision member anywhere in the text; disagreeing ones read as deny. */
function readJsonVerdict(content: string, v: Variant, seen: Seen): Reading | null {
  let found: Reading | null = null;
  let from = 0;
  for (let attempts = 0; attempts < 16; attempts++) {
    const open = content.indexOf('{', from);
    if (open < 0) break;
    const close = matchingBrace(content, open);
    if (close < 0) break;
    const obj = parseCandidate(content.substring(open, close + 1), v, seen);
    const r = obj === undefined ? null : verdictFromObject(obj);
    if (r === null) {
      from = open + 1;
      continue;
    }
    if (r === 'error') return 'error';
    if (found === null) found = r;
    else if (found !== r) return 'deny';
    from = close + 1;
  }
  return found;
}

function matchingBrace(s: string, open: number): number {
  let depth = 0;
  let inString = false;
  for (let i = open; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++;
      else if (c === 0x22) inString = false;
      continue;
    }
    if (c === 0x22) inString = true;
    else if (c === 0x7b) depth++;
    else if (c === 0x7d && --depth === 0) return i;
  }
  return -1;
}

const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

function parseCandidate(candidate: string, v: Variant, seen: Seen): JValue | undefined {
  if (LONE_SURROGATE.test(candidate)) {
    LONE_SURROGATE.lastIndex = 0;
    seen.loneSurrogates = true;
    if (v.surrogates === 'fail') return undefined;
    candidate = candidate.replace(LONE_SURROGATE, '\ufffd');
  }
  return parseWithLimits(candidate, v, seen);
}

const ALLOWS = ['allow', 'safe', 'allowed'];
const DENIES = ['deny', 'unsafe', 'denied', 'block'];

function verdictFromObject(obj: JValue): Reading | null {
  if (!(obj instanceof JObject)) return null;
  let result = '';
  for (const [k, value] of obj.members) {
    const key = k.toLowerCase();
    if (typeof value !== 'string' || (key !== 'result' && key !== 'verdict' && key !== 'decision')) continue;
    const r = value.trim().toLowerCase();
    if (result.length > 0 && result !== r) return 'error';
    result = r;
  }
  if (ALLOWS.includes(result)) return 'allow';
  if (DENIES.includes(result)) return 'deny';
  return result.length > 0 ? 'error' : null;
}

function readQwenVerdict(content: string, controversialDenies: boolean): Reading | null {
  const lines = content.split('\n');
  let safety = '';
  for (let i = 0; i < lines.length && i < 64; i++) {
    const lower = lines[i]!.trim().toLowerCase();
    if (lower.startsWith('safety:') && safety !== 'unsafe') safety = lower.substring(7).trim();
  }
  if (safety.length === 0) return null;
  if (safety === 'safe') return 'allow';
  if (safety === 'unsafe') return 'deny';
  if (safety === 'controversial') return controversialDenies ? 'deny' : 'allow';
  return 'error';
}

function readLlamaGuardVerdict(content: string): Reading | null {
  const first = content.trim().split('\n')[0]!.trim().toLowerCase();
  if (first === 'safe') return 'allow';
  if (first === 'unsafe') return 'deny';
  return null;
}

function readModeration(doc: JObject): Reading {
  const list = all(doc, 'results')[0];
  if (!Array.isArray(list) || list.length === 0) return 'error';
  let flagged = false;
  for (const r of list) {
    const f = all(r, 'flagged');
    if (typeof f[0] !== 'boolean') return 'error';
    if (f.some((x) => x === true)) flagged = true;
  }
  return flagged ? 'deny' : 'allow';
}

// ---------------------------------------------------------------- strict JSON over the bytes, duplicates kept

export type JValue = null | boolean | number | string | JValue[] | JObject;

export class JObject {
  constructor(readonly members: [string, JValue][]) {}
}

/**
 * What the parser keeps. A reading looks up members by these names (LOOKED_UP), looks into the
 * array or object of the KEPT_WHOLE ones, and reads the strings of the LOOKED_UP ones and of a
 * verdict's result / verdict / decision in any case (VERDICT_NAMES). Everything else is read all
 * the same (its syntax, escapes, depth and values count) but kept as a stand-in of its kind: an
 * empty array, object or string. So a 100,000-value array or a 1 MiB string beside the verdict
 * costs no array and no string. The document itself (a body or a verdict candidate) and a kept
 * array's items are kept whole; numbers, booleans and null always are.
 */
const LOOKED_UP = new Set(['results', 'choices', 'message', 'content', 'text', 'flagged']);
const KEPT_WHOLE = new Set(['results', 'choices', 'message']);
const VERDICT_NAMES = new Set(['result', 'verdict', 'decision']);

/** Every value of the members named `key` (none when `v` is not an object). */
function all(v: JValue | undefined, key: string): JValue[] {
  if (!LOOKED_UP.has(key)) throw new Error(`guard_reference: ${key} is not in LOOKED_UP (the parser may not keep its value)`);
  return v instanceof JObject ? v.members.filter(([k]) => k === key).map(([, x]) => x) : [];
}

const utf8 = new TextEncoder();

/** A document (a body's bytes, or a verdict candidate's text) read within the variant's limits; undefined when it is none. */
function parseWithLimits(source: Uint8Array | string, v: Variant, seen: Seen): JValue | undefined {
  const cache = seen.parsed[v.duplicates];
  let p = cache.get(source);
  if (!p) {
    // A candidate has no lone surrogate left (parseCandidate): its UTF-8 is the same text.
    const parser = new StrictJson(typeof source === 'string' ? utf8.encode(source) : source, v.duplicates === 'last');
    const value = parser.document();
    p = { value, maxDepth: parser.maxDepth, nodes: parser.nodes, duplicates: parser.duplicates };
    cache.set(source, p);
  }
  const value = p.value;
  if (p.duplicates) seen.duplicates = true;
  const { low, high } = LIMITS;
  if ((p.maxDepth > low.depth && p.maxDepth <= high.depth) || (p.nodes > low.nodes && p.nodes <= high.nodes)) seen.nearLimits = true;
  const limit = LIMITS[v.limits];
  if (value === undefined || p.maxDepth > limit.depth || p.nodes > limit.nodes) return undefined;
  return value;
}

class SyntaxFailure extends Error {}

/**
 * Where the parser stops: a document deeper or with more values than this is refused under every
 * variant (LIMITS.high), so reading on could change none of its readings. What it met before
 * stopping (a depth or count near a limit, duplicates) may differ from a whole reading's, which only
 * adds or leaves out variants; and a variant changes a reading only through a document it flagged
 * itself, never this refused one.
 */
const GIVE_UP = LIMITS.high;
/** Objects with more members than this find a repeated name through a Map, smaller ones by a scan. */
const SCAN_MEMBERS = 8;

/** How much of a value the parser keeps: nothing (a stand-in), its strings (a container is a stand-in), all of it. */
type Keep = 0 | 1 | 2;
const NOTHING = 0;
const STRINGS = 1;
const ALL = 2;

const isDigit = (c: number) => c >= 0x30 && c <= 0x39;
const WORDS = { true: utf8.encode('true'), false: utf8.encode('false'), null: utf8.encode('null') };
/** The character each one-character escape stands for, by its byte. */
const ESCAPES: (string | undefined)[] = [];
for (const [k, v] of Object.entries({ '"': '"', '\\': '\\', '/': '/', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' })) ESCAPES[k.charCodeAt(0)] = v;

/**
 * RFC 8259 over UTF-8 bytes known to be well formed, nothing more: no BOM, no trailing data, no
 * comments; gives up past GIVE_UP. Every value is read and counted, but only what a reading looks
 * at is kept (LOOKED_UP), and duplicate names are noted only where they are kept. It reads every
 * answer (documents of 100,000 values and strings of 1 MiB among them) once for each way of
 * keeping duplicates, and is most of the reference's time: it reads bytes (one kind of array, as
 * strings are not) with no allocation beyond what it keeps.
 */
class StrictJson {
  private pos = 0;
  private depth = 0;
  private readonly n: number;
  /** The same bytes, to decode strings with; made at the first string that is not short ASCII. */
  private buffer: Buffer | undefined;
  maxDepth = 0;
  nodes = 0;
  duplicates = false;

  constructor(
    private readonly b: Uint8Array,
    private readonly lastWins: boolean,
  ) {
    this.n = b.length;
  }

  document(): JValue | undefined {
    try {
      const v = this.value(ALL);
      this.ws();
      if (this.pos !== this.n) throw new SyntaxFailure('trailing data');
      return v;
    } catch (e) {
      if (e instanceof SyntaxFailure) return undefined;
      throw e;
    }
  }

  /** The byte at `i`, -1 past the end. */
  private at(i: number): number {
    return i < this.n ? this.b[i]! : -1;
  }

  private ws(): void {
    let i = this.pos;
    for (;;) {
      const c = this.at(i);
      if (c !== 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) break;
      i++;
    }
    this.pos = i;
  }

  private value(keep: Keep): JValue {
    this.ws();
    if (++this.nodes > GIVE_UP.nodes) throw new SyntaxFailure('too many values');
    switch (this.at(this.pos)) {
      case 0x7b: // {
        return this.object(keep === ALL);
      case 0x5b: // [
        return this.array(keep === ALL);
      case 0x22: // "
        return this.string(keep !== NOTHING);
      case 0x74: // t
        return this.word(WORDS.true, true);
      case 0x66: // f
        return this.word(WORDS.false, false);
      case 0x6e: // n
        return this.word(WORDS.null, null);
      default:
        return this.number();
    }
  }

  private word<T extends JValue>(word: Uint8Array, v: T): T {
    for (let k = 0; k < word.length; k++) if (this.at(this.pos + k) !== word[k]) throw new SyntaxFailure('value expected');
    this.pos += word.length;
    return v;
  }

  /** -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?: a fraction or exponent without digits is not part of it. */
  private number(): number {
    const start = this.pos;
    let i = start;
    const negative = this.at(i) === 0x2d;
    if (negative) i++;
    const first = this.at(i);
    if (first === 0x30) i++;
    else if (first >= 0x31 && first <= 0x39) {
      i++;
      while (isDigit(this.at(i))) i++;
    } else throw new SyntaxFailure('value expected');
    const integerEnd = i;
    if (this.at(i) === 0x2e && isDigit(this.at(i + 1))) {
      i += 2;
      while (isDigit(this.at(i))) i++;
    }
    const e = this.at(i);
    if (e === 0x65 || e === 0x45) {
      let j = i + 1;
      const sign = this.at(j);
      if (sign === 0x2b || sign === 0x2d) j++;
      if (isDigit(this.at(j))) {
        i = j + 1;
        while (isDigit(this.at(i))) i++;
      }
    }
    this.pos = i;
    // An integer of up to 15 digits is exact in a double: summed here; anything else by Number.
    if (i === integerEnd && i - start <= 15) {
      let x = 0;
      for (let k = negative ? start + 1 : start; k < i; k++) x = x * 10 + (this.b[k]! - 0x30);
      return negative ? -x : x;
    }
    return Number(this.text(start, i));
  }

  private enter(): void {
    this.pos++;
    if (++this.depth > this.maxDepth) this.maxDepth = this.depth;
    if (this.depth > GIVE_UP.depth) throw new SyntaxFailure('too deep');
  }

  /** An object; when not `keep`, read through and an empty one in its place. */
  private object(keep: boolean): JObject {
    this.enter();
    const members: [string, JValue][] = [];
    /** First index of each name, once the object is past SCAN_MEMBERS. */
    let names: Map<string, number> | undefined;
    this.ws();
    if (this.at(this.pos) === 0x7d) {
      this.pos++;
      this.depth--;
      return new JObject(members);
    }
    for (;;) {
      this.ws();
      if (this.at(this.pos) !== 0x22) throw new SyntaxFailure('name expected');
      const name = this.string(keep);
      this.ws();
      if (this.at(this.pos++) !== 0x3a) throw new SyntaxFailure(': expected');
      if (!keep) this.value(NOTHING); // nothing of it is read: neither its members nor their duplicates matter
      else {
        const v = this.value(KEPT_WHOLE.has(name) ? ALL : LOOKED_UP.has(name) || VERDICT_NAMES.has(name.toLowerCase()) ? STRINGS : NOTHING);
        let at = -1;
        if (names) at = names.get(name) ?? -1;
        else for (let k = 0; k < members.length && at < 0; k++) if (members[k]![0] === name) at = k;
        if (at >= 0) this.duplicates = true;
        if (at >= 0 && this.lastWins) members[at]![1] = v; // JSON.parse: the first's place, the last's value
        else {
          if (names) {
            if (at < 0) names.set(name, members.length);
          } else if (members.length + 1 > SCAN_MEMBERS) {
            names = new Map();
            for (let k = members.length - 1; k >= 0; k--) names.set(members[k]![0], k); // the first index stays
            if (at < 0) names.set(name, members.length);
          }
          members.push([name, v]);
        }
      }
      this.ws();
      const c = this.at(this.pos++);
      if (c === 0x7d) break;
      if (c !== 0x2c) throw new SyntaxFailure(', or } expected');
    }
    this.depth--;
    return new JObject(members);
  }

  /** An array; when not `keep`, read through and an empty one in its place. */
  private array(keep: boolean): JValue[] {
    this.enter();
    const items: JValue[] = [];
    this.ws();
    if (this.at(this.pos) === 0x5d) {
      this.pos++;
      this.depth--;
      return items;
    }
    for (;;) {
      const v = this.value(keep ? ALL : NOTHING);
      if (keep) items.push(v);
      this.ws();
      const c = this.at(this.pos++);
      if (c === 0x5d) break;
      if (c !== 0x2c) throw new SyntaxFailure(', or ] expected');
    }
    this.depth--;
    return items;
  }

  /** A string; when not `keep`, read through (escapes checked) and '' in its place. */
  private string(keep: boolean): string {
    const b = this.b;
    const n = this.n;
    let out = '';
    let i = this.pos + 1;
    let from = i;
    for (;;) {
      // Bytes a string holds as they are (a multi-byte character's are all 0x80 or more).
      let c = -1;
      while (i < n) {
        c = b[i]!;
        if (c === 0x22 || c === 0x5c || c < 0x20) break;
        i++;
      }
      if (i >= n) throw new SyntaxFailure('unterminated string');
      if (c === 0x22) break;
      if (c < 0x20) throw new SyntaxFailure('control character in string');
      if (keep) out += this.text(from, i);
      const e = this.at(i + 1);
      if (e === 0x75) {
        // \uXXXX: four hex digits, a code unit (a lone surrogate too)
        let code = 0;
        for (let k = i + 2; k < i + 6; k++) {
          const h = this.at(k);
          const d = h >= 0x30 && h <= 0x39 ? h - 0x30 : h >= 0x41 && h <= 0x46 ? h - 0x37 : h >= 0x61 && h <= 0x66 ? h - 0x57 : -1;
          if (d < 0) throw new SyntaxFailure('bad \\u escape');
          code = code * 16 + d;
        }
        if (keep) out += String.fromCharCode(code);
        i += 6;
      } else {
        const plain = e < 0 ? undefined : ESCAPES[e];
        if (plain === undefined) throw new SyntaxFailure('bad escape');
        if (keep) out += plain;
        i += 2;
      }
      from = i;
    }
    if (keep) out += this.text(from, i);
    this.pos = i + 1;
    return out;
  }

  /** Bytes from..to (at character boundaries) as text: short ASCII by hand, the rest by Buffer's decoder. */
  private text(from: number, to: number): string {
    if (to - from <= 16) {
      let s = '';
      let k = from;
      for (; k < to && this.b[k]! < 0x80; k++) s += String.fromCharCode(this.b[k]!);
      if (k === to) return s;
    }
    this.buffer ??= Buffer.from(this.b.buffer, this.b.byteOffset, this.b.byteLength);
    return this.buffer.toString('utf8', from, to);
  }
}
