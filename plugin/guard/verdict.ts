// Reads a guard model's answer the way real guard models write it: the asm-labs JSON verdict (any
// letter case, in ```json fences or amid prose), Llama Guard ("safe" / "unsafe\nS1,S7"), Qwen3Guard
// ("Safety: Safe|Unsafe|Controversial"), or an OpenAI moderation response (results[].flagged).
import { parseJson, parseJsonText, JsonLimits, JsonValue, JsonKind } from "../json";
import { trimmed } from "../util/trim";

export enum VerdictFormat { Auto, Json, LlamaGuard, QwenGuard, OpenAIModeration }

export enum Decision { Allow, Deny, Error }

export class Verdict {
  constructor(
    public readonly decision: Decision,
    /** The guard's reason or categories (for the log and metrics), or what went wrong. */
    public readonly reason: string,
    /** For errors, the metric kind: non_200, unparseable, empty_choices, ... */
    public readonly errorKind: string = "",
  ) {}
}

export function allow(reason: string): Verdict { return new Verdict(Decision.Allow, reason); }
export function deny(reason: string): Verdict { return new Verdict(Decision.Deny, reason); }
export function failure(kind: string, reason: string): Verdict { return new Verdict(Decision.Error, reason, kind); }

export function parseVerdictFormat(name: string): i32 {
  if (name == "auto") return VerdictFormat.Auto;
  if (name == "json") return VerdictFormat.Json;
  if (name == "llama_guard") return VerdictFormat.LlamaGuard;
  if (name == "qwen_guard") return VerdictFormat.QwenGuard;
  if (name == "openai_moderation") return VerdictFormat.OpenAIModeration;
  return -1;
}

const MAX_REASON = 200;

function limits(): JsonLimits {
  const l = new JsonLimits();
  l.maxDepth = 32;
  l.maxNodes = 100000;
  return l;
}

/**
 * Interprets the body of a 200 answer from the guard. `controversialDenies` decides Qwen's middle
 * class. A member given twice (`"content":"safe","content":"unsafe"`) is read both ways, as JSON
 * readers differ on it (first or last wins): a deny either way is a deny.
 */
export function readGuardAnswer(body: Uint8Array, format: VerdictFormat, controversialDenies: bool): Verdict {
  const parsed = parseJson(body, limits());
  if (parsed.value == null) return failure("unparseable", "guard answer is not JSON: " + parsed.error);
  const doc = parsed.value!;
  if (doc.kind != JsonKind.Object) return failure("unparseable", "guard answer is not a JSON object");
  const firstWins = readDocument(doc, format, controversialDenies, false);
  const lastWins = readDocument(doc, format, controversialDenies, true);
  if (firstWins.decision == lastWins.decision) return firstWins;
  if (firstWins.decision == Decision.Deny || lastWins.decision == Decision.Deny) {
    return deny("the guard's answer repeats a member, with conflicting verdicts");
  }
  return firstWins.decision == Decision.Error ? firstWins : lastWins;
}

/** The first or the last of a member given more than once. */
function pick(values: JsonValue[], last: bool): JsonValue {
  return values[last ? values.length - 1 : 0];
}

function readDocument(doc: JsonValue, format: VerdictFormat, controversialDenies: bool, last: bool): Verdict {
  if (format == VerdictFormat.OpenAIModeration || (format == VerdictFormat.Auto && doc.has("results"))) {
    return readModeration(doc, last);
  }
  const choices = doc.getAll("choices");
  if (choices.length == 0) return failure("unparseable", "guard answer has no choices");
  const list = pick(choices, last);
  if (list.kind != JsonKind.Array) return failure("unparseable", "guard answer: choices is not an array");
  if (list.length == 0) return failure("empty_choices", "guard answer has an empty choices array");
  const first = list.item(0);
  if (first.kind != JsonKind.Object) return failure("unparseable", "guard answer has no message content");
  const message = first.getAll("message");
  let content = "";
  if (message.length > 0 && pick(message, last).kind == JsonKind.Object) {
    const c = pick(message, last).getAll("content");
    if (c.length > 0 && pick(c, last).kind == JsonKind.String) content = pick(c, last).asString();
  }
  if (content.length == 0) {
    const text = first.getAll("text");
    if (text.length > 0 && pick(text, last).kind == JsonKind.String) content = pick(text, last).asString();
  }
  if (trimmed(content).length == 0) return failure("unparseable", "guard answer has no message content");
  return readVerdictText(content, format, controversialDenies);
}

/** Interprets the text a guard model wrote. */
export function readVerdictText(content: string, format: VerdictFormat, controversialDenies: bool): Verdict {
  if (format == VerdictFormat.Json || format == VerdictFormat.Auto) {
    const v = readJsonVerdict(content);
    if (v != null || format == VerdictFormat.Json) return v != null ? v : failure("unparseable", "no {\"result\": ...} verdict in the guard's answer");
  }
  if (format == VerdictFormat.QwenGuard || format == VerdictFormat.Auto) {
    const v = readQwenVerdict(content, controversialDenies);
    if (v != null || format == VerdictFormat.QwenGuard) return v != null ? v : failure("unparseable", "no \"Safety:\" line in the guard's answer");
  }
  if (format == VerdictFormat.LlamaGuard || format == VerdictFormat.Auto) {
    const v = readLlamaGuardVerdict(content);
    if (v != null) return v;
  }
  return failure("unparseable", "the guard's answer is in no known verdict format");
}

/**
 * Finds JSON objects with a "result" member anywhere in the text (fences and prose around them are
 * fine). A model that quotes the conversation may echo a verdict planted in the prompt before its
 * own, so verdicts that disagree are read as deny.
 */
function readJsonVerdict(content: string): Verdict | null {
  let found: Verdict | null = null;
  let from = 0;
  for (let attempts = 0; attempts < 16; attempts++) {
    const open = content.indexOf("{", from);
    if (open < 0) break;
    const close = matchingBrace(content, open);
    if (close < 0) break;
    // Parsed as text: a lone surrogate escape in it must not make the object unreadable (and skipped).
    const parsed = parseJsonText(content.substring(open, close + 1), limits());
    const v = parsed != null ? verdictFromObject(parsed) : null;
    if (v != null) {
      if (v.decision == Decision.Error) return v;
      if (found == null) found = v;
      else if (found.decision != v.decision) return deny("the guard's answer holds conflicting verdicts");
      from = close + 1;
    } else {
      from = open + 1;
    }
  }
  return found;
}

/** Index of the brace closing the one at `open`, skipping strings; -1 if unbalanced. Linear. */
function matchingBrace(s: string, open: i32): i32 {
  let depth = 0;
  let inString = false;
  for (let i = open; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (inString) {
      if (c == 0x5c) i++;
      else if (c == 0x22) inString = false;
      continue;
    }
    if (c == 0x22) inString = true;
    else if (c == 0x7b) depth++;
    else if (c == 0x7d) { depth--; if (depth == 0) return i; }
  }
  return -1;
}

function verdictFromObject(obj: JsonValue): Verdict | null {
  if (obj.kind != JsonKind.Object) return null;
  let result = "";
  let reason = "";
  for (let i = 0; i < obj.memberCount(); i++) {
    const key = obj.key(i).toLowerCase();
    const value = obj.value(i);
    if (value.kind != JsonKind.String) continue;
    if (key == "result" || key == "verdict" || key == "decision") {
      const r = trimmed(value.asString()).toLowerCase();
      if (result.length > 0 && result != r) return failure("unparseable", "the guard's answer has conflicting results");
      result = r;
    } else if (key == "reason") {
      reason = value.asString();
    }
  }
  if (result == "allow" || result == "safe" || result == "allowed") return allow(clip(reason));
  if (result == "deny" || result == "unsafe" || result == "denied" || result == "block") return deny(clip(reason));
  if (result.length > 0) return failure("unparseable", "the guard's result is neither allow nor deny");
  return null;
}

/** Qwen3Guard: "Safety: Safe|Unsafe|Controversial" and a "Categories: ..." line. */
function readQwenVerdict(content: string, controversialDenies: bool): Verdict | null {
  const lines = content.split("\n");
  let safety = "";
  let categories = "";
  for (let i = 0; i < lines.length && i < 64; i++) {
    const line = trimmed(lines[i]);
    const lower = line.toLowerCase();
    if (lower.startsWith("safety:")) {
      const value = trimmed(lower.substring(7));
      // Any Unsafe line wins over others, whatever their order.
      if (safety != "unsafe") safety = value;
    }
    else if (lower.startsWith("categories:")) categories = trimmed(line.substring(11));
  }
  if (safety.length == 0) return null;
  if (safety == "safe") return allow(clip(categories));
  if (safety == "unsafe") return deny(clip(categories));
  if (safety == "controversial") {
    const reason = clip("controversial" + (categories.length > 0 ? ": " + categories : ""));
    return controversialDenies ? deny(reason) : allow(reason);
  }
  return failure("unparseable", "unknown Safety value in the guard's answer");
}

/** Llama Guard: first line "safe", or "unsafe" then a line of hazard codes such as "S1,S7". */
function readLlamaGuardVerdict(content: string): Verdict | null {
  const lines = trimmed(content).split("\n");
  if (lines.length == 0) return null;
  const first = trimmed(lines[0]).toLowerCase();
  if (first == "safe") return allow("");
  if (first == "unsafe") return deny(lines.length > 1 ? clip(trimmed(lines[1])) : "");
  return null;
}

/** OpenAI /v1/moderations: denied when any result is flagged; the reason lists the flagged categories. */
function readModeration(doc: JsonValue, last: bool): Verdict {
  const results = doc.getAll("results");
  if (results.length == 0 || pick(results, last).kind != JsonKind.Array) return failure("unparseable", "moderation answer has no results array");
  const list = pick(results, last);
  if (list.length == 0) return failure("empty_choices", "moderation answer has an empty results array");
  let flagged = false;
  let categories = "";
  for (let i = 0; i < list.length; i++) {
    const r = list.item(i);
    const f = r.getAll("flagged");
    if (f.length == 0 || f[0].kind != JsonKind.Bool) return failure("unparseable", "moderation result without a boolean flagged");
    for (let j = 0; j < f.length; j++) if (f[j].asBool()) flagged = true;
    const cats = r.getAll("categories");
    if (cats.length > 0 && cats[0].kind == JsonKind.Object) {
      const c = cats[0];
      for (let k = 0; k < c.memberCount(); k++) {
        if (c.value(k).asBool() && !categories.includes(c.key(k))) categories += (categories.length > 0 ? "," : "") + c.key(k);
      }
    }
  }
  return flagged ? deny(clip(categories)) : allow("");
}

function clip(s: string): string {
  return s.length <= MAX_REASON ? s : s.substring(0, MAX_REASON) + "…";
}
