// Server-Sent Events framing (WHATWG HTML, "Server-sent events"): `field: value` lines, an event
// ends with an empty line; `:` starts a comment. Providers differ only in the line ending (Gemini
// ends lines with CRLF) and in whether they name events.

export type LineEnding = '\n' | '\r\n';

/** One event: optional `event:` line, then `data:` (single line: the JSON the providers send). */
export function sseEvent(data: string, eol: LineEnding, event?: string): string {
  return (event === undefined ? '' : `event: ${event}${eol}`) + `data: ${data}${eol}${eol}`;
}

/** A comment block, which clients ignore: what keep-alives are. */
export function sseComment(text: string, eol: LineEnding): string {
  return `:${text.startsWith(' ') || text === '' ? '' : ' '}${text}${eol}${eol}`;
}
