// The token usage a provider's response reports, read as the response passes: a JSON reply is
// copied (up to MAX_JSON_BYTES) and parsed at its end; a Server-Sent Events stream is parsed event
// by event as it flows (plugin/sse), each event's data read as JSON, so memory stays bounded
// whatever the stream's length. Nothing here changes the response.
import { parseJson, JsonLimits } from "../json";
import { essence, isJsonMediaType } from "../inspect/media_type";
import { SseParser, SseItem, SseItemKind } from "../sse";
import { Usage } from "./usage";

const MAX_JSON_BYTES: i32 = 1 << 20;
const EVENT_STREAM = "text/event-stream";

export class ResponseUsage {
  readonly usage: Usage = new Usage();
  private json: Uint8Array | null = null;
  private jsonLength: i32 = 0;
  private sse: SseParser | null = null;

  /** A reader for a response of this type, or null when its usage can't be read (compressed, other types). */
  static forResponse(contentType: string | null, contentEncoding: string | null): ResponseUsage | null {
    if (contentEncoding != null) {
      const e = contentEncoding.trim().toLowerCase();
      if (e.length > 0 && e != "identity") return null;
    }
    if (contentType == null) return null;
    const type = essence(contentType);
    const reader = new ResponseUsage();
    if (type == EVENT_STREAM) reader.sse = new SseParser();
    else if (isJsonMediaType(type)) reader.json = new Uint8Array(0);
    else return null;
    return reader;
  }

  feed(chunk: Uint8Array, endOfStream: bool): void {
    const sse = this.sse;
    if (sse != null) {
      this.readEvents(sse.feed(chunk));
      if (endOfStream) this.readEvents(sse.finish());
      return;
    }
    if (this.json != null) this.copy(chunk);
    if (endOfStream && this.json != null) {
      this.readJson(this.json!.subarray(0, this.jsonLength));
      this.json = null;
    }
  }

  private copy(chunk: Uint8Array): void {
    const need = this.jsonLength + chunk.length;
    if (need > MAX_JSON_BYTES) {
      this.json = null; // too large to keep: its usage goes unread
      return;
    }
    let buffer = this.json!;
    if (need > buffer.length) {
      const grown = new Uint8Array(max(need, min(MAX_JSON_BYTES, buffer.length * 2)));
      grown.set(buffer.subarray(0, this.jsonLength), 0);
      buffer = grown;
      this.json = grown;
    }
    buffer.set(chunk, this.jsonLength);
    this.jsonLength = need;
  }

  private readEvents(items: SseItem[]): void {
    for (let i = 0; i < items.length; i++) {
      const item = items[i];
      if (item.kind == SseItemKind.Event || item.kind == SseItemKind.Incomplete) this.readJson(item.data);
    }
  }

  private readJson(bytes: Uint8Array): void {
    if (bytes.length == 0 || bytes[0] != 0x7b) return; // `{`: skips `[DONE]` and the like
    const limits = new JsonLimits();
    limits.maxDepth = 32;
    limits.maxNodes = 100000;
    const doc = parseJson(bytes, limits).value;
    if (doc != null) this.usage.readFrom(doc);
  }
}
