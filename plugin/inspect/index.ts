// Prompt-text extraction: every string value and every member name of a request body, each with
// the role that speaks it where the body's shape says (shapes.ts), and `other` where nothing does.
// Knowing a shape adds roles (for inspect_roles, allow patterns and the guard); it never narrows
// what the deny patterns see. No recursion on attacker-controlled depth beyond explicit bounds;
// no exceptions; every walk is linear in the body.
import { JsonKind, JsonLimits, JsonValue, parseJsonText } from "../json/index";
import { Role } from "./roles";
import { Extraction, PieceSink } from "./pieces";
import { ShapeWalker, isTopLevelKey } from "./shapes";

export { Role, roleFlag, roleName, ROLE_NAMES } from "./roles";
export { TextPiece, Extraction, PieceSink } from "./pieces";

/**
 * Extracts every piece of text from a parsed request body. `limits` bound the parse of JSON found
 * inside strings (tool-call arguments, inline JSON documents).
 */
export function extractPromptText(doc: JsonValue, limits: JsonLimits = new JsonLimits()): Extraction {
  const sink = new PieceSink();
  const recognized = hasKnownShape(doc);
  if (recognized) new ShapeWalker(sink, limits).topLevel(doc);
  else sink.walkStrings(doc, Role.User); // an unknown shape: its strings are user text
  inspectUnclaimed(sink, doc, limits);
  const result = new Extraction();
  result.pieces = sink.pieces;
  result.recognized = recognized;
  result.binaryParts = sink.binaryParts;
  return result;
}

function hasKnownShape(doc: JsonValue): bool {
  if (doc.kind != JsonKind.Object) return false;
  for (let i = 0; i < doc.memberCount(); i++) if (isTopLevelKey(doc.key(i))) return true;
  return false;
}

/**
 * The last pass: every string value and member name no shape claimed, as `other` (once per distinct
 * text). A string that is itself JSON (arguments-like fields the shapes don't know) is decoded once
 * and its strings and member names inspected too, so JSON escapes hide nothing.
 */
function inspectUnclaimed(sink: PieceSink, doc: JsonValue, limits: JsonLimits): void {
  const stack = new Array<JsonValue>();
  const decodeJson = new Array<bool>();
  stack.push(doc);
  decodeJson.push(true);
  while (stack.length > 0) {
    const x = stack.pop();
    const decode = decodeJson.pop();
    if (x.kind == JsonKind.String) {
      if (sink.isClaimed(x)) continue;
      sink.emitOther(x.text, x);
      if (!decode || !looksLikeJson(x.text)) continue;
      const inner = parseJsonText(x.text, limits);
      if (inner !== null && inner.kind != JsonKind.String) {
        stack.push(inner);
        decodeJson.push(false);
      }
    } else if (x.kind == JsonKind.Array) {
      const items = x.items;
      for (let i = items.length - 1; i >= 0; i--) {
        stack.push(unchecked(items[i]));
        decodeJson.push(decode);
      }
    } else if (x.kind == JsonKind.Object) {
      const n = x.memberCount();
      for (let i = 0; i < n; i++) {
        const name = x.keyValue(i);
        if (!sink.isClaimed(name)) sink.emitOther(name.text, name);
      }
      for (let i = n - 1; i >= 0; i--) {
        stack.push(x.value(i));
        decodeJson.push(decode);
      }
    }
  }
}

function looksLikeJson(text: string): bool {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c == 0x20 || c == 0x09 || c == 0x0a || c == 0x0d) continue;
    return c == 0x7b || c == 0x5b; // { or [
  }
  return false;
}
