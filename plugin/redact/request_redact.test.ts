// redact_patterns on requests, through the real filter in the in-process host: what the provider
// and the guard receive, what is refused instead, and the configuration checks.
import { describe, expect, it } from 'vitest';
import { FilterHost } from '../../operator/src/wasm/index.js';
import { KEY, OPENAI, chat, errorOf, loadGuard, outcome, post, user } from '../../test/harness/llm.js';
import { allow } from '../../operator/src/localmesh/guard_answers.js';
import { playAnswer } from '../../test/support/play_answer.js';

const EMAIL = '[a-z0-9.]+@[a-z0-9]+\\.[a-z]{2,}';
const CARD = '\\b\\d{4}(?: ?\\d{4}){3}\\b';
const BASE = { hosts: [OPENAI], api_key: KEY, redact_patterns: [EMAIL, CARD] };

function forwardedJson(r: ReturnType<typeof post>): any {
  expect(r.forwarded, outcome(r)).toBe(true);
  return JSON.parse(r.upstreamBodyText!);
}

function header(pairs: [string, string][] | null, name: string): string | undefined {
  return pairs?.find(([k]) => k === name)?.[1];
}

describe('redact_patterns: the provider gets the request with the matches masked', () => {
  it('masks each match in a message and keeps everything else of the body', async () => {
    const host = await loadGuard(BASE);
    const prompt = 'Mail bob.smith@example.com or call, card 4111 1111 1111 1111 exp 12/29';
    const raw = `{"model":"gpt-4o-mini","messages":[{"role":"system","content":"Be brief. Caf\\u00e9 \u2615 \ud83d\ude00"},`
      + `{"role":"user","content":${JSON.stringify(prompt)}}],"temperature":0.25,"max_tokens":1e3,"stream":false,"metadata":{"n":-0.0,"big":12345678901234567890}}`;
    const r = post(host, raw);
    const sent = forwardedJson(r);
    expect(sent.messages[1].content).toBe('Mail [REDACTED] or call, card [REDACTED] exp 12/29');
    // Everything else means what it meant: the same object once the redacted text is put back.
    sent.messages[1].content = prompt;
    expect(sent).toEqual(JSON.parse(raw));
    // Numbers as the client wrote them, not as a float round trip would.
    expect(r.upstreamBodyText).toContain('12345678901234567890');
    expect(r.upstreamBodyText).toContain('1e3');
    expect(header(r.upstreamHeaders, 'content-length'), 'the length changed: none is claimed').toBeUndefined();
    expect(host.metric('llm_guard.requests_redacted')).toBe(1);
    const audit = JSON.parse(new TextDecoder().decode(r.filterState.get('llm_guard.audit')));
    expect(audit).toMatchObject({ decision: 'allowed', redacted: true });
    expect(JSON.stringify(audit)).not.toContain('example.com');
    host.assertHealthy();
  });

  it('leaves a body without matches byte for byte', async () => {
    const host = await loadGuard(BASE);
    const raw = '{ "model":"gpt-4o-mini",  "messages":[{"role":"user","content":"hi \\u00e9"}] }';
    const r = post(host, raw);
    expect(r.forwarded, outcome(r)).toBe(true);
    expect(r.upstreamBodyText).toBe(raw);
    expect(host.metric('llm_guard.requests_redacted')).toBe(0);
  });

  it('uses redact_token, and masks the same text wherever it is', async () => {
    const host = await loadGuard({ ...BASE, redact_token: '<pii>' });
    const r = post(host, chat(user('a@b.io'), { role: 'assistant', content: 'noted a@b.io' }, user([{ type: 'text', text: 'first x@y.org' }, { type: 'text', text: 'then a@b.io' }])));
    const sent = forwardedJson(r);
    expect(sent.messages[0].content).toBe('<pii>');
    expect(sent.messages[1].content).toBe('noted <pii>');
    expect(sent.messages[2].content).toEqual([{ type: 'text', text: 'first <pii>' }, { type: 'text', text: 'then <pii>' }]);
  });

  it('masks tool-call arguments (JSON in a string), and the JSON stays JSON', async () => {
    const host = await loadGuard(BASE);
    const args = JSON.stringify({ to: 'carol@corp.example', subject: 'hi' });
    const r = post(host, chat(user('send it'), { role: 'assistant', content: null, tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'send_mail', arguments: args } }] }));
    const sent = forwardedJson(r);
    expect(JSON.parse(sent.messages[1].tool_calls[0].function.arguments)).toEqual({ to: '[REDACTED]', subject: 'hi' });
  });

  it('masks with the longest reach of overlapping patterns, one token per stretch', async () => {
    const host = await loadGuard({ hosts: [OPENAI], api_key: KEY, redact_patterns: ['secret-\\d+', '\\d+-alpha'] });
    const r = post(host, chat(user('x secret-42-alpha y secret-7 z')));
    expect(forwardedJson(r).messages[0].content).toBe('x [REDACTED] y [REDACTED] z');
  });

  it('the guard judges the redacted text', async () => {
    const cluster = 'outbound|80||guard.internal';
    const host = await loadGuard({ ...BASE, intelligent_guard: { host: 'guard.internal', port: 80, api_key: 'sk-guard-KEY-c0ffee1234abcd' } }, { clusters: [cluster] });
    const r = post(host, chat(user('reach me at dana@example.net')));
    expect(host.httpCalls).toHaveLength(1);
    const call = host.httpCalls[0]!;
    const asked = new TextDecoder().decode(call.body);
    expect(asked).not.toContain('dana@example.net');
    expect(asked).toContain('[REDACTED]');
    playAnswer(host, call.token, allow());
    expect(forwardedJson(r).messages[0].content).toBe('reach me at [REDACTED]');
  });
});

describe('redact_patterns: refused when the match can not be masked where it is', () => {
  it('text in an attached file (multipart) is refused, not forwarded unmasked', async () => {
    const host = await loadGuard(BASE);
    const b = '----b0undary';
    const body = `--${b}\r\nContent-Disposition: form-data; name="purpose"\r\n\r\nbatch\r\n--${b}\r\nContent-Disposition: form-data; name="file"; filename="notes.txt"\r\nContent-Type: text/plain\r\n\r\nwrite to eve@example.com\r\n--${b}--\r\n`;
    const r = post(host, body, { path: '/v1/files', contentType: `multipart/form-data; boundary=${b}` });
    expect(r.forwarded).toBe(false);
    expect(errorOf(r)).toMatchObject({ status: 403, type: 'policy_violation', code: 'redaction_not_possible' });
    expect(errorOf(r)!.raw).not.toContain('eve@');
    expect(host.metric('llm_guard.requests_refused_redaction')).toBe(1);
  });

  it('text hidden by escapes in JSON inside a string is refused', async () => {
    const host = await loadGuard(BASE);
    // The arguments string holds `\u0065ve@example.com`: only decoded does it read as an address.
    const args = '{"to":"\\u0065ve@example.com"}';
    const r = post(host, chat(user('x'), { role: 'assistant', content: null, tool_calls: [{ id: 'c', type: 'function', function: { name: 'f', arguments: args } }] }));
    if (r.forwarded) {
      // Masked in the outer text is fine too, as long as the address is gone, as written and decoded.
      const sent = JSON.parse(r.upstreamBodyText!);
      const forwardedArgs: string = sent.messages[1].tool_calls[0].function.arguments;
      expect(forwardedArgs).not.toContain('ve@example.com');
      expect(forwardedArgs.replace(/\\u0065/g, 'e')).not.toContain('eve@');
    } else {
      expect(errorOf(r)?.code).toBe('redaction_not_possible');
    }
  });

  it('a match across two content parts is refused (each part alone holds no match)', async () => {
    const host = await loadGuard(BASE);
    const r = post(host, chat(user([{ type: 'text', text: 'card 4111 1111' }, { type: 'text', text: ' 1111 1111' }])));
    expect(errorOf(r)?.code, outcome(r)).toBe('redaction_not_possible');
  });

  it('a deny pattern still denies: deny wins over redact', async () => {
    const host = await loadGuard({ ...BASE, deny_patterns: ['@example\\.com'] });
    const r = post(host, chat(user('bob@example.com')));
    expect(errorOf(r)?.code).toBe('denied_by_pattern');
  });
});

describe('redact_patterns: configuration', () => {
  async function rejection(config: unknown): Promise<string> {
    const host = await FilterHost.load({ pluginConfig: config });
    expect(host.configure()).toBe(false);
    expect(host.trapped).toBe(false);
    return host.logs.map(([, m]) => m).find((m) => m.includes('config rejected')) ?? '';
  }

  it('names a pattern that does not compile', async () => {
    expect(await rejection({ ...BASE, redact_patterns: ['ok', '(?<=x)y'] })).toMatch(/redact_patterns\[1\]/);
    expect(await rejection({ ...BASE, response_redact_patterns: ['ok', '('] })).toMatch(/response_redact_patterns\[1\]/);
    expect(await rejection({ ...BASE, response_deny_patterns: ['('], response_redact_patterns: ['ok'] })).toMatch(/response_deny_patterns\[0\]/);
  });

  it('refuses a token the patterns would match again', async () => {
    expect(await rejection({ ...BASE, redact_patterns: ['[A-Z]{4,}'] })).toMatch(/redact_token: "\[REDACTED\]" matches redact_patterns\[0\]/);
    expect(await rejection({ ...BASE, response_redact_patterns: ['x', 'REDACT'] })).toMatch(/matches response_redact_patterns\[1\]/);
    expect(await rejection({ ...BASE, redact_token: 'x'.repeat(65) })).toMatch(/redact_token: must be at most 64/);
    expect(await rejection({ ...BASE, response_max_hold_back: 10 })).toMatch(/response_max_hold_back/);
  });
});
