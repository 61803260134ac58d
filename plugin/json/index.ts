// Bounded, strict RFC 8259 JSON parser for untrusted request bodies.
//
// Design rules (this code runs inside an Envoy sidecar; a trap kills the Wasm
// VM for every later request):
//   * no exceptions and nothing else that can trap: every input byte is read
//     after an explicit bounds check (`p < len`, or `p + 8 <= len` for the
//     8-byte string scan); arrays are only indexed below their length;
//   * no recursion: containers are parsed with an explicit stack whose depth is
//     checked against `JsonLimits.maxDepth` BEFORE a container is opened;
//   * the total number of values is bounded by `JsonLimits.maxNodes`;
//   * one pass over the input; strings are built directly in their final
//     allocation (pure ASCII) or in a reusable UTF-16 scratch buffer and copied
//     once, never by concatenation; short ASCII strings are interned.
//
// Errors are values: `parseJson` returns a `JsonParseResult` whose `error` is
// "" on success, or a short message plus the byte `offset` of the problem.

export const enum JsonKind {
  Null,
  Bool,
  Number,
  String,
  Array,
  Object,
}

/**
 * A parsed JSON value. Read-only: values produced by `parseJson` may be shared
 * (null/true/false, empty containers and short strings are interned).
 *
 * Objects keep ALL their members in source order, duplicate keys included;
 * read them with memberCount() / key(i) / value(i) / getAll(key).
 * Arrays: `items` (or length / item(i)).
 */
export class JsonValue {
  readonly kind: JsonKind;
  /** Bool: the value. */
  readonly boolValue: bool;
  /** String: the decoded text (UTF-16). Otherwise "" (numbers: see numberText()). */
  readonly text: string;
  /**
   * Array: the items. Object: 2 slots per member, in source order: slot 2i is
   * a String value holding the (decoded) name of member i, slot 2i+1 its value.
   * Otherwise null.
   */
  readonly children: StaticArray<JsonValue> | null;
  // Number: where the raw text sits in the parsed input. It only becomes a
  // string when asked for (numbers are rarely read; a string per number would
  // double the allocations of numeric bodies).
  private src: Uint8Array | null = null;
  private srcStart: i32 = 0;
  private srcEnd: i32 = 0;
  private raw: string = "";

  constructor(kind: JsonKind, boolValue: bool, text: string, children: StaticArray<JsonValue> | null) {
    this.kind = kind;
    this.boolValue = boolValue;
    this.text = text;
    this.children = children;
  }

  static newNull(): JsonValue {
    return JSON_NULL;
  }

  static newBool(b: bool): JsonValue {
    return b ? JSON_TRUE : JSON_FALSE;
  }

  static newNumber(raw: string): JsonValue {
    const v = new JsonValue(JsonKind.Number, false, "", null);
    v.raw = raw;
    return v;
  }

  /** A Number whose raw text is bytes [start, end) of `src` (ASCII, already validated). */
  static newNumberAt(src: Uint8Array, start: i32, end: i32): JsonValue {
    const v = new JsonValue(JsonKind.Number, false, "", null);
    v.src = src;
    v.srcStart = start;
    v.srcEnd = end;
    return v;
  }

  static newString(s: string): JsonValue {
    return new JsonValue(JsonKind.String, false, s, null);
  }

  static newArray(items: StaticArray<JsonValue>): JsonValue {
    return new JsonValue(JsonKind.Array, false, "", items);
  }

  /** `slots`: name (a String value), value, name, value, ... */
  static newObject(slots: StaticArray<JsonValue>): JsonValue {
    return new JsonValue(JsonKind.Object, false, "", slots);
  }

  isNull(): bool { return this.kind == JsonKind.Null; }
  isBool(): bool { return this.kind == JsonKind.Bool; }
  isNumber(): bool { return this.kind == JsonKind.Number; }
  isString(): bool { return this.kind == JsonKind.String; }
  isArray(): bool { return this.kind == JsonKind.Array; }
  isObject(): bool { return this.kind == JsonKind.Object; }

  /** The decoded string for a String value, "" for every other kind. */
  asString(): string {
    return this.kind == JsonKind.String ? this.text : "";
  }

  /** The value of a Bool, false for every other kind. */
  asBool(): bool {
    return this.kind == JsonKind.Bool ? this.boolValue : false;
  }

  /** The raw source text of a Number (e.g. "-1.5e3"), "" for every other kind. */
  numberText(): string {
    if (this.kind != JsonKind.Number) return "";
    const src = this.src;
    if (src !== null) {
      const end = min(this.srcEnd, src.length);
      const start = max(0, min(this.srcStart, end));
      this.raw = asciiString(src.dataStart + <usize>start, end - start);
      this.src = null;
    }
    return this.raw;
  }

  /** Array items; an empty list for every other kind. Do not modify. */
  get items(): StaticArray<JsonValue> {
    const c = this.children;
    if (this.kind == JsonKind.Array && c !== null) return c;
    return EMPTY_VALUES;
  }

  /** Item count of an Array, member count of an Object, 0 otherwise. */
  get length(): i32 {
    if (this.kind == JsonKind.Array) {
      const c = this.children;
      return c === null ? 0 : c.length;
    }
    return this.memberCount();
  }

  /** Array item i; a Null value when out of range or not an Array. */
  item(i: i32): JsonValue {
    const c = this.children;
    if (this.kind != JsonKind.Array || c === null || i < 0 || i >= c.length) return JSON_NULL;
    return unchecked(c[i]);
  }

  /** Member count of an Object (duplicates counted), 0 otherwise. */
  memberCount(): i32 {
    const c = this.children;
    if (this.kind != JsonKind.Object || c === null) return 0;
    return c.length >> 1;
  }

  /** Name of member i of an Object; "" when out of range. */
  key(i: i32): string {
    const c = this.children;
    if (this.kind != JsonKind.Object || c === null || i < 0 || i >= (c.length >> 1)) return "";
    return unchecked(c[i << 1]).text;
  }

  /** Name of member i of an Object as its String value; a Null value when out of range. */
  keyValue(i: i32): JsonValue {
    const c = this.children;
    if (this.kind != JsonKind.Object || c === null || i < 0 || i >= (c.length >> 1)) return JSON_NULL;
    return unchecked(c[i << 1]);
  }

  /** Value of member i of an Object; a Null value when out of range. */
  value(i: i32): JsonValue {
    const c = this.children;
    if (this.kind != JsonKind.Object || c === null || i < 0 || i >= (c.length >> 1)) return JSON_NULL;
    return unchecked(c[(i << 1) + 1]);
  }

  /** Whether an Object has at least one member named `key`. */
  has(key: string): bool {
    const c = this.children;
    if (this.kind != JsonKind.Object || c === null) return false;
    const n = c.length >> 1;
    for (let i = 0; i < n; i++) {
      if (unchecked(c[i << 1]).text == key) return true;
    }
    return false;
  }

  /** The value of the last member named `key` (the one JSON.parse keeps), or null. */
  last(key: string): JsonValue | null {
    const c = this.children;
    if (this.kind != JsonKind.Object || c === null) return null;
    for (let i = (c.length >> 1) - 1; i >= 0; i--) {
      if (unchecked(c[i << 1]).text == key) return unchecked(c[(i << 1) + 1]);
    }
    return null;
  }

  /** EVERY value of the members named `key`, in source order (duplicates!). */
  getAll(key: string): Array<JsonValue> {
    const out = new Array<JsonValue>();
    const c = this.children;
    if (this.kind != JsonKind.Object || c === null) return out;
    const n = c.length >> 1;
    for (let i = 0; i < n; i++) {
      if (unchecked(c[i << 1]).text == key) out.push(unchecked(c[(i << 1) + 1]));
    }
    return out;
  }
}

// Shared instances.
const EMPTY_VALUES: StaticArray<JsonValue> = new StaticArray<JsonValue>(0);
const JSON_NULL: JsonValue = new JsonValue(JsonKind.Null, false, "", null);
const JSON_TRUE: JsonValue = new JsonValue(JsonKind.Bool, true, "", null);
const JSON_FALSE: JsonValue = new JsonValue(JsonKind.Bool, false, "", null);
const JSON_EMPTY_STRING: JsonValue = new JsonValue(JsonKind.String, false, "", null);

// Interning of short pure-ASCII strings (member names, roles, part types...):
// LLM request bodies repeat them thousands of times. A direct-mapped table of
// String values; a miss just replaces the slot. Safe to share across parses
// because JsonValue and string are immutable.
const INTERN_MAX_LEN: i32 = 32;
const INTERN_SLOTS: i32 = 1024; // power of two
const internTable: StaticArray<JsonValue> = new StaticArray<JsonValue>(INTERN_SLOTS);

/** How a value's kind reads in an error message: "a string", "an array", ... */
export function kindName(v: JsonValue): string {
  switch (v.kind) {
    case JsonKind.Null: return "null";
    case JsonKind.Bool: return "a boolean";
    case JsonKind.Number: return "a number";
    case JsonKind.String: return "a string";
    case JsonKind.Array: return "an array";
    default: return "an object";
  }
}

export class JsonLimits {
  /** Maximum number of nested arrays/objects. */
  maxDepth: i32 = 64;
  /** Maximum number of values (scalars and containers) in the document. */
  maxNodes: i32 = 200000;
}

/** Which JsonLimits bound a document broke, if any: callers answer those differently from bad syntax. */
export enum JsonLimitExceeded { None, Depth, Nodes }

export class JsonParseResult {
  value: JsonValue | null = null;
  /** "" on success. */
  error: string = "";
  limitExceeded: JsonLimitExceeded = JsonLimitExceeded.None;
  /** Byte offset of the problem (0 on success). */
  offset: i32 = 0;

  get ok(): bool {
    return this.error.length == 0 && this.value !== null;
  }
}

// ---------------------------------------------------------------------------

const C_TAB: u32 = 0x09;
const C_LF: u32 = 0x0a;
const C_CR: u32 = 0x0d;
const C_SPACE: u32 = 0x20;
const C_QUOTE: u32 = 0x22;
const C_PLUS: u32 = 0x2b;
const C_COMMA: u32 = 0x2c;
const C_MINUS: u32 = 0x2d;
const C_DOT: u32 = 0x2e;
const C_0: u32 = 0x30;
const C_1: u32 = 0x31;
const C_9: u32 = 0x39;
const C_COLON: u32 = 0x3a;
const C_LBRACKET: u32 = 0x5b;
const C_BACKSLASH: u32 = 0x5c;
const C_RBRACKET: u32 = 0x5d;
const C_LBRACE: u32 = 0x7b;
const C_RBRACE: u32 = 0x7d;

const SCRATCH_INITIAL_BYTES: i32 = 4096;
const SCRATCH_KEEP_BYTES: i32 = 256 * 1024;

// Reusable UTF-16 buffer for strings that need decoding (escapes / non-ASCII).
let scratch: ArrayBuffer = new ArrayBuffer(SCRATCH_INITIAL_BYTES);

const HEX_DIGITS = "0123456789abcdef";

function hexByte(c: u32): string {
  const hi = (c >> 4) & 0xf;
  const lo = c & 0xf;
  return "0x" + HEX_DIGITS.charAt(<i32>hi) + HEX_DIGITS.charAt(<i32>lo);
}

/** "'x'" for a printable ASCII byte, "byte 0x.." otherwise. */
function describeByte(c: u32): string {
  if (c > 0x20 && c < 0x7f) return "character '" + String.fromCharCode(<i32>c) + "'";
  return "byte " + hexByte(c);
}

@inline
function isDigit(c: u32): bool {
  return c - C_0 < 10;
}

@inline
function hexValue(c: u32): i32 {
  if (c - C_0 < 10) return <i32>(c - C_0);
  const l = c | 0x20; // ASCII lower case
  if (l - 0x61 < 6) return <i32>(l - 0x61 + 10);
  return -1;
}

@inline
function isContinuation(c: u32): bool {
  return (c & 0xc0) == 0x80;
}

/** Whether 8 bytes are all printable ASCII other than '"' and '\\' (SWAR "has byte" tests). */
@inline
function plainAscii8(w: u64): bool {
  const q = w ^ 0x2222222222222222; // zero byte where '"'
  const b = w ^ 0x5c5c5c5c5c5c5c5c; // zero byte where '\\'
  const t = w |
    ((w - 0x2020202020202020) & ~w) |
    ((q - 0x0101010101010101) & ~q) |
    ((b - 0x0101010101010101) & ~b);
  return (t & 0x8080808080808080) == 0;
}

/** Stores 4 ASCII bytes (the low half of `w`) at `out` as 4 UTF-16 units. */
@inline
function widen4(out: usize, w: u64): void {
  store<u64>(out, (w & 0xff) | ((w & 0xff00) << 8) | ((w & 0xff0000) << 16) | ((w & 0xff000000) << 24));
}

/** Widens `n` ASCII bytes at `src` to UTF-16 units at `dst`, 4 at a time. */
function widenAscii(dst: usize, src: usize, n: i32): void {
  let i = 0;
  for (; i + 4 <= n; i += 4) widen4(dst + (<usize>i << 1), <u64>load<u32>(src + <usize>i));
  for (; i < n; i++) store<u16>(dst + (<usize>i << 1), <u16>load<u8>(src + <usize>i));
}

/** A string from `n` ASCII bytes at `ptr`, built in its final allocation. */
function asciiString(ptr: usize, n: i32): string {
  if (n <= 0) return "";
  const s = __new(<usize>n << 1, idof<String>());
  widenAscii(s, ptr, n);
  return changetype<string>(s);
}

/** A String value from `n` ASCII bytes at `ptr`; short ones are interned. */
function asciiValue(ptr: usize, n: i32): JsonValue {
  if (n == 0) return JSON_EMPTY_STRING;
  if (n > INTERN_MAX_LEN) return JsonValue.newString(asciiString(ptr, n));
  let h: u32 = 0x811c9dc5; // FNV-1a
  for (let i = 0; i < n; i++) h = (h ^ <u32>load<u8>(ptr + <usize>i)) * 0x01000193;
  const slot = <i32>(h & <u32>(INTERN_SLOTS - 1));
  const cached = changetype<usize>(unchecked(internTable[slot]));
  if (cached != 0) {
    const cs = changetype<usize>(changetype<JsonValue>(cached).text);
    if (changetype<string>(cs).length == n) {
      let same = true;
      for (let i = 0; i < n; i++) {
        if (<u32>load<u16>(cs + (<usize>i << 1)) != <u32>load<u8>(ptr + <usize>i)) {
          same = false;
          break;
        }
      }
      if (same) return changetype<JsonValue>(cached);
    }
  }
  const v = JsonValue.newString(asciiString(ptr, n));
  unchecked(internTable[slot] = v);
  return v;
}

class Parser {
  bytes: Uint8Array;
  base: usize;
  len: i32;
  pos: i32 = 0;
  nodes: i32 = 0;
  maxDepth: i32;
  maxNodes: i32;
  error: string = "";
  errOffset: i32 = 0;
  limitExceeded: JsonLimitExceeded = JsonLimitExceeded.None;

  constructor(bytes: Uint8Array, limits: JsonLimits) {
    this.bytes = bytes;
    this.base = bytes.dataStart;
    this.len = bytes.length;
    this.maxDepth = limits.maxDepth;
    this.maxNodes = limits.maxNodes;
  }

  @inline
  byteAt(i: i32): u32 {
    return <u32>load<u8>(this.base + <usize>i);
  }

  fail(msg: string, offset: i32): void {
    if (this.error.length == 0) {
      this.error = msg;
      this.errOffset = offset;
    }
  }

  failUnexpected(at: i32, expected: string): void {
    if (at >= this.len) {
      this.fail("unexpected end of input at byte " + at.toString() + ", expected " + expected, at);
    } else {
      this.fail("unexpected " + describeByte(this.byteAt(at)) + " at byte " + at.toString() + ", expected " + expected, at);
    }
  }

  countNode(): bool {
    this.nodes++;
    if (this.nodes > this.maxNodes) {
      if (this.error.length == 0) this.limitExceeded = JsonLimitExceeded.Nodes;
      this.fail("more than " + this.maxNodes.toString() + " values", this.pos);
      return false;
    }
    return true;
  }

  skipWs(): void {
    let p = this.pos;
    const n = this.len;
    while (p < n) {
      const c = this.byteAt(p);
      if (c == C_SPACE || c == C_LF || c == C_CR || c == C_TAB) p++;
      else break;
    }
    this.pos = p;
  }

  /** Parses a member name (onto `vals`) and the ':' after it; leaves `pos` at the value. */
  parseKeyColon(vals: Array<JsonValue>): bool {
    this.skipWs();
    if (this.pos >= this.len || this.byteAt(this.pos) != C_QUOTE) {
      this.failUnexpected(this.pos, "a string (object key)");
      return false;
    }
    const k = this.parseString();
    if (k === null) return false;
    vals.push(k);
    this.skipWs();
    if (this.pos >= this.len || this.byteAt(this.pos) != C_COLON) {
      this.failUnexpected(this.pos, "':'");
      return false;
    }
    this.pos++;
    this.skipWs();
    return true;
  }

  run(): JsonValue | null {
    const n = this.len;
    if (n >= 3 && this.byteAt(0) == 0xef && this.byteAt(1) == 0xbb && this.byteAt(2) == 0xbf) {
      this.fail("UTF-8 BOM is not allowed at byte 0", 0);
      return null;
    }
    this.skipWs();
    if (this.pos >= n) {
      this.fail("empty input", this.pos);
      return null;
    }

    // Explicit stacks instead of recursion. Completed values (and member
    // names, as String values) wait on `vals` until their container closes;
    // the container then gets one exactly-sized array. `frames` holds, per
    // open container, (the `vals` base << 1) | 1 for an object, 0 for an array.
    const vals = new Array<JsonValue>();
    const frames = new Array<i32>();
    let depth = 0;
    let value: JsonValue = JSON_NULL;

    while (true) {
      // ---- parse one value at `pos` (whitespace already skipped) ----
      if (this.pos >= n) {
        this.failUnexpected(this.pos, "a value");
        return null;
      }
      const start = this.pos;
      const c = this.byteAt(start);
      if (c == C_LBRACE || c == C_LBRACKET) {
        if (depth >= this.maxDepth) {
          if (this.error.length == 0) this.limitExceeded = JsonLimitExceeded.Depth;
          this.fail("nesting deeper than " + this.maxDepth.toString(), start);
          return null;
        }
        if (!this.countNode()) return null;
        const isObj = c == C_LBRACE;
        this.pos++;
        this.skipWs();
        if (this.pos < n && this.byteAt(this.pos) == (isObj ? C_RBRACE : C_RBRACKET)) {
          this.pos++;
          value = isObj ? JsonValue.newObject(EMPTY_VALUES) : JsonValue.newArray(EMPTY_VALUES);
        } else {
          frames.push((vals.length << 1) | (isObj ? 1 : 0));
          depth++;
          if (isObj) {
            if (!this.parseKeyColon(vals)) return null;
          }
          continue;
        }
      } else if (c == C_QUOTE) {
        if (!this.countNode()) return null;
        const s = this.parseString();
        if (s === null) return null;
        value = s;
      } else if (c == C_MINUS || isDigit(c)) {
        if (!this.countNode()) return null;
        if (!this.scanNumber()) return null;
        value = JsonValue.newNumberAt(this.bytes, start, this.pos);
      } else if (c == 0x74 /* t */) {
        if (!this.countNode()) return null;
        if (!this.expectLiteral("true")) return null;
        value = JSON_TRUE;
      } else if (c == 0x66 /* f */) {
        if (!this.countNode()) return null;
        if (!this.expectLiteral("false")) return null;
        value = JSON_FALSE;
      } else if (c == 0x6e /* n */) {
        if (!this.countNode()) return null;
        if (!this.expectLiteral("null")) return null;
        value = JSON_NULL;
      } else {
        this.failUnexpected(start, "a value");
        return null;
      }

      // ---- attach the completed value; close finished containers ----
      while (true) {
        if (depth == 0) {
          this.skipWs();
          if (this.pos != n) {
            this.fail("trailing data after the JSON value at byte " + this.pos.toString(), this.pos);
            return null;
          }
          return value;
        }
        vals.push(value);
        this.skipWs();
        const frame = unchecked(frames[frames.length - 1]); // depth > 0
        const isObj = (frame & 1) == 1;
        if (this.pos >= n) {
          this.failUnexpected(this.pos, isObj ? "',' or '}'" : "',' or ']'");
          return null;
        }
        const d = this.byteAt(this.pos);
        if (d == C_COMMA) {
          this.pos++;
          this.skipWs();
          if (isObj) {
            if (!this.parseKeyColon(vals)) return null;
          }
          break; // parse the next value
        }
        if (d == (isObj ? C_RBRACE : C_RBRACKET)) {
          this.pos++;
          const vBase = frame >>> 1;
          const count = vals.length - vBase;
          const slots = new StaticArray<JsonValue>(count);
          for (let i = 0; i < count; i++) unchecked(slots[i] = unchecked(vals[vBase + i]));
          vals.length = vBase;
          value = isObj ? JsonValue.newObject(slots) : JsonValue.newArray(slots);
          frames.length = frames.length - 1;
          depth--;
          continue;
        }
        this.failUnexpected(this.pos, isObj ? "',' or '}'" : "',' or ']'");
        return null;
      }
    }
    return null; // not reached; keeps the compiler happy
  }

  expectLiteral(lit: string): bool {
    const start = this.pos;
    const m = lit.length;
    for (let i = 0; i < m; i++) {
      const p = start + i;
      if (p >= this.len || this.byteAt(p) != <u32>lit.charCodeAt(i)) {
        this.failUnexpected(p, "'" + lit + "'");
        return false;
      }
    }
    this.pos = start + m;
    return true;
  }

  /** Validates `-? (0 | [1-9][0-9]*) (\.[0-9]+)? ([eE][+-]?[0-9]+)?` at `pos`. */
  scanNumber(): bool {
    const n = this.len;
    let p = this.pos;
    if (this.byteAt(p) == C_MINUS) p++;
    if (p >= n) {
      this.failUnexpected(p, "a digit");
      return false;
    }
    let c = this.byteAt(p);
    if (c == C_0) {
      p++;
      if (p < n && isDigit(this.byteAt(p))) {
        this.fail("leading zero in number at byte " + (p - 1).toString(), p - 1);
        return false;
      }
    } else if (c >= C_1 && c <= C_9) {
      p++;
      while (p < n && isDigit(this.byteAt(p))) p++;
    } else {
      this.failUnexpected(p, "a digit");
      return false;
    }
    if (p < n && this.byteAt(p) == C_DOT) {
      p++;
      if (p >= n || !isDigit(this.byteAt(p))) {
        this.failUnexpected(p, "a digit after '.'");
        return false;
      }
      while (p < n && isDigit(this.byteAt(p))) p++;
    }
    if (p < n && (this.byteAt(p) | 0x20) == 0x65 /* e or E */) {
      p++;
      if (p < n) {
        c = this.byteAt(p);
        if (c == C_PLUS || c == C_MINUS) p++;
      }
      if (p >= n || !isDigit(this.byteAt(p))) {
        this.failUnexpected(p, "a digit in the exponent");
        return false;
      }
      while (p < n && isDigit(this.byteAt(p))) p++;
    }
    this.pos = p;
    return true;
  }

  /** Parses the string whose opening quote is at `pos` into a String value; null on error. */
  parseString(): JsonValue | null {
    const base = this.base;
    const n = this.len;
    const start = this.pos + 1;
    let p = start;
    // Fast path: printable ASCII without escapes, 8 bytes at a time.
    while (p + 8 <= n && plainAscii8(load<u64>(base + <usize>p))) p += 8;
    while (p < n) {
      const c = this.byteAt(p);
      if (c == C_QUOTE) {
        this.pos = p + 1;
        return asciiValue(base + <usize>start, p - start);
      }
      if (c == C_BACKSLASH || c < 0x20 || c >= 0x80) break;
      p++;
    }
    const s = this.parseStringSlow(start, p);
    if (s === null) return null;
    return s.length == 0 ? JSON_EMPTY_STRING : JsonValue.newString(s);
  }

  /** Makes room for at least `units` UTF-16 units in `scratch`, keeping `used` units. */
  ensureScratch(units: i32, used: i32): void {
    const need = units << 1;
    const cap = scratch.byteLength;
    if (need <= cap) return;
    let newCap = cap << 1;
    if (newCap < need) newCap = need;
    const grown = new ArrayBuffer(newCap);
    memory.copy(changetype<usize>(grown), changetype<usize>(scratch), <usize>used << 1);
    scratch = grown;
  }

  parseStringSlow(start: i32, asciiEnd: i32): string | null {
    const n = this.len;
    let out = asciiEnd - start;
    this.ensureScratch(out + 16, 0);
    let buf = changetype<usize>(scratch);
    widenAscii(buf, this.base + <usize>start, out);
    let p = asciiEnd;
    while (true) {
      // Between escapes and non-ASCII: runs of plain ASCII, 8 bytes at a time.
      while (p + 8 <= n) {
        const w = load<u64>(this.base + <usize>p);
        if (!plainAscii8(w)) break;
        if (out + 8 > (scratch.byteLength >> 1)) {
          this.ensureScratch(out + 8, out);
          buf = changetype<usize>(scratch);
        }
        const at = buf + (<usize>out << 1);
        widen4(at, w & 0xffffffff);
        widen4(at + 8, w >> 32);
        out += 8;
        p += 8;
      }
      if (p >= n) {
        this.fail("unterminated string starting at byte " + (start - 1).toString(), start - 1);
        return null;
      }
      if (out + 2 > (scratch.byteLength >> 1)) {
        this.ensureScratch(out + 2, out);
        buf = changetype<usize>(scratch);
      }
      const c = this.byteAt(p);
      if (c == C_QUOTE) {
        this.pos = p + 1;
        return String.UTF16.decodeUnsafe(buf, <usize>out << 1);
      }
      if (c < 0x80) {
        if (c == C_BACKSLASH) {
          if (p + 1 >= n) {
            this.fail("unterminated string starting at byte " + (start - 1).toString(), start - 1);
            return null;
          }
          const e = this.byteAt(p + 1);
          let u: u32 = 0;
          if (e == C_QUOTE || e == C_BACKSLASH || e == 0x2f /* / */) u = e;
          else if (e == 0x62 /* b */) u = 0x08;
          else if (e == 0x66 /* f */) u = 0x0c;
          else if (e == 0x6e /* n */) u = 0x0a;
          else if (e == 0x72 /* r */) u = 0x0d;
          else if (e == 0x74 /* t */) u = 0x09;
          else if (e == 0x75 /* u */) {
            if (p + 5 >= n) {
              this.fail("invalid \\u escape at byte " + p.toString(), p);
              return null;
            }
            const h0 = hexValue(this.byteAt(p + 2));
            const h1 = hexValue(this.byteAt(p + 3));
            const h2 = hexValue(this.byteAt(p + 4));
            const h3 = hexValue(this.byteAt(p + 5));
            if ((h0 | h1 | h2 | h3) < 0) {
              this.fail("invalid \\u escape at byte " + p.toString(), p);
              return null;
            }
            // Surrogate pairs need no special handling: both halves are
            // stored as the UTF-16 units they are; lone ones stay lone.
            store<u16>(buf + (<usize>out << 1), <u16>((h0 << 12) | (h1 << 8) | (h2 << 4) | h3));
            out++;
            p += 6;
            continue;
          } else {
            if (e >= 0x20 && e < 0x7f) {
              this.fail("invalid escape '\\" + String.fromCharCode(<i32>e) + "' at byte " + p.toString(), p);
            } else {
              this.fail("invalid escape at byte " + p.toString(), p);
            }
            return null;
          }
          store<u16>(buf + (<usize>out << 1), <u16>u);
          out++;
          p += 2;
          continue;
        }
        if (c < 0x20) {
          this.fail("control character " + hexByte(c) + " in string at byte " + p.toString(), p);
          return null;
        }
        store<u16>(buf + (<usize>out << 1), <u16>c);
        out++;
        p++;
        continue;
      }
      // Multi-byte UTF-8 (RFC 3629 table 3-7 well-formed sequences only).
      let cp: u32 = 0;
      if (c >= 0xc2 && c <= 0xdf) {
        if (p + 1 >= n || !isContinuation(this.byteAt(p + 1))) {
          this.fail("invalid UTF-8 at byte " + p.toString(), p);
          return null;
        }
        cp = ((c & 0x1f) << 6) | (this.byteAt(p + 1) & 0x3f);
        p += 2;
      } else if (c >= 0xe0 && c <= 0xef) {
        if (p + 2 >= n) {
          this.fail("invalid UTF-8 at byte " + p.toString(), p);
          return null;
        }
        const b1 = this.byteAt(p + 1);
        const b2 = this.byteAt(p + 2);
        const lo1: u32 = c == 0xe0 ? 0xa0 : 0x80;
        const hi1: u32 = c == 0xed ? 0x9f : 0xbf;
        if (b1 < lo1 || b1 > hi1 || !isContinuation(b2)) {
          this.fail("invalid UTF-8 at byte " + p.toString(), p);
          return null;
        }
        cp = ((c & 0x0f) << 12) | ((b1 & 0x3f) << 6) | (b2 & 0x3f);
        p += 3;
      } else if (c >= 0xf0 && c <= 0xf4) {
        if (p + 3 >= n) {
          this.fail("invalid UTF-8 at byte " + p.toString(), p);
          return null;
        }
        const b1 = this.byteAt(p + 1);
        const b2 = this.byteAt(p + 2);
        const b3 = this.byteAt(p + 3);
        const lo1: u32 = c == 0xf0 ? 0x90 : 0x80;
        const hi1: u32 = c == 0xf4 ? 0x8f : 0xbf;
        if (b1 < lo1 || b1 > hi1 || !isContinuation(b2) || !isContinuation(b3)) {
          this.fail("invalid UTF-8 at byte " + p.toString(), p);
          return null;
        }
        cp = ((c & 0x07) << 18) | ((b1 & 0x3f) << 12) | ((b2 & 0x3f) << 6) | (b3 & 0x3f);
        p += 4;
        const v = cp - 0x10000;
        store<u16>(buf + (<usize>out << 1), <u16>(0xd800 | (v >> 10)));
        store<u16>(buf + (<usize>(out + 1) << 1), <u16>(0xdc00 | (v & 0x3ff)));
        out += 2;
        continue;
      } else {
        this.fail("invalid UTF-8 at byte " + p.toString(), p);
        return null;
      }
      store<u16>(buf + (<usize>out << 1), <u16>cp);
      out++;
    }
    return null; // not reached
  }
}

/**
 * Parses `bytes` (UTF-8) as one strict RFC 8259 JSON text.
 * Never traps: every problem is reported through the result.
 */
export function parseJson(bytes: Uint8Array, limits: JsonLimits): JsonParseResult {
  const parser = new Parser(bytes, limits);
  const v = parser.run();
  const r = new JsonParseResult();
  if (parser.error.length > 0 || v === null) {
    r.error = parser.error.length > 0 ? parser.error : "invalid JSON";
    r.offset = parser.errOffset;
    r.limitExceeded = parser.limitExceeded;
  } else {
    r.value = v;
  }
  if (scratch.byteLength > SCRATCH_KEEP_BYTES) scratch = new ArrayBuffer(SCRATCH_INITIAL_BYTES);
  return r;
}

/**
 * The JSON document a string holds (tool-call arguments, JSON inside a field), or null when it
 * holds none. Same limits as any parse; lone surrogates become U+FFFD first.
 */
export function parseJsonText(text: string, limits: JsonLimits): JsonValue | null {
  const r = parseJson(Uint8Array.wrap(String.UTF8.encode(text, false, String.UTF8.ErrorMode.REPLACE)), limits);
  return r.error.length == 0 ? r.value : null;
}
