// What the filter answers in place of the provider: a status and an error in OpenAI's shape, so
// SDKs show it well. Requests refused (filter/replies.ts) and answers withheld (response/errors.ts)
// are both of this kind; the messages are fixed texts, never the prompt, the matched text or a key.
import { jsonString } from "../json/encode";

export class Refusal {
  constructor(
    public readonly status: u32,
    public readonly type: string,
    public readonly code: string,
    public readonly message: string,
  ) {}

  /** `{"error":{"message","type","param","code"}}`, as OpenAI's SDK reads errors. */
  json(): string {
    return "{\"error\":{\"message\":" + jsonString(this.message) + ",\"type\":" + jsonString(this.type)
      + ",\"param\":null,\"code\":" + jsonString(this.code) + "}}";
  }
}
