// End-to-end with a real SDK: the official `openai` package streams through real Envoy running the
// release filter (provider route, key injection) from the mock provider, which streams like the
// real APIs (small deltas, keep-alive comments, events cut across socket writes, a usage chunk).
// The app's traffic reaches Envoy as in a pod: plain HTTP to the provider's host, redirected to the
// sidecar's listener (sidecarFetch). The reply carries planted secrets split across deltas, and the
// policy redacts them (response_redact_patterns): the SDK must read a well-formed, redacted stream.
// A reply word the policy denies (response_deny_patterns) ends the stream with an error the SDK throws.
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startEnvoy, type EnvoyProcess } from '../../operator/src/localmesh/envoy.js';
import { send } from '../../operator/src/localmesh/http_client.js';
import { startMockProvider, type MockProvider, type RecordedRequest, type StreamKnobs } from '../../operator/src/localmesh/mock_provider.js';
import { sidecarFetch } from '../../operator/src/localmesh/sidecar_fetch.js';
import { buildBootstrap } from '../../operator/src/localmesh/sidecar_bootstrap.js';
import { OPENAI_STREAM_ERROR, RESPONSES_STREAM_ERROR } from '../../operator/src/localmesh/streams/index.js';
import { parseSse, type SseMessage } from '../../operator/src/localmesh/streams/sse_parse.js';
import { defaultWasmPath } from '../../operator/src/wasm/module_path.js';

vi.setConfig({ testTimeout: 60_000, hookTimeout: 120_000 });

const OPENAI = 'api.openai.com';
const ANTHROPIC = 'api.anthropic.com';
const GEMINI = 'generativelanguage.googleapis.com';
const OPENAI_KEY = 'sk-e2e-sdk-openai-Vb7Nm3Qw9Er2Ty5U';
const ANTHROPIC_KEY = 'sk-ant-e2e-sdk-Hj4Kl8Zx2Cv6Bn1M';
const GEMINI_KEY = 'AIzaE2eSdkGeminiKey-Pq5Wr7Ts9Uy';
/** What the app holds: never good at the provider, which must see the filter's key instead. */
const APP_KEY = 'unused-by-app';

const EMAIL = 'jane.doe@example.com';
const API_KEY_IN_TEXT = 'sk-proj-PLANTEDa1b2c3d4e5f6g7h8i9j0';
const REPLY = `Sure. Write to ${EMAIL} and call the API with ${API_KEY_IN_TEXT} — naïve café, 🎉 done.`;
/** What the app must read: REPLY with EMAIL and API_KEY_IN_TEXT masked. */
const APP_SEES = 'Sure. Write to [REDACTED] and call the API with [REDACTED] — naïve café, 🎉 done.';
/** A prompt with this word gets a reply holding DENIED_WORD, which the policy denies. */
const DENY_WORD = 'tell-the-codes';
const DENIED_REPLY = 'Fine. The launch codes are 0000, and more text follows here.';
/** A prompt with this word gets the provider's mid-stream error after a few deltas. */
const FAIL_WORD = 'fail-mid-stream';
const DELTAS_BEFORE_ERROR = 4;

/** Like the real services, with every hard case on: events cut across writes, keep-alives. */
const REALISTIC: StreamKnobs = { writes: 'mixed', delayMs: 4, keepAliveMs: 15 };

let mock: MockProvider;
let envoy: EnvoyProcess;
let client: OpenAI;

beforeAll(async () => {
  mock = await startMockProvider({
    keys: { [OPENAI]: OPENAI_KEY, [ANTHROPIC]: ANTHROPIC_KEY, [GEMINI]: GEMINI_KEY },
    reply: (_rec, body) => (JSON.stringify(body).includes(DENY_WORD) ? DENIED_REPLY : REPLY),
    stream: (_rec, body) => (JSON.stringify(body).includes(FAIL_WORD) ? { ...REALISTIC, errorAfterDeltas: DELTAS_BEFORE_ERROR } : REALISTIC),
  });
  const pluginConfig = {
    hosts: [OPENAI],
    api_key: OPENAI_KEY,
    providers: [
      { hosts: [ANTHROPIC], api_key: ANTHROPIC_KEY, auth_style: 'x-api-key' },
      { hosts: [GEMINI], api_key: GEMINI_KEY, auth_style: 'x-goog-api-key' },
    ],
    deny_patterns: ['(?i)password'],
    response_deny_patterns: ['(?i)launch codes'],
    response_redact_patterns: ['[a-z0-9._-]+@[a-z0-9-]+\\.[a-z]{2,}', 'sk-proj-[A-Za-z0-9]{20,}'],
  };
  envoy = await startEnvoy((run) =>
    buildBootstrap({
      accessLogPath: run.accessLogPath,
      mockPort: mock.port,
      providerHosts: [OPENAI, ANTHROPIC, GEMINI],
      listeners: [{ name: 'guard', wasm: { wasmPath: defaultWasmPath(), namespace: 'apps', name: 'llm-guard', pluginConfig } }],
    }),
  );
  client = new OpenAI({ baseURL: `http://${OPENAI}/v1`, apiKey: APP_KEY, fetch: sidecarFetch(envoy.ports.guard!), maxRetries: 0 });
}, 120_000);

afterAll(async () => {
  await envoy?.stop();
  await mock?.close();
});

let seq = 0;
/** A request id the mock's records can be found by. */
function tag(): { id: string; headers: Record<string, string>; recs: () => RecordedRequest[] } {
  const id = `sdk-${++seq}`;
  return { id, headers: { 'x-e2e-id': id }, recs: () => mock.requests.filter((r) => r.headers['x-e2e-id'] === id) };
}

/** The one request the provider got: complete, with the filter's key and never the app's. */
function providerSaw(recs: RecordedRequest[], header: string, value: string): RecordedRequest {
  expect(recs.map((r) => ({ complete: r.complete, status: r.status }))).toEqual([{ complete: true, status: 200 }]);
  const rec = recs[0]!;
  expect(rec.headers[header]).toBe(value);
  expect(JSON.stringify(rec.rawHeaders)).not.toContain(APP_KEY);
  return rec;
}

const events = (rec: RecordedRequest) => parseSse([rec.responseBody]).events;
const data = (e: SseMessage) => JSON.parse(e.data) as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
/** The text deltas the provider sent in a chat stream. */
const chatDeltasSent = (rec: RecordedRequest) =>
  events(rec)
    .filter((e) => e.data !== '[DONE]')
    .map(data)
    .map((c) => c.choices?.[0]?.delta?.content)
    .filter((d): d is string => typeof d === 'string' && d !== '');

/** A chat stream's text deltas, read until it ends or the SDK throws (the error, else undefined). */
async function readUntilError(stream: AsyncIterable<OpenAI.Chat.Completions.ChatCompletionChunk>): Promise<{ deltas: string[]; failure: unknown }> {
  const deltas: string[] = [];
  try {
    for await (const chunk of stream) {
      const d = chunk.choices[0]?.delta.content;
      if (d) deltas.push(d);
    }
    return { deltas, failure: undefined };
  } catch (e: unknown) {
    return { deltas, failure: e };
  }
}

describe('openai SDK: chat.completions.create({ stream: true }) through Envoy', () => {
  it('receives every delta, the reply text and the usage chunk, without an SDK error; the provider saw the injected key', async () => {
    const t = tag();
    const stream = await client.chat.completions.create(
      { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Who do I write to?' }], stream: true, stream_options: { include_usage: true } },
      { headers: t.headers },
    );
    const deltas: string[] = [];
    const chunks: OpenAI.Chat.Completions.ChatCompletionChunk[] = [];
    for await (const chunk of stream) {
      chunks.push(chunk);
      const d = chunk.choices[0]?.delta.content;
      if (d) deltas.push(d);
    }
    expect(deltas.join('')).toBe(APP_SEES);
    const rec = providerSaw(t.recs(), 'authorization', `Bearer ${OPENAI_KEY}`);
    // The provider sent the secrets cut across deltas; the app got every chunk, the secrets masked.
    expect(chatDeltasSent(rec).join('')).toBe(REPLY);
    expect(chunks).toHaveLength(events(rec).filter((e) => e.data !== '[DONE]').length);
    // The stream really was hard to read: keep-alives and events cut across writes.
    expect(parseSse([rec.responseBody]).comments.length).toBeGreaterThan(0);
    expect(rec.responseWrites.some((w) => !w.toString('latin1').endsWith('\n\n'))).toBe(true);

    const last = chunks.at(-1)!;
    expect(last.choices).toEqual([]);
    expect(last.usage).toMatchObject({ completion_tokens: Math.ceil(REPLY.length / 4) });
    expect(last.usage!.total_tokens).toBe(last.usage!.prompt_tokens + last.usage!.completion_tokens);
    expect(chunks.filter((c) => c.choices[0]?.finish_reason === 'stop')).toHaveLength(1);
  });

  it('the SDK\'s stream helper assembles the same message', async () => {
    const t = tag();
    const runner = client.chat.completions.stream({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Again?' }], stream_options: { include_usage: true } }, { headers: t.headers });
    const done = await runner.finalChatCompletion();
    expect(done.choices[0]!.message.content).toBe(APP_SEES);
    expect(done.usage?.completion_tokens).toBe(Math.ceil(REPLY.length / 4));
    providerSaw(t.recs(), 'authorization', `Bearer ${OPENAI_KEY}`);
  });

  it('a mid-stream provider error surfaces as the SDK\'s APIError, after the deltas sent before it', async () => {
    const t = tag();
    const stream = await client.chat.completions.create(
      { model: 'gpt-4o-mini', messages: [{ role: 'user', content: `please ${FAIL_WORD}` }], stream: true, stream_options: { include_usage: true } },
      { headers: t.headers },
    );
    const { deltas, failure } = await readUntilError(stream);
    expect(failure).toBeInstanceOf(OpenAI.APIError);
    expect(failure).toMatchObject({ message: OPENAI_STREAM_ERROR.error.message, error: OPENAI_STREAM_ERROR.error });
    expect(deltas).toHaveLength(DELTAS_BEFORE_ERROR);
    // What was held back waiting for more text is let go when the stream ends: unfinished, it matched nothing.
    expect(deltas.join('')).toBe(REPLY.slice(0, deltas.join('').length));
    providerSaw(t.recs(), 'authorization', `Bearer ${OPENAI_KEY}`);
  });

  it('a reply matching a response deny pattern ends the stream: the SDK throws the policy\'s APIError, the matched text never arrives', async () => {
    const t = tag();
    const stream = await client.chat.completions.create(
      { model: 'gpt-4o-mini', messages: [{ role: 'user', content: `please ${DENY_WORD}` }], stream: true },
      { headers: t.headers },
    );
    const { deltas, failure } = await readUntilError(stream);
    expect(failure).toBeInstanceOf(OpenAI.APIError);
    expect(failure).toMatchObject({ code: 'response_denied_by_pattern', type: 'policy_violation' });
    expect(deltas.join('')).not.toMatch(/launch|codes|0000/i);
    expect(DENIED_REPLY.startsWith(deltas.join(''))).toBe(true);
    providerSaw(t.recs(), 'authorization', `Bearer ${OPENAI_KEY}`);
  });
});

describe('openai SDK: responses.create({ stream: true }) through Envoy', () => {
  it('receives the documented events, every delta, the text and the usage in response.completed', async () => {
    const t = tag();
    const stream = await client.responses.create({ model: 'gpt-4o-mini', input: 'Who do I write to?', stream: true }, { headers: t.headers });
    const got: OpenAI.Responses.ResponseStreamEvent[] = [];
    for await (const event of stream) got.push(event);
    const deltas = got.flatMap((e) => (e.type === 'response.output_text.delta' ? [e.delta] : []));
    expect(deltas.join('')).toBe(APP_SEES);
    const rec = providerSaw(t.recs(), 'authorization', `Bearer ${OPENAI_KEY}`);
    expect(deltas).toHaveLength(events(rec).filter((e) => e.event === 'response.output_text.delta').length);
    expect(got.map((e) => e.type).filter((type) => type !== 'response.output_text.delta')).toEqual([
      'response.created',
      'response.in_progress',
      'response.output_item.added',
      'response.content_part.added',
      'response.output_text.done',
      'response.content_part.done',
      'response.output_item.done',
      'response.completed',
    ]);
    expect(got.map((e) => e.sequence_number)).toEqual(got.map((_, i) => i));
    const completed = got.at(-1)!;
    if (completed.type !== 'response.completed') throw new Error(`last event ${completed.type}`);
    // output_text is the SDK helpers' convenience; a raw event carries the output items.
    const message = completed.response.output[0];
    const part = message?.type === 'message' ? message.content[0] : undefined;
    expect(part?.type === 'output_text' ? part.text : undefined).toBe(APP_SEES);
    expect(completed.response.usage).toMatchObject({ output_tokens: Math.ceil(REPLY.length / 4) });
  });

  it('the SDK\'s stream helper gives the final response', async () => {
    const t = tag();
    const final = await client.responses.stream({ model: 'gpt-4o-mini', input: 'Again?' }, { headers: t.headers }).finalResponse();
    expect(final.output_text).toBe(APP_SEES);
    expect(final.status).toBe('completed');
    providerSaw(t.recs(), 'authorization', `Bearer ${OPENAI_KEY}`);
  });

  it('a mid-stream provider error reaches the app as the `error` event, then response.failed; no response.completed', async () => {
    const t = tag();
    const stream = await client.responses.create({ model: 'gpt-4o-mini', input: `please ${FAIL_WORD}`, stream: true }, { headers: t.headers });
    const got: OpenAI.Responses.ResponseStreamEvent[] = [];
    for await (const event of stream) got.push(event);
    expect(got.filter((e) => e.type === 'response.output_text.delta')).toHaveLength(DELTAS_BEFORE_ERROR);
    expect(got.slice(-2).map((e) => e.type)).toEqual(['error', 'response.failed']);
    expect(got.at(-2)).toMatchObject(RESPONSES_STREAM_ERROR);
    expect(got.at(-1)).toMatchObject({ response: { status: 'failed', error: { code: RESPONSES_STREAM_ERROR.code } } });
    providerSaw(t.recs(), 'authorization', `Bearer ${OPENAI_KEY}`);
  });
});

describe('the other providers\' streams through Envoy (raw, parsed as SSE)', () => {
  it('Anthropic Messages: the text arrives whole in text_delta events; the provider saw the injected x-api-key', async () => {
    const t = tag();
    const res = await send({
      port: envoy.ports.guard!,
      host: ANTHROPIC,
      path: '/v1/messages',
      headers: { ...t.headers, 'x-api-key': APP_KEY, 'anthropic-version': '2023-06-01' },
      json: { model: 'claude-sonnet-4-5', max_tokens: 256, stream: true, messages: [{ role: 'user', content: 'Who do I write to?' }] },
    });
    expect(res.status).toBe(200);
    const rec = providerSaw(t.recs(), 'x-api-key', ANTHROPIC_KEY);
    const got = parseSse([res.body]).events;
    expect(got.filter((e) => e.event === 'content_block_delta').map((e) => data(e).delta.text).join('')).toBe(APP_SEES);
    expect(got.at(-1)!.event).toBe('message_stop');
    expect(got.map((e) => e.event)).toEqual(parseSse([rec.responseBody]).events.map((e) => e.event));
  });

  it('Gemini streamGenerateContent?alt=sse: the text arrives whole; the provider saw the injected x-goog-api-key', async () => {
    const t = tag();
    const res = await send({
      port: envoy.ports.guard!,
      host: GEMINI,
      path: '/v1beta/models/gemini-2.0-flash:streamGenerateContent?alt=sse',
      headers: { ...t.headers, 'x-goog-api-key': APP_KEY },
      json: { contents: [{ role: 'user', parts: [{ text: 'Who do I write to?' }] }] },
    });
    expect(res.status).toBe(200);
    const rec = providerSaw(t.recs(), 'x-goog-api-key', GEMINI_KEY);
    const got = parseSse([res.body]).events.map(data);
    expect(got.map((c) => c.candidates[0].content.parts[0].text).join('')).toBe(APP_SEES);
    expect(got.at(-1)!.candidates[0].finishReason).toBe('STOP');
    expect(got).toHaveLength(parseSse([rec.responseBody]).events.length);
  });
});

describe('Envoy over the whole run', () => {
  it('no VM failed, and no provider key reached the logs', async () => {
    expect(await envoy.vmHealth()).toMatchObject({ ok: true });
    const log = (await envoy.logText()) + (await envoy.accessLogText());
    for (const key of [OPENAI_KEY, ANTHROPIC_KEY, GEMINI_KEY]) expect(log).not.toContain(key);
  });
});
