// An incremental Server-Sent Events parser written from the WHATWG HTML standard ("Interpreting an
// event stream"), to check streams byte for byte: fed in arbitrary pieces (an event, a line ending
// or a UTF-8 sequence cut anywhere), it yields what a browser's EventSource would, plus comments.

export interface SseMessage {
  kind: 'event';
  /** The `event:` field (undefined when absent: the standard's "message"). */
  event: string | undefined;
  /** `data:` lines joined by LF. */
  data: string;
  id: string | undefined;
}

export interface SseCommentLine {
  kind: 'comment';
  /** The text after the colon, as sent (leading space kept). */
  text: string;
}

export type SseItem = SseMessage | SseCommentLine;

export class SseParser {
  readonly items: SseItem[] = [];
  private readonly decoder = new TextDecoder('utf-8');
  private line = '';
  private afterCr = false;
  private started = false;
  private data: string[] = [];
  private event: string | undefined;
  private id: string | undefined;

  get events(): SseMessage[] {
    return this.items.filter((i): i is SseMessage => i.kind === 'event');
  }

  get comments(): SseCommentLine[] {
    return this.items.filter((i): i is SseCommentLine => i.kind === 'comment');
  }

  push(chunk: Uint8Array | string): void {
    let text = typeof chunk === 'string' ? chunk : this.decoder.decode(chunk, { stream: true });
    if (!this.started && text.length > 0) {
      this.started = true;
      if (text.startsWith('\uFEFF')) text = text.slice(1);
    }
    for (const ch of text) {
      // CR LF is one line ending even when the LF arrives in the next piece.
      if (this.afterCr && ch === '\n') {
        this.afterCr = false;
        continue;
      }
      this.afterCr = ch === '\r';
      if (ch === '\r' || ch === '\n') this.endLine();
      else this.line += ch;
    }
  }

  /**
   * The stream ended. Returns what was left unparsed: an unterminated line or an event without its
   * blank line, which the standard discards ('' when the stream ended cleanly).
   */
  end(): string {
    this.push(this.decoder.decode());
    const left = this.line + (this.data.length || this.event !== undefined ? '<unfinished event>' : '');
    this.line = '';
    this.data = [];
    this.event = undefined;
    return left;
  }

  private endLine(): void {
    const line = this.line;
    this.line = '';
    if (line === '') return this.dispatch();
    if (line.startsWith(':')) {
      this.items.push({ kind: 'comment', text: line.slice(1) });
      return;
    }
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'data') this.data.push(value);
    else if (field === 'event') this.event = value;
    else if (field === 'id' && !value.includes('\0')) this.id = value;
  }

  private dispatch(): void {
    if (this.data.length > 0) this.items.push({ kind: 'event', event: this.event, data: this.data.join('\n'), id: this.id });
    this.data = [];
    this.event = undefined;
  }
}

/** Parses a whole stream given as its pieces; throws if it ends inside an event or a line. */
export function parseSse(pieces: Iterable<Uint8Array | string>): SseParser {
  const p = new SseParser();
  for (const piece of pieces) p.push(piece);
  const left = p.end();
  if (left !== '') throw new Error(`SSE stream ended mid-event: ${JSON.stringify(left.slice(0, 200))}`);
  return p;
}
