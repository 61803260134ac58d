// The audit record per request on provider hosts (filter state llm_guard.audit, filter/audit.ts) and
// the per-provider, per-model counters: what was decided and why, the guard's verdict and latency,
// the token usage the response reported (whole JSON replies and every provider's stream), never
// the prompt or the completion.
import { describe, expect, it } from 'vitest';
import type { FilterHost, HttpStream, ResponseSpec } from '../../operator/src/wasm/index.js';
import { allow, deny } from '../../operator/src/localmesh/guard_answers.js';
import { playAnswer } from '../../test/support/play_answer.js';
import { GEMINI, KEY, OPENAI, chat, get, loadGuard, post, user } from '../../test/harness/llm.js';

const CANARY = 'zqaudit-canary';
const GUARD = { host: 'guard.internal', port: 80, path: '/v1/chat/completions', model: 'guard-model-1', api_key: 'sk-guard-KEY-aud1t000' };

function audit(r: HttpStream): Record<string, any> {
  const raw = r.filterState.get('llm_guard.audit');
  expect(raw, 'an audit record').toBeDefined();
  return JSON.parse(new TextDecoder().decode(raw));
}

const sse = (events: string[]) => ({ headers: [['content-type', 'text/event-stream']] as [string, string][], chunks: events });
const json = (body: unknown): ResponseSpec => ({ headers: [['content-type', 'application/json']], body: JSON.stringify(body) });

async function patterns(): Promise<FilterHost> {
  return loadGuard({ hosts: [OPENAI, GEMINI], api_key: KEY, deny_patterns: ['(?i)password', 'secret'] });
}

describe('the audit record', () => {
  it('an allowed request: provider, model, status, usage of a JSON reply and the request id; no prompt, no completion, no key', async () => {
    const host = await patterns();
    const r = post(host, { model: 'gpt-4o-mini', messages: [{ role: 'user', content: `hello ${CANARY}` }] }, {
      headers: [['x-request-id', 'req-123']],
      response: json({ choices: [{ message: { role: 'assistant', content: `hi ${CANARY}` } }], usage: { prompt_tokens: 12, completion_tokens: 5, total_tokens: 17 } }),
    });
    expect(audit(r)).toEqual({
      policy: expect.any(String),
      provider: OPENAI,
      model: 'gpt-4o-mini',
      decision: 'allowed',
      status: 200,
      usage: { input_tokens: 12, output_tokens: 5, total_tokens: 17 },
      request_id: 'req-123',
    });
    const text = new TextDecoder().decode(r.filterState.get('llm_guard.audit'));
    expect(text).not.toContain(CANARY);
    expect(text).not.toContain(KEY);
    expect(host.metric('llm_guard.provider.api_openai_com.model.gpt-4o-mini.requests_allowed')).toBe(1);
    expect(host.metric('llm_guard.provider.api_openai_com.model.gpt-4o-mini.input_tokens')).toBe(12);
    expect(host.metric('llm_guard.provider.api_openai_com.model.gpt-4o-mini.output_tokens')).toBe(5);
    host.assertHealthy();
  });

  it('a pattern denial names the pattern by index and the reply code, never the text', async () => {
    const host = await patterns();
    const r = post(host, { model: 'gpt-4o', messages: [{ role: 'user', content: `my secret ${CANARY}` }] });
    const record = audit(r);
    expect(record).toMatchObject({ decision: 'denied', reason: 'denied_by_pattern', rule: 'deny_patterns[1]', model: 'gpt-4o', status: 403 });
    expect(JSON.stringify(record)).not.toContain(CANARY);
    expect(host.metric('llm_guard.provider.api_openai_com.model.gpt-4o.requests_denied')).toBe(1);
    host.assertHealthy();
  });

  it('the guard: its verdict and latency, allowed or denied', async () => {
    const host = await loadGuard({ hosts: [OPENAI], api_key: KEY, intelligent_guard: GUARD }, { clusters: ['outbound|80||guard.internal'] });
    const allowed = post(host, chat(user('a fine question')));
    playAnswer(host, allowed.pendingHttpCalls[0]!.token, allow());
    expect(audit(allowed)).toMatchObject({ decision: 'allowed', guard: 'allow', guard_latency_ms: expect.any(Number) });
    const denied = post(host, chat(user('a bad question')));
    playAnswer(host, denied.pendingHttpCalls[0]!.token, deny('S1'));
    expect(audit(denied)).toMatchObject({ decision: 'denied', reason: 'denied_by_guard', guard: 'deny' });
    host.assertHealthy();
  });

  it('a bodiless request is allowed uninspected, and Gemini names its model in the path', async () => {
    const host = await patterns();
    const r = get(host, '/v1beta/models/gemini-2.0-flash:countTokens', { authority: GEMINI });
    expect(audit(r)).toMatchObject({ provider: GEMINI, model: 'gemini-2.0-flash', decision: 'allowed' });
    host.assertHealthy();
  });

  it('a repeated model member: the last one, as JSON.parse keeps', async () => {
    const host = await patterns();
    const r = post(host, '{"model":"first","messages":[{"role":"user","content":"hi"}],"model":"second"}', {
      response: { headers: [['content-type', 'application/json']], body: '{"choices":[],"usage":{"prompt_tokens":1,"completion_tokens":2,"total_tokens":3,"completion_tokens":4}}' },
    });
    expect(audit(r)).toMatchObject({ model: 'second', usage: { input_tokens: 1, output_tokens: 4, total_tokens: 3 } });
    host.assertHealthy();
  });

  it('a model name the request makes up is cut, and the counters for made-up names are capped', async () => {
    const host = await patterns();
    const long = 'm'.repeat(500);
    const r = post(host, { model: long, messages: [{ role: 'user', content: 'hi' }] });
    expect(audit(r).model).toBe('m'.repeat(128));
    for (let i = 0; i < 80; i++) post(host, { model: `made-up.${i}`, messages: [{ role: 'user', content: 'hi' }] });
    const series = Object.keys(host.metrics).filter((k) => k.startsWith('llm_guard.provider.') && k.endsWith('.requests_allowed'));
    expect(series.length).toBeLessThanOrEqual(64);
    expect(host.metric('llm_guard.provider.api_openai_com.model.other.requests_allowed')).toBeGreaterThan(0);
    host.assertHealthy();
  });
});

describe('token usage from streams', () => {
  const cases: [string, string, ResponseSpec, Record<string, number>][] = [
    [
      'OpenAI chat chunks with include_usage',
      '/v1/chat/completions',
      sse([
        'data: {"id":"c1","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":"Hel"}}],"usage":null}\n\n',
        'data: {"id":"c1","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":"lo"},"finish_reason":"stop"}]}\n\n',
        'data: {"id":"c1","object":"chat.completion.chunk","choices":[],"usage":{"prompt_tokens":9,"completion_tokens":2,"total_tokens":11}}\n\n',
        'data: [DONE]\n\n',
      ]),
      { input_tokens: 9, output_tokens: 2, total_tokens: 11 },
    ],
    [
      'OpenAI Responses events',
      '/v1/responses',
      sse([
        'event: response.created\ndata: {"type":"response.created","response":{"id":"r1","status":"in_progress","usage":null}}\n\n',
        'event: response.output_text.delta\ndata: {"type":"response.output_text.delta","delta":"Hi"}\n\n',
        'event: response.completed\ndata: {"type":"response.completed","response":{"id":"r1","status":"completed","usage":{"input_tokens":7,"output_tokens":3,"total_tokens":10}}}\n\n',
      ]),
      { input_tokens: 7, output_tokens: 3, total_tokens: 10 },
    ],
    [
      'Anthropic events, the split one included',
      '/v1/messages',
      sse([
        'event: message_start\ndata: {"type":"message_start","message":{"id":"m1","usage":{"input_tokens":25,"output_tokens":1}}}\n\n',
        ': ping\n\nevent: content_block_delta\ndata: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hi"}}\n\nevent: message_de',
        'lta\ndata: {"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"output_tokens":15}}\r',
        '\n\r\nevent: message_stop\ndata: {"type":"message_stop"}\n\n',
      ]),
      { input_tokens: 25, output_tokens: 15 },
    ],
    [
      'Gemini alt=sse',
      '/v1beta/models/gemini-2.0-flash:streamGenerateContent?alt=sse',
      sse([
        'data: {"candidates":[{"content":{"parts":[{"text":"Hi"}],"role":"model"}}],"usageMetadata":{"promptTokenCount":4,"totalTokenCount":4}}\r\n\r\n',
        'data: {"candidates":[{"content":{"parts":[{"text":" there"}],"role":"model"},"finishReason":"STOP"}],"usageMetadata": {"promptTokenCount": 4, "candidatesTokenCount": 2, "totalTokenCount": 6}}\r\n\r\n',
      ]),
      { input_tokens: 4, output_tokens: 2, total_tokens: 6 },
    ],
  ];
  for (const [name, path, response, usage] of cases) {
    it(name, async () => {
      const host = await patterns();
      const authority = path.startsWith('/v1beta') ? GEMINI : OPENAI;
      const r = post(host, { model: 'm', messages: [{ role: 'user', content: 'hi' }], stream: true }, { path, authority, response });
      expect(audit(r).usage).toEqual(usage);
      host.assertHealthy();
    });
  }

  it('the model the response names when the request was not read (no patterns, no guard)', async () => {
    const host = await loadGuard({ hosts: [OPENAI], api_key: KEY });
    const r = post(host, { model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }] }, {
      response: json({ model: 'gpt-4o-2024-08-06', choices: [], usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 } }),
    });
    expect(audit(r)).toMatchObject({ model: 'gpt-4o-2024-08-06', decision: 'allowed' });
    host.assertHealthy();
  });

  it('a stream cut one byte at a time reads the same usage', async () => {
    const host = await patterns();
    const text = 'data: {"choices":[],"usage":{"prompt_tokens":3,"completion_tokens":4,"total_tokens":7}}\n\ndata: [DONE]\n\n';
    const r = post(host, chat(user('hi')), { response: sse([...text]) });
    expect(audit(r).usage).toEqual({ input_tokens: 3, output_tokens: 4, total_tokens: 7 });
    host.assertHealthy();
  });
});
