// What SseParser reports: the stream cut into items whose raw bytes, concatenated, are the stream
// itself. A filter passes an untouched item on as its raw bytes (byte-exact) and re-encodes only
// the events it changes (encodeSseEvent, in the item's own line-end style).
import { decodeUtf8 } from "../util/utf8";

export enum SseItemKind {
  /** Lines ended by a blank line, with at least one `data` line: what a browser dispatches. */
  Event,
  /**
   * Lines ended by a blank line without any `data` line (a lone blank line, or only `event`, `id`,
   * `retry`, unknown fields and comments): not dispatched, though its `id` and `retry` apply.
   */
  NoData,
  /** A comment line (`:` first) before any field of its event: keep-alives such as `: ping`. */
  Comment,
  /**
   * From finish(): the bytes after the last blank line, which a browser discards; its fields are
   * read as a lenient client would, the unterminated last line included.
   */
  Incomplete,
  /** After a limit was broken: the rest of the stream from the start of the item in progress, unread. */
  Unparsed,
}

/** How the item's last line ended; re-encode a changed event with the same, so neighbours read alike. */
export enum SseLineEnd {
  Lf,
  CrLf,
  Cr,
}

export class SseItem {
  kind: SseItemKind = SseItemKind.Event;
  /** Offset of the item's first byte in the whole stream. */
  start: i64 = 0;
  /** Offset just past its last byte (its line end included). */
  end: i64 = 0;
  /** The stream's bytes [start, end): a BOM, comments, unknown fields and line ends as sent. */
  raw: Uint8Array = new Uint8Array(0);
  lineEnd: SseLineEnd = SseLineEnd.Lf;
  /** The last `event` field ("" when none, or empty: a browser reads "message"). */
  event: string = "";
  /** The `data` lines' values (UTF-8 as sent) joined by LF; dataLines counts them. */
  data: Uint8Array = new Uint8Array(0);
  dataLines: i32 = 0;
  /** An `id` field without NUL was given; `id` is the last such (it may be "": it resets the last event ID). */
  hasId: bool = false;
  id: string = "";
  /** The digits of the last `retry` field made only of ASCII digits ("" when none). */
  retry: string = "";

  /** The data as a browser reads it: UTF-8 decoded, each ill-formed sequence one U+FFFD. */
  dataText(): string {
    return decodeUtf8(this.data);
  }
}
