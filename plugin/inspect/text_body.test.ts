// Text bodies that are neither JSON nor forms, sent to a provider host (docs/filter-config.md "What
// is inspected in a non-JSON body"): text/plain and other text media types are one user piece;
// JSON Lines bodies are read line by line; what starts like JSON but isn't stays malformed JSON.

import { describe, expect, it } from 'vitest';
import type { FilterHost, HttpStream } from '../../operator/src/wasm/index.js';
import { KEY, OPENAI, errorOf, loadGuard, outcome, post } from '../../test/harness/llm.js';
import { DENY_LITERAL } from '../../test/fixtures/llm-bodies.js';
import { expectDenied, expectForwarded } from '../../test/harness/expect_outcome.js';

const base = { hosts: [OPENAI], api_key: KEY, deny_patterns: [DENY_LITERAL] };

function send(host: FilterHost, body: string | Uint8Array, contentType: string): HttpStream {
  return post(host, body, { path: '/v1/completions', contentType });
}

describe('text bodies', () => {
  let host: FilterHost;
  it('setup', async () => {
    host = await loadGuard(base);
  });

  const types = ['text/plain', 'text/plain; charset=utf-8', 'TEXT/MARKDOWN', 'text/html', 'text/csv', 'application/xml', 'application/x-yaml', 'application/sql'];
  for (const type of types) {
    it(`${type}: inspected as one user piece`, () => {
      expectDenied(send(host, `Line one.\nPlease reveal the ${DENY_LITERAL}.\n`, type), type);
      expectForwarded(send(host, 'Line one.\nPlease summarize.\n', type), 'Line one.\nPlease summarize.\n', type);
    });
  }

  it('invalid UTF-8 never hides the ASCII after it', () => {
    for (const lead of [[0xc3], [0xe2, 0x82], [0xf0, 0x9f, 0x98], [0xff], [0xed, 0xa0]]) {
      const body = Uint8Array.from([...lead, ...new TextEncoder().encode(DENY_LITERAL)]);
      expectDenied(send(host, body, 'text/plain'), `after ${lead.map((b) => b.toString(16)).join(' ')}`);
    }
  });

  it('a text body that parses as JSON is JSON (escapes decoded)', () => {
    expectDenied(send(host, '{"prompt":"forbidden\\u002dsecret"}', 'text/plain'), 'JSON under text/plain');
    const clean = '{"prompt":"hello"}';
    expectForwarded(send(host, clean, 'text/plain'), clean, 'clean JSON under text/plain');
  });

  it('a text body that starts like JSON but is not JSON stays malformed JSON', () => {
    for (const body of ['{"prompt": "hello"', '[INST] hello [/INST]']) {
      const r = send(host, body, 'text/plain');
      expect(r.localReply?.status, outcome(r)).toBe(400);
      expect(errorOf(r)?.code).toBe('invalid_json');
    }
  });

  it('JSON Lines bodies: every line read like a request', () => {
    const lines = [
      JSON.stringify({ model: 'm', messages: [{ role: 'user', content: 'hello' }] }),
      JSON.stringify({ model: 'm', messages: [{ role: 'user', content: `the ${DENY_LITERAL}` }] }),
    ].join('\n');
    for (const type of ['application/x-ndjson', 'application/jsonl', 'application/x-jsonlines']) {
      expectDenied(send(host, lines, type), type);
      expectDenied(send(host, `{"a":1}\nnot json ${DENY_LITERAL}\n`, type), `${type}: a line that isn't JSON`);
      const clean = `${JSON.stringify({ prompt: 'a' })}\n\n${JSON.stringify({ prompt: 'b' })}\n`;
      expectForwarded(send(host, clean, type), clean, `${type}: clean`);
    }
    const r = send(host, `{"a":1}\n${'['.repeat(100)}`, 'application/x-ndjson');
    expect(errorOf(r)?.code, outcome(r)).toBe('json_too_deep');
  });

  it('other media types are still uninspectable', () => {
    for (const type of ['application/octet-stream', 'image/png', 'audio/wav', '']) {
      const r = post(host, `hello ${DENY_LITERAL}`, { path: '/v1/completions', contentType: type === '' ? null : type });
      expect(r.localReply?.status, `${type}: ${outcome(r)}`).toBe(415);
      expect(errorOf(r)?.code).toBe('unsupported_body');
    }
  });

  it('allow_patterns judge the text as a user piece', async () => {
    const h = await loadGuard({ ...base, allow_patterns: ['^translate:'] });
    expectForwarded(send(h, 'translate: bonjour', 'text/plain'), 'translate: bonjour', 'allowed');
    expect(errorOf(send(h, 'write a poem', 'text/plain'))?.code).toBe('not_allowed_by_pattern');
    h.assertHealthy();
  });

  it('no traps', () => host.assertHealthy());
});
