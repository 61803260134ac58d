// UTF-8 (RFC 3629: no overlongs, no surrogates, nothing above U+10FFFF) for untrusted bytes:
// validity, to tell text files from binary ones when nothing else says which they are, and
// decoding that hides nothing (one U+FFFD per maximal ill-formed subpart).

/**
 * The length of the well-formed UTF-8 sequence at bytes[i] (1 to 4; RFC 3629: no overlongs, no
 * surrogates, nothing above U+10FFFF), or minus the length of its maximal ill-formed subpart (the
 * bytes one U+FFFD replaces, as the Encoding standard and Unicode's "substitution of maximal
 * subparts" do). Requires i < end <= bytes.length.
 */
function sequenceAt(bytes: Uint8Array, i: i32, end: i32): i32 {
  const c = <u32>unchecked(bytes[i]);
  if (c < 0x80) return 1;
  let need = 0;
  let lo: u32 = 0x80;
  let hi: u32 = 0xbf;
  if (c >= 0xc2 && c <= 0xdf) need = 1;
  else if (c >= 0xe0 && c <= 0xef) {
    need = 2;
    if (c == 0xe0) lo = 0xa0;
    else if (c == 0xed) hi = 0x9f;
  } else if (c >= 0xf0 && c <= 0xf4) {
    need = 3;
    if (c == 0xf0) lo = 0x90;
    else if (c == 0xf4) hi = 0x8f;
  } else return -1;
  for (let k = 1; k <= need; k++) {
    if (i + k >= end) return -k;
    const d = <u32>unchecked(bytes[i + k]);
    if (d < lo || d > hi) return -k;
    lo = 0x80;
    hi = 0xbf;
  }
  return need + 1;
}

/** True when bytes[from, to) is well-formed UTF-8 (to < 0: to the end). */
export function isUtf8(bytes: Uint8Array, from: i32 = 0, to: i32 = -1): bool {
  const end = to < 0 || to > bytes.length ? bytes.length : to;
  let i = from < 0 ? 0 : from;
  while (i < end) {
    const len = sequenceAt(bytes, i, end);
    if (len < 0) return false;
    i += len;
  }
  return true;
}

/**
 * bytes[from, to) (to < 0: to the end) as text: well-formed UTF-8 decoded, each maximal ill-formed
 * subpart replaced by one U+FFFD. Unlike String.UTF8.decode, an invalid lead byte never swallows
 * the ASCII that follows it, so text a provider decodes stays visible to the patterns.
 */
export function decodeUtf8(bytes: Uint8Array, from: i32 = 0, to: i32 = -1): string {
  const end = to < 0 || to > bytes.length ? bytes.length : to;
  const start = from < 0 ? 0 : from;
  if (start >= end) return "";
  // At most one UTF-16 unit per byte: 4-byte sequences make 2 units, a replacement eats >= 1 byte.
  const units = new Uint16Array(end - start);
  let used = 0;
  let i = start;
  while (i < end) {
    const len = sequenceAt(bytes, i, end);
    if (len == 1) {
      unchecked(units[used++] = <u16>unchecked(bytes[i]));
      i++;
      continue;
    }
    if (len < 0) {
      unchecked(units[used++] = 0xfffd);
      i += -len;
      continue;
    }
    const c = <u32>unchecked(bytes[i]);
    let cp: u32;
    if (len == 2) cp = ((c & 0x1f) << 6) | (<u32>unchecked(bytes[i + 1]) & 0x3f);
    else if (len == 3) cp = ((c & 0x0f) << 12) | ((<u32>unchecked(bytes[i + 1]) & 0x3f) << 6) | (<u32>unchecked(bytes[i + 2]) & 0x3f);
    else cp = ((c & 0x07) << 18) | ((<u32>unchecked(bytes[i + 1]) & 0x3f) << 12) | ((<u32>unchecked(bytes[i + 2]) & 0x3f) << 6) | (<u32>unchecked(bytes[i + 3]) & 0x3f);
    if (cp >= 0x10000) {
      const v = cp - 0x10000;
      unchecked(units[used++] = <u16>(0xd800 | (v >> 10)));
      unchecked(units[used++] = <u16>(0xdc00 | (v & 0x3ff)));
    } else {
      unchecked(units[used++] = <u16>cp);
    }
    i += len;
  }
  return String.UTF16.decodeUnsafe(units.dataStart, <usize>used << 1);
}
