// Test probe for plugin/json and plugin/inspect: exported functions callable
// from JS (ESM bindings). Results are returned as JSON text.
//
// Built by plugin/testing/probes.mjs into build/test/json_probe.{wasm,js}.

import { JsonKind, JsonLimits, JsonValue, parseJson } from "../json";
import { extractPromptText, roleName } from "../inspect";

/** Minimal UTF-16 string builder (amortized growth, one copy at the end). */
class Builder {
  buf: ArrayBuffer = new ArrayBuffer(256);
  len: i32 = 0; // in UTF-16 units

  private reserve(units: i32): void {
    const need = (this.len + units) << 1;
    if (need <= this.buf.byteLength) return;
    let cap = this.buf.byteLength << 1;
    if (cap < need) cap = need;
    const grown = new ArrayBuffer(cap);
    memory.copy(changetype<usize>(grown), changetype<usize>(this.buf), <usize>this.len << 1);
    this.buf = grown;
  }

  unit(u: u32): void {
    this.reserve(1);
    store<u16>(changetype<usize>(this.buf) + (<usize>this.len << 1), <u16>u);
    this.len++;
  }

  raw(s: string): void {
    const n = s.length;
    this.reserve(n);
    memory.copy(changetype<usize>(this.buf) + (<usize>this.len << 1), changetype<usize>(s), <usize>n << 1);
    this.len += n;
  }

  /** A JSON string literal; non-ASCII as \uXXXX so lone surrogates survive. */
  str(s: string): void {
    const hex = "0123456789abcdef";
    this.unit(0x22);
    const n = s.length;
    for (let i = 0; i < n; i++) {
      const c = <u32>s.charCodeAt(i);
      if (c == 0x22 || c == 0x5c) {
        this.unit(0x5c);
        this.unit(c);
      } else if (c >= 0x20 && c < 0x7f) {
        this.unit(c);
      } else {
        this.unit(0x5c);
        this.unit(0x75);
        this.unit(<u32>hex.charCodeAt((c >> 12) & 0xf));
        this.unit(<u32>hex.charCodeAt((c >> 8) & 0xf));
        this.unit(<u32>hex.charCodeAt((c >> 4) & 0xf));
        this.unit(<u32>hex.charCodeAt(c & 0xf));
      }
    }
    this.unit(0x22);
  }

  toString(): string {
    return String.UTF16.decodeUnsafe(changetype<usize>(this.buf), <usize>this.len << 1);
  }
}

/**
 * Tagged form: null/true/false as is, numbers {"n":"raw"}, strings as strings,
 * arrays as arrays, objects {"o":[[key, value], ...]} (order and duplicates kept).
 */
function serialize(v: JsonValue, b: Builder, depth: i32): void {
  if (depth > 2000) {
    b.raw("\"<too deep>\"");
    return;
  }
  switch (v.kind) {
    case JsonKind.Null: b.raw("null"); break;
    case JsonKind.Bool: b.raw(v.asBool() ? "true" : "false"); break;
    case JsonKind.Number: b.raw("{\"n\":"); b.str(v.numberText()); b.raw("}"); break;
    case JsonKind.String: b.str(v.asString()); break;
    case JsonKind.Array: {
      b.raw("[");
      const n = v.length;
      for (let i = 0; i < n; i++) {
        if (i > 0) b.raw(",");
        serialize(v.item(i), b, depth + 1);
      }
      b.raw("]");
      break;
    }
    default: {
      b.raw("{\"o\":[");
      const n = v.memberCount();
      for (let i = 0; i < n; i++) {
        if (i > 0) b.raw(",");
        b.raw("[");
        b.str(v.key(i));
        b.raw(",");
        serialize(v.value(i), b, depth + 1);
        b.raw("]");
      }
      b.raw("]}");
    }
  }
}

function limitsOf(maxDepth: i32, maxNodes: i32): JsonLimits {
  const l = new JsonLimits();
  if (maxDepth >= 0) l.maxDepth = maxDepth;
  if (maxNodes >= 0) l.maxNodes = maxNodes;
  return l;
}

/**
 * Parses `bytes`. Returns {"ok":true,"value":<tagged>} (value only when
 * `withValue`) or {"ok":false,"error":"...","offset":N}.
 * A negative limit means "use the default".
 */
export function parse(bytes: Uint8Array, maxDepth: i32, maxNodes: i32, withValue: bool): string {
  const r = parseJson(bytes, limitsOf(maxDepth, maxNodes));
  const b = new Builder();
  const v = r.value;
  if (r.error.length == 0 && v !== null) {
    b.raw("{\"ok\":true");
    if (withValue) {
      b.raw(",\"value\":");
      serialize(v, b, 0);
    }
    b.raw("}");
  } else {
    b.raw("{\"ok\":false,\"error\":");
    b.str(r.error);
    b.raw(",\"offset\":");
    b.raw(r.offset.toString());
    b.raw("}");
  }
  return b.toString();
}

/** Exercises the JsonValue helpers on a parsed object: getAll(key) as tagged values, plus has(). */
export function lookup(bytes: Uint8Array, key: string): string {
  const r = parseJson(bytes, new JsonLimits());
  const v = r.value;
  if (v === null) return "{\"error\":\"parse\"}";
  const b = new Builder();
  b.raw("{\"has\":");
  b.raw(v.has(key) ? "true" : "false");
  b.raw(",\"all\":[");
  const all = v.getAll(key);
  for (let i = 0; i < all.length; i++) {
    if (i > 0) b.raw(",");
    serialize(all[i], b, 0);
  }
  b.raw("],\"length\":");
  b.raw(v.length.toString());
  b.raw(",\"outOfRange\":[");
  b.str(v.key(-1));
  b.raw(",");
  b.str(v.key(v.memberCount()));
  b.raw(",");
  b.raw(v.value(1 << 30).isNull() ? "true" : "false");
  b.raw(",");
  b.raw(v.item(-5).isNull() ? "true" : "false");
  b.raw("]}");
  return b.toString();
}

/**
 * Parses and extracts. Returns {"parseError":"...","offset":N} when the body
 * is not JSON, else {"recognized":bool,"error":"...","pieces":[[role,text],...]}.
 */
export function extract(bytes: Uint8Array, maxDepth: i32, maxNodes: i32): string {
  const limits = limitsOf(maxDepth, maxNodes);
  const r = parseJson(bytes, limits);
  const b = new Builder();
  const v = r.value;
  if (r.error.length > 0 || v === null) {
    b.raw("{\"parseError\":");
    b.str(r.error);
    b.raw(",\"offset\":");
    b.raw(r.offset.toString());
    b.raw("}");
    return b.toString();
  }
  const x = extractPromptText(v, limits);
  b.raw("{\"recognized\":");
  b.raw(x.recognized ? "true" : "false");
  b.raw(",\"binary\":");
  b.raw(x.binaryParts.toString());
  b.raw(",\"pieces\":[");
  for (let i = 0; i < x.pieces.length; i++) {
    if (i > 0) b.raw(",");
    const p = x.pieces[i];
    b.raw("[");
    b.str(roleName(p.role));
    b.raw(",");
    b.str(p.text);
    b.raw("]");
  }
  b.raw("]}");
  return b.toString();
}

/** Parse + extract, returning only counts (for timing large bodies without serialization cost). */
export function extractCount(bytes: Uint8Array): i32 {
  const limits = new JsonLimits();
  const r = parseJson(bytes, limits);
  const v = r.value;
  if (v === null) return -1;
  const x = extractPromptText(v, limits);
  return x.pieces.length;
}
