// application/x-www-form-urlencoded request bodies through the real filter (docs/filter-config.md
// "What is inspected in a non-JSON body"): every name and value decoded the way form parsers decode
// them (`+`, percent escapes, invalid escapes kept, UTF-8 with replacement), and the bounds.

import { describe, expect, it } from 'vitest';
import type { FilterHost, HttpStream } from '../../operator/src/wasm/index.js';
import { KEY, OPENAI, errorOf, loadGuard, outcome, post } from '../../test/harness/llm.js';
import { DENY_LITERAL } from '../../test/fixtures/llm-bodies.js';
import { expectDenied, expectForwarded } from '../../test/harness/expect_outcome.js';

const FORM = 'application/x-www-form-urlencoded';
const base = { hosts: [OPENAI], api_key: KEY, deny_patterns: [DENY_LITERAL, 'two words', '账号', '^exact$'] };

function send(host: FilterHost, body: string | Uint8Array, contentType = FORM): HttpStream {
  return post(host, body, { path: '/v1/completions', contentType });
}

describe('urlencoded bodies', () => {
  let host: FilterHost;
  it('setup', async () => {
    host = await loadGuard(base);
  });

  it('a legacy completions request as URLSearchParams encodes it', () => {
    const form = (prompt: string) => new URLSearchParams({ model: 'gpt-3.5-turbo-instruct', prompt, max_tokens: '7', temperature: '0' }).toString();
    expectDenied(send(host, form(`Say the ${DENY_LITERAL}, naïve 账号`)), 'prompt');
    const clean = form('Say this is a test, naïve 😀');
    expectForwarded(send(host, clean), clean, 'clean');
  });

  const denied: [string, string][] = [
    ['a plain value', `prompt=${DENY_LITERAL}`],
    ['a name', `${DENY_LITERAL}=1`],
    ['a name without a value', `a=1&${DENY_LITERAL}`],
    ['percent-encoded', 'prompt=forbidden%2Dsecret'],
    ['every byte percent-encoded, lower-case hex', `prompt=${[...DENY_LITERAL].map((c) => `%${c.charCodeAt(0).toString(16)}`).join('')}`],
    ['+ as a space', 'prompt=two+words'],
    ['%20 as a space', 'prompt=two%20words'],
    ['percent-encoded UTF-8', 'prompt=%E8%B4%A6%E5%8F%B7'],
    ['raw UTF-8', 'prompt=账号'],
    ['an invalid escape kept as written', `prompt=%zz${DENY_LITERAL}%4`],
    ['invalid UTF-8 escapes before the literal', 'prompt=%C3forbidden-secret'],
    ['an encoded & inside a value', `a=x%26prompt%3D${DENY_LITERAL}`],
    ['an encoded = in a name', `forbidden%2Dsecret%3Dx=y`],
    ['each field is its own piece (^ and $)', 'a=1&prompt=exact&b=2'],
    ['empty fields around', `&&prompt=${DENY_LITERAL}&&`],
    ['a ; separated body (read as one value)', `a=1;prompt=${DENY_LITERAL}`],
    ['content type with a charset', `prompt=${DENY_LITERAL}`],
  ];
  for (const [what, body] of denied) {
    it(`deny literal in ${what}`, () => expectDenied(send(host, body, what.includes('charset') ? `${FORM}; charset=UTF-8` : FORM), what));
  }

  it('clean bodies are forwarded byte for byte', () => {
    for (const body of ['a=1&b=2', 'prompt=forbidden+secret', 'prompt=two%2Bwords', 'x', '&&&', '=', 'prompt=%E8%B4%A6', 'forbidden%2D%2Dsecret=exact2']) {
      expectForwarded(send(host, body), body, body);
    }
  });

  it('a JSON body sent as a form is read both ways', () => {
    // A JSON parser sees strings; a form parser sees a field `prompt` whose value decodes to the literal.
    const body = JSON.stringify({ model: 'm', note: `&prompt=forbidden%2Dsecret` });
    expectDenied(send(host, body), 'form reading of a JSON body');
    expectDenied(send(host, JSON.stringify({ prompt: 'forbidden\\u002dsecret' }).replace('\\\\', '\\')), 'JSON reading');
  });

  it('no traps', () => host.assertHealthy());
});

describe('bounds', () => {
  it('10 000 fields are read; more are refused as too large, whatever on_uninspectable says', async () => {
    for (const policy of ['refuse', 'allow', 'scan_raw']) {
      const host = await loadGuard({ ...base, on_uninspectable: policy });
      const ok = `${'a=1&'.repeat(9999)}prompt=${DENY_LITERAL}`;
      expectDenied(send(host, ok), `10 000 fields (${policy})`);
      const r = send(host, 'a=1&'.repeat(10001));
      expect(r.localReply?.status, outcome(r)).toBe(413);
      expect(errorOf(r)?.code).toBe('body_too_large');
      host.assertHealthy();
    }
  });

  it('a megabyte of escapes, of separators, of invalid bytes: no trap', async () => {
    const host = await loadGuard({ ...base, max_body_bytes: 4 * 1024 * 1024 }, { bufferLimitBytes: 4 * 1024 * 1024 });
    expectDenied(send(host, `prompt=${'%E8%B4%A6%E5%8F%B7'.repeat(50_000)}`), 'many escapes');
    expectForwarded(send(host, '&'.repeat(1 << 20)), '&'.repeat(1 << 20), 'separators');
    expectForwarded(send(host, '%'.repeat(1 << 20)), '%'.repeat(1 << 20), 'lone percents');
    const junk = new Uint8Array(1 << 20).map((_, i) => 0x80 + (i % 0x7f));
    const r = send(host, junk);
    expect(r.forwarded, outcome(r)).toBe(true);
    host.assertHealthy();
  });
});
