// Incremental Server-Sent Events parser for untrusted streamed responses, after the WHATWG HTML
// standard, "9.2.6 Interpreting an event stream": lines end with CRLF, LF or CR (a CRLF may be
// split between chunks); one leading UTF-8 BOM is skipped; `:` lines are comments; a blank line
// ends an event; `data` lines are joined by LF; `event`, `id` (not when it holds NUL), `retry`
// (ASCII digits only); a field without a colon has an empty value; one space after the colon is
// dropped; other fields are ignored.
//
// It reads each byte once, as it arrives, and keeps between feeds only the item in progress: its
// raw bytes, its data so far and the value of its current line, each in a buffer whose capacity its
// limit caps. A line, data or item over its limit stops the parser for good (an error code and the
// stream offset of the byte that broke it; the rest of the stream is reported as Unparsed). No
// recursion, no exception, every read bounds-checked: a stream can't trap the VM.
import { ByteBuffer } from "./byte_buffer";
import { FieldNameReader, SseField } from "./field_name";
import { SseItem, SseItemKind, SseLineEnd } from "./item";
import { decodeUtf8 } from "../util/utf8";

export class SseLimits {
  /** Bytes of one line, its line end left out. */
  maxLineBytes: i32 = 64 * 1024;
  /** Bytes of one event's data: its data lines' values and the LFs joining them. */
  maxDataBytes: i32 = 1024 * 1024;
  /** Raw bytes of one item: all its lines (comments, unknown fields...) and their line ends. */
  maxEventBytes: i32 = 2 * 1024 * 1024;
}

export enum SseError {
  None,
  LineTooLong,
  DataTooLarge,
  EventTooLarge,
}

/** Fixed text for logs and replies (no stream content). */
export function sseErrorText(e: SseError): string {
  switch (e) {
    case SseError.None: return "";
    case SseError.LineTooLong: return "an event stream line over the line limit";
    case SseError.DataTooLarge: return "an event's data over the data limit";
    default: return "an event over the event size limit";
  }
}

const enum LineState {
  Start,
  Name,
  ValueStart,
  Value,
  Comment,
}

const LF: u32 = 0x0a;
const CR: u32 = 0x0d;
const SPACE: u32 = 0x20;
const COLON: u32 = 0x3a;
const BOM_LENGTH: i32 = 3;
/** Buffers larger than this are released once their item is reported. */
const KEEP_CAPACITY: i32 = 4096;

@inline
function bomByte(i: i32): u32 {
  return i == 0 ? 0xef : i == 1 ? 0xbb : 0xbf;
}

export class SseParser {
  private maxLineBytes: i32;
  private maxEventBytes: i32;
  // The item in progress: its raw bytes from earlier feeds, where it starts in the stream.
  private pending: ByteBuffer;
  private itemStart: i64 = 0;
  // The current feed: the stream offset of its first byte, where the item in progress starts in it.
  private chunk: Uint8Array = new Uint8Array(0);
  private chunkOffset: i64 = 0;
  private chunkItemStart: i32 = 0;
  private out: SseItem[] = [];
  // The line being read.
  private line: LineState = LineState.Start;
  private lineBytes: i32 = 0;
  private name: FieldNameReader = new FieldNameReader();
  private field: SseField = SseField.Unknown;
  private value: ByteBuffer;
  private afterCr: bool = false;
  private lastLineEnd: SseLineEnd = SseLineEnd.Lf;
  private bomBytes: i32 = 0;
  private bomDone: bool = false;
  // The fields of the item in progress.
  private fieldLines: i32 = 0;
  private data: ByteBuffer;
  private dataLines: i32 = 0;
  private event: string = "";
  private hasId: bool = false;
  private id: string = "";
  private retry: string = "";
  // An item complete up to a CR: reported at the next byte (with it, when it is the LF) or at finish().
  private ready: bool = false;
  private readyKind: SseItemKind = SseItemKind.Event;
  private finished: bool = false;

  error: SseError = SseError.None;
  /** Stream offset of the byte that broke a limit (-1 without error). */
  errorOffset: i64 = -1;
  /** Input bytes read: the stream's length (up to the byte that broke a limit), however it was cut. */
  bytesExamined: i64 = 0;
  private rawCopied: i64 = 0;

  constructor(limits: SseLimits = new SseLimits()) {
    const maxLine = max(1, limits.maxLineBytes);
    const maxEvent = max(1, limits.maxEventBytes);
    this.pending = new ByteBuffer(maxEvent);
    this.data = new ByteBuffer(max(1, limits.maxDataBytes));
    this.value = new ByteBuffer(maxLine);
    this.maxLineBytes = maxLine;
    this.maxEventBytes = maxEvent;
  }

  /** The bytes this parser has copied: linear in the stream's length however it was cut. */
  get bytesCopied(): i64 {
    return this.rawCopied + this.pending.copied + this.data.copied + this.value.copied;
  }

  /** Capacity of what the parser keeps between feeds (bounded by its limits). */
  get retainedBytes(): i32 {
    return this.pending.capacity + this.data.capacity + this.value.capacity;
  }

  /**
   * Reads the next bytes of the stream (cut anywhere) and returns the items they complete, in
   * order; after an error, the rest of the stream as Unparsed. Nothing once finish() was called.
   */
  feed(chunk: Uint8Array): SseItem[] {
    const out = new Array<SseItem>();
    if (this.finished) return out;
    const n = chunk.length;
    this.out = out;
    this.chunk = chunk;
    this.chunkItemStart = 0;
    if (this.error != SseError.None) {
      this.reportUnparsed(n);
    } else {
      const base = chunk.dataStart;
      let i = 0;
      while (i < n) {
        i = this.readRun(i, n);
        if (i == n) break;
        this.bytesExamined++;
        if (!this.step(<u32>load<u8>(base + <usize>i), i)) break;
        i++;
      }
      if (i < n) this.reportUnparsed(n);
      else this.pending.append(chunk, this.chunkItemStart, n);
    }
    this.chunkOffset += n;
    this.chunk = EMPTY;
    this.out = NO_ITEMS;
    return out;
  }

  /**
   * Ends the stream: returns the item a final CR completed, or the bytes after the last blank line
   * as one Incomplete item (fields included, for a filter that inspects what it forwards).
   */
  finish(): SseItem[] {
    const out = new Array<SseItem>();
    if (this.finished) return out;
    this.finished = true;
    if (this.error != SseError.None) return out;
    this.out = out;
    this.chunk = EMPTY;
    this.chunkItemStart = 0;
    if (this.ready) {
      this.report(0);
    } else if (this.chunkOffset > this.itemStart) {
      const at = this.chunkOffset;
      if (this.flushBom(at) && (this.line == LineState.Start || this.endField(at))) {
        this.readyKind = SseItemKind.Incomplete;
        this.report(0);
      } else {
        this.reportUnparsed(0);
      }
    }
    this.out = NO_ITEMS;
    this.releaseBuffers();
    return out;
  }

  /**
   * Inside a value or a comment: takes the bytes up to the next line end at once, stopping short
   * of the byte that would break a limit (step() reports it, as it would byte by byte). Returns
   * where step() takes over.
   */
  private readRun(i: i32, n: i32): i32 {
    const state = this.line;
    if (this.afterCr || (state != LineState.Value && state != LineState.Comment)) return i;
    const f = state == LineState.Value ? this.field : SseField.Unknown;
    let allowed = min<i64>(<i64>(this.maxLineBytes - this.lineBytes), <i64>this.maxEventBytes - (this.chunkOffset + <i64>i - this.itemStart));
    if (f == SseField.Data) allowed = min<i64>(allowed, <i64>this.data.room);
    const end = <i64>(n - i) < allowed ? n : i + <i32>max<i64>(allowed, 0);
    const base = this.chunk.dataStart;
    let j = i;
    while (j < end) {
      const c = <u32>load<u8>(base + <usize>j);
      if (c == LF || c == CR) break;
      j++;
    }
    if (j == i) return i;
    if (f == SseField.Data) this.data.append(this.chunk, i, j);
    else if (f != SseField.Unknown) this.value.append(this.chunk, i, j);
    this.lineBytes += j - i;
    this.bytesExamined += j - i;
    return j;
  }

  private step(b: u32, i: i32): bool {
    const at = this.chunkOffset + <i64>i;
    if (this.afterCr) {
      this.afterCr = false;
      if (b == LF) {
        this.lastLineEnd = SseLineEnd.CrLf;
        if (!this.countItemByte(at)) return false;
        if (this.ready) this.report(i + 1);
        return true;
      }
      if (this.ready) this.report(i);
    }
    if (!this.countItemByte(at)) return false;
    if (!this.bomDone) {
      if (b == bomByte(this.bomBytes)) {
        this.bomBytes++;
        this.bomDone = this.bomBytes == BOM_LENGTH;
        return true;
      }
      if (!this.flushBom(at)) return false;
    }
    if (b == LF || b == CR) {
      if (!this.endLine(at)) return false;
      if (b == CR) {
        this.lastLineEnd = SseLineEnd.Cr;
        this.afterCr = true;
      } else {
        this.lastLineEnd = SseLineEnd.Lf;
        if (this.ready) this.report(i + 1);
      }
      return true;
    }
    return this.content(b, at);
  }

  private countItemByte(at: i64): bool {
    if (at - this.itemStart < <i64>this.maxEventBytes) return true;
    return this.fail(SseError.EventTooLarge, at);
  }

  /** A stream that began like a BOM but wasn't one: those bytes are text of the first line. */
  private flushBom(at: i64): bool {
    if (this.bomDone) return true;
    this.bomDone = true;
    for (let k = 0; k < this.bomBytes; k++) {
      if (!this.content(bomByte(k), at)) return false;
    }
    return true;
  }

  private content(b: u32, at: i64): bool {
    if (++this.lineBytes > this.maxLineBytes) return this.fail(SseError.LineTooLong, at);
    switch (this.line) {
      case LineState.Start:
        if (b == COLON) {
          this.line = LineState.Comment;
        } else {
          this.line = LineState.Name;
          this.name.add(b);
        }
        return true;
      case LineState.Name:
        if (b != COLON) {
          this.name.add(b);
          return true;
        }
        this.line = LineState.ValueStart;
        return this.beginValue(at);
      case LineState.ValueStart:
        this.line = LineState.Value;
        if (b == SPACE) return true;
        return this.valueByte(b, at);
      case LineState.Value:
        return this.valueByte(b, at);
      default:
        return true;
    }
  }

  private beginValue(at: i64): bool {
    const f = this.name.field();
    this.field = f;
    if (f == SseField.Data) {
      if (this.dataLines > 0 && !this.data.push(LF)) return this.fail(SseError.DataTooLarge, at);
      this.dataLines++;
    } else if (f != SseField.Unknown) {
      this.value.clear(KEEP_CAPACITY);
    }
    return true;
  }

  private valueByte(b: u32, at: i64): bool {
    const f = this.field;
    if (f == SseField.Data) {
      if (!this.data.push(b)) return this.fail(SseError.DataTooLarge, at);
    } else if (f != SseField.Unknown) {
      this.value.push(b); // can't fail: a value is shorter than its line
    }
    return true;
  }

  private endLine(at: i64): bool {
    const state = this.line;
    if (state == LineState.Start) {
      this.readyKind = this.dataLines > 0 ? SseItemKind.Event : SseItemKind.NoData;
      this.ready = true;
    } else if (state == LineState.Comment) {
      if (this.fieldLines == 0) {
        this.readyKind = SseItemKind.Comment;
        this.ready = true;
      }
    } else if (!this.endField(at)) {
      return false;
    }
    this.line = LineState.Start;
    this.lineBytes = 0;
    return true;
  }

  /** A field line ends: its value takes effect. */
  private endField(at: i64): bool {
    if (this.line == LineState.Name && !this.beginValue(at)) return false;
    if (this.line == LineState.Comment) return true;
    this.fieldLines++;
    const f = this.field;
    if (f == SseField.Event) {
      this.event = this.valueText();
    } else if (f == SseField.Id) {
      if (!this.value.contains(0)) {
        this.hasId = true;
        this.id = this.valueText();
      }
    } else if (f == SseField.Retry) {
      if (this.valueIsDigits()) this.retry = this.valueText();
    }
    this.name.reset();
    this.field = SseField.Unknown;
    return true;
  }

  private valueText(): string {
    return decodeUtf8(this.value.toBytes());
  }

  private valueIsDigits(): bool {
    const n = this.value.length;
    if (n == 0) return false;
    for (let i = 0; i < n; i++) {
      if (this.value.at(i) - 0x30 >= 10) return false;
    }
    return true;
  }

  /** Reports the ready item, whose raw bytes end at chunk[end]. */
  private report(end: i32): void {
    const item = new SseItem();
    item.kind = this.readyKind;
    item.start = this.itemStart;
    item.end = this.chunkOffset + <i64>end;
    item.raw = this.takeRaw(end);
    item.lineEnd = this.lastLineEnd;
    if (item.kind != SseItemKind.Comment) {
      item.data = this.data.toBytes();
      item.dataLines = this.dataLines;
      item.event = this.event;
      item.hasId = this.hasId;
      item.id = this.id;
      item.retry = this.retry;
      this.resetFields();
    }
    this.ready = false;
    this.itemStart = item.end;
    this.out.push(item);
  }

  /** The rest of the stream in this chunk, unread: the parser has stopped. */
  private reportUnparsed(end: i32): void {
    const item = new SseItem();
    item.kind = SseItemKind.Unparsed;
    item.start = this.itemStart;
    item.end = this.chunkOffset + <i64>end;
    item.raw = this.takeRaw(end);
    this.itemStart = item.end;
    if (item.raw.length > 0) this.out.push(item);
    this.resetFields();
    this.releaseBuffers();
  }

  /** The item's bytes from earlier feeds, then chunk[chunkItemStart, end); the next item starts at end. */
  private takeRaw(end: i32): Uint8Array {
    const head = this.pending.length;
    const from = this.chunkItemStart;
    const tail = end > from ? end - from : 0;
    const raw = new Uint8Array(head + tail);
    this.pending.copyTo(raw, 0);
    if (tail > 0) memory.copy(raw.dataStart + <usize>head, this.chunk.dataStart + <usize>from, <usize>tail);
    this.rawCopied += tail;
    this.pending.clear(KEEP_CAPACITY);
    this.chunkItemStart = end;
    return raw;
  }

  private resetFields(): void {
    this.fieldLines = 0;
    this.data.clear(KEEP_CAPACITY);
    this.dataLines = 0;
    this.event = "";
    this.hasId = false;
    this.id = "";
    this.retry = "";
  }

  private releaseBuffers(): void {
    this.pending.clear(0);
    this.data.clear(0);
    this.value.clear(0);
  }

  private fail(e: SseError, at: i64): bool {
    this.error = e;
    this.errorOffset = at;
    return false;
  }
}

const EMPTY = new Uint8Array(0);
const NO_ITEMS = new Array<SseItem>(0);
