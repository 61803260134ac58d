// Test probe for plugin/sse: exported functions callable from JS (ESM bindings); results as JSON
// text (the long ones as ASCII bytes, which cross to JS faster). Built by plugin/testing/probes.mjs
// into build/test/sse_probe.{wasm,js}.

import { SseParser, SseLimits, SseError, SseItem, SseItemKind, SseLineEnd, SseEventFields, encodeSseEvent } from "../sse";

/** JSON text (ASCII only) in one growing UTF-16 buffer (linear, unlike string concatenation per escape). */
class JsonText {
  private buf: ArrayBuffer = new ArrayBuffer(4096);
  private len: i32 = 0; // UTF-16 units

  /** Where `units` more units go. */
  private reserve(units: i32): usize {
    const need = (this.len + units) << 1;
    if (need > this.buf.byteLength) {
      const grown = new ArrayBuffer(max(need, this.buf.byteLength << 1));
      memory.copy(changetype<usize>(grown), changetype<usize>(this.buf), <usize>this.len << 1);
      this.buf = grown;
    }
    return changetype<usize>(this.buf) + (<usize>this.len << 1);
  }

  raw(s: string): JsonText {
    memory.copy(this.reserve(s.length), changetype<usize>(s), <usize>s.length << 1);
    this.len += s.length;
    return this;
  }

  /** A JSON string literal; everything outside printable ASCII as \uXXXX (lone surrogates survive). */
  str(s: string): JsonText {
    const n = s.length;
    const start = this.reserve(n * 6 + 2);
    let at = start;
    const src = changetype<usize>(s);
    store<u16>(at, 0x22);
    at += 2;
    for (let i = 0; i < n; i++) {
      const c = <u32>load<u16>(src + (<usize>i << 1));
      if (c >= 0x20 && c < 0x7f && c != 0x22 && c != 0x5c) {
        store<u16>(at, <u16>c);
        at += 2;
        continue;
      }
      store<u16>(at, 0x5c);
      store<u16>(at + 2, 0x75);
      store<u16>(at + 4, hexDigit(c >> 12));
      store<u16>(at + 6, hexDigit(c >> 8));
      store<u16>(at + 8, hexDigit(c >> 4));
      store<u16>(at + 10, hexDigit(c));
      at += 12;
    }
    store<u16>(at, 0x22);
    at += 2;
    this.len += <i32>((at - start) >> 1);
    return this;
  }

  /** Bytes as a string literal of the same char codes (0-255). */
  bytes(b: Uint8Array): JsonText {
    const units = new Uint16Array(b.length);
    for (let i = 0; i < b.length; i++) unchecked(units[i] = <u16>unchecked(b[i]));
    return this.str(String.UTF16.decodeUnsafe(units.dataStart, <usize>b.length << 1));
  }

  /** The text as bytes: it is all ASCII, and bytes cross to JS much faster than a string. */
  toBytes(): Uint8Array {
    const out = new Uint8Array(this.len);
    const src = changetype<usize>(this.buf);
    for (let i = 0; i < this.len; i++) unchecked(out[i] = <u8>load<u16>(src + (<usize>i << 1)));
    return out;
  }
}

@inline
function hexDigit(v: u32): u16 {
  const d = v & 0xf;
  return <u16>(d < 10 ? 0x30 + d : 0x57 + d);
}

function limitsOf(maxLine: i32, maxData: i32, maxEvent: i32): SseLimits {
  const l = new SseLimits();
  if (maxLine >= 0) l.maxLineBytes = maxLine;
  if (maxData >= 0) l.maxDataBytes = maxData;
  if (maxEvent >= 0) l.maxEventBytes = maxEvent;
  return l;
}

function kindName(k: SseItemKind): string {
  switch (k) {
    case SseItemKind.Event: return "event";
    case SseItemKind.NoData: return "nodata";
    case SseItemKind.Comment: return "comment";
    case SseItemKind.Incomplete: return "incomplete";
    default: return "unparsed";
  }
}

function lineEndName(e: SseLineEnd): string {
  return e == SseLineEnd.CrLf ? "crlf" : e == SseLineEnd.Cr ? "cr" : "lf";
}

function errorName(e: SseError): string {
  switch (e) {
    case SseError.None: return "none";
    case SseError.LineTooLong: return "line_too_long";
    case SseError.DataTooLarge: return "data_too_large";
    default: return "event_too_large";
  }
}

function writeItem(out: JsonText, it: SseItem, withRaw: bool): void {
  out.raw("{\"kind\":\"").raw(kindName(it.kind)).raw("\",\"start\":").raw(it.start.toString()).raw(",\"end\":").raw(it.end.toString());
  out.raw(",\"lineEnd\":\"").raw(lineEndName(it.lineEnd)).raw("\"");
  if (it.kind != SseItemKind.Comment && it.kind != SseItemKind.Unparsed) {
    out.raw(",\"event\":").str(it.event).raw(",\"data\":").str(it.dataText());
    out.raw(",\"dataLines\":").raw(it.dataLines.toString()).raw(",\"hasId\":").raw(it.hasId ? "true" : "false");
    out.raw(",\"id\":").str(it.id).raw(",\"retry\":").str(it.retry);
  }
  if (withRaw) out.raw(",\"raw\":").bytes(it.raw);
  out.raw("}");
}

function writeItems(out: JsonText, items: SseItem[], withRaw: bool): void {
  out.raw("[");
  for (let j = 0; j < items.length; j++) {
    if (j > 0) out.raw(",");
    writeItem(out, items[j], withRaw);
  }
  out.raw("]");
}

/** Whether each item's raw bytes are the input's [start, end) and the items follow each other from `from`. */
function rawTiles(input: Uint8Array, items: SseItem[], from: i64): i64 {
  let next = from;
  for (let k = 0; k < items.length; k++) {
    const it = items[k];
    if (it.start != next || it.end < it.start || it.end > <i64>input.length) return -1;
    const n = <i32>(it.end - it.start);
    if (it.raw.length != n) return -1;
    if (memory.compare(it.raw.dataStart, input.dataStart + <usize>it.start, <usize>n) != 0) return -1;
    next = it.end;
  }
  return next;
}

/**
 * Parses `input` fed in pieces cut at `cuts` (ascending offsets), then finish(). Returns, as
 * ASCII bytes, {"items":[...],"error":..,"errorOffset":..,"examined":..,"copied":..,"maxRetained":..,"rawOk":bool};
 * rawOk: the items' raw bytes, in order, are the input exactly. A negative limit means the default.
 */
export function parse(input: Uint8Array, cuts: Int32Array, maxLine: i32, maxData: i32, maxEvent: i32, withRaw: bool): Uint8Array {
  const p = new SseParser(limitsOf(maxLine, maxData, maxEvent));
  const items = new Array<SseItem>();
  let from = 0;
  let maxRetained = p.retainedBytes;
  for (let k = 0; k <= cuts.length; k++) {
    const to = k < cuts.length ? min(max(unchecked(cuts[k]), from), input.length) : input.length;
    const got = p.feed(input.subarray(from, to));
    for (let j = 0; j < got.length; j++) items.push(got[j]);
    if (p.retainedBytes > maxRetained) maxRetained = p.retainedBytes;
    from = to;
  }
  const last = p.finish();
  for (let j = 0; j < last.length; j++) items.push(last[j]);
  const out = new JsonText().raw("{\"items\":");
  writeItems(out, items, withRaw);
  out.raw(",\"error\":\"").raw(errorName(p.error)).raw("\",\"errorOffset\":").raw(p.errorOffset.toString());
  out.raw(",\"examined\":").raw(p.bytesExamined.toString()).raw(",\"copied\":").raw(p.bytesCopied.toString());
  out.raw(",\"maxRetained\":").raw(maxRetained.toString()).raw(",\"retainedAfter\":").raw(p.retainedBytes.toString());
  out.raw(",\"rawOk\":").raw(rawTiles(input, items, 0) == <i64>input.length ? "true" : "false").raw("}");
  return out.toBytes();
}

// One parser across calls, for tests that look at it between feeds.
let current: SseParser = new SseParser();

export function open(maxLine: i32, maxData: i32, maxEvent: i32): void {
  current = new SseParser(limitsOf(maxLine, maxData, maxEvent));
}

function itemsJson(items: SseItem[]): Uint8Array {
  const out = new JsonText();
  writeItems(out, items, true);
  return out.toBytes();
}

/** Feeds the current parser; its items as a JSON array (raw included), in ASCII bytes. */
export function feed(chunk: Uint8Array): Uint8Array {
  return itemsJson(current.feed(chunk));
}

/** Feeds `chunk` one byte at a time; returns how many items that completed (no JSON: for long streams). */
export function feedBytewise(chunk: Uint8Array): i32 {
  let count = 0;
  for (let i = 0; i < chunk.length; i++) count += current.feed(chunk.subarray(i, i + 1)).length;
  return count;
}

export function finish(): Uint8Array {
  return itemsJson(current.finish());
}

/** {"error":..,"errorOffset":..,"examined":..,"copied":..,"retained":..} of the current parser. */
export function state(): string {
  return "{\"error\":\"" + errorName(current.error) + "\",\"errorOffset\":" + current.errorOffset.toString() +
    ",\"examined\":" + current.bytesExamined.toString() + ",\"copied\":" + current.bytesCopied.toString() +
    ",\"retained\":" + current.retainedBytes.toString() + "}";
}

/** encodeSseEvent; lineEnd 0 LF, 1 CRLF, 2 CR. */
export function encode(event: string, data: string, hasId: bool, id: string, retry: string, lineEnd: i32): Uint8Array {
  const f = new SseEventFields();
  f.event = event;
  f.data = data;
  f.hasId = hasId;
  f.id = id;
  f.retry = retry;
  return encodeSseEvent(f, lineEnd == 1 ? SseLineEnd.CrLf : lineEnd == 2 ? SseLineEnd.Cr : SseLineEnd.Lf);
}

/** Parses `input` whole and re-encodes every Event item from its fields (SseEventFields.of), in its line-end style. */
export function reencode(input: Uint8Array): Uint8Array {
  const p = new SseParser();
  const items = p.feed(input);
  const fin = p.finish();
  for (let j = 0; j < fin.length; j++) items.push(fin[j]);
  const chunks = new Array<Uint8Array>();
  let total = 0;
  for (let j = 0; j < items.length; j++) {
    const it = items[j];
    const bytes = it.kind == SseItemKind.Event ? encodeSseEvent(SseEventFields.of(it), it.lineEnd) : it.raw;
    chunks.push(bytes);
    total += bytes.length;
  }
  const out = new Uint8Array(total);
  let at = 0;
  for (let j = 0; j < chunks.length; j++) {
    out.set(chunks[j], at);
    at += chunks[j].length;
  }
  return out;
}
