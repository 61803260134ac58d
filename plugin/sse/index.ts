// Server-Sent Events for streamed responses: an incremental, bounded parser whose items carry
// their raw bytes (pass untouched ones on as sent), and a writer for the events a filter changes.
export { SseParser, SseLimits, SseError, sseErrorText } from "./parser";
export { SseItem, SseItemKind, SseLineEnd } from "./item";
export { SseEventFields, encodeSseEvent } from "./writer";
