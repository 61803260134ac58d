// Content sent inline, base64-encoded: Gemini inlineData, OpenAI file_data and data: URLs, Anthropic
// and Bedrock base64 sources. Text (a text media type, or a text file name with valid UTF-8) is
// decoded and inspected like any other text the message carries; anything else is binary, counted
// for the policy on binary content.
import { JsonKind, JsonLimits, JsonValue, parseJson } from "../json/index";
import { decodeBase64 } from "../util/base64";
import { decodeUtf8, isUtf8 } from "../util/utf8";
import { PieceSink } from "./pieces";
import {
  isTextMediaType, isJsonMediaType, isJsonLinesMediaType, isTextFileName, isJsonFileName, isJsonLinesFileName, parseDataUrl, essence,
} from "./media_type";

export class InlineContent {
  constructor(private readonly sink: PieceSink, private readonly limits: JsonLimits) {}

  /**
   * Base64 `data` (a String value) of media type `mediaType` (may be ""), named `fileName` (may be "").
   * The data is claimed: its raw base64 is not matched against patterns, its meaning is.
   */
  base64(data: JsonValue, mediaType: string, fileName: string, roles: u32): void {
    if (data.kind != JsonKind.String) return;
    this.sink.claim(data);
    if (data.text.length == 0) return;
    const type = essence(mediaType);
    const mayBeText = isTextMediaType(type) || ((type.length == 0 || type == "application/octet-stream") && isTextFileName(fileName));
    if (!mayBeText) {
      this.sink.binaryParts++;
      return;
    }
    const bytes = decodeBase64(data.text);
    if (bytes == null) {
      // Not base64 after all: the text as sent is what there is to inspect.
      this.sink.emit(data.text, roles);
      return;
    }
    if (!isTextMediaType(type) && !isUtf8(bytes)) {
      this.sink.binaryParts++;
      return;
    }
    this.text(bytes, type, fileName, roles);
  }

  /**
   * A URL that may be a data: URL (image_url, file_data). True when it was one and was handled;
   * `fileName` helps when the URL's media type is absent.
   */
  dataUrl(url: JsonValue, fileName: string, roles: u32): bool {
    if (url.kind != JsonKind.String) return false;
    const parsed = parseDataUrl(url.text);
    if (parsed == null) return false;
    if (!parsed.base64) {
      // Percent-encoded text: inspected as sent (an attacker gains nothing: escapes stay visible).
      this.sink.emitNode(url, roles);
      return true;
    }
    this.base64(JsonValue.newString(parsed.data), parsed.mediaType, fileName, roles);
    this.sink.claim(url);
    return true;
  }

  /** Decoded text content: JSON's strings and member names, each JSON Lines line, or the text itself. */
  text(bytes: Uint8Array, mediaType: string, fileName: string, roles: u32): void {
    if (isJsonLinesMediaType(mediaType) || isJsonLinesFileName(fileName)) {
      this.jsonLines(bytes, roles);
      return;
    }
    if (isJsonMediaType(mediaType) || isJsonFileName(fileName)) {
      const parsed = parseJson(bytes, this.limits);
      const doc = parsed.value;
      if (doc !== null && parsed.error.length == 0) {
        this.sink.walkStrings(doc, roles);
        return;
      }
    }
    this.sink.emit(decodeUtf8(bytes, 0, bytes.length), roles);
  }

  private jsonLines(bytes: Uint8Array, roles: u32): void {
    let start = 0;
    for (let i = 0; i <= bytes.length; i++) {
      if (i < bytes.length && bytes[i] != 0x0a) continue;
      const line = bytes.subarray(start, i);
      start = i + 1;
      if (line.length == 0) continue;
      const parsed = parseJson(line, this.limits);
      const doc = parsed.value;
      if (doc !== null && parsed.error.length == 0) this.sink.walkStrings(doc, roles);
      else this.sink.emit(decodeUtf8(line, 0, line.length), roles);
    }
  }
}
