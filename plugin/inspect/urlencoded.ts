// application/x-www-form-urlencoded bodies, decoded the way the WHATWG URL standard's parser does
// (what browsers, Node's URLSearchParams and most servers do): fields split on `&`, the name up to the
// first `=`, `+` as a space, `%XX` as a byte, an invalid escape kept as written, then the bytes as
// UTF-8 with U+FFFD for what isn't. Linear, bounded, never traps: errors are values.
import { decodeUtf8 } from "../util/utf8";
import { hexDigitValue } from "../util/hex";

export class FormField {
  constructor(public readonly name: string, public readonly value: string) {}
}

export class FormResult {
  fields: FormField[] = [];
  /** More fields than the limit: `fields` holds the first ones only. */
  tooMany: bool = false;
}

/** Decodes every field of a urlencoded body; stops (tooMany) after `maxFields` fields. */
export function parseUrlencoded(body: Uint8Array, maxFields: i32): FormResult {
  const out = new FormResult();
  const n = body.length;
  // One scratch buffer for every name and value: decoding never lengthens a sequence.
  const scratch = new Uint8Array(n);
  let start = 0;
  while (start <= n) {
    let end = start;
    while (end < n && unchecked(body[end]) != 0x26) end++; // '&'
    if (end > start) {
      if (out.fields.length >= maxFields) {
        out.tooMany = true;
        return out;
      }
      let eq = start;
      while (eq < end && unchecked(body[eq]) != 0x3d) eq++; // '='
      const name = percentDecode(body, start, eq, scratch);
      const value = eq < end ? percentDecode(body, eq + 1, end, scratch) : "";
      out.fields.push(new FormField(name, value));
    }
    start = end + 1;
  }
  return out;
}

/** body[from, to) with `+` as space and `%XX` as a byte (invalid escapes kept), as UTF-8 text. */
function percentDecode(body: Uint8Array, from: i32, to: i32, scratch: Uint8Array): string {
  let used = 0;
  let i = from;
  while (i < to) {
    const c = <i32>unchecked(body[i]);
    if (c == 0x2b) { // '+'
      unchecked(scratch[used++] = 0x20);
      i++;
    } else if (c == 0x25 && i + 2 < to && hexDigitValue(<i32>unchecked(body[i + 1])) >= 0 && hexDigitValue(<i32>unchecked(body[i + 2])) >= 0) {
      unchecked(scratch[used++] = <u8>((hexDigitValue(<i32>unchecked(body[i + 1])) << 4) | hexDigitValue(<i32>unchecked(body[i + 2]))));
      i += 3;
    } else {
      unchecked(scratch[used++] = <u8>c);
      i++;
    }
  }
  return decodeUtf8(scratch, 0, used);
}
