// JSON output: a string literal for any text, valid whatever it holds (lone surrogates are escaped).

/** A JSON string literal for any text. */
export function jsonString(s: string): string {
  let out = "\"";
  let start = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    let esc = "";
    if (c == 0x22) esc = "\\\"";
    else if (c == 0x5c) esc = "\\\\";
    else if (c == 0x0a) esc = "\\n";
    else if (c == 0x0d) esc = "\\r";
    else if (c == 0x09) esc = "\\t";
    else if (c < 0x20 || (c >= 0xd800 && c <= 0xdfff && !isPairedSurrogate(s, i))) esc = "\\u" + hex4(c);
    if (esc.length == 0) continue;
    out += s.substring(start, i) + esc;
    start = i + 1;
  }
  return out + s.substring(start) + "\"";
}

function isPairedSurrogate(s: string, i: i32): bool {
  const c = s.charCodeAt(i);
  if (c <= 0xdbff) return i + 1 < s.length && s.charCodeAt(i + 1) >= 0xdc00 && s.charCodeAt(i + 1) <= 0xdfff;
  return i > 0 && s.charCodeAt(i - 1) >= 0xd800 && s.charCodeAt(i - 1) <= 0xdbff;
}

function hex4(c: i32): string {
  const digits = "0123456789abcdef";
  let out = "";
  for (let shift = 12; shift >= 0; shift -= 4) out += digits.charAt((c >> shift) & 15);
  return out;
}
