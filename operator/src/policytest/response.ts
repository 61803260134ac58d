// A case's `response`: what the provider answers, as the upstream's reply the in-process host plays
// through the filter; and how the answer the app received is read for `expectResponse` (its error
// code, and for an event stream the text it carries, the deltas joined, so a text split across
// events is found too).
import type { ClientResponse, ResponseSpec } from '../wasm/stream.js';
import type { HeaderPair } from '../wasm/header_map.js';
import { SseParser, type SseMessage } from '../localmesh/streams/sse_parse.js';
import type { CaseEvent, CaseResponse } from './cases.js';

/** One event on the wire: `event: x` (if any), a `data:` line per line of the data, a blank line. */
export function sseEvent(e: CaseEvent): string {
  const data = e.data.split(/\r\n|\r|\n/).map((line) => `data: ${line}\n`).join('');
  return `${e.event !== undefined ? `event: ${e.event}\n` : ''}${data}\n`;
}

/** The upstream's reply for the host: a whole body, or one write per event. */
export function upstreamResponse(r: CaseResponse): ResponseSpec {
  const given = Object.entries(r.headers).map(([k, v]) => [k.toLowerCase(), v] as HeaderPair);
  const has = (name: string) => given.some(([k]) => k === name);
  const headers: HeaderPair[] = [];
  if (r.events !== undefined) {
    if (!has('content-type')) headers.push(['content-type', 'text/event-stream']);
    headers.push(...given);
    return { status: r.status, headers, chunks: r.events.map(sseEvent) };
  }
  if (!has('content-type')) headers.push(['content-type', 'application/json']);
  headers.push(...given);
  if (r.body === undefined) return { status: r.status, headers };
  const text = typeof r.body === 'string' ? r.body : JSON.stringify(r.body);
  const body = new TextEncoder().encode(text);
  if (!has('content-length')) headers.push(['content-length', String(body.length)]);
  return { status: r.status, headers, body };
}

/** What the app received, read for the expectations. */
export interface ReceivedView {
  /** The body as received (for a stream: the SSE text). */
  body: string;
  /** It was an event stream. */
  stream: boolean;
  /** `error.code` of a JSON body, or of the last event's data (`error.code` or `code`). */
  code?: string;
  /** For a stream: the text of each channel (a choice, a content block, a tool call's arguments), joined across events. */
  streamTexts: string[];
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function isObj(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function codeOf(v: unknown): string | undefined {
  if (!isObj(v)) return undefined;
  const c = isObj(v.error) && v.error.code !== undefined && v.error.code !== null ? v.error.code : v.code;
  return typeof c === 'string' || typeof c === 'number' ? String(c) : undefined;
}

/**
 * The text a stream carries, per channel, in the providers' stream formats: OpenAI chat
 * (`choices[].delta.content`, `refusal`, tool-call arguments), Responses (`*.delta` events),
 * Anthropic (`content_block_delta`) and Gemini (`candidates[].content.parts[].text`).
 */
function channelTexts(events: SseMessage[]): string[] {
  const channels = new Map<string, string>();
  const add = (key: string, t: unknown) => {
    if (typeof t === 'string' && t) channels.set(key, (channels.get(key) ?? '') + t);
  };
  for (const m of events) {
    const d = parseJson(m.data);
    if (!isObj(d)) continue;
    if (Array.isArray(d.choices)) {
      for (const c of d.choices) {
        if (!isObj(c) || !isObj(c.delta)) continue;
        add(`choice ${String(c.index)}`, c.delta.content);
        add(`choice ${String(c.index)} refusal`, c.delta.refusal);
        if (Array.isArray(c.delta.tool_calls)) {
          for (const tc of c.delta.tool_calls) if (isObj(tc) && isObj(tc.function)) add(`choice ${String(c.index)} tool ${String(tc.index)}`, tc.function.arguments);
        }
      }
    } else if (typeof d.type === 'string' && d.type.startsWith('response.') && d.type.endsWith('.delta')) {
      add(`${d.type} ${String(d.output_index)}:${String(d.content_index)}`, d.delta);
    } else if (d.type === 'content_block_delta' && isObj(d.delta)) {
      add(`block ${String(d.index)}`, d.delta.text ?? d.delta.partial_json ?? d.delta.thinking);
    } else if (Array.isArray(d.candidates)) {
      d.candidates.forEach((c, i) => {
        if (!isObj(c) || !isObj(c.content) || !Array.isArray(c.content.parts)) return;
        for (const p of c.content.parts) if (isObj(p)) add(`candidate ${String(c.index ?? i)}`, p.text);
      });
    }
  }
  return [...channels.values()];
}

export function readReceived(r: ClientResponse): ReceivedView {
  const body = r.bodyText;
  const stream = (r.header('content-type') ?? '').toLowerCase().includes('text/event-stream');
  if (!stream) {
    const code = codeOf(parseJson(body));
    return code === undefined ? { body, stream, streamTexts: [] } : { body, stream, code, streamTexts: [] };
  }
  // Whatever arrived, even a stream cut in the middle of an event.
  const p = new SseParser();
  p.push(body);
  p.end();
  const events = p.events;
  const last = events.at(-1);
  const code = last ? codeOf(parseJson(last.data)) : undefined;
  const view: ReceivedView = { body, stream, streamTexts: channelTexts(events) };
  if (code !== undefined) view.code = code;
  return view;
}
