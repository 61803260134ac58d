// The mock provider's streams, read off a raw socket: each provider's documented event sequence
// (parsed with the kit's WHATWG SSE parser), the reply's text in the deltas, usage, mid-stream
// errors in the provider's own shape, keep-alives, and socket writes cut as asked.
import net from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startMockProvider, type MockProvider, type StreamKnobs } from './mock_provider.js';
import { ANTHROPIC_STREAM_ERROR, GEMINI_STREAM_ERROR, OPENAI_STREAM_ERROR, RESPONSES_STREAM_ERROR } from './streams/index.js';
import { parseSse, type SseMessage } from './streams/sse_parse.js';

const REPLY = 'Sure! Mail jane.doe@example.com with key sk-proj-PLANTED9f8e7d6c5b4a, then 🎉 done.';
const EMAIL = 'jane.doe@example.com';
const GEMINI_PATH = '/v1beta/models/gemini-2.0-flash:streamGenerateContent?alt=sse';

interface RawReply {
  status: number;
  head: string;
  /** What each socket read returned (body and framing). */
  reads: Buffer[];
  /** The body, one entry per HTTP/1.1 chunk: one per write the server made. */
  chunks: Buffer[];
  body: Buffer;
}

/** Decodes a chunked body; throws on bad framing. */
function dechunk(raw: Buffer): Buffer[] {
  const out: Buffer[] = [];
  let at = 0;
  for (;;) {
    const eol = raw.indexOf('\r\n', at);
    if (eol < 0) throw new Error('chunked body: no size line');
    const size = parseInt(raw.subarray(at, eol).toString('latin1'), 16);
    if (!Number.isFinite(size)) throw new Error('chunked body: bad size');
    if (size === 0) return out;
    out.push(raw.subarray(eol + 2, eol + 2 + size));
    at = eol + 2 + size + 2;
  }
}

/** POSTs JSON over a raw socket and keeps every read as it came. */
function rawPost(port: number, path: string, body: unknown, host = 'api.openai.com'): Promise<RawReply> {
  const json = Buffer.from(JSON.stringify(body));
  return new Promise((resolve, reject) => {
    const reads: Buffer[] = [];
    const s = net.connect(port, '127.0.0.1', () => {
      s.write(`POST ${path} HTTP/1.1\r\nhost: ${host}\r\ncontent-type: application/json\r\ncontent-length: ${json.length}\r\nconnection: close\r\n\r\n`);
      // No half-close: Node's server ends the response early when the client does.
      s.write(json);
    });
    s.on('data', (d: Buffer) => reads.push(d));
    s.on('error', reject);
    s.on('close', () => {
      try {
        const all = Buffer.concat(reads);
        const split = all.indexOf('\r\n\r\n');
        const head = all.subarray(0, split).toString('latin1');
        const rest = all.subarray(split + 4);
        const chunks = /\r\ntransfer-encoding: chunked/i.test(head) ? dechunk(rest) : [rest];
        resolve({ status: Number(head.split(' ')[1]), head, reads, chunks, body: Buffer.concat(chunks) });
      } catch (e) {
        reject(e);
      }
    });
  });
}

const json = (e: SseMessage) => JSON.parse(e.data) as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
const chat = (extra: Record<string, unknown> = {}) => ({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }], stream: true, ...extra });
const responses = { model: 'gpt-4o-mini', input: 'hi', stream: true };
const anthropic = { model: 'claude-sonnet-4-5', max_tokens: 64, messages: [{ role: 'user', content: 'hi' }], stream: true };
const gemini = { contents: [{ role: 'user', parts: [{ text: 'hi' }] }] };

let mock: MockProvider;
let knobs: StreamKnobs = {};

beforeAll(async () => {
  mock = await startMockProvider({ reply: REPLY, sseDelayMs: 1, stream: () => knobs });
});
afterAll(() => mock?.close());
beforeEach(() => {
  knobs = {};
  mock.reset();
});

/** The chat chunks as a sequence of shapes, e.g. role, content..., finish:stop, usage, [DONE]. */
function chatShapes(events: SseMessage[]): string[] {
  return events.map((e) => {
    if (e.data === '[DONE]') return '[DONE]';
    const c = json(e);
    if (c.error) return 'error';
    if (c.choices.length === 0) return 'usage';
    const choice = c.choices[0];
    if (choice.finish_reason) return `finish:${choice.finish_reason}`;
    return choice.delta.role ? 'role' : 'content';
  });
}

const chatDeltas = (events: SseMessage[]) => events.filter((e) => e.data !== '[DONE]').map(json).filter((c) => c.choices?.[0]?.delta?.content).map((c) => c.choices[0].delta.content as string);

describe('OpenAI chat completions stream', () => {
  it('role chunk, content chunks, finish, a usage chunk with choices [] (include_usage), then [DONE]', async () => {
    const r = await rawPost(mock.port, '/v1/chat/completions', chat({ stream_options: { include_usage: true } }));
    expect(r.status).toBe(200);
    expect(r.head).toMatch(/\r\ncontent-type: text\/event-stream; charset=utf-8\r\n/i);
    const p = parseSse([r.body]);
    expect(p.events.every((e) => e.event === undefined)).toBe(true);
    const deltas = chatDeltas(p.events);
    expect(deltas.length).toBeGreaterThan(5);
    expect(chatShapes(p.events)).toEqual(['role', ...deltas.map(() => 'content'), 'finish:stop', 'usage', '[DONE]']);
    expect(deltas.join('')).toBe(REPLY);
    const chunks = p.events.slice(0, -1).map(json);
    const usageChunk = chunks.at(-1)!;
    expect(usageChunk).toMatchObject({ object: 'chat.completion.chunk', choices: [], usage: { completion_tokens: Math.ceil(REPLY.length / 4) } });
    expect(usageChunk.usage.total_tokens).toBe(usageChunk.usage.prompt_tokens + usageChunk.usage.completion_tokens);
    for (const c of chunks.slice(0, -1)) expect(c.usage).toBeNull();
    expect(new Set(chunks.map((c) => c.id)).size).toBe(1);
    expect(chunks.every((c) => typeof c.obfuscation === 'string' && c.obfuscation.length > 0)).toBe(true);
    expect(r.body.equals(mock.requests[0]!.responseBody)).toBe(true);
  });

  it('without include_usage: no usage field and no usage chunk; include_obfuscation false drops the padding', async () => {
    const r = await rawPost(mock.port, '/v1/chat/completions', chat({ stream_options: { include_obfuscation: false } }));
    const p = parseSse([r.body]);
    expect(chatShapes(p.events).slice(-2)).toEqual(['finish:stop', '[DONE]']);
    for (const c of p.events.slice(0, -1).map(json)) {
      expect(c).not.toHaveProperty('usage');
      expect(c).not.toHaveProperty('obfuscation');
    }
  });

  it('deltas are a few characters each, so a planted email address spans several of them', async () => {
    const p = parseSse([(await rawPost(mock.port, '/v1/chat/completions', chat())).body]);
    const deltas = chatDeltas(p.events);
    expect(deltas.every((d) => Array.from(d).length <= 8)).toBe(true);
    expect(deltas.some((d) => d.includes(EMAIL))).toBe(false);
    expect(deltas.join('')).toContain(EMAIL);
  });

  it('a mid-stream error is a data event with {"error": ...}, and no [DONE] follows', async () => {
    knobs = { errorAfterDeltas: 3 };
    const p = parseSse([(await rawPost(mock.port, '/v1/chat/completions', chat({ stream_options: { include_usage: true } }))).body]);
    expect(chatShapes(p.events)).toEqual(['role', 'content', 'content', 'content', 'error']);
    expect(json(p.events.at(-1)!)).toEqual(OPENAI_STREAM_ERROR);
  });

  it('Azure OpenAI\'s deployment path streams the same way', async () => {
    const r = await rawPost(mock.port, '/openai/deployments/gpt4o/chat/completions?api-version=2024-10-21', chat(), 'e2e.openai.azure.com');
    expect(chatDeltas(parseSse([r.body]).events).join('')).toBe(REPLY);
  });
});

describe('OpenAI Responses stream', () => {
  const names = (events: SseMessage[]) => events.map((e) => e.event);

  it('the documented event sequence, each with its type and a sequence_number from 0; usage in response.completed', async () => {
    const r = await rawPost(mock.port, '/v1/responses', responses);
    const p = parseSse([r.body]);
    const deltas = p.events.filter((e) => e.event === 'response.output_text.delta').map((e) => json(e).delta as string);
    expect(deltas.length).toBeGreaterThan(5);
    expect(names(p.events)).toEqual([
      'response.created',
      'response.in_progress',
      'response.output_item.added',
      'response.content_part.added',
      ...deltas.map(() => 'response.output_text.delta'),
      'response.output_text.done',
      'response.content_part.done',
      'response.output_item.done',
      'response.completed',
    ]);
    const data = p.events.map(json);
    data.forEach((d, i) => {
      expect(d.type).toBe(p.events[i]!.event);
      expect(d.sequence_number).toBe(i);
    });
    expect(deltas.join('')).toBe(REPLY);
    expect(data.find((d) => d.type === 'response.output_text.done')!.text).toBe(REPLY);
    const completed = data.at(-1)!.response;
    expect(completed).toMatchObject({ status: 'completed', output: [{ type: 'message', role: 'assistant', content: [{ type: 'output_text', text: REPLY }] }] });
    expect(completed.usage).toMatchObject({ output_tokens: Math.ceil(REPLY.length / 4) });
    expect(completed.usage.total_tokens).toBe(completed.usage.input_tokens + completed.usage.output_tokens);
    expect(data[0]!.response).toMatchObject({ id: completed.id, status: 'in_progress', output: [], usage: null });
    expect(r.body.toString()).not.toContain('[DONE]');
  });

  it('a mid-stream error is an `error` event, then response.failed', async () => {
    knobs = { errorAfterDeltas: 2 };
    const p = parseSse([(await rawPost(mock.port, '/v1/responses', responses)).body]);
    expect(names(p.events).slice(-4)).toEqual(['response.output_text.delta', 'response.output_text.delta', 'error', 'response.failed']);
    expect(json(p.events.at(-2)!)).toEqual({ type: 'error', sequence_number: p.events.length - 2, ...RESPONSES_STREAM_ERROR });
    expect(json(p.events.at(-1)!).response).toMatchObject({ status: 'failed', error: { code: RESPONSES_STREAM_ERROR.code } });
  });
});

describe('Anthropic Messages stream', () => {
  it('message_start, content_block_start, ping, text_delta blocks, content_block_stop, message_delta with usage, message_stop', async () => {
    const r = await rawPost(mock.port, '/v1/messages', anthropic, 'api.anthropic.com');
    const p = parseSse([r.body]);
    const deltas = p.events.filter((e) => e.event === 'content_block_delta').map(json);
    expect(deltas.length).toBeGreaterThan(2);
    expect(p.events.map((e) => e.event)).toEqual([
      'message_start',
      'content_block_start',
      'ping',
      ...deltas.map(() => 'content_block_delta'),
      'content_block_stop',
      'message_delta',
      'message_stop',
    ]);
    for (const e of p.events) expect(json(e).type).toBe(e.event);
    expect(deltas.every((d) => d.index === 0 && d.delta.type === 'text_delta')).toBe(true);
    expect(deltas.map((d) => d.delta.text).join('')).toBe(REPLY);
    expect(deltas.every((d) => Array.from(d.delta.text as string).length <= 24)).toBe(true);
    const [start, block] = p.events.map(json);
    expect(start!.message).toMatchObject({ type: 'message', role: 'assistant', model: 'claude-sonnet-4-5', content: [], stop_reason: null });
    expect(start!.message.usage.input_tokens).toBeGreaterThan(0);
    expect(block).toEqual({ type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } });
    expect(json(p.events.at(-2)!)).toEqual({ type: 'message_delta', delta: { stop_reason: 'end_turn', stop_sequence: null }, usage: { output_tokens: Math.ceil(REPLY.length / 4) } });
  });

  it('a mid-stream error is `event: error` with the overloaded_error shape', async () => {
    knobs = { errorAfterDeltas: 1 };
    const r = await rawPost(mock.port, '/v1/messages', anthropic, 'api.anthropic.com');
    expect(r.body.toString().endsWith('event: error\ndata: {"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}\n\n')).toBe(true);
    const p = parseSse([r.body]);
    expect(p.events.map((e) => e.event).slice(-2)).toEqual(['content_block_delta', 'error']);
    expect(json(p.events.at(-1)!)).toEqual(ANTHROPIC_STREAM_ERROR);
  });
});

describe('Gemini streamGenerateContent?alt=sse', () => {
  it('data-only events separated by CRLF CRLF, text in candidates, usageMetadata, finishReason on the last, no [DONE]', async () => {
    const r = await rawPost(mock.port, GEMINI_PATH, gemini, 'generativelanguage.googleapis.com');
    expect(r.head).toMatch(/\r\ncontent-type: text\/event-stream\r\n/i);
    const text = r.body.toString();
    const raw = text.split('\r\n\r\n');
    expect(raw.pop()).toBe('');
    expect(raw.every((e) => e.startsWith('data: {"candidates": [') && !e.includes('\n'))).toBe(true);
    const p = parseSse([r.body]);
    expect(p.events).toHaveLength(raw.length);
    const chunks = p.events.map(json);
    expect(chunks.length).toBeGreaterThan(1);
    expect(chunks.map((c) => c.candidates[0].content.parts[0].text).join('')).toBe(REPLY);
    for (const c of chunks) {
      expect(c.candidates[0].content.role).toBe('model');
      expect(c.modelVersion).toBe('gemini-2.0-flash');
      expect(c.usageMetadata.promptTokenCount).toBeGreaterThan(0);
    }
    expect(chunks.map((c) => c.candidates[0].finishReason ?? null)).toEqual([...chunks.slice(1).map(() => null), 'STOP']);
    expect(chunks.at(-1)!.usageMetadata.candidatesTokenCount).toBe(Math.ceil(REPLY.length / 4));
    expect(new Set(chunks.map((c) => c.responseId)).size).toBe(1);
    expect(text).not.toContain('[DONE]');
  });

  it('a mid-stream error is Google\'s error object as an event', async () => {
    knobs = { errorAfterDeltas: 1, deltas: { minChars: 4, maxChars: 4 } };
    const p = parseSse([(await rawPost(mock.port, GEMINI_PATH, gemini, 'generativelanguage.googleapis.com')).body]);
    expect(p.events.map(json)).toEqual([expect.objectContaining({ candidates: [expect.objectContaining({ index: 0 })] }), GEMINI_STREAM_ERROR]);
    expect(json(p.events[0]!).candidates[0].finishReason).toBeUndefined();
  });
});

describe('delivery: socket writes, keep-alives', () => {
  it('`mixed` writes really reach the socket cut as planned: several events in one, CR | LF, mid-event', async () => {
    knobs = { writes: 'mixed', delayMs: 15, deltas: { minChars: 4, maxChars: 8 } };
    const r = await rawPost(mock.port, GEMINI_PATH, gemini, 'generativelanguage.googleapis.com');
    const writes = mock.requests[0]!.responseWrites;
    expect(r.chunks).toEqual(writes);
    const text = r.chunks.map((c) => c.toString('latin1'));
    expect(text.some((c) => (c.match(/\r\n\r\n/g) ?? []).length >= 2)).toBe(true);
    expect(text.some((c, i) => c.endsWith('\r') && text[i + 1] === '\n')).toBe(true);
    expect(text.some((c) => !c.endsWith('\r\n\r\n') && !c.endsWith('\r') && c.length > 1)).toBe(true);
    // Paced writes arrive in separate reads.
    expect(r.reads.length).toBeGreaterThan(3);
    expect(parseSse(r.chunks).events.map(json).map((c) => c.candidates[0].content.parts[0].text).join('')).toBe(REPLY);
  });

  it('`split` cuts every event inside its JSON; the parsed stream is the same as with one write per event', async () => {
    knobs = { writes: 'split' };
    const split = await rawPost(mock.port, '/v1/messages', anthropic, 'api.anthropic.com');
    expect(split.chunks.length).toBe(2 * parseSse([split.body]).events.length);
    expect(split.chunks.filter((_, i) => i % 2 === 0).every((c) => !c.toString('latin1').endsWith('\n'))).toBe(true);
    const names = (b: Buffer) => parseSse([b]).events.map((e) => e.event);
    knobs = {};
    expect(names(split.body)).toEqual(names((await rawPost(mock.port, '/v1/messages', anthropic, 'api.anthropic.com')).body));
  });

  it('keep-alive comments come at intervals, only between events, and parse as comments', async () => {
    knobs = { writes: 'split', delayMs: 8, keepAliveMs: 10, keepAliveComment: 'ping' };
    const r = await rawPost(mock.port, '/v1/chat/completions', chat({ stream_options: { include_usage: true } }));
    const text = r.body.toString();
    const at = [...text.matchAll(/: ping\n\n/g)].map((m) => m.index!);
    expect(at.length).toBeGreaterThan(1);
    for (const i of at) expect(i === 0 || text.slice(0, i).endsWith('\n\n')).toBe(true);
    const p = parseSse([r.body]);
    expect(p.comments.length).toBe(at.length);
    expect(p.comments.every((c) => c.text === ' ping')).toBe(true);
    expect(chatDeltas(p.events).join('')).toBe(REPLY);
    expect(chatShapes(p.events).slice(-2)).toEqual(['usage', '[DONE]']);
  });

  it('deltas can be given exactly, e.g. to cut a secret at a chosen place', async () => {
    const cut = REPLY.indexOf(EMAIL) + 4;
    knobs = { deltas: (t) => [t.slice(0, cut), t.slice(cut)] };
    expect(chatDeltas(parseSse([(await rawPost(mock.port, '/v1/chat/completions', chat())).body]).events)).toEqual([REPLY.slice(0, cut), REPLY.slice(cut)]);
  });

  it('non-streamed replies are unchanged: one JSON write', async () => {
    const r = await rawPost(mock.port, '/v1/chat/completions', chat({ stream: false }));
    expect(JSON.parse(r.body.toString())).toMatchObject({ object: 'chat.completion', choices: [{ message: { content: REPLY } }] });
    expect(mock.requests[0]!.responseWrites).toHaveLength(1);
  });
});
