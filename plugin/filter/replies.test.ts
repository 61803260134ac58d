// The filter's own replies (docs/filter-config.md "Replies the filter sends itself"), the
// on_uninspectable policies, what never leaks, and that the VM keeps serving after bad input.

import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import type { FilterHost, HttpStream } from '../../operator/src/wasm/index.js';
import { CLIENT_KEY, ERROR_CODES, KEY, OPENAI, chat, errorOf, loadGuard, outcome, post, user } from '../../test/harness/llm.js';
import { DENY_LITERAL } from '../../test/fixtures/llm-bodies.js';

const base = { hosts: [OPENAI], api_key: KEY, deny_patterns: [DENY_LITERAL] };
const PROMPT = `Tell me the ${DENY_LITERAL} of the company, my account is 12345`;

function expectErrorReply(r: HttpStream, status: number, type: string, code: string): void {
  const lr = r.localReply;
  expect(lr, outcome(r)).not.toBeNull();
  expect(lr!.source, 'reply sent by the plugin').toBe('plugin');
  expect(lr!.status, outcome(r)).toBe(status);
  const ct = lr!.headers.filter(([k]) => k === 'content-type');
  expect(ct, 'exactly one content-type').toHaveLength(1);
  expect(ct[0]![1]).toMatch(/^application\/json\b/);
  const body = JSON.parse(lr!.body) as Record<string, unknown>;
  expect(Object.keys(body)).toEqual(['error']);
  const e = body.error as Record<string, unknown>;
  expect(typeof e.message).toBe('string');
  expect((e.message as string).length).toBeGreaterThan(0);
  expect(e.type).toBe(type);
  expect(e.code).toBe(code);
  expect(r.forwarded).toBe(false);
  expect(r.upstreamBody, 'no body byte reached the upstream').toBeNull();
  if (r.upstreamHeaders) expect(r.upstreamReset, 'headers went upstream, the upstream request was aborted').toBe(true);
}

function nothingLeaks(r: HttpStream, secrets: string[]): void {
  const lr = r.localReply!;
  const all = JSON.stringify(lr.headers) + lr.body + lr.details;
  for (const s of secrets) expect(all, `reply leaks ${JSON.stringify(s)}`).not.toContain(s);
}

describe('deny reply', () => {
  it('403 policy_violation / denied_by_pattern, JSON, OpenAI error shape', async () => {
    const host = await loadGuard(base);
    const r = post(host, chat(user(PROMPT)));
    expectErrorReply(r, 403, 'policy_violation', 'denied_by_pattern');
  });

  it('uses deny_status', async () => {
    for (const status of [400, 451, 429, 599]) {
      const host = await loadGuard({ ...base, deny_status: status });
      expectErrorReply(post(host, chat(user(PROMPT))), status, 'policy_violation', 'denied_by_pattern');
    }
  });

  it('never contains the prompt, the matched text or any key', async () => {
    const host = await loadGuard({ ...base, deny_patterns: ['account is \\d+', DENY_LITERAL] });
    const r = post(host, chat(user(PROMPT)), { headers: [['authorization', `Bearer ${CLIENT_KEY}`]] });
    expect(r.localReply?.status).toBe(403);
    nothingLeaks(r, [DENY_LITERAL, 'account is 12345', PROMPT, KEY, CLIENT_KEY, '12345']);
  });

  it('does not echo a prompt that looks like JSON or HTML', async () => {
    const host = await loadGuard(base);
    const evil = `</script><script>alert(1)</script>"},"x":{"y":"${DENY_LITERAL}`;
    const r = post(host, chat(user(evil)));
    expect(r.localReply?.status).toBe(403);
    nothingLeaks(r, ['<script>', DENY_LITERAL]);
    expect(() => JSON.parse(r.localReply!.body)).not.toThrow();
  });
});

describe('refusals (on_uninspectable: refuse, the default)', () => {
  let host: FilterHost;
  it('setup', async () => {
    host = await loadGuard({ ...base, max_body_bytes: 4096, max_json_depth: 16 });
  });

  for (const body of ['{"messages": [', '{"messages":[{"role":"user","content":"unterminated}]}', '{]', 'nul', 'tru', '{"a":1,}', '{"a" 1}', '']) {
    if (body === '') continue;
    it(`malformed JSON ${JSON.stringify(body)} (content-type: application/json) -> 400 invalid_json`, () => {
      expectErrorReply(post(host, body), 400, 'invalid_request_error', 'invalid_json');
    });
  }

  it('unexpected field types are inspected, not refused: the provider judges its own schema', () => {
    for (const body of [
      { messages: 'not an array' },
      { messages: [{ role: 'user', content: 42 }] },
      { messages: [42] },
    ]) {
      const r = post(host, body);
      expect(r.forwarded, outcome(r)).toBe(true);
    }
    const denied = post(host, { messages: { role: 'user', content: { text: DENY_LITERAL } } });
    expect(errorOf(denied)?.code).toBe('denied_by_pattern');
  });

  it('gzip -> 415 unsupported_content_encoding', () => {
    const gz = gzipSync(JSON.stringify(chat(user('hello'))));
    expectErrorReply(post(host, gz, { headers: [['content-encoding', 'gzip']] }), 415, 'invalid_request_error', 'unsupported_content_encoding');
  });

  it('other encodings -> 415 too; identity is fine', () => {
    for (const enc of ['br', 'deflate', 'zstd', 'GZIP', 'gzip, identity']) {
      const r = post(host, 'xxxx', { headers: [['content-encoding', enc]] });
      expectErrorReply(r, 415, 'invalid_request_error', 'unsupported_content_encoding');
    }
    const r = post(host, chat(user('hello')), { headers: [['content-encoding', 'identity']] });
    expect(r.forwarded, outcome(r)).toBe(true);
  });

  it('a second content-encoding header counts: identity first does not hide gzip', () => {
    const gz = gzipSync(JSON.stringify(chat(user('hello'))));
    const r = post(host, gz, { headers: [['content-encoding', 'identity'], ['content-encoding', 'gzip']] });
    expectErrorReply(r, 415, 'invalid_request_error', 'unsupported_content_encoding');
  });

  it('body that is not JSON, not a form and not text -> 415 unsupported_body', () => {
    for (const [ct, body] of [
      ['application/octet-stream', 'hello world, please help'],
      ['image/png', '\u0089PNG\r\n'],
      [null, 'a=b&c=d'],
    ] as const) {
      expectErrorReply(post(host, body, { contentType: ct }), 415, 'invalid_request_error', 'unsupported_body');
    }
  });

  it('text, urlencoded and multipart bodies are inspected, not refused', () => {
    const part = (text: string) => `--x\r\ncontent-disposition: form-data; name="a"\r\n\r\n${text}\r\n--x--`;
    for (const [ct, clean, denied] of [
      ['text/plain', 'hello world, please help', `please help with the ${DENY_LITERAL}`],
      ['application/x-www-form-urlencoded', 'a=b&c=d', `a=b&c=${DENY_LITERAL}`],
      ['multipart/form-data; boundary=x', part('b'), part(DENY_LITERAL)],
    ] as const) {
      const r = post(host, clean, { contentType: ct });
      expect(r.forwarded, `${ct}: ${outcome(r)}`).toBe(true);
      expectErrorReply(post(host, denied, { contentType: ct }), 403, 'policy_violation', 'denied_by_pattern');
    }
  });

  it('malformed multipart -> 400 invalid_body', () => {
    const r = post(host, '--x\r\ncontent-disposition: form-data; name="a"\r\n\r\nb', { contentType: 'multipart/form-data; boundary=x' });
    expectErrorReply(r, 400, 'invalid_request_error', 'invalid_body');
  });

  it('binary content under binary_content: refuse -> 400 binary_content_refused', async () => {
    const h = await loadGuard({ ...base, binary_content: 'refuse' });
    const body = '--x\r\ncontent-disposition: form-data; name="image"; filename="a.png"\r\ncontent-type: image/png\r\n\r\n\u0089PNG\r\n--x--\r\n';
    const r = post(h, body, { path: '/v1/images/edits', contentType: 'multipart/form-data; boundary=x' });
    expectErrorReply(r, 400, 'invalid_request_error', 'binary_content_refused');
    nothingLeaks(r, ['a.png', 'PNG', KEY]);
    h.assertHealthy();
  });

  it('too deep -> 400 json_too_deep', () => {
    const deep = `{"messages":[{"role":"user","content":"hi"}],"x":${'['.repeat(40)}${']'.repeat(40)}}`;
    expectErrorReply(post(host, deep), 400, 'invalid_request_error', 'json_too_deep');
    const ok = post(host, chat(user('hi')));
    expect(ok.forwarded, outcome(ok)).toBe(true);
  });

  it('absurdly deep input is refused without trapping (no recursion blow-up)', async () => {
    const h = await loadGuard({ ...base, max_body_bytes: 16777216 });
    for (const open of ['[', '{"a":']) {
      const r = post(h, open.repeat(200_000));
      expect(r.localReply?.status, outcome(r)).toBe(400);
      expect(['json_too_deep', 'invalid_json']).toContain(errorOf(r)?.code);
    }
    h.assertHealthy();
  });

  it('too large -> 413 body_too_large (one chunk, many chunks, declared content-length)', () => {
    const big = JSON.stringify(chat(user('x'.repeat(5000))));
    expectErrorReply(post(host, big), 413, 'invalid_request_error', 'body_too_large');
    expectErrorReply(post(host, big, { chunkSize: 512 }), 413, 'invalid_request_error', 'body_too_large');
    expectErrorReply(post(host, big, { headers: [['content-length', String(big.length)]] }), 413, 'invalid_request_error', 'body_too_large');
  });

  it('default max_body_bytes (1 MiB): a 2 MiB body gets 413 and is not forwarded', async () => {
    const h = await loadGuard(base);
    const r = post(h, JSON.stringify(chat(user('y'.repeat(2 * 1024 * 1024)))), { chunkSize: 65536 });
    expect(r.localReply?.status, outcome(r)).toBe(413);
    expect(r.forwarded).toBe(false);
    h.assertHealthy();
  });

  it('no traps', () => host.assertHealthy());
});

describe('on_uninspectable', () => {
  const malformed = `{"messages":[{"role":"user","content":"${DENY_LITERAL}"}]`;
  const malformedClean = '{"messages":[{"role":"user","content":"hello"}]';
  const text = `please reveal the ${DENY_LITERAL}`;

  it('allow: forwards uninspectable bodies with the key', async () => {
    const host = await loadGuard({ ...base, on_uninspectable: 'allow' });
    for (const [body, opts] of [
      [malformedClean, {}],
      [gzipSync('{"messages":[]}'), { headers: [['content-encoding', 'gzip']] as [string, string][] }],
      ['plain text body', { contentType: 'text/plain' }],
    ] as const) {
      const r = post(host, body, opts);
      expect(r.forwarded, outcome(r)).toBe(true);
      expect(r.upstreamHeader('authorization')).toBe(`Bearer ${KEY}`);
      expect(Buffer.from(r.upstreamBody ?? [])).toEqual(Buffer.from(typeof body === 'string' ? new TextEncoder().encode(body) : body));
    }
    // Inspectable bodies are still inspected.
    expect(post(host, chat(user(DENY_LITERAL))).localReply?.status).toBe(403);
    host.assertHealthy();
  });

  it('scan_raw: runs the patterns over the raw text', async () => {
    const host = await loadGuard({ ...base, on_uninspectable: 'scan_raw' });
    expectErrorReply(post(host, malformed), 403, 'policy_violation', 'denied_by_pattern');
    expectErrorReply(post(host, text, { contentType: 'text/plain' }), 403, 'policy_violation', 'denied_by_pattern');
    const clean = post(host, malformedClean);
    expect(clean.forwarded, outcome(clean)).toBe(true);
    const cleanText = post(host, 'hello there', { contentType: 'text/plain' });
    expect(cleanText.forwarded, outcome(cleanText)).toBe(true);
    host.assertHealthy();
  });

  it('scan_raw: a body of invalid UTF-8 is scanned, never traps, and a deny literal in it still denies', async () => {
    const host = await loadGuard({ ...base, on_uninspectable: 'scan_raw' });
    const junk = [0xff, 0xfe, 0xc3, 0x28, 0xe2, 0x82, 0xf0, 0x9f, 0x80, 0xed, 0xa0, 0x80, 0xc0, 0xaf];
    const withLiteral = new Uint8Array([...junk, ...new TextEncoder().encode(` ${DENY_LITERAL} `), ...junk]);
    expectErrorReply(post(host, withLiteral, { contentType: 'application/octet-stream' }), 403, 'policy_violation', 'denied_by_pattern');
    const clean = post(host, new Uint8Array([...junk, 0x20, ...junk]), { contentType: 'application/octet-stream' });
    expect(clean.forwarded, outcome(clean)).toBe(true);
    host.assertHealthy();
  });

  it('scan_raw: compressed bodies are still refused', async () => {
    const host = await loadGuard({ ...base, on_uninspectable: 'scan_raw' });
    const r = post(host, gzipSync(text), { headers: [['content-encoding', 'gzip']] });
    expectErrorReply(r, 415, 'invalid_request_error', 'unsupported_content_encoding');
  });

  it('refuse: each kind answered with its code', async () => {
    const host = await loadGuard({ ...base, on_uninspectable: 'refuse' });
    expect(errorOf(post(host, malformedClean))?.code).toBe('invalid_json');
    expect(errorOf(post(host, 'hello', { contentType: 'application/octet-stream' }))?.code).toBe('unsupported_body');
    expect(errorOf(post(host, gzipSync('{}'), { headers: [['content-encoding', 'gzip']] }))?.code).toBe('unsupported_content_encoding');
  });

  it('max_body_bytes applies whatever the policy', async () => {
    for (const policy of ['allow', 'scan_raw']) {
      const host = await loadGuard({ ...base, on_uninspectable: policy, max_body_bytes: 100 });
      expect(errorOf(post(host, 'z'.repeat(500), { contentType: 'text/plain' }))?.code, policy).toBe('body_too_large');
      expect(errorOf(post(host, JSON.stringify(chat(user('z'.repeat(500))))))?.code, policy).toBe('body_too_large');
    }
  });

  // The docs list json_too_deep as a 400 without a policy qualifier (unlike "body that isn't JSON
  // (refuse policy)"), and on_uninspectable names only malformed, compressed and non-JSON bodies.
  it('max_json_depth applies whatever the policy', async () => {
    for (const policy of ['allow', 'scan_raw']) {
      const host = await loadGuard({ ...base, on_uninspectable: policy, max_json_depth: 4 });
      const deep = post(host, `[[[[[[[[["${DENY_LITERAL.replace('-', ' ')}"]]]]]]]]]`);
      expect(deep.localReply?.status, `${policy}: ${outcome(deep)}`).toBe(400);
      expect(errorOf(deep)?.code).toBe('json_too_deep');
    }
  });
});

describe('the key never appears in logs', () => {
  it('with log_prompts and every kind of request', async () => {
    const host = await loadGuard(
      { hosts: [OPENAI], api_key_env: 'PROVIDER_KEY', deny_patterns: [DENY_LITERAL], allow_patterns: ['.'], log_prompts: true, max_body_bytes: 2048 },
      { env: { PROVIDER_KEY: KEY }, logLevel: 'trace' },
    );
    post(host, chat(user('hello')));
    post(host, chat(user(DENY_LITERAL)));
    post(host, chat(user('')));
    post(host, '{bad json');
    post(host, 'text', { contentType: 'text/plain' });
    post(host, gzipSync('{}'), { headers: [['content-encoding', 'gzip']] });
    post(host, 'x'.repeat(5000));
    post(host, '['.repeat(1000));
    post(host, chat(user(`my key is ${KEY}`)));
    host.request({ headers: [[':method', 'GET'], [':path', '/v1/models'], [':authority', OPENAI], ['authorization', `Bearer ${CLIENT_KEY}`]] });
    host.shutdown();
    const lines = host.logs.map(([, m]) => m);
    expect(lines.length).toBeGreaterThan(0);
    for (const l of lines) {
      expect(l).not.toContain(KEY);
      expect(l).not.toContain(CLIENT_KEY);
    }
    host.assertHealthy();
  });

  it('prompts are not logged unless log_prompts', async () => {
    const host = await loadGuard(base, { logLevel: 'trace' });
    post(host, chat(user(`quite unique prompt words ${DENY_LITERAL}`)));
    for (const [, m] of host.logs) expect(m).not.toContain('quite unique prompt words');
  });
});

describe('after any bad input the next good request is served', () => {
  it('every kind in a row, one VM', async () => {
    const host = await loadGuard({ ...base, max_body_bytes: 8192, max_json_depth: 32 });
    const good = () => {
      const r = post(host, chat(user('a good request')));
      expect(r.forwarded, outcome(r)).toBe(true);
      expect(r.upstreamHeader('authorization')).toBe(`Bearer ${KEY}`);
    };
    const bad: [string, () => HttpStream][] = [
      ['deny', () => post(host, chat(user(DENY_LITERAL)))],
      ['malformed', () => post(host, '{"messages":')],
      ['invalid UTF-8', () => post(host, new Uint8Array([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xff, 0xfe, 0x22, 0x7d]))],
      ['lone surrogate escape', () => post(host, '{"messages":[{"role":"user","content":"\\ud800"}]}')],
      ['bad escape', () => post(host, '{"messages":[{"role":"user","content":"\\x41"}]}')],
      ['truncated escape', () => post(host, '{"messages":[{"role":"user","content":"\\u12')],
      ['NUL bytes', () => post(host, '{"messages":[{"role":"user","content":"a\u0000b"}]}\u0000')],
      ['gzip', () => post(host, gzipSync('{}'), { headers: [['content-encoding', 'gzip']] })],
      ['not JSON', () => post(host, 'plain', { contentType: 'text/plain' })],
      ['too deep', () => post(host, '['.repeat(5000))],
      ['too large', () => post(host, 'x'.repeat(20000))],
      ['empty body', () => post(host, '')],
      ['empty object', () => post(host, '{}')],
      ['null', () => post(host, 'null')],
      ['huge number', () => post(host, `{"n":${'9'.repeat(4000)}}`)],
      ['huge string', () => post(host, `{"s":"${'a'.repeat(8000)}"}`)],
      ['many keys', () => post(host, `{${Array.from({ length: 800 }, (_, i) => `"k${i}":${i}`).join(',')}}`)],
      ['trailers', () => host.request({ headers: [[':method', 'POST'], [':path', '/v1/chat/completions'], [':authority', OPENAI], ['content-type', 'application/json']], body: JSON.stringify(chat(user('hi'))), trailers: [['x-t', '1']] })],
      ['client resets mid-body', () => {
        const s = host.createStream();
        s.sendHeaders([[':method', 'POST'], [':path', '/v1/chat/completions'], [':authority', OPENAI], ['content-type', 'application/json']]);
        s.sendBody('{"messages":[');
        s.finish();
        return s;
      }],
    ];
    good();
    for (const [name, send] of bad) {
      const r = send();
      expect(host.trapped, `${name} trapped the VM: ${host.traps[0]?.message}`).toBe(false);
      if (r.localReply) {
        expect(r.localReply.source, name).toBe('plugin');
        const e = errorOf(r);
        expect(Object.keys(ERROR_CODES), `${name}: ${r.localReply.body}`).toContain(e?.code);
      }
      good();
    }
    expect(host.activeStreams).toEqual([]);
  });
});
