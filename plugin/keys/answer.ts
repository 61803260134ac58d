// Reads the key service's answer (untrusted bytes): a bounded JSON document of this shape, unknown
// fields ignored, anything else refused as a whole (the fetch then counts as failed):
//   {"providers": {"<host>": {"api_keys": ["k1", ...]} | {"error": "<text>"}, ...},
//    "intelligent_guard": {"api_key": "k"} | {"error": "<text>"}}        (intelligent_guard optional)
// Errors are values; nothing here can trap, loop or recurse without bound (the JSON parser has an
// explicit stack and a node limit, and every loop below runs over a parsed, bounded list).
import { parseJson, JsonLimits, JsonValue, JsonKind, kindName } from "../json";
import { isHeaderSafe } from "./header_safe";

/** Larger answers are refused without being read. */
export const MAX_ANSWER_BYTES: u32 = 64 * 1024;
export const MAX_KEYS_PER_PROVIDER: i32 = 8;
export const MAX_KEY_LENGTH: i32 = 4096;
/** How much of the service's error text a log line shows. */
const MAX_ERROR_TEXT: i32 = 200;

export class KeyAnswer {
  /** Why the answer was refused; "" when it is well formed. */
  error: string = "";
  /** Host (as the answer names it) -> its keys, for every entry that gives keys. */
  keys: Map<string, string[]> = new Map<string, string[]>();
  /** Host -> the service's error text (clipped, printable), for every entry that reports an error. */
  errors: Map<string, string> = new Map<string, string>();
  /** The guard key; "" when the answer gives none. */
  guardKey: string = "";
  /** The service's error text for the guard key, "" when none. */
  guardError: string = "";
}

function refused(why: string): KeyAnswer {
  const a = new KeyAnswer();
  a.error = why;
  return a;
}

function limits(): JsonLimits {
  const l = new JsonLimits();
  // The format needs 4 levels; unknown fields may nest a little deeper and are ignored.
  l.maxDepth = 16;
  l.maxNodes = 20000;
  return l;
}

/** The one member named `name`: null when absent; `dup` is set when there are several. */
class Member {
  value: JsonValue | null = null;
  duplicate: bool = false;
}

function member(obj: JsonValue, name: string): Member {
  const m = new Member();
  const all = obj.getAll(name);
  if (all.length > 1) m.duplicate = true;
  else if (all.length == 1) m.value = all[0];
  return m;
}

/** A key as the service gives it: 1..4096 printable ASCII characters. "" when it is one; else why not. */
function keyProblem(v: JsonValue): string {
  if (v.kind != JsonKind.String) return "a key is " + kindName(v) + ", not a string";
  const s = v.asString();
  if (s.length == 0) return "a key is empty";
  if (s.length > MAX_KEY_LENGTH) return "a key is longer than " + MAX_KEY_LENGTH.toString() + " bytes";
  if (!isHeaderSafe(s)) return "a key holds characters an HTTP header can't carry";
  return "";
}

/** Printable ASCII only, clipped: the service's text may go into a log line. */
export function printable(s: string): string {
  let out = "";
  const n = min(s.length, MAX_ERROR_TEXT);
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    out += c >= 0x20 && c <= 0x7e ? String.fromCharCode(c) : "?";
  }
  return s.length > MAX_ERROR_TEXT ? out + "..." : out;
}

/** One `{"api_keys": [...]}` / `{"error": "..."}` entry; `keysField` is api_keys or api_key. */
class Entry {
  problem: string = "";
  keys: string[] = [];
  error: string = "";
  isError: bool = false;
}

function readEntry(v: JsonValue, keysField: string, many: bool): Entry {
  const e = new Entry();
  if (v.kind != JsonKind.Object) { e.problem = "is " + kindName(v) + ", not an object"; return e; }
  const keys = member(v, keysField);
  const error = member(v, "error");
  if (keys.duplicate || error.duplicate) { e.problem = "has a field given more than once"; return e; }
  if (keys.value != null && error.value != null) { e.problem = "has both " + keysField + " and error"; return e; }
  if (keys.value == null && error.value == null) { e.problem = "has neither " + keysField + " nor error"; return e; }
  if (error.value != null) {
    const text = error.value!;
    if (text.kind != JsonKind.String) { e.problem = "error is " + kindName(text) + ", not a string"; return e; }
    e.isError = true;
    e.error = printable(text.asString());
    return e;
  }
  const k = keys.value!;
  if (!many) {
    const why = keyProblem(k);
    if (why.length > 0) { e.problem = why; return e; }
    e.keys.push(k.asString());
    return e;
  }
  if (k.kind != JsonKind.Array) { e.problem = keysField + " is " + kindName(k) + ", not a list"; return e; }
  if (k.length == 0 || k.length > MAX_KEYS_PER_PROVIDER) {
    e.problem = keysField + " holds " + k.length.toString() + " keys (1 to " + MAX_KEYS_PER_PROVIDER.toString() + " allowed)";
    return e;
  }
  for (let i = 0; i < k.length; i++) {
    const why = keyProblem(k.item(i));
    if (why.length > 0) { e.problem = why; return e; }
    e.keys.push(k.item(i).asString());
  }
  return e;
}

/** Reads an answer body (200, at most MAX_ANSWER_BYTES). Never traps. */
export function readKeyAnswer(body: Uint8Array): KeyAnswer {
  if (<u32>body.length > MAX_ANSWER_BYTES) return refused("larger than " + MAX_ANSWER_BYTES.toString() + " bytes");
  const parsed = parseJson(body, limits());
  if (parsed.value == null) return refused("not JSON: " + parsed.error);
  const doc = parsed.value!;
  if (doc.kind != JsonKind.Object) return refused("not a JSON object");
  const providers = member(doc, "providers");
  if (providers.duplicate) return refused("providers is given more than once");
  if (providers.value == null) return refused("no providers");
  const list = providers.value!;
  if (list.kind != JsonKind.Object) return refused("providers is " + kindName(list) + ", not an object");
  const answer = new KeyAnswer();
  const n = list.memberCount();
  for (let i = 0; i < n; i++) {
    const host = list.key(i);
    if (answer.keys.has(host) || answer.errors.has(host)) return refused("providers names a host more than once");
    const e = readEntry(list.value(i), "api_keys", true);
    if (e.problem.length > 0) return refused("providers entry " + (i + 1).toString() + " " + e.problem);
    if (e.isError) answer.errors.set(host, e.error);
    else answer.keys.set(host, e.keys);
  }
  const guard = member(doc, "intelligent_guard");
  if (guard.duplicate) return refused("intelligent_guard is given more than once");
  if (guard.value != null) {
    const e = readEntry(guard.value!, "api_key", false);
    if (e.problem.length > 0) return refused("intelligent_guard " + e.problem);
    if (e.isError) answer.guardError = e.error;
    else answer.guardKey = e.keys[0];
  }
  return answer;
}
