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
  /** Documents already parsed, by how duplicates are kept and the text: variants re-read them. */
  parsed: Map<string, Parsed>;
}

interface Parsed {
  value: JValue | undefined;
  maxDepth: number;
  nodes: number;
  duplicates: boolean;
}

const LIMITS = { low: { depth: 31, nodes: 99_000 }, high: { depth: 33, nodes: 101_000 } };

export function readingsOfBody(body: Uint8Array, rules: ReadingRules): Set<Reading> {
  const text = decodeStrict(body);
  if (text === undefined) return new Set(['error']);
  const out = new Set<Reading>();
  const seen: Seen = { duplicates: false, nearLimits: false, loneSurrogates: false, parsed: new Map() };
  const done = new Set<string>();
  // Read with every combination of the choices the answer made matter, until no new one appears.
  for (let round = 0; round < 4; round++) {
    let fresh = false;
    for (const v of variants(seen)) {
      const id = `${v.duplicates}/${v.limits}/${v.surrogates}`;
      if (done.has(id)) continue;
      done.add(id);
      fresh = true;
      out.add(readBody(text, rules, v, seen));
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

const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** The bytes as text when they are well-formed UTF-8 (a BOM stays: JSON text may not start with one). */
function decodeStrict(b: Uint8Array): string | undefined {
  try {
    return strictUtf8.decode(b);
  } catch {
    return undefined;
  }
}

// ---------------------------------------------------------------- verdict.ts, rule by rule

function readBody(text: string, rules: ReadingRules, v: Variant, seen: Seen): Reading {
  const doc = parseWithLimits(text, v, seen);
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

// ---------------------------------------------------------------- strict JSON, duplicates kept

export type JValue = null | boolean | number | string | JValue[] | JObject;

export class JObject {
  constructor(readonly members: [string, JValue][]) {}
}

/** Every value of the members named `key` (none when `v` is not an object). */
function all(v: JValue | undefined, key: string): JValue[] {
  return v instanceof JObject ? v.members.filter(([k]) => k === key).map(([, x]) => x) : [];
}

function parseWithLimits(text: string, v: Variant, seen: Seen): JValue | undefined {
  const id = `${v.duplicates}:${text}`;
  let p = seen.parsed.get(id);
  if (!p) {
    const parser = new StrictJson(text, v.duplicates === 'last');
    const value = parser.document();
    p = { value, maxDepth: parser.maxDepth, nodes: parser.nodes, duplicates: parser.duplicates };
    seen.parsed.set(id, p);
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

/** RFC 8259, nothing more: no BOM, no trailing data, no comments; gives up past depth 64. */
class StrictJson {
  private pos = 0;
  private depth = 0;
  maxDepth = 0;
  nodes = 0;
  duplicates = false;

  constructor(
    private readonly s: string,
    private readonly lastWins: boolean,
  ) {}

  document(): JValue | undefined {
    try {
      const v = this.value();
      this.ws();
      if (this.pos !== this.s.length) throw new SyntaxFailure('trailing data');
      return v;
    } catch (e) {
      if (e instanceof SyntaxFailure) return undefined;
      throw e;
    }
  }

  private ws(): void {
    while (this.pos < this.s.length) {
      const c = this.s.charCodeAt(this.pos);
      if (c !== 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) return;
      this.pos++;
    }
  }

  private value(): JValue {
    this.ws();
    this.nodes++;
    const c = this.s[this.pos];
    if (c === '{') return this.object();
    if (c === '[') return this.array();
    if (c === '"') return this.string();
    for (const [word, v] of [['true', true], ['false', false], ['null', null]] as const) {
      if (this.s.startsWith(word, this.pos)) {
        this.pos += word.length;
        return v;
      }
    }
    NUMBER.lastIndex = this.pos;
    const m = NUMBER.exec(this.s);
    if (!m) throw new SyntaxFailure('value expected');
    this.pos += m[0].length;
    return Number(m[0]);
  }

  private enter(): void {
    this.pos++;
    this.depth++;
    this.maxDepth = Math.max(this.maxDepth, this.depth);
    if (this.depth > 64) throw new SyntaxFailure('too deep');
  }

  private object(): JObject {
    this.enter();
    const members: [string, JValue][] = [];
    const names = new Map<string, number>();
    this.ws();
    if (this.s[this.pos] === '}') {
      this.pos++;
      this.depth--;
      return new JObject(members);
    }
    for (;;) {
      this.ws();
      if (this.s[this.pos] !== '"') throw new SyntaxFailure('name expected');
      const name = this.string();
      this.ws();
      if (this.s[this.pos++] !== ':') throw new SyntaxFailure(': expected');
      const v = this.value();
      const at = names.get(name);
      if (at !== undefined) this.duplicates = true;
      if (at !== undefined && this.lastWins) members[at]![1] = v; // JSON.parse: the first's place, the last's value
      else {
        names.set(name, members.length);
        members.push([name, v]);
      }
      this.ws();
      const c = this.s[this.pos++];
      if (c === '}') break;
      if (c !== ',') throw new SyntaxFailure(', or } expected');
    }
    this.depth--;
    return new JObject(members);
  }

  private array(): JValue[] {
    this.enter();
    const items: JValue[] = [];
    this.ws();
    if (this.s[this.pos] === ']') {
      this.pos++;
      this.depth--;
      return items;
    }
    for (;;) {
      items.push(this.value());
      this.ws();
      const c = this.s[this.pos++];
      if (c === ']') break;
      if (c !== ',') throw new SyntaxFailure(', or ] expected');
    }
    this.depth--;
    return items;
  }

  private string(): string {
    let out = '';
    let i = this.pos + 1;
    let from = i;
    for (;;) {
      if (i >= this.s.length) throw new SyntaxFailure('unterminated string');
      PLAIN_RUN.lastIndex = i;
      i += PLAIN_RUN.exec(this.s)![0].length;
      if (i >= this.s.length) throw new SyntaxFailure('unterminated string');
      const c = this.s.charCodeAt(i);
      if (c === 0x22) break;
      if (c < 0x20) throw new SyntaxFailure('control character in string');
      out += this.s.slice(from, i);
      const e = this.s[i + 1];
      if (e === 'u') {
        const hex = this.s.slice(i + 2, i + 6);
        if (!/^[0-9a-fA-F]{4}$/.test(hex)) throw new SyntaxFailure('bad \\u escape');
        out += String.fromCharCode(parseInt(hex, 16));
        i += 6;
      } else {
        const plain = e === undefined ? undefined : ESCAPES[e];
        if (plain === undefined) throw new SyntaxFailure('bad escape');
        out += plain;
        i += 2;
      }
      from = i;
    }
    out += this.s.slice(from, i);
    this.pos = i + 1;
    return out;
  }
}

/** Characters a string holds as they are. */
const PLAIN_RUN = /[^"\\\u0000-\u001f]*/y;
const NUMBER = /-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/y;
const ESCAPES: Record<string, string> = { '"': '"', '\\': '\\', '/': '/', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' };
