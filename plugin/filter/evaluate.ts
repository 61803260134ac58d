// Decides what happens to a complete request body: forwarded, or refused with which reply. A body
// is read by its form: JSON (whatever the content type says, when it parses), then by its media
// type multipart/form-data, application/x-www-form-urlencoded, JSON Lines and other text. Anything
// else can't be inspected (on_uninspectable). Binary contents (uploaded files and inline images,
// audio, PDFs) are counted and follow binary_content.
import { parseJson, JsonLimits, JsonLimitExceeded, JsonKind, JsonValue } from "../json";
import { extractPromptText, PieceSink, TextPiece, Role } from "../inspect";
import { essence, isTextMediaType, isJsonMediaType, isJsonLinesMediaType } from "../inspect/media_type";
import { parseMultipart, multipartBoundary, MultipartLimits, MultipartPart, PartKind, partKind } from "../inspect/multipart";
import { parseUrlencoded } from "../inspect/urlencoded";
import { decodeUtf8, isUtf8 } from "../util/utf8";
import { Policy, Uninspectable, BinaryContent } from "../config/policy";
import {
  Refusal, invalidJson, invalidBody, jsonTooDeep, unsupportedBody, bodyTooLarge, binaryContentRefused,
} from "./replies";
import { BodyVerdict, judgePieces, inspectedPieces } from "./judge";
import { redactDocument } from "../redact/request";
import { PatternSet } from "../regex";
import { RequestMetrics } from "./metrics";

export { BodyVerdict } from "./judge";

const MULTIPART = "multipart/form-data";
const URLENCODED = "application/x-www-form-urlencoded";
/** Fields of a urlencoded body read at most: more is refused like a JSON body with too many values. */
const MAX_FORM_FIELDS: i32 = 10000;

/**
 * The verdict on a body. With `metrics`, counts what only this evaluation knows: binary contents
 * forwarded under binary_content: allow, and requests refused for binary content.
 */
export function evaluateBody(policy: Policy, body: Uint8Array, contentType: string, metrics: RequestMetrics | null = null): BodyVerdict {
  const text = readBody(policy, body, contentType);
  const verdict = judgeText(policy, text, metrics);
  verdict.model = text.model;
  verdict.document = text.document;
  return verdict;
}

export class Redaction {
  /** The body to forward instead; null when nothing was redacted. */
  body: Uint8Array | null = null;
  /** Text matching a redact pattern sits where it can't be rewritten: refuse the request. */
  refused: bool = false;
}

/**
 * redact_patterns on a body that passed `verdict`: the rewritten body, read again so what is
 * forwarded is checked, not what was meant to be written; its inspected pieces replace the
 * verdict's (the guard judges the text the provider will get).
 */
export function redactBody(policy: Policy, body: Uint8Array, contentType: string, verdict: BodyVerdict): Redaction {
  const set = policy.redact!;
  const result = new Redaction();
  const doc = verdict.document;
  const rewritten = doc != null ? redactDocument(set, policy.redactToken, doc, verdict.inspected) : null;
  if (rewritten == null) {
    result.refused = anyMatch(set, verdict.inspected);
    return result;
  }
  const again = readBody(policy, rewritten, contentType);
  const inspected = inspectedPieces(policy, again.pieces);
  if (again.verdict != null || anyMatch(set, inspected)) {
    result.refused = true;
    return result;
  }
  verdict.inspected = inspected;
  result.body = rewritten;
  return result;
}

function anyMatch(set: PatternSet, pieces: TextPiece[]): bool {
  for (let i = 0; i < pieces.length; i++) if (set.firstMatch(pieces[i].text) >= 0) return true;
  return false;
}

function judgeText(policy: Policy, text: BodyText, metrics: RequestMetrics | null): BodyVerdict {
  const ended = text.verdict;
  if (ended != null) return ended;
  const verdict = judgePieces(policy, text.pieces);
  if (verdict.refusal != null || text.binaryParts == 0) return verdict;
  if (policy.binaryContent == BinaryContent.Refuse) {
    if (metrics != null) metrics.count(metrics.refusedBinary);
    return refused(binaryContentRefused(), text.binaryParts.toString() + " binary content(s) in the body (binary_content: refuse)");
  }
  if (metrics != null) metrics.countBy(metrics.binaryPartsAllowed, text.binaryParts);
  return verdict;
}

/** What a body holds: its text pieces and its binary contents; or the verdict when reading ended it. */
class BodyText {
  pieces: TextPiece[] = [];
  binaryParts: i32 = 0;
  verdict: BodyVerdict | null = null;
  model: string = "";
  /** The body parsed as JSON, when it is JSON. */
  document: JsonValue | null = null;

  push(role: u32, text: string): void {
    if (text.length > 0) this.pieces.push(new TextPiece(role, text));
  }

  /** Ends the reading with `verdict`; returns false so readers can `return text.end(...)`. */
  end(verdict: BodyVerdict): bool {
    this.verdict = verdict;
    return false;
  }
}

function readBody(policy: Policy, body: Uint8Array, contentType: string): BodyText {
  const out = new BodyText();
  const limits = new JsonLimits();
  limits.maxDepth = policy.maxJsonDepth;
  const type = essence(contentType);
  const parsed = parseJson(body, limits);
  const doc = parsed.value;
  if (doc != null) {
    // A body that parses as JSON is JSON, whatever the content type says.
    const model = doc.last("model");
    if (model != null && model.kind == JsonKind.String) out.model = model.text;
    out.document = doc;
    const extraction = extractPromptText(doc, limits);
    out.pieces = extraction.pieces;
    out.binaryParts = extraction.binaryParts;
    // A form parser reads the same bytes as fields: what it would see is inspected too.
    if (type == URLENCODED) readUrlencoded(policy, body, out);
    return out;
  }
  // Resource bounds, not a format the policy could choose to pass: always refused.
  if (parsed.limitExceeded == JsonLimitExceeded.Depth) {
    out.end(refused(jsonTooDeep(policy.maxJsonDepth), "JSON nested too deep"));
    return out;
  }
  if (parsed.limitExceeded == JsonLimitExceeded.Nodes) {
    out.end(refused(bodyTooLarge(policy.maxBodyBytes), "JSON has too many values: " + parsed.error));
    return out;
  }
  if (type == MULTIPART) {
    readMultipart(policy, body, contentType, limits, out);
    return out;
  }
  if (type == URLENCODED) {
    readUrlencoded(policy, body, out);
    return out;
  }
  if (isJsonLinesMediaType(type)) {
    readContent(policy, body, Content.JsonLines, limits, out);
    return out;
  }
  // Other text, read as text (readContent). Text that starts like JSON but doesn't parse stays malformed JSON.
  if (isTextMediaType(type) && !isJsonMediaType(type) && !looksLikeJson(body, contentType)) {
    readContent(policy, body, Content.Text, limits, out);
    return out;
  }
  const refusal = looksLikeJson(body, contentType) ? invalidJson() : unsupportedBody();
  out.end(uninspectable(policy, body, refusal, "body is not valid JSON: " + parsed.error));
  return out;
}

/** Each field's name (`other`) and value (`user`). */
function readUrlencoded(policy: Policy, body: Uint8Array, out: BodyText): bool {
  const form = parseUrlencoded(body, MAX_FORM_FIELDS);
  if (form.tooMany) return out.end(refused(bodyTooLarge(policy.maxBodyBytes), "form body with more than " + MAX_FORM_FIELDS.toString() + " fields"));
  for (let i = 0; i < form.fields.length; i++) {
    out.push(Role.Other, form.fields[i].name);
    out.push(Role.User, form.fields[i].value);
  }
  return true;
}

function readMultipart(policy: Policy, body: Uint8Array, contentType: string, limits: JsonLimits, out: BodyText): bool {
  const boundary = multipartBoundary(contentType);
  if (boundary.length == 0) {
    const why = "multipart/form-data without a usable boundary parameter";
    return out.end(uninspectable(policy, body, invalidBody(why), why));
  }
  const bounds = new MultipartLimits();
  const form = parseMultipart(body, boundary, bounds, false);
  if (form.error.length > 0) {
    if (form.limitExceeded) return out.end(refused(bodyTooLarge(policy.maxBodyBytes), "multipart/form-data: " + form.error));
    return out.end(uninspectable(policy, body, invalidBody("multipart/form-data: " + form.error), "malformed multipart/form-data: " + form.error));
  }
  for (let i = 0; i < form.parts.length; i++) {
    if (!readPart(policy, form.parts[i], limits, out, true)) return false;
  }
  if (form.lenient) {
    // Some delimiter counts only for parsers that accept bare LFs or padding. A strict parser sees
    // fewer, longer parts (text split off here belongs to the part before): their text too is read.
    const strict = parseMultipart(body, boundary, bounds, true);
    if (strict.error.length == 0) {
      const counted = out.binaryParts; // binary contents were counted in the first reading
      for (let i = 0; i < strict.parts.length; i++) {
        if (!readPart(policy, strict.parts[i], limits, out, false)) return false;
      }
      out.binaryParts = counted;
    }
  }
  return true;
}

/** A part: its name and file names (`other`), its content, or one binary content counted. */
function readPart(policy: Policy, part: MultipartPart, limits: JsonLimits, out: BodyText, countBinary: bool): bool {
  out.push(Role.Other, part.name);
  out.push(Role.Other, part.filename);
  out.push(Role.Other, part.otherFilename);
  const kind = partKind(part);
  if (kind == PartKind.Binary) {
    if (countBinary) out.binaryParts++;
    return true;
  }
  if (kind == PartKind.JsonLines) return readContent(policy, part.bytes, Content.JsonLines, limits, out);
  if (kind == PartKind.Json) return readContent(policy, part.bytes, Content.Json, limits, out);
  return readContent(policy, part.bytes, Content.Text, limits, out);
}

/** What text content is declared to be. */
const enum Content { Text, Json, JsonLines }

/**
 * Text content: a text body, a text, JSON or JSON Lines file. What any reader could take from it is
 * read: the JSON document when the whole of it parses, else each line that parses (JSON Lines), each
 * read like a request; and the text as written, user text where it isn't JSON, `other` where it is
 * (escapes undecoded: what a model reading the file as text sees). JSON broken only by invalid UTF-8
 * is read too, with U+FFFD in place of the bad bytes, as lenient parsers read it. Content declared
 * JSON or JSON Lines that breaks the JSON bounds is refused like a JSON body; in text it is just text.
 */
function readContent(policy: Policy, bytes: Uint8Array, declared: Content, limits: JsonLimits, out: BodyText): bool {
  if (declared != Content.JsonLines) {
    const whole = readJson(bytes, limits);
    if (declared == Content.Json && !jsonWithinBounds(policy, whole.exceeded, out)) return false;
    const doc = whole.doc;
    if (doc != null) readJsonDocument(doc, limits, out);
    out.push(whole.strict ? Role.Other : Role.User, decodeUtf8(bytes));
    if (doc == null) readLines(policy, bytes, false, limits, out);
    return true;
  }
  const lines = readLines(policy, bytes, true, limits, out);
  if (lines == Lines.Refused) return false;
  out.push(Role.Other, decodeUtf8(bytes));
  if (lines == Lines.NotAllJson) {
    // Some line isn't JSON: the whole may be one JSON document split over lines.
    const whole = readJson(bytes, limits);
    const doc = whole.doc;
    if (doc != null) readJsonDocument(doc, limits, out);
  }
  return true;
}

const enum Lines { AllJson, NotAllJson, Refused }

/**
 * Each line that parses as JSON read as a JSON document. With `asText`, lines that don't are user
 * text and the bounds are enforced (Refused: out.verdict is set).
 */
function readLines(policy: Policy, bytes: Uint8Array, asText: bool, limits: JsonLimits, out: BodyText): Lines {
  const n = bytes.length;
  let all = true;
  let start = 0;
  for (let i = 0; i <= n; i++) {
    if (i < n && unchecked(bytes[i]) != 0x0a) continue;
    let end = i;
    if (end > start && bytes[end - 1] == 0x0d) end--;
    if (!isBlank(bytes, start, end)) {
      const line = bytes.subarray(start, end);
      const r = readJson(line, limits);
      if (asText && !jsonWithinBounds(policy, r.exceeded, out)) return Lines.Refused;
      const doc = r.doc;
      if (doc != null) readJsonDocument(doc, limits, out);
      if (asText && !r.strict) out.push(Role.User, decodeUtf8(line));
      if (!r.strict) all = false;
    }
    start = i + 1;
  }
  return all ? Lines.AllJson : Lines.NotAllJson;
}

class JsonReading {
  doc: JsonValue | null = null;
  /** Parsed as it is, not after repairing invalid UTF-8. */
  strict: bool = false;
  exceeded: JsonLimitExceeded = JsonLimitExceeded.None;
}

/**
 * `bytes` as JSON: strictly, or, when they aren't UTF-8, with U+FFFD in place of the bad bytes. Only
 * text that starts an object, an array or a string is tried: other JSON holds no text.
 */
function readJson(bytes: Uint8Array, limits: JsonLimits): JsonReading {
  const r = new JsonReading();
  let i = 0;
  while (i < bytes.length && (bytes[i] == 0x20 || bytes[i] == 0x09 || bytes[i] == 0x0a || bytes[i] == 0x0d)) i++;
  if (i >= bytes.length || (bytes[i] != 0x7b && bytes[i] != 0x5b && bytes[i] != 0x22)) return r;
  const parsed = parseJson(bytes, limits);
  if (parsed.value != null) {
    r.doc = parsed.value;
    r.strict = true;
    return r;
  }
  r.exceeded = parsed.limitExceeded;
  if (r.exceeded != JsonLimitExceeded.None || isUtf8(bytes)) return r;
  const repaired = parseJson(Uint8Array.wrap(String.UTF8.encode(decodeUtf8(bytes))), limits);
  r.doc = repaired.value;
  r.exceeded = repaired.limitExceeded;
  return r;
}

/**
 * A JSON document in a file or a line. An OpenAI batch line `{custom_id, method, url, body}` has its
 * `body` read as the request it is (roles apply) and its other strings and member names as `other`;
 * anything else is read as a request body.
 */
function readJsonDocument(doc: JsonValue, limits: JsonLimits, out: BodyText): void {
  if (!isBatchLine(doc)) {
    readExtraction(doc, limits, out);
    return;
  }
  const n = doc.memberCount();
  for (let i = 0; i < n; i++) {
    const key = doc.key(i);
    const value = doc.value(i);
    out.push(Role.Other, key);
    if (key == "body" && value.kind == JsonKind.Object) readExtraction(value, limits, out);
    else otherText(value, out);
  }
}

function readExtraction(doc: JsonValue, limits: JsonLimits, out: BodyText): void {
  const extraction = extractPromptText(doc, limits);
  for (let i = 0; i < extraction.pieces.length; i++) {
    const piece = extraction.pieces[i];
    piece.nodes = null; // from a document inside the body (a file, a line): not the body's own values
    out.pieces.push(piece);
  }
  out.binaryParts += extraction.binaryParts;
}

function isBatchLine(doc: JsonValue): bool {
  if (doc.kind != JsonKind.Object) return false;
  let body = false;
  let batch = false;
  for (let i = 0; i < doc.memberCount(); i++) {
    const key = doc.key(i);
    if (key == "body" && doc.value(i).kind == JsonKind.Object) body = true;
    else if (key == "custom_id" || key == "url" || key == "method") batch = true;
  }
  return body && batch;
}

/** Every string value and member name inside `v`, as `other`. */
function otherText(v: JsonValue, out: BodyText): void {
  const sink = new PieceSink();
  sink.walkStrings(v, Role.Other);
  for (let i = 0; i < sink.pieces.length; i++) out.pieces.push(sink.pieces[i]);
}

/** JSON inside a body breaking the bounds is refused like a JSON body would be; true when it didn't. */
function jsonWithinBounds(policy: Policy, exceeded: JsonLimitExceeded, out: BodyText): bool {
  if (exceeded == JsonLimitExceeded.Depth) return out.end(refused(jsonTooDeep(policy.maxJsonDepth), "JSON in the body nested too deep"));
  if (exceeded == JsonLimitExceeded.Nodes) return out.end(refused(bodyTooLarge(policy.maxBodyBytes), "JSON in the body has too many values"));
  return true;
}

function isBlank(bytes: Uint8Array, from: i32, to: i32): bool {
  for (let i = from; i < to; i++) {
    const c = bytes[i];
    if (c != 0x20 && c != 0x09 && c != 0x0d) return false;
  }
  return true;
}

function refused(refusal: Refusal, reason: string): BodyVerdict {
  const v = new BodyVerdict();
  v.refusal = refusal;
  v.reason = reason;
  return v;
}

function uninspectable(policy: Policy, body: Uint8Array, refusal: Refusal, reason: string): BodyVerdict {
  if (policy.onUninspectable == Uninspectable.Allow) {
    const v = new BodyVerdict();
    v.passedUninspected = true;
    v.reason = reason;
    return v;
  }
  if (policy.onUninspectable == Uninspectable.ScanRaw) {
    const pieces: TextPiece[] = [new TextPiece(Role.User, decodeUtf8(body))];
    const v = judgePieces(policy, pieces);
    if (v.refusal != null) v.reason += " (raw scan: " + reason + ")";
    return v;
  }
  return refused(refusal, reason);
}

function looksLikeJson(body: Uint8Array, contentType: string): bool {
  const ct = contentType.toLowerCase();
  if (ct.startsWith("application/json") || ct.includes("+json")) return true;
  for (let i = 0; i < body.length; i++) {
    const c = body[i];
    if (c == 0x20 || c == 0x09 || c == 0x0a || c == 0x0d) continue;
    return c == 0x7b || c == 0x5b;
  }
  return false;
}
