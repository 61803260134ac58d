// Base64 decoding (RFC 4648) of untrusted text: the standard and the URL-safe alphabets, padding
// optional, ASCII whitespace ignored (MIME line breaks). Anything else, or a dangling single
// character, is not base64: null, never a trap.

function sextet(c: i32): i32 {
  if (c >= 0x41 && c <= 0x5a) return c - 0x41; // A-Z
  if (c >= 0x61 && c <= 0x7a) return c - 0x61 + 26; // a-z
  if (c >= 0x30 && c <= 0x39) return c - 0x30 + 52; // 0-9
  if (c == 0x2b || c == 0x2d) return 62; // + or -
  if (c == 0x2f || c == 0x5f) return 63; // / or _
  return -1;
}

function isSpace(c: i32): bool {
  return c == 0x20 || c == 0x0a || c == 0x0d || c == 0x09;
}

/** The bytes `text` encodes, or null when it is not base64. */
export function decodeBase64(text: string): Uint8Array | null {
  const n = text.length;
  const out = new Uint8Array(<i32>((<i64>n * 3) / 4) + 3);
  let acc: u32 = 0;
  let bits: i32 = 0;
  let used = 0;
  let padding = 0;
  let symbols = 0;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (isSpace(c)) continue;
    if (c == 0x3d) { // '=' only at the end
      padding++;
      if (padding > 2) return null;
      continue;
    }
    if (padding > 0) return null;
    const v = sextet(c);
    if (v < 0) return null;
    symbols++;
    acc = (acc << 6) | <u32>v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[used++] = <u8>((acc >> <u32>bits) & 0xff);
    }
  }
  if ((symbols & 3) == 1) return null;
  if (padding > 0 && ((symbols + padding) & 3) != 0) return null;
  return out.subarray(0, used);
}
