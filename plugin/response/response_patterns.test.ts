// response_deny_patterns and response_redact_patterns through the real filter in the in-process
// host: whole JSON replies and every provider's stream (built by the mock provider's own stream
// builders, cut into socket writes anywhere), what the app receives, and what is held back.
import { describe, expect, it } from 'vitest';
import type { FilterHost, HttpStream, ResponseSpec } from '../../operator/src/wasm/index.js';
import { ANTHROPIC, GEMINI, KEY, OPENAI, chat, loadGuard, post, user } from '../../test/harness/llm.js';
import { buildStream, type StreamKind } from '../../operator/src/localmesh/streams/index.js';
import { parseSse as parseSsePieces, type SseMessage } from '../../operator/src/localmesh/streams/sse_parse.js';
import { seededRandom } from '../testing/prng.mjs';
import { encodeMetadata } from '../../operator/src/wasm/metadata.js';

const EMAIL = '[a-z0-9.]+@[a-z0-9]+\\.[a-z]{2,}';
const SECRET_KEY = 'sk-proj-[A-Za-z0-9]{20,}';
const CONFIG = {
  hosts: [OPENAI], api_key: KEY,
  providers: [{ hosts: [ANTHROPIC], api_key: 'sk-ant-KEY-0123456789', auth_style: 'x-api-key' }, { hosts: [GEMINI], api_key: 'AIza-KEY-0123456789', auth_style: 'x-goog-api-key' }],
  response_deny_patterns: ['(?i)launch codes'],
  response_redact_patterns: [EMAIL, SECRET_KEY],
};
const PATHS: Record<StreamKind, [string, string]> = {
  'openai-chat': [OPENAI, '/v1/chat/completions'],
  'openai-responses': [OPENAI, '/v1/responses'],
  anthropic: [ANTHROPIC, '/v1/messages'],
  gemini: [GEMINI, '/v1beta/models/gemini-2.0-flash:streamGenerateContent?alt=sse'],
};

const parseSse = (body: string): SseMessage[] => parseSsePieces([body]).events;

const load = (extra: Record<string, unknown> = {}) => loadGuard({ ...CONFIG, ...extra });

function audit(r: HttpStream): Record<string, any> {
  return JSON.parse(new TextDecoder().decode(r.filterState.get('llm_guard.audit')));
}

function chunkTexts(r: HttpStream): string[] {
  const sink = (r as unknown as { resp: { sink: { chunks: Uint8Array[] } } }).resp.sink;
  return sink.chunks.map((c) => new TextDecoder().decode(c));
}

function header(r: HttpStream, name: string): string | undefined {
  return r.response!.headers.find(([k]) => k === name)?.[1];
}

const json = (body: unknown): ResponseSpec => {
  const text = JSON.stringify(body);
  return { headers: [['content-type', 'application/json'], ['content-length', String(Buffer.byteLength(text))]], body: text };
};

const chatReply = (content: string) => ({
  id: 'chatcmpl-1', object: 'chat.completion', created: 1, model: 'gpt-4o-mini',
  choices: [{ index: 0, message: { role: 'assistant', content, refusal: null }, finish_reason: 'stop', logprobs: null }],
  usage: { prompt_tokens: 5, completion_tokens: 7, total_tokens: 12 },
});

describe('a whole JSON reply', () => {
  it('is redacted: the app gets valid JSON with the matches masked, no stale content-length, usage still read', async () => {
    const host = await load();
    const r = post(host, chat(user('hi')), { response: json(chatReply('Mail jane.doe@example.com, key sk-proj-abcdefghij0123456789XYZ.')) });
    const got = JSON.parse(r.response!.bodyText);
    expect(got.choices[0].message.content).toBe('Mail [REDACTED], key [REDACTED].');
    expect(got).toMatchObject({ id: 'chatcmpl-1', usage: { total_tokens: 12 } });
    expect(header(r, 'content-length')).toBeUndefined();
    expect(audit(r)).toMatchObject({ response: 'redacted', response_rule: 'response_redact_patterns[0]', usage: { input_tokens: 5, output_tokens: 7 } });
    expect(host.metric('llm_guard.responses_redacted')).toBe(1);
    host.assertHealthy();
  });

  it('still masks the injected key the reply echoes (the buffered reply is searched whole)', async () => {
    const host = await load();
    const r = post(host, chat(user('hi')), { response: json(chatReply(`your key ${KEY} is wrong`)) });
    expect(r.response!.bodyText).not.toContain(KEY);
    expect(JSON.parse(r.response!.bodyText).choices[0].message.content).toBe(`your key ${'*'.repeat(KEY.length)} is wrong`);
    host.assertHealthy();
  });

  it('redacts each provider format: Responses, Anthropic, Gemini, and tool-call arguments', async () => {
    const host = await load();
    const cases: [string, string, unknown, (b: any) => string][] = [
      [OPENAI, '/v1/responses', { id: 'resp_1', object: 'response', output: [{ type: 'message', id: 'msg_1', role: 'assistant', content: [{ type: 'output_text', text: 'to a@b.io', annotations: [] }] }] }, (b) => b.output[0].content[0].text],
      [ANTHROPIC, '/v1/messages', { id: 'msg_1', type: 'message', role: 'assistant', content: [{ type: 'text', text: 'to a@b.io' }], stop_reason: 'end_turn' }, (b) => b.content[0].text],
      [GEMINI, '/v1beta/models/gemini-2.0-flash:generateContent', { candidates: [{ content: { role: 'model', parts: [{ text: 'to a@b.io' }] }, finishReason: 'STOP' }] }, (b) => b.candidates[0].content.parts[0].text],
      [OPENAI, '/v1/chat/completions', { choices: [{ index: 0, message: { role: 'assistant', content: null, tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'mail', arguments: '{"to":"a@b.io"}' } }] } }] }, (b) => b.choices[0].message.tool_calls[0].function.arguments],
    ];
    for (const [authority, path, reply, read] of cases) {
      const r = post(host, { model: 'm', messages: [{ role: 'user', content: 'x' }] }, { authority, path, response: json(reply) });
      expect(read(JSON.parse(r.response!.bodyText)), path).not.toContain('a@b.io');
      expect(read(JSON.parse(r.response!.bodyText)), path).toContain('[REDACTED]');
    }
    host.assertHealthy();
  });

  it('is denied: without the response hold the body becomes the error, with it a reply of its own', async () => {
    const host = await load();
    const r = post(host, chat(user('hi')), { response: json(chatReply('The launch codes are 0000.')) });
    const error = JSON.parse(r.response!.bodyText).error;
    expect(error).toMatchObject({ type: 'policy_violation', code: 'response_denied_by_pattern' });
    expect(r.response!.bodyText).not.toContain('0000');
    expect(audit(r)).toMatchObject({ decision: 'allowed', response: 'denied', response_rule: 'response_deny_patterns[0]' });
    expect(host.metric('llm_guard.responses_denied_by_pattern')).toBe(1);
    host.assertHealthy();

    // Where the response hold keeps the reply's headers (marked on the route), the filter answers itself.
    const held = await loadGuard(CONFIG, { holdJsonReplies: true, properties: { 'xds.virtual_host_metadata': encodeMetadata({ 'llm-guard.hold-response': { enabled: true } }) } });
    const own = post(held, chat(user('hi')), { response: json(chatReply('The launch codes are 0000.')) });
    expect(own.forwarded).toBe(true);
    expect(own.response!.status).toBe(403);
    expect(JSON.parse(own.response!.bodyText).error.code).toBe('response_denied_by_pattern');
    expect(audit(own)).toMatchObject({ response: 'denied', status: 403 });
    // A stream is not held: it ends with an error event, status 200.
    const stream = post(held, { model: 'm', stream: true, messages: [] }, { response: { headers: [['content-type', 'text/event-stream']], chunks: ['data: {"choices":[{"index":0,"delta":{"content":"launch codes"}}]}\n\n'] } });
    expect(stream.response!.status).toBe(200);
    held.assertHealthy();
  });

  it('leaves replies without matches, embeddings and errors byte for byte', async () => {
    const host = await load({ response_redact_patterns: ['embedding', 'list', 'text-embedding', EMAIL] });
    const embeddings = '{"object":"list","data":[{"object":"embedding","index":0,"embedding":[0.0023,-0.0093]}],"model":"text-embedding-3-small","usage":{"prompt_tokens":8,"total_tokens":8}}';
    const e = post(host, { model: 'text-embedding-3-small', input: 'x' }, { path: '/v1/embeddings', response: { headers: [['content-type', 'application/json']], body: embeddings } });
    expect(e.response!.bodyText).toBe(embeddings);
    const plain = ' {"choices":[{"message":{"content":"nothing here"}}]} ';
    expect(post(host, chat(user('x')), { response: { headers: [['content-type', 'application/json']], body: plain } }).response!.bodyText).toBe(plain);
    const failed = '{"error":{"message":"bad a@b.io","type":"invalid_request_error"}}';
    const f = post(host, chat(user('x')), { response: { status: 400, headers: [['content-type', 'application/json']], body: failed } });
    expect(f.response!.bodyText).toBe(failed);
    host.assertHealthy();
  });

  it('a reply that claims JSON but is not, or comes compressed, is replaced by an error', async () => {
    const host = await load();
    const bad = post(host, chat(user('x')), { response: { headers: [['content-type', 'application/json']], body: '{"choices": [' } });
    expect(JSON.parse(bad.response!.bodyText).error.code).toBe('response_not_inspectable');
    const gz = post(host, chat(user('x')), { response: { headers: [['content-type', 'application/json'], ['content-encoding', 'gzip']], body: new Uint8Array([0x1f, 0x8b, 8, 0, 1, 2, 3]) } });
    expect(header(gz, 'content-encoding')).toBeUndefined();
    expect(JSON.parse(gz.response!.bodyText).error.code).toBe('response_not_inspectable');
    host.assertHealthy();
  });
});

/** A provider stream of `text` cut into deltas, as the mock sends it, split into writes at random. */
function stream(kind: StreamKind, deltas: string[], seed = 1): ResponseSpec {
  const s = buildStream(kind, { deltas, model: 'm', created: 1, promptTokens: 3, completionTokens: deltas.length, body: { stream_options: { include_usage: true } } });
  // Cut as bytes, like socket writes: inside UTF-8 sequences too.
  const bytes = new TextEncoder().encode(s.events.join(''));
  const rand = seededRandom(seed);
  const chunks: Uint8Array[] = [];
  for (let at = 0; at < bytes.length;) {
    const n = 1 + Math.floor(rand() * 40);
    chunks.push(bytes.slice(at, at + n));
    at += n;
  }
  return { headers: [['content-type', s.contentType]], chunks };
}

/** The text a client reads from a stream of `kind`, joining the deltas as its SDK would. */
function streamedText(kind: StreamKind, body: string): string {
  let text = '';
  for (const m of parseSse(body)) {
    if (m.data === '[DONE]') continue;
    const d = JSON.parse(m.data);
    if (kind === 'openai-chat') text += d.choices?.[0]?.delta?.content ?? '';
    else if (kind === 'openai-responses') text += d.type === 'response.output_text.delta' ? d.delta : '';
    else if (kind === 'anthropic') text += d.type === 'content_block_delta' ? d.delta.text : '';
    else text += d.candidates?.[0]?.content?.parts?.[0]?.text ?? '';
  }
  return text;
}

function streamFor(host: FilterHost, kind: StreamKind, deltas: string[], seed = 1): HttpStream {
  const [authority, path] = PATHS[kind];
  return post(host, { model: 'm', stream: true, messages: [{ role: 'user', content: 'x' }] }, { authority, path, response: stream(kind, deltas, seed) });
}

const KINDS: StreamKind[] = ['openai-chat', 'openai-responses', 'anthropic', 'gemini'];
const SPLIT_REPLY = ['Write to ja', 'ne.d', 'oe@exa', 'mple.com and use sk-pr', 'oj-PLANTEDa1b2c3d4e5f6g7', 'h8 — done 🎉.'];

describe('a stream', () => {
  for (const kind of KINDS) {
    it(`${kind}: matches split across events are masked, the stream stays well-formed, nothing else changes`, async () => {
      const host = await load();
      for (let seed = 1; seed <= 5; seed++) {
        const r = streamFor(host, kind, SPLIT_REPLY, seed);
        const body = r.response!.bodyText;
        expect(body).not.toMatch(/jane|@exa|PLANTED|a1b2/);
        expect(streamedText(kind, body)).toBe('Write to [REDACTED] and use [REDACTED] — done 🎉.');
        // Every event still parses, and as many arrive as were sent.
        const sent = parseSse(Buffer.concat(stream(kind, SPLIT_REPLY, seed).chunks as Uint8Array[]).toString());
        expect(parseSse(body).map((m) => m.event)).toEqual(sent.map((m) => m.event));
        expect(audit(r)).toMatchObject({ response: 'redacted' });
        expect(audit(r).usage).toBeDefined();
      }
      host.assertHealthy();
    });

    it(`${kind}: a deny match ends the stream with the provider's error event; the matched text never leaves`, async () => {
      const host = await load();
      const r = streamFor(host, kind, ['All fine. ', 'The LAUNCH ', 'CODES are ', '0000', ' and more']);
      const body = r.response!.bodyText;
      expect(body).not.toMatch(/LAUNCH|0000|and more/);
      const received = parseSse(body);
      const last = received.at(-1)!;
      expect(streamedText(kind, received.slice(0, -1).map((m) => (m.event ? `event: ${m.event}\n` : '') + `data: ${m.data}\n\n`).join(''))).toBe('All fine. ');
      const data = JSON.parse(last.data);
      if (kind === 'openai-chat') expect(data.error).toMatchObject({ code: 'response_denied_by_pattern', type: 'policy_violation' });
      if (kind === 'openai-responses') expect(last.event === 'error' && data.type === 'error' && data.code === 'response_denied_by_pattern' && typeof data.sequence_number === 'number').toBe(true);
      if (kind === 'anthropic') expect(last.event === 'error' && data.error.type === 'policy_violation').toBe(true);
      if (kind === 'gemini') expect(data.error).toMatchObject({ code: 403, status: 'PERMISSION_DENIED' });
      expect(audit(r)).toMatchObject({ response: 'denied', response_rule: 'response_deny_patterns[0]' });
      host.assertHealthy();
    });
  }

  it('events whose text cannot begin a match pass at once; only a possible match waits', async () => {
    const host = await load();
    const events = ['data: {"choices":[{"index":0,"delta":{"content":"Hello!"}}]}\n\n', 'data: {"choices":[{"index":0,"delta":{"content":" there, "}}]}\n\n',
      'data: {"choices":[{"index":0,"delta":{"content":"write to bob"}}]}\n\n', 'data: {"choices":[{"index":0,"delta":{"content":"@x.io now!"}}]}\n\n', 'data: [DONE]\n\n'];
    const r = post(host, { model: 'm', stream: true, messages: [] }, { response: { headers: [['content-type', 'text/event-stream']], chunks: events } });
    // (The host records no empty chunk: "write to bob" could begin an address, and waits for the next.)
    expect(chunkTexts(r)).toEqual([
      events[0], events[1],
      'data: {"choices":[{"index":0,"delta":{"content":"write to [REDACTED]"}}]}\n\ndata: {"choices":[{"index":0,"delta":{"content":" now!"}}]}\n\n',
      events[4],
    ]);
    host.assertHealthy();
  });

  it('holds at most response_max_hold_back of text: past it the text goes on, counted', async () => {
    const host = await load({ response_redact_patterns: ['a+b'], response_max_hold_back: 64 });
    const events = Array.from({ length: 40 }, () => 'data: {"choices":[{"index":0,"delta":{"content":"aaaaaaaa"}}]}\n\n');
    const r = post(host, { model: 'm', stream: true, messages: [] }, { response: { headers: [['content-type', 'text/event-stream']], chunks: events } });
    const chunks = chunkTexts(r);
    const longestWait = Math.max(...chunks.map((_, i) => i - chunks.slice(0, i + 1).filter((c) => c.length > 0).length));
    expect(longestWait).toBeLessThanOrEqual(9);
    expect(r.response!.bodyText).toBe(events.join(''));
    expect(host.metric('llm_guard.response_hold_back_overflows')).toBeGreaterThan(0);
    host.assertHealthy();
  });

  it('a delta longer than the hold-back bound is no overflow: only what may still be a match counts', async () => {
    const host = await load({ response_max_hold_back: 64 });
    const prose = (n: number) => 'word '.repeat(n);
    const events = [prose(400) + 'ending', prose(400) + 'then a@b.io', ' and done.'].map((t) => `data: ${JSON.stringify({ choices: [{ index: 0, delta: { content: t } }] })}\n\n`);
    const r = post(host, { model: 'm', stream: true, messages: [] }, { response: { headers: [['content-type', 'text/event-stream']], chunks: [...events, 'data: [DONE]\n\n'] } });
    expect(streamedText('openai-chat', r.response!.bodyText)).toBe(prose(400) + 'ending' + prose(400) + 'then [REDACTED] and done.');
    expect(host.metric('llm_guard.response_hold_back_overflows')).toBe(0);
    host.assertHealthy();
  });

  it('a long answer repeated on one line (Responses\' response.completed, 300 KB) is read, not cut', async () => {
    const host = await load();
    const long = 'lorem ipsum '.repeat(25_000) + 'mail a@b.io';
    const completed = { type: 'response.completed', sequence_number: 9, response: { id: 'resp_1', status: 'completed', output: [{ type: 'message', role: 'assistant', content: [{ type: 'output_text', text: long }] }] } };
    const r = post(host, { model: 'm', input: 'x', stream: true }, { path: '/v1/responses', response: { headers: [['content-type', 'text/event-stream']], chunks: [`event: response.completed\ndata: ${JSON.stringify(completed)}\n\n`] } });
    const [event] = parseSse(r.response!.bodyText);
    expect(event!.event).toBe('response.completed');
    expect(JSON.parse(event!.data).response.output[0].content[0].text).toBe('lorem ipsum '.repeat(25_000) + 'mail [REDACTED]');
    host.assertHealthy();
  });

  it('an event over the parser limits, or that is not JSON, ends the stream with an error', async () => {
    const host = await load();
    const r = post(host, { model: 'm', stream: true, messages: [] }, { response: { headers: [['content-type', 'text/event-stream']], chunks: ['data: {"choices":[{"delta":{"content":"OK!"}}]}\n\n', 'data: {"choices": [\n\n', 'data: {"choices":[{"delta":{"content":"after"}}]}\n\n'] } });
    const body = r.response!.bodyText;
    expect(body).toContain('"OK!"');
    expect(body).not.toContain('after');
    expect(JSON.parse(parseSse(body).at(-1)!.data).error.code).toBe('response_not_inspectable');
    host.assertHealthy();
  });
});
