// Media types of inline and uploaded content: which are text a model reads (and so inspected),
// and data: URLs as OpenAI's file_data and image_url carry them.
// Also whether a content-encoding header leaves a body readable.
import { trimmed } from "../util/trim";

/** `type/subtype` in lower case, parameters and whitespace dropped ("" when there is none). */
export function essence(mediaType: string): string {
  const semi = mediaType.indexOf(";");
  return trimmed((semi >= 0 ? mediaType.substring(0, semi) : mediaType)).toLowerCase();
}

const TEXT_TYPES: string[] = [
  "application/json", "application/jsonl", "application/x-jsonlines", "application/x-ndjson",
  "application/ndjson", "application/xml", "application/csv", "application/x-yaml", "application/yaml",
  "application/javascript", "application/x-javascript", "application/ecmascript", "application/sql",
  "application/x-sh", "application/x-python", "application/toml", "application/rtf", "application/x-tex",
  "application/graphql", "application/ld+json", "application/markdown",
];

/** True for content a model reads as text: text/*, JSON, JSON Lines, CSV, XML, YAML, code. */
export function isTextMediaType(mediaType: string): bool {
  const e = essence(mediaType);
  if (e.startsWith("text/")) return true;
  if (e.endsWith("+json") || e.endsWith("+xml")) return true;
  for (let i = 0; i < TEXT_TYPES.length; i++) if (TEXT_TYPES[i] == e) return true;
  return false;
}

/** True for JSON and JSON Lines, whose strings are decoded and inspected one by one. */
export function isJsonMediaType(mediaType: string): bool {
  const e = essence(mediaType);
  return e == "application/json" || e.endsWith("+json") || isJsonLinesMediaType(e);
}

export function isJsonLinesMediaType(mediaType: string): bool {
  const e = essence(mediaType);
  return e == "application/jsonl" || e == "application/x-jsonlines" || e == "application/x-ndjson" || e == "application/ndjson";
}

/** A data: URL (RFC 2397). */
export class DataUrl {
  mediaType: string = "text/plain";
  base64: bool = false;
  /** What follows the comma: base64 text, or percent-encoded text when !base64. */
  data: string = "";
}

/** The parts of a `data:` URL; null for anything else. */
export function parseDataUrl(url: string): DataUrl | null {
  if (url.length < 5 || url.substring(0, 5).toLowerCase() != "data:") return null;
  const comma = url.indexOf(",");
  if (comma < 0) return null;
  const header = url.substring(5, comma);
  const out = new DataUrl();
  const params = header.split(";");
  if (params.length > 0 && trimmed(params[0]).length > 0) out.mediaType = trimmed(params[0]);
  for (let i = 1; i < params.length; i++) {
    if (trimmed(params[i]).toLowerCase() == "base64") out.base64 = true;
  }
  out.data = url.substring(comma + 1);
  return out;
}

const TEXT_EXTENSIONS: string[] = [
  "txt", "text", "md", "markdown", "csv", "tsv", "json", "jsonl", "ndjson", "xml", "yaml", "yml", "toml",
  "html", "htm", "css", "js", "mjs", "ts", "py", "go", "rs", "java", "kt", "c", "h", "cc", "cpp", "hpp",
  "cs", "rb", "php", "sh", "sql", "log", "ini", "cfg", "conf", "tex", "rtf", "srt", "vtt",
];

/** True when a file name's extension says text (for content sent without a media type). */
export function isTextFileName(name: string): bool {
  const dot = name.lastIndexOf(".");
  if (dot < 0) return false;
  const ext = name.substring(dot + 1).toLowerCase();
  for (let i = 0; i < TEXT_EXTENSIONS.length; i++) if (TEXT_EXTENSIONS[i] == ext) return true;
  return false;
}

/** True when a file name says JSON. */
export function isJsonFileName(name: string): bool {
  return name.toLowerCase().endsWith(".json");
}

/** True when a file name says JSON Lines. */
export function isJsonLinesFileName(name: string): bool {
  const lower = name.toLowerCase();
  return lower.endsWith(".jsonl") || lower.endsWith(".ndjson");
}

/** Whether a (joined) content-encoding header says the body is encoded: anything but absent, empty or `identity`. */
export function isContentEncoded(contentEncoding: string | null): bool {
  if (contentEncoding == null) return false;
  const e = trimmed(contentEncoding);
  return e.length > 0 && e.toLowerCase() != "identity";
}
