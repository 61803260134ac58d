// The token usage a provider's response reports, read as the response passes: a JSON reply is
// copied (up to MAX_JSON_BYTES) and parsed at its end; a Server-Sent Events stream is parsed event
// by event as it flows (plugin/sse), so memory stays bounded whatever the stream's length. Only the
// events that report usage (`"usage": {` or `"usageMetadata": {`) are parsed, and the first one
// while the model is still wanted: most events of a stream are text deltas. Nothing here changes
// the response.
import { parseJson, JsonLimits } from "../json";
import { essence, isContentEncoded, isJsonMediaType } from "../inspect/media_type";
import { SseParser, SseItem, SseItemKind } from "../sse";
import { Usage } from "./usage";

const MAX_JSON_BYTES: i32 = 1 << 20;
const EVENT_STREAM = "text/event-stream";

export class ResponseUsage {
  readonly usage: Usage = new Usage();
  private json: Uint8Array | null = null;
  private jsonLength: i32 = 0;
  private sse: SseParser | null = null;
  /** Parse events until one names the model (the request didn't say which). */
  wantModel: bool = false;

  /** A reader for a response of this type, or null when its usage can't be read (compressed, other types). */
  static forResponse(contentType: string | null, contentEncoding: string | null): ResponseUsage | null {
    if (isContentEncoded(contentEncoding) || contentType == null) return null;
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
      if (item.kind != SseItemKind.Event && item.kind != SseItemKind.Incomplete) continue;
      const modelWanted = this.wantModel && this.usage.model.length == 0;
      if (modelWanted || reportsUsage(item.data)) this.readJson(item.data);
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

const USAGE = [0x22, 0x75, 0x73, 0x61, 0x67, 0x65]; // "usage
const METADATA = [0x4d, 0x65, 0x74, 0x61, 0x64, 0x61, 0x74, 0x61]; // Metadata

/** Whether `data` holds `"usage"` or `"usageMetadata"` with an object value (whitespace allowed). */
export function reportsUsage(data: Uint8Array): bool {
  const n = data.length;
  for (let i = 0; i + USAGE.length <= n; i++) {
    if (unchecked(data[i]) != 0x22 || !matches(data, i, USAGE)) continue;
    let j = i + USAGE.length;
    if (j + METADATA.length <= n && matches(data, j, METADATA)) j += METADATA.length;
    if (j >= n || unchecked(data[j]) != 0x22) continue;
    j = skipSpaces(data, j + 1);
    if (j >= n || unchecked(data[j]) != 0x3a) continue;
    j = skipSpaces(data, j + 1);
    if (j < n && unchecked(data[j]) == 0x7b) return true;
  }
  return false;
}

function matches(data: Uint8Array, at: i32, word: i32[]): bool {
  for (let k = 0; k < word.length; k++) if (unchecked(data[at + k]) != <u8>unchecked(word[k])) return false;
  return true;
}

function skipSpaces(data: Uint8Array, at: i32): i32 {
  let j = at;
  while (j < data.length) {
    const c = unchecked(data[j]);
    if (c != 0x20 && c != 0x09 && c != 0x0a && c != 0x0d) break;
    j++;
  }
  return j;
}
