// Body inspection (docs/filter-config.md step 2): every shape, escapes, duplicate keys, chunking,
// inspect_roles, unknown shapes.

import { describe, expect, it } from 'vitest';
import type { FilterHost } from '../../operator/src/wasm/index.js';
import { ANTHROPIC, GEMINI, KEY, OPENAI, chat, errorOf, loadGuard, outcome, post, user } from '../../test/harness/llm.js';
import { CLEAN_TEXT, DENY_LITERAL, SHAPES } from '../../test/fixtures/llm-bodies.js';

const HOSTS = [OPENAI, ANTHROPIC, GEMINI];
const base = { hosts: HOSTS, api_key: KEY, deny_patterns: [DENY_LITERAL] };

function expectDenied(r: ReturnType<typeof post>, what: string): void {
  expect(r.localReply?.status, `${what}: ${outcome(r)}`).toBe(403);
  expect(errorOf(r)?.code, what).toBe('denied_by_pattern');
  expect(r.forwarded, what).toBe(false);
  expect(r.upstreamBody, what).toBeNull();
}

function expectForwarded(r: ReturnType<typeof post>, body: string, what: string): void {
  expect(r.forwarded, `${what}: ${outcome(r)}`).toBe(true);
  expect(r.upstreamBodyText, what).toBe(body);
}

describe('every documented shape is inspected', () => {
  let host: FilterHost;
  it('setup', async () => {
    host = await loadGuard(base);
  });
  for (const shape of SHAPES) {
    it(`${shape.name}: deny literal is caught`, () => {
      const r = post(host, shape.build(`before ${DENY_LITERAL} after`), { authority: shape.authority, path: shape.path });
      expectDenied(r, shape.name);
    });
    it(`${shape.name}: clean text is forwarded byte for byte`, () => {
      const body = JSON.stringify(shape.build(CLEAN_TEXT));
      const r = post(host, body, { authority: shape.authority, path: shape.path });
      expectForwarded(r, body, shape.name);
    });
  }
  it('no traps', () => host.assertHealthy());
});

describe('more places prompt text lives', () => {
  let host: FilterHost;
  it('setup', async () => {
    host = await loadGuard(base);
  });
  const bodies: [string, string, unknown][] = [
    ['legacy function_call arguments', OPENAI, chat(user('hi'), { role: 'assistant', content: null, function_call: { name: 'f', arguments: `{"a":"${DENY_LITERAL}"}` } })],
    ['several tool calls, second one', OPENAI, chat(user('hi'), {
      role: 'assistant',
      content: null,
      tool_calls: [
        { id: '1', type: 'function', function: { name: 'a', arguments: '{}' } },
        { id: '2', type: 'function', function: { name: 'b', arguments: `{"x":"${DENY_LITERAL}"}` } },
      ],
    })],
    ['user message name-less parts with text only', OPENAI, chat(user([{ type: 'text', text: DENY_LITERAL }]))],
    ['anthropic tool_result content string', ANTHROPIC, {
      model: 'claude', max_tokens: 10,
      messages: [
        { role: 'user', content: 'hi' },
        { role: 'assistant', content: [{ type: 'tool_use', id: 't1', name: 'search', input: { q: 'x' } }] },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: 't1', content: DENY_LITERAL }] },
      ],
    }],
    ['anthropic tool_result content blocks', ANTHROPIC, {
      model: 'claude', max_tokens: 10,
      messages: [{ role: 'user', content: [{ type: 'tool_result', tool_use_id: 't1', content: [{ type: 'text', text: DENY_LITERAL }] }] }],
    }],
    ['anthropic tool_use input', ANTHROPIC, {
      model: 'claude', max_tokens: 10,
      messages: [
        { role: 'user', content: 'hi' },
        { role: 'assistant', content: [{ type: 'tool_use', id: 't1', name: 'search', input: { q: DENY_LITERAL } }] },
      ],
    }],
    ['gemini model turn', GEMINI, { contents: [{ role: 'user', parts: [{ text: 'a' }] }, { role: 'model', parts: [{ text: DENY_LITERAL }] }] }],
    ['gemini system_instruction (snake case)', GEMINI, { system_instruction: { parts: [{ text: DENY_LITERAL }] }, contents: [{ role: 'user', parts: [{ text: 'a' }] }] }],
    ['responses input with instructions and items', OPENAI, { model: 'm', instructions: 'be nice', input: [{ role: 'user', content: 'hi' }, { role: 'user', content: [{ type: 'input_text', text: DENY_LITERAL }] }] }],
  ];
  for (const [name, authority, body] of bodies) {
    it(name, () => expectDenied(post(host, body, { authority }), name));
  }
});

describe('escapes are decoded before matching', () => {
  let host: FilterHost;
  it('setup', async () => {
    host = await loadGuard({ hosts: [OPENAI], api_key: KEY, deny_patterns: ['password', DENY_LITERAL, '😀secret', 'naïve'] });
  });
  const raw: [string, string][] = [
    ['\\u0070assword', '{"messages":[{"role":"user","content":"my \\u0070assword is"}]}'],
    ['all letters escaped', '{"messages":[{"role":"user","content":"\\u0070\\u0061\\u0073\\u0073\\u0077\\u006f\\u0072\\u0064"}]}'],
    ['upper-case hex', '{"messages":[{"role":"user","content":"passw\\u006Frd"}]}'],
    ['escaped hyphen', `{"messages":[{"role":"user","content":"forbidden\\u002dsecret"}]}`],
    ['escaped solidus and others around', `{"messages":[{"role":"user","content":"\\/\\b\\f\\n\\r\\t forbidden-secret"}]}`],
    ['surrogate pair', '{"messages":[{"role":"user","content":"\\ud83d\\ude00secret"}]}'],
    ['surrogate pair, upper-case hex', '{"messages":[{"role":"user","content":"\\uD83D\\uDE00secret"}]}'],
    ['raw UTF-8 emoji', '{"messages":[{"role":"user","content":"😀secret"}]}'],
    ['escaped non-ASCII letter', '{"messages":[{"role":"user","content":"na\\u00efve"}]}'],
    ['escaped key name messages', `{"m\\u0065ssages":[{"role":"user","content":"${DENY_LITERAL}"}]}`],
    ['escaped key name content', `{"messages":[{"role":"user","c\\u006fntent":"${DENY_LITERAL}"}]}`],
    ['escaped key name role and value user', `{"messages":[{"r\\u006fle":"\\u0075ser","content":"${DENY_LITERAL}"}]}`],
    ['escaped key name prompt', `{"model":"m","\\u0070rompt":"${DENY_LITERAL}"}`],
    ['escaped key in Anthropic system', `{"model":"c","max_tokens":5,"\\u0073ystem":"${DENY_LITERAL}","messages":[{"role":"user","content":"hi"}]}`],
    ['escaped key in Gemini parts/text', `{"contents":[{"role":"user","p\\u0061rts":[{"t\\u0065xt":"${DENY_LITERAL}"}]}]}`],
    ['whitespace everywhere', `{ "messages" : [ { "role" : "user" , "content" : "${DENY_LITERAL}" } ] }`.replace(/ /g, ' \n\t ')],
  ];
  for (const [name, body] of raw) {
    it(name, () => expectDenied(post(host, body), name));
  }

  it('escaped text that decodes to something else is not a match', () => {
    const body = '{"messages":[{"role":"user","content":"\\u0070assw0rd and forbidden\\u005fsecret"}]}';
    expectForwarded(post(host, body), body, 'near miss');
  });
});

describe('duplicate keys are all inspected', () => {
  let host: FilterHost;
  it('setup', async () => {
    host = await loadGuard(base);
  });
  const raw: [string, string][] = [
    ['messages twice, bad one last', `{"messages":[{"role":"user","content":"hello"}],"messages":[{"role":"user","content":"${DENY_LITERAL}"}]}`],
    ['messages twice, bad one first', `{"messages":[{"role":"user","content":"${DENY_LITERAL}"}],"messages":[{"role":"user","content":"hello"}]}`],
    ['content twice in one message', `{"messages":[{"role":"user","content":"${DENY_LITERAL}","content":"hello"}]}`],
    ['content twice, bad last', `{"messages":[{"role":"user","content":"hello","content":"${DENY_LITERAL}"}]}`],
    ['role twice (user then system)', `{"messages":[{"role":"user","role":"system","content":"${DENY_LITERAL}"}]}`],
    ['text twice in a part', `{"messages":[{"role":"user","content":[{"type":"text","text":"${DENY_LITERAL}","text":"ok"}]}]}`],
    ['prompt twice', `{"prompt":"${DENY_LITERAL}","prompt":"fine"}`],
    ['escaped duplicate', `{"messages":[{"role":"user","content":"fine"}],"m\\u0065ssages":[{"role":"user","content":"${DENY_LITERAL}"}]}`],
  ];
  for (const [name, body] of raw) {
    it(name, () => expectDenied(post(host, body), name));
  }
});

describe('chunked bodies', () => {
  let host: FilterHost;
  it('setup', async () => {
    host = await loadGuard({ hosts: [OPENAI], api_key: KEY, deny_patterns: [DENY_LITERAL, '账号', 'password'] });
  });

  const split = (s: string, sizes: number[]): Uint8Array[] => {
    const b = new TextEncoder().encode(s);
    const out: Uint8Array[] = [];
    let i = 0;
    let k = 0;
    while (i < b.length) {
      const n = sizes[k++ % sizes.length]!;
      out.push(b.subarray(i, i + n));
      i += n;
    }
    return out;
  };

  it('one byte per chunk: denied', () => {
    const body = JSON.stringify(chat(user(`xx ${DENY_LITERAL} yy`)));
    expectDenied(post(host, body, { chunks: split(body, [1]) }), '1-byte chunks');
  });

  it('one byte per chunk: clean body forwarded intact', () => {
    const body = JSON.stringify(chat(user(CLEAN_TEXT)));
    expectForwarded(post(host, body, { chunks: split(body, [1]) }), body, '1-byte chunks');
  });

  it('uneven chunks, every split point around the literal', () => {
    const body = JSON.stringify(chat(user(`a ${DENY_LITERAL} b`)));
    const at = body.indexOf(DENY_LITERAL);
    for (let cut = at - 2; cut <= at + DENY_LITERAL.length + 2; cut++) {
      expectDenied(post(host, body, { chunks: [body.slice(0, cut), body.slice(cut)] }), `cut at ${cut}`);
    }
  });

  it('split inside a multi-byte UTF-8 character', () => {
    const body = JSON.stringify(chat(user('请提供账号信息')));
    const bytes = new TextEncoder().encode(body);
    for (let cut = 1; cut < bytes.length; cut++) {
      const r = post(host, body, { chunks: [bytes.subarray(0, cut), bytes.subarray(cut)] });
      expectDenied(r, `cut at byte ${cut}`);
    }
    const clean = JSON.stringify(chat(user('请提供信息 😀 naïve')));
    const cb = new TextEncoder().encode(clean);
    for (let cut = 1; cut < cb.length; cut++) {
      expectForwarded(post(host, clean, { chunks: [cb.subarray(0, cut), cb.subarray(cut)] }), clean, `clean cut ${cut}`);
    }
  });

  it('split inside a \\u escape and a surrogate pair', () => {
    const body = '{"messages":[{"role":"user","content":"my \\u0070assword \\ud83d\\ude00"}]}';
    for (let cut = 1; cut < body.length; cut++) {
      expectDenied(post(host, body, { chunks: [body.slice(0, cut), body.slice(cut)] }), `cut at ${cut}`);
    }
  });

  it('many small chunks of random sizes', () => {
    const body = JSON.stringify(chat({ role: 'system', content: 'be brief' }, user(`${'padding '.repeat(500)} ${DENY_LITERAL}`)));
    expectDenied(post(host, body, { chunks: split(body, [3, 17, 1, 64, 5, 250]) }), 'random chunks');
    const clean = JSON.stringify(chat(user('padding '.repeat(2000))));
    expectForwarded(post(host, clean, { chunks: split(clean, [7, 1, 333, 2]) }), clean, 'random chunks clean');
  });

  it('no traps', () => host.assertHealthy());
});

describe('inspect_roles', () => {
  const byRole = (role: string) => SHAPES.find((s) => s.role === role)!;

  it("['user'] inspects user text only", async () => {
    const host = await loadGuard({ ...base, inspect_roles: ['user'] });
    for (const role of ['system', 'developer', 'assistant', 'tool', 'tool_definition']) {
      const s = byRole(role);
      const body = JSON.stringify(s.build(DENY_LITERAL));
      expectForwarded(post(host, body, { authority: s.authority, path: s.path }), body, `${role} not inspected`);
    }
    const u = byRole('user');
    expectDenied(post(host, u.build(DENY_LITERAL), { authority: u.authority, path: u.path }), 'user inspected');
  });

  it("['system'] inspects system text only", async () => {
    const host = await loadGuard({ ...base, inspect_roles: ['system'] });
    const u = byRole('user');
    const body = JSON.stringify(u.build(DENY_LITERAL));
    expectForwarded(post(host, body, { authority: u.authority, path: u.path }), body, 'user not inspected');
    for (const s of SHAPES.filter((x) => x.role === 'system')) {
      expectDenied(post(host, s.build(DENY_LITERAL), { authority: s.authority, path: s.path }), s.name);
    }
  });

  it("['tool_definition'] inspects tool definitions", async () => {
    const host = await loadGuard({ ...base, inspect_roles: ['tool_definition'] });
    const t = byRole('tool_definition');
    expectDenied(post(host, t.build(DENY_LITERAL), { authority: t.authority, path: t.path }), 'tool definition');
  });

  it('default inspects every role', async () => {
    const host = await loadGuard(base);
    for (const s of SHAPES) expectDenied(post(host, s.build(DENY_LITERAL), { authority: s.authority, path: s.path }), s.name);
  });
});

describe('unknown shapes: every string value is inspected', () => {
  let host: FilterHost;
  it('setup', async () => {
    host = await loadGuard(base);
  });
  const bodies: [string, unknown][] = [
    ['nested object', { foo: { bar: [1, 2, { baz: DENY_LITERAL }] } }],
    ['top-level array', [{ x: 'a' }, DENY_LITERAL]],
    ['top-level string', DENY_LITERAL],
    ['string in a deep array', { a: [[[[[[`x ${DENY_LITERAL}`]]]]]] }],
  ];
  for (const [name, b] of bodies) {
    it(name, () => expectDenied(post(host, JSON.stringify(b), { path: '/v1/something-new' }), name));
  }
  it('clean unknown shape is forwarded', () => {
    const body = JSON.stringify({ foo: { bar: ['hello', 2, null, true], n: 1.5e3 } });
    expectForwarded(post(host, body, { path: '/v1/something-new' }), body, 'clean unknown');
  });
  it('known shape with extra fields keeps working', () => {
    const body = JSON.stringify({ ...chat(user('hello')), temperature: 0.2, metadata: { trace: 'abc' }, stream: true });
    expectForwarded(post(host, body), body, 'extra fields');
  });
  it('no traps', () => host.assertHealthy());
});
