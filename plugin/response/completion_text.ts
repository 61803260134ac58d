// The text a provider's answer carries, wherever its format puts it: every string value of a JSON
// reply or a stream event but the ones that only label it (ids, types, roles, model names, finish
// reasons, signatures). One walk serves OpenAI chat and Responses, Anthropic and Gemini, whole
// replies and stream events alike; an embeddings reply holds no such text and is left as it is.
// Each text gets a channel: the texts of one channel, event after event, are one text (one
// choice's content, one content block, one function call's arguments), so a match split across
// events is found. Only deltas continue: a value under a `delta` member (OpenAI chat chunks,
// Anthropic's content_block_delta, Responses' *.delta events) or a Gemini chunk's part text; every
// other text is whole where it is (a Responses `*.done` event's full text, an id-like setting).
import { JsonKind, JsonValue } from "../json";

export class CompletionText {
  constructor(
    public readonly node: JsonValue,
    public readonly channel: string,
    /** A delta: later events of a stream continue this text (else it is whole in this event). */
    public readonly continued: bool,
  ) {}
}

/** String values that name or label, never generated text. */
const LABELS = new Set<string>();
LABELS.add("id");
LABELS.add("object");
LABELS.add("type");
LABELS.add("role");
LABELS.add("model");
LABELS.add("modelVersion");
LABELS.add("status");
LABELS.add("finish_reason");
LABELS.add("finishReason");
LABELS.add("stop_reason");
LABELS.add("system_fingerprint");
LABELS.add("service_tier");
LABELS.add("call_id");
LABELS.add("item_id");
LABELS.add("tool_call_id");
LABELS.add("tool_use_id");
LABELS.add("responseId");
LABELS.add("signature");
LABELS.add("encrypted_content");
LABELS.add("created_at");
LABELS.add("obfuscation"); // random padding in OpenAI stream events

/** Members of a stream event that say which text its delta continues (with the event's type). */
const POSITIONS: string[] = ["index", "output_index", "content_index", "summary_index"];

/** Walks are bounded by the parser's depth limit; this keeps the stack of an iterative walk small. */
export function completionTexts(doc: JsonValue, out: Array<CompletionText>): void {
  const prefix = channelPrefix(doc);
  const stack = new Array<JsonValue>();
  const paths = new Array<string>();
  stack.push(doc);
  paths.push(prefix);
  while (stack.length > 0) {
    const v = stack.pop();
    const path = paths.pop();
    if (v.kind == JsonKind.String) {
      if (v.text.length > 0) out.push(new CompletionText(v, path, isDelta(path)));
    } else if (v.kind == JsonKind.Array) {
      const items = v.items;
      for (let i = items.length - 1; i >= 0; i--) {
        stack.push(unchecked(items[i]));
        paths.push(path + "." + i.toString());
      }
    } else if (v.kind == JsonKind.Object) {
      for (let i = v.memberCount() - 1; i >= 0; i--) {
        const value = v.value(i);
        const key = v.key(i);
        if (value.kind == JsonKind.String && LABELS.has(key)) continue;
        stack.push(value);
        paths.push(path + "." + key);
      }
    }
  }
}

/** An event's type and position members: `content_block_delta#1` for Anthropic's second block. */
function channelPrefix(doc: JsonValue): string {
  if (doc.kind != JsonKind.Object) return "";
  let prefix = "";
  const type = doc.last("type");
  if (type != null && type.kind == JsonKind.String) prefix = type.text;
  for (let i = 0; i < POSITIONS.length; i++) {
    const at = doc.last(POSITIONS[i]);
    if (at != null && at.kind == JsonKind.Number) prefix += "#" + at.numberText();
  }
  return prefix;
}

/** `choices.0.delta.content`, `#0.delta.text`, `response.output_text.delta#0#0.delta`, `.candidates.0.content.parts.0.text`. */
function isDelta(path: string): bool {
  if (path.endsWith(".delta") || path.includes(".delta.")) return true;
  return path.includes(".candidates.") && path.includes(".parts.") && path.endsWith(".text");
}
