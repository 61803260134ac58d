// Token usage as each provider reports it, in a whole JSON reply or in one streamed event:
//   OpenAI Chat Completions  usage.prompt_tokens / completion_tokens / total_tokens (streamed: the
//                            last chunk, with stream_options.include_usage)
//   OpenAI Responses         usage.input_tokens / output_tokens / total_tokens (streamed: in
//                            response.completed's `response`)
//   Anthropic Messages       usage.input_tokens / output_tokens (streamed: message_start's
//                            `message.usage`, then message_delta's running `usage.output_tokens`)
//   Gemini                   usageMetadata.promptTokenCount / candidatesTokenCount / totalTokenCount
// A later report replaces what an earlier one said of the same count; a count never reported stays -1.
import { JsonValue, JsonKind } from "../json";

export class Usage {
  input: i64 = -1;
  output: i64 = -1;
  total: i64 = -1;
  /** The model the response names (`model`, `response.model`, `message.model`, Gemini's `modelVersion`), or "". */
  model: string = "";

  get known(): bool {
    return this.input >= 0 || this.output >= 0 || this.total >= 0;
  }

  /** Reads whatever usage `doc` reports (a reply, or one event's data). */
  readFrom(doc: JsonValue): void {
    if (doc.kind != JsonKind.Object) return;
    this.readModel(doc.last("model"));
    this.readModel(doc.last("modelVersion"));
    this.readCounts(doc.last("usage"));
    const response = doc.last("response");
    if (response != null) {
      this.readCounts(response.last("usage"));
      this.readModel(response.last("model"));
    }
    const message = doc.last("message");
    if (message != null) {
      this.readCounts(message.last("usage"));
      this.readModel(message.last("model"));
    }
    const gemini = doc.last("usageMetadata");
    if (gemini != null) {
      this.input = countOr(gemini, "promptTokenCount", this.input);
      this.output = countOr(gemini, "candidatesTokenCount", this.output);
      this.total = countOr(gemini, "totalTokenCount", this.total);
    }
  }

  private readModel(value: JsonValue | null): void {
    if (value != null && value.kind == JsonKind.String && value.text.length > 0) this.model = value.text;
  }

  private readCounts(usage: JsonValue | null): void {
    if (usage == null || usage.kind != JsonKind.Object) return;
    this.input = countOr(usage, "prompt_tokens", countOr(usage, "input_tokens", this.input));
    this.output = countOr(usage, "completion_tokens", countOr(usage, "output_tokens", this.output));
    this.total = countOr(usage, "total_tokens", this.total);
  }
}

/** A non-negative whole number member, or `fallback`. */
function countOr(obj: JsonValue, name: string, fallback: i64): i64 {
  const v = obj.last(name);
  if (v == null || v.kind != JsonKind.Number) return fallback;
  const text = v.numberText();
  if (text.length == 0 || text.length > 15) return fallback;
  let n: i64 = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x30 || c > 0x39) return fallback;
    n = n * 10 + <i64>(c - 0x30);
  }
  return n;
}
