// The request we send to the guard model: an OpenAI-compatible chat completion (or a moderation
// request when the guard is a moderations endpoint). Valid JSON whatever the prompt holds, and it
// carries the guard's own key, never the provider's.
import { HeaderPair } from "../abi/host";
import { TextPiece, roleName } from "../inspect";
import { jsonString } from "../json/encode";
import { VerdictFormat } from "./verdict";
import { GuardSettings } from "./settings";

export function isModerationGuard(guard: GuardSettings): bool {
  return guard.verdictFormat == VerdictFormat.OpenAIModeration || guard.path.endsWith("/moderations");
}

/** The conversation as the guard reads it: one "role: text" block per inspected piece. */
export function renderConversation(pieces: TextPiece[]): string {
  const parts = new Array<string>(pieces.length);
  for (let i = 0; i < pieces.length; i++) parts[i] = roleName(pieces[i].role) + ": " + pieces[i].text;
  return parts.join("\n\n");
}

export function guardRequestBody(guard: GuardSettings, pieces: TextPiece[]): string {
  if (isModerationGuard(guard)) {
    const inputs = new Array<string>(pieces.length);
    for (let i = 0; i < pieces.length; i++) inputs[i] = jsonString(pieces[i].text);
    return "{\"model\":" + jsonString(guard.model) + ",\"input\":[" + inputs.join(",") + "]}";
  }
  let messages = "";
  if (guard.systemPrompt.length > 0) {
    messages += "{\"role\":\"system\",\"content\":" + jsonString(guard.systemPrompt) + "},";
  }
  messages += "{\"role\":\"user\",\"content\":" + jsonString(renderConversation(pieces)) + "}";
  return "{\"model\":" + jsonString(guard.model) + ",\"messages\":[" + messages + "],\"temperature\":0,\"stream\":false}";
}

/** `apiKey`: the guard key, inline (settings.apiKey) or from the key service. */
export function guardRequestHeaders(guard: GuardSettings, bodyLength: i32, apiKey: string): HeaderPair[] {
  return [
    new HeaderPair(":method", "POST"),
    new HeaderPair(":path", guard.path),
    new HeaderPair(":authority", guard.host),
    new HeaderPair(":scheme", "http"),
    new HeaderPair("content-type", "application/json"),
    new HeaderPair("accept", "application/json"),
    new HeaderPair("content-length", bodyLength.toString()),
    new HeaderPair("authorization", "Bearer " + apiKey),
  ];
}
