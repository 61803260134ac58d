// One event as Server-Sent Events bytes, for a filter that changed an event's data: `event`, `id`,
// `retry` lines, then one `data` line per line of the data (split on CRLF, LF and CR alike, the only
// way a line end can travel in a value), then the blank line that ends it. Read back by any
// compliant parser, it gives the same fields.
import { ByteBuffer } from "./byte_buffer";
import { SseItem, SseLineEnd } from "./item";

export class SseEventFields {
  /** "" writes no `event` line (a browser reads "message"). */
  event: string = "";
  data: string = "";
  /** Writes an `id` line, even for an empty id (which resets a client's last event ID). */
  hasId: bool = false;
  id: string = "";
  /** Written only when it is ASCII digits. */
  retry: string = "";

  /** The fields of a parsed event, data decoded: change what you need and encode. */
  static of(item: SseItem): SseEventFields {
    const f = new SseEventFields();
    f.event = item.event;
    f.data = item.dataText();
    f.hasId = item.hasId;
    f.id = item.id;
    f.retry = item.retry;
    return f;
  }
}

const LF: u8 = 0x0a;
const CR: u8 = 0x0d;

/** The event's bytes (UTF-8; a lone surrogate becomes U+FFFD), lines ended with `lineEnd`. */
export function encodeSseEvent(fields: SseEventFields, lineEnd: SseLineEnd = SseLineEnd.Lf): Uint8Array {
  const out = new ByteBuffer(i32.MAX_VALUE);
  const eol = lineEndBytes(lineEnd);
  if (fields.event.length > 0) writeLine(out, "event", utf8(fields.event), eol);
  if (fields.hasId) writeLine(out, "id", utf8(fields.id), eol);
  if (isDigits(fields.retry)) writeLine(out, "retry", utf8(fields.retry), eol);
  const data = utf8(fields.data);
  let from = 0;
  let i = 0;
  const n = data.length;
  while (i < n) {
    const c = unchecked(data[i]);
    if (c != LF && c != CR) {
      i++;
      continue;
    }
    writeLine(out, "data", data.subarray(from, i), eol);
    i += c == CR && i + 1 < n && unchecked(data[i + 1]) == LF ? 2 : 1;
    from = i;
  }
  writeLine(out, "data", data.subarray(from, n), eol);
  out.append(eol, 0, eol.length);
  return out.toBytes();
}

/**
 * `name: value`; CR and LF left out of the value, since they would end the line (data never has
 * any: it is split first).
 */
function writeLine(out: ByteBuffer, name: string, value: Uint8Array, eol: Uint8Array): void {
  const n = utf8(name);
  out.append(n, 0, n.length);
  out.push(0x3a);
  if (value.length > 0) out.push(0x20);
  let from = 0;
  for (let i = 0; i < value.length; i++) {
    const c = unchecked(value[i]);
    if (c != LF && c != CR) continue;
    out.append(value, from, i);
    from = i + 1;
  }
  out.append(value, from, value.length);
  out.append(eol, 0, eol.length);
}

function utf8(s: string): Uint8Array {
  return Uint8Array.wrap(String.UTF8.encode(s, false, String.UTF8.ErrorMode.REPLACE));
}

function isDigits(s: string): bool {
  if (s.length == 0) return false;
  for (let i = 0; i < s.length; i++) {
    if (<u32>s.charCodeAt(i) - 0x30 >= 10) return false;
  }
  return true;
}

const EOL_LF = utf8("\n");
const EOL_CRLF = utf8("\r\n");
const EOL_CR = utf8("\r");

function lineEndBytes(e: SseLineEnd): Uint8Array {
  return e == SseLineEnd.CrLf ? EOL_CRLF : e == SseLineEnd.Cr ? EOL_CR : EOL_LF;
}
