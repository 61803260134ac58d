// multipart/form-data bodies (RFC 7578 on RFC 2046's multipart syntax): the parts between the
// boundary delimiters, each with its Content-Disposition name and filename (filename* too) and its
// Content-Type; the content is a view into the body, never a copy. Delimiter lines end in CRLF or a
// bare LF; the preamble and the epilogue are ignored. What isn't well-formed multipart is an error
// value, never a guess: a line that starts like a delimiter but isn't one, a missing close delimiter,
// a part without `Content-Disposition: form-data`, duplicated headers or parameters, a
// Content-Transfer-Encoding that would hide the content. Bounded (parts, header bytes and lines),
// linear in the body, never traps.
import { decodeUtf8, isUtf8 } from "../util/utf8";
import { hexDigitValue } from "../util/hex";
import {
  essence, isTextMediaType, isJsonMediaType, isJsonLinesMediaType, isTextFileName, isJsonLinesFileName, isJsonFileName,
} from "./media_type";
import { trimmed } from "../util/trim";

export class MultipartLimits {
  maxParts: i32 = 1000;
  /** Bytes of one part's header section. */
  maxHeaderBytes: i32 = 16384;
  /** Header lines of one part (folded continuation lines included). */
  maxHeaderLines: i32 = 64;
}

export class MultipartPart {
  /** Content-Disposition's `name` ("" when absent). */
  name: string = "";
  /** A non-empty `filename` or `filename*` was given: a file, not a field. */
  hasFilename: bool = false;
  /** `filename*` (RFC 5987, decoded) when given and not empty, else `filename`. */
  filename: string = "";
  /** `filename` when `filename*` is the one in `filename` ("" otherwise): parsers differ on which they use. */
  otherFilename: string = "";
  /** The Content-Type header as sent ("" when absent). */
  contentType: string = "";
  /** The content: a subarray of the body. */
  bytes: Uint8Array = new Uint8Array(0);
}

export class MultipartResult {
  parts: MultipartPart[] = [];
  /** "" when the body is well-formed; otherwise why not (fixed text and offsets, no content). */
  error: string = "";
  /** The error is a bound (parts, header size), not bad syntax. */
  limitExceeded: bool = false;
  /**
   * Some delimiter is one only to lenient parsers: a bare LF before or after it, or padding after
   * it. Parsers that want CRLF on both sides split such a body differently.
   */
  lenient: bool = false;
}

/** The `boundary` parameter of a multipart content type, quoted or not; "" when absent or unusable. */
export function multipartBoundary(contentType: string): string {
  const semi = contentType.indexOf(";");
  if (semi < 0) return "";
  const params = parseParams(contentType, semi);
  if (params == null) return "";
  let boundary = "";
  let seen = 0;
  for (let i = 0; i < params.length; i++) {
    if (params[i].name == "boundary") {
      boundary = params[i].value;
      seen++;
    }
  }
  // RFC 2046: 1 to 70 characters, not ending in a space. Longer ones are tolerated (some clients),
  // but only printable ASCII: the boundary is matched byte for byte.
  if (seen != 1 || boundary.length == 0 || boundary.length > 200) return "";
  for (let i = 0; i < boundary.length; i++) {
    const c = boundary.charCodeAt(i);
    if (c < 0x20 || c > 0x7e) return "";
  }
  if (boundary.charCodeAt(boundary.length - 1) == 0x20) return "";
  return boundary;
}

/**
 * The parts of `body`. With `strictCrlf` only delimiter lines with CRLF before and after and no
 * padding count (how parsers that accept nothing else see the body).
 */
export function parseMultipart(body: Uint8Array, boundary: string, limits: MultipartLimits, strictCrlf: bool = false): MultipartResult {
  const out = new MultipartResult();
  const dash = Uint8Array.wrap(String.UTF8.encode("--" + boundary));
  const n = body.length;
  // The first delimiter: at the start of the body or of a line of the preamble.
  let p = findDelimiter(body, 0, dash, strictCrlf, true);
  if (p < 0) return fail(out, "no boundary delimiter");
  while (true) {
    let q = p + dash.length;
    if (q + 1 < n && body[q] == 0x2d && body[q + 1] == 0x2d) return out; // close delimiter; the rest is epilogue
    const padStart = q;
    while (q < n && (body[q] == 0x20 || body[q] == 0x09)) q++; // transport padding
    if (q > padStart) out.lenient = true;
    if (q < n && body[q] == 0x0d) q++;
    else out.lenient = true;
    if (q >= n) return fail(out, "no close delimiter");
    if (body[q] != 0x0a) {
      return fail(out, "a line at byte " + p.toString() + " starts like a delimiter but is none");
    }
    q++;
    if (out.parts.length >= limits.maxParts) {
      out.limitExceeded = true;
      return fail(out, "more than " + limits.maxParts.toString() + " parts");
    }
    const part = new MultipartPart();
    const contentStart = readHeaders(body, q, part, limits, out);
    if (contentStart < 0) return out;
    const next = findDelimiter(body, contentStart, dash, strictCrlf, false);
    if (next < 0) return fail(out, "no close delimiter");
    let contentEnd = next - 1; // the LF ending the content's last line belongs to the delimiter
    if (contentEnd > contentStart && body[contentEnd - 1] == 0x0d) contentEnd--;
    else if (next - 1 >= contentStart) out.lenient = true;
    if (contentEnd < contentStart) contentEnd = contentStart; // the blank line's LF shared with the delimiter
    part.bytes = body.subarray(contentStart, contentEnd);
    out.parts.push(part);
    p = next;
  }
  return out; // unreachable
}

function fail(out: MultipartResult, why: string): MultipartResult {
  out.error = why;
  return out;
}

/**
 * The first line start at or after `from` where the line begins with `dash`: `from` itself counts
 * when it is the body's start (`atStart`) or follows an LF. With `strictCrlf` a line start must follow
 * CRLF (or be the body's start) and `dash` be followed by `--` or CRLF. -1 when there is none.
 * Linear: a comparison never passes the line's end, as `dash` holds no LF.
 */
function findDelimiter(body: Uint8Array, from: i32, dash: Uint8Array, strictCrlf: bool, atStart: bool): i32 {
  const n = body.length;
  const m = dash.length;
  let i = from;
  while (i < n) {
    const lineStart = i == 0 ? atStart : body[i - 1] == 0x0a && (!strictCrlf || (i >= 2 && body[i - 2] == 0x0d));
    if (lineStart && i + m <= n) {
      let k = 0;
      while (k < m && unchecked(body[i + k]) == unchecked(dash[k])) k++;
      // Strict parsers take only `--boundary` then `--` or CRLF; anything else is content to them.
      if (k == m && (!strictCrlf || (i + m + 1 < n && ((body[i + m] == 0x2d && body[i + m + 1] == 0x2d) || (body[i + m] == 0x0d && body[i + m + 1] == 0x0a))))) return i;
    }
    // On to the next line.
    while (i < n && unchecked(body[i]) != 0x0a) i++;
    i++;
  }
  return -1;
}

/**
 * Reads a part's header section from `at` up to and including its blank line into `part`. Returns
 * where the content starts, or -1 with `out.error` set.
 */
function readHeaders(body: Uint8Array, at: i32, part: MultipartPart, limits: MultipartLimits, out: MultipartResult): i32 {
  const n = body.length;
  let i = at;
  let lines = 0;
  let disposition: string | null = null;
  let contentType: string | null = null;
  let encoding: string | null = null;
  // The header being read (folded lines appended); "" when none yet.
  let current = "";
  while (true) {
    let e = i;
    while (e < n && unchecked(body[e]) != 0x0a) e++;
    if (e - at > limits.maxHeaderBytes) {
      out.limitExceeded = true;
      fail(out, "a part's headers are over " + limits.maxHeaderBytes.toString() + " bytes");
      return -1;
    }
    if (e >= n) {
      fail(out, "a part's headers have no end");
      return -1;
    }
    let lineEnd = e;
    if (lineEnd > i && body[lineEnd - 1] == 0x0d) lineEnd--;
    const blank = lineEnd == i;
    const folded = !blank && (body[i] == 0x20 || body[i] == 0x09);
    if (!folded && current.length > 0) {
      // The previous header is complete.
      const colon = current.indexOf(":");
      const name = trimmed(current.substring(0, colon)).toLowerCase();
      const value = trimmed(current.substring(colon + 1));
      if (name == "content-disposition") {
        if (disposition != null) return headerError(out, "two Content-Disposition headers in a part");
        disposition = value;
      } else if (name == "content-type") {
        if (contentType != null) return headerError(out, "two Content-Type headers in a part");
        contentType = value;
      } else if (name == "content-transfer-encoding") {
        if (encoding != null) return headerError(out, "two Content-Transfer-Encoding headers in a part");
        encoding = value;
      }
      current = "";
    }
    if (blank) {
      i = e + 1;
      break;
    }
    if (++lines > limits.maxHeaderLines) {
      out.limitExceeded = true;
      fail(out, "a part has more than " + limits.maxHeaderLines.toString() + " header lines");
      return -1;
    }
    const text = decodeUtf8(body, i, lineEnd);
    if (folded) {
      if (current.length == 0) return headerError(out, "a part's headers start with a continuation line");
      current += " " + trimmed(text);
    } else {
      if (text.indexOf(":") <= 0) return headerError(out, "a part header without a name and a colon");
      current = text;
    }
    i = e + 1;
  }
  if (disposition == null) return headerError(out, "a part without Content-Disposition");
  if (!readDisposition(disposition, part)) return headerError(out, "a part whose Content-Disposition is not form-data with well-formed parameters");
  if (contentType != null) part.contentType = contentType;
  if (encoding != null) {
    const enc = encoding.toLowerCase();
    if (enc != "7bit" && enc != "8bit" && enc != "binary") return headerError(out, "a part with a Content-Transfer-Encoding other than 7bit, 8bit or binary");
  }
  return i;
}

function headerError(out: MultipartResult, why: string): i32 {
  fail(out, why);
  return -1;
}

/** `form-data; name="x"; filename="y"` into `part`; false when it isn't form-data or is malformed. */
function readDisposition(value: string, part: MultipartPart): bool {
  const semi = value.indexOf(";");
  const kind = trimmed((semi >= 0 ? value.substring(0, semi) : value)).toLowerCase();
  if (kind != "form-data") return false;
  if (semi < 0) return true;
  const params = parseParams(value, semi);
  if (params == null) return false;
  let name = 0;
  let filename = 0;
  let filenameStar = 0;
  let plain = "";
  let extended = "";
  for (let i = 0; i < params.length; i++) {
    const p = params[i];
    if (p.name == "name") {
      name++;
      part.name = p.value;
    } else if (p.name == "filename") {
      filename++;
      plain = p.value;
    } else if (p.name == "filename*") {
      filenameStar++;
      const decoded = decodeExtValue(p.value);
      if (decoded == null) return false;
      extended = decoded;
    }
  }
  if (name > 1 || filename > 1 || filenameStar > 1) return false;
  // Parsers differ on which of the two they use: both are kept, and either one saying text is enough.
  part.filename = extended.length > 0 ? extended : plain;
  part.otherFilename = extended.length > 0 ? plain : "";
  part.hasFilename = part.filename.length > 0;
  return true;
}

class Param {
  constructor(public readonly name: string, public readonly value: string) {}
}

/**
 * `; name=value` parameters from `value` at `from` (a `;`): names lower-cased, values a token or a
 * quoted string (`\"` and `\\` unescaped, any other backslash kept). null when malformed.
 */
function parseParams(value: string, from: i32): Param[] | null {
  const out: Param[] = [];
  const n = value.length;
  let i = from;
  while (i < n) {
    const c = value.charCodeAt(i);
    if (c == 0x3b || c == 0x20 || c == 0x09) { // ';' and whitespace between parameters
      i++;
      continue;
    }
    let e = i;
    while (e < n && value.charCodeAt(e) != 0x3d && value.charCodeAt(e) != 0x3b) e++;
    if (e >= n || value.charCodeAt(e) != 0x3d) return null; // a parameter without '='
    const name = trimmed(value.substring(i, e)).toLowerCase();
    if (name.length == 0) return null;
    i = e + 1;
    while (i < n && (value.charCodeAt(i) == 0x20 || value.charCodeAt(i) == 0x09)) i++;
    if (i < n && value.charCodeAt(i) == 0x22) {
      let text = "";
      let runStart = ++i;
      let closed = false;
      while (i < n) {
        const d = value.charCodeAt(i);
        if (d == 0x22) {
          closed = true;
          break;
        }
        if (d == 0x5c && i + 1 < n && (value.charCodeAt(i + 1) == 0x22 || value.charCodeAt(i + 1) == 0x5c)) {
          text += value.substring(runStart, i);
          runStart = i + 1; // keep the escaped character
          i += 2;
          continue;
        }
        i++;
      }
      if (!closed) return null;
      text += value.substring(runStart, i);
      i++;
      while (i < n && (value.charCodeAt(i) == 0x20 || value.charCodeAt(i) == 0x09)) i++;
      if (i < n && value.charCodeAt(i) != 0x3b) return null; // text after the closing quote
      out.push(new Param(name, text));
    } else {
      let t = i;
      while (t < n && value.charCodeAt(t) != 0x3b) t++;
      out.push(new Param(name, trimmed(value.substring(i, t))));
      i = t;
    }
  }
  return out;
}

/** RFC 5987 `charset'lang'percent-encoded` (UTF-8 or ISO-8859-1); null when malformed. */
function decodeExtValue(v: string): string | null {
  const q1 = v.indexOf("'");
  if (q1 < 0) return null;
  const q2 = v.indexOf("'", q1 + 1);
  if (q2 < 0) return null;
  const charset = v.substring(0, q1).toLowerCase();
  const latin1 = charset == "iso-8859-1" || charset == "latin1";
  if (!latin1 && charset != "utf-8" && charset != "utf8" && charset != "") return null;
  const raw = v.substring(q2 + 1);
  const bytes = new Uint8Array(raw.length);
  let used = 0;
  for (let i = 0; i < raw.length; i++) {
    const c = raw.charCodeAt(i);
    if (c == 0x25 && i + 2 < raw.length && hexDigitValue(raw.charCodeAt(i + 1)) >= 0 && hexDigitValue(raw.charCodeAt(i + 2)) >= 0) {
      bytes[used++] = <u8>((hexDigitValue(raw.charCodeAt(i + 1)) << 4) | hexDigitValue(raw.charCodeAt(i + 2)));
      i += 2;
    } else if (c < 0x80) {
      bytes[used++] = <u8>c;
    } else {
      return null; // attr-chars are ASCII
    }
  }
  if (!latin1) return decodeUtf8(bytes, 0, used);
  let s = "";
  for (let i = 0; i < used; i++) s += String.fromCharCode(bytes[i]);
  return s;
}

/** What a part's content is, for inspection. */
export enum PartKind {
  /** Text a model reads: a field, or a text file. */
  Text,
  /** A JSON document (a .json file, a JSON media type). */
  Json,
  /** JSON Lines (a .jsonl file, a JSON Lines media type): each line a JSON document. */
  JsonLines,
  /** Not text: images, audio, PDFs, archives, octet-streams that aren't UTF-8. */
  Binary,
}

/** `type/subtype`, both RFC 9110 tokens. */
function isMediaType(e: string): bool {
  const slash = e.indexOf("/");
  if (slash <= 0 || slash == e.length - 1) return false;
  for (let i = 0; i < e.length; i++) {
    if (i == slash) continue;
    const c = e.charCodeAt(i);
    const alnum = (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);
    if (!alnum && "!#$%&'*+-.^_`|~".indexOf(String.fromCharCode(c)) < 0) return false;
  }
  return true;
}

/**
 * A field (no filename) is text, whatever its Content-Type says, as form parsers hand it over as a
 * string. A file is text when its media type or its file name's extension says text, when it has no
 * Content-Type at all (the Fetch standard's multipart parser, which undici, Deno and Workers use, then
 * says text/plain), or when it is application/octet-stream (or not a media type at all) and its bytes
 * are valid UTF-8; otherwise binary.
 */
export function partKind(part: MultipartPart): PartKind {
  const type = essence(part.contentType);
  const file = part.filename;
  const other = part.otherFilename;
  if (isJsonLinesMediaType(type) || isJsonLinesFileName(file) || isJsonLinesFileName(other)) return PartKind.JsonLines;
  if (isJsonMediaType(type) || isJsonFileName(file) || isJsonFileName(other)) return PartKind.Json;
  if (!part.hasFilename) return PartKind.Text;
  if (isTextMediaType(type) || isTextFileName(file) || isTextFileName(other)) return PartKind.Text;
  if (trimmed(part.contentType).length == 0) return PartKind.Text;
  // A Content-Type that isn't a media type at all says nothing: read like application/octet-stream.
  if ((type == "application/octet-stream" || !isMediaType(type)) && isUtf8(part.bytes)) return PartKind.Text;
  return PartKind.Binary;
}
