// Which provider API a response answers, told by the request path, and the error each one's SDK
// reports when it arrives inside a stream: OpenAI chat (an `error` member in a data event: the
// openai SDK throws APIError), Responses (an `error` event, which the SDK also throws on), Anthropic
// (an `error` event with its error object) and Gemini (an `error` object like its HTTP errors).
import { jsonString } from "../json/encode";
import { SseEventFields, encodeSseEvent, SseLineEnd } from "../sse";
import { Refusal } from "../reply/refusal";

export enum ApiFormat { OpenAIChat, OpenAIResponses, Anthropic, Gemini }

export function apiFormatOf(path: string): ApiFormat {
  const q = path.indexOf("?");
  const p = q >= 0 ? path.substring(0, q) : path;
  if (p.endsWith("/responses")) return ApiFormat.OpenAIResponses;
  if (p.endsWith("/messages")) return ApiFormat.Anthropic;
  if (p.includes(":streamGenerateContent") || p.includes(":generateContent")) return ApiFormat.Gemini;
  return ApiFormat.OpenAIChat;
}

/** The event that ends a denied stream, in the stream's own format. `sequence`: Responses' next sequence_number. */
export function errorEvent(format: ApiFormat, r: Refusal, sequence: i64, lineEnd: SseLineEnd): Uint8Array {
  const fields = new SseEventFields();
  const message = jsonString(r.message);
  const code = jsonString(r.code);
  if (format == ApiFormat.OpenAIResponses) {
    fields.event = "error";
    fields.data = "{\"type\":\"error\",\"code\":" + code + ",\"message\":" + message + ",\"param\":null,\"sequence_number\":"
      + sequence.toString() + ",\"error\":{\"type\":" + jsonString(r.type) + ",\"code\":" + code + ",\"message\":" + message + "}}";
  } else if (format == ApiFormat.Anthropic) {
    fields.event = "error";
    fields.data = "{\"type\":\"error\",\"error\":{\"type\":" + jsonString(r.type) + ",\"message\":" + message + "}}";
  } else if (format == ApiFormat.Gemini) {
    fields.data = "{\"error\":{\"code\":" + r.status.toString() + ",\"message\":" + message + ",\"status\":\"PERMISSION_DENIED\"}}";
  } else {
    fields.data = r.json();
  }
  return encodeSseEvent(fields, lineEnd);
}
