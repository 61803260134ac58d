// Body inspection (docs/filter-config.md step 2): every shape, escapes, duplicate keys, chunking,
// inspect_roles, unknown shapes. Every string value and member name of a body is inspected (issue 11):
// shapes only say which role speaks a text; text in no known place is `other`; nothing is refused
// for its shape.

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

/** The role of the text a deny pattern matched, as the filter logs it. */
function deniedRole(r: ReturnType<typeof post>): string | undefined {
  for (const [, line] of r.logs) {
    const m = /deny_patterns\[\d+\] matched an? (\w+) text/.exec(line);
    if (m) return m[1];
  }
  return undefined;
}

const base64 = (t: string): string => Buffer.from(t, 'utf8').toString('base64');
/** `t` cut in two in the middle (inside a word, for DENY_LITERAL). */
const halves = (t: string): [string, string] => {
  const cut = Math.ceil(t.length / 2);
  return [t.slice(0, cut), t.slice(cut)];
};

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
    ['escaped inside chat tool-call arguments', `{"messages":[{"role":"user","content":"hi"},{"role":"assistant","content":null,"tool_calls":[{"id":"c1","type":"function","function":{"name":"f","arguments":"{\\"q\\":\\"forbidden\\\\u002dsecret\\"}"}}]}]}`],
    ['escaped inside responses function_call arguments', `{"model":"m","input":[{"type":"function_call","call_id":"c1","name":"f","arguments":"{\\"q\\":\\"forbidden\\\\u002dsecret\\"}"}]}`],
    ['escaped inside a JSON string in an unknown field', `{"messages":[{"role":"user","content":"hi"}],"metadata":{"blob":"{\\"q\\":\\"forbidden\\\\u002dsecret\\"}"}}`],
    ['escaped member name', `{"messages":[{"role":"user","content":"hi"}],"metadata":{"forbidden\\u002dsecret":1}}`],
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
    for (const role of ['system', 'developer', 'assistant', 'tool', 'tool_definition', 'other']) {
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
  it('member names of an unknown shape are inspected', () => {
    expectDenied(post(host, JSON.stringify({ foo: { [DENY_LITERAL]: 1 } }), { path: '/v1/something-new' }), 'member name');
  });
  it('known shape with extra fields keeps working', () => {
    const body = JSON.stringify({ ...chat(user('hello')), temperature: 0.2, metadata: { trace: 'abc' }, stream: true });
    expectForwarded(post(host, body), body, 'extra fields');
  });
  it('no traps', () => host.assertHealthy());
});

describe('the places issue 11 added: denied wherever the text is, clean requests forwarded', () => {
  let host: FilterHost;
  it('setup', async () => {
    host = await loadGuard(base);
  });
  const RUNS = '/v1/threads/thread_abc123/runs';
  const RESPONSES = '/v1/responses';
  const MESSAGES = '/v1/messages';
  const GENERATE = '/v1beta/models/gemini-2.5-flash:generateContent';
  // [name, authority, path, body with the text placed, role the filter attributes it to]
  const places: [string, string, string, (t: string) => unknown, string][] = [
    ['assistants run additional_instructions', OPENAI, RUNS, (t) => ({ assistant_id: 'asst_abc123', additional_instructions: t }), 'system'],
    ['assistants run additional_messages', OPENAI, RUNS, (t) => ({ assistant_id: 'asst_abc123', additional_messages: [{ role: 'user', content: [{ type: 'text', text: t }] }] }), 'user'],
    ['create thread and run, thread.messages', OPENAI, '/v1/threads/runs', (t) => ({ assistant_id: 'asst_abc123', thread: { messages: [{ role: 'user', content: t }] } }), 'user'],
    ['chat prediction.content', OPENAI, '/v1/chat/completions', (t) => ({ model: 'gpt-4.1', messages: [user('Rename x to y.')], prediction: { type: 'content', content: t } }), 'assistant'],
    [
      'chat response_format description',
      OPENAI,
      '/v1/chat/completions',
      (t) => ({
        model: 'gpt-4o',
        messages: [user('Extract the event.')],
        response_format: { type: 'json_schema', json_schema: { name: 'event', strict: true, schema: { type: 'object', properties: { when: { type: 'string', description: t } }, required: ['when'], additionalProperties: false } } },
      }),
      'tool_definition',
    ],
    ['responses text.format description', OPENAI, RESPONSES, (t) => ({ model: 'gpt-4o', input: 'Extract.', text: { format: { type: 'json_schema', name: 'event', schema: { type: 'object', description: t } } } }), 'tool_definition'],
    [
      'a member name in anthropic tool_use.input',
      ANTHROPIC,
      MESSAGES,
      (t) => ({ model: 'claude-sonnet-4-5', max_tokens: 64, messages: [user('Look it up.'), { role: 'assistant', content: [{ type: 'tool_use', id: 'toolu_1', name: 'lookup', input: { [t]: true } }] }] }),
      'assistant',
    ],
    [
      'a member name in gemini functionResponse.response',
      GEMINI,
      GENERATE,
      (t) => ({ contents: [{ role: 'model', parts: [{ functionCall: { name: 'find', args: {} } }] }, { role: 'user', parts: [{ functionResponse: { name: 'find', response: { [t]: 1 } } }] }] }),
      'tool',
    ],
    ['a word split across two openai text parts', OPENAI, '/v1/chat/completions', (t) => chat(user(halves(t).map((text) => ({ type: 'text', text })))), 'user'],
    [
      'a word split across two anthropic text blocks',
      ANTHROPIC,
      MESSAGES,
      (t) => {
        const [a, b] = halves(t);
        return { model: 'claude-sonnet-4-5', max_tokens: 64, messages: [user([{ type: 'text', text: a, cache_control: { type: 'ephemeral' } }, { type: 'text', text: b }])] };
      },
      'user',
    ],
    ['a word split across two gemini parts', GEMINI, GENERATE, (t) => ({ contents: [{ role: 'user', parts: halves(t).map((text) => ({ text })) }] }), 'user'],
    ['base64 text in gemini inlineData', GEMINI, GENERATE, (t) => ({ contents: [{ role: 'user', parts: [{ text: 'Summarise.' }, { inlineData: { mimeType: 'text/plain', data: base64(t) } }] }] }), 'user'],
    [
      'base64 JSON in gemini inlineData, the text escaped inside it',
      GEMINI,
      GENERATE,
      (t) => ({ contents: [{ role: 'user', parts: [{ inlineData: { mimeType: 'application/json', data: base64(JSON.stringify({ note: t }).replace(/-/g, '\\u002d')) } }] }] }),
      'user',
    ],
    [
      'openai file_data data URL',
      OPENAI,
      '/v1/chat/completions',
      (t) => chat(user([{ type: 'file', file: { filename: 'notes.txt', file_data: `data:text/plain;base64,${base64(t)}` } }, { type: 'text', text: 'Summarise.' }])),
      'user',
    ],
    [
      'anthropic base64 text/plain document',
      ANTHROPIC,
      MESSAGES,
      (t) => ({ model: 'claude-sonnet-4-5', max_tokens: 64, messages: [user([{ type: 'document', source: { type: 'base64', media_type: 'text/plain', data: base64(t) } }])] }),
      'user',
    ],
    ['a top-level field the filter does not know', OPENAI, '/v1/chat/completions', (t) => ({ ...chat(user('hello')), user_note: t }), 'other'],
    ['a field inside a user message the filter does not know', OPENAI, '/v1/chat/completions', (t) => chat({ role: 'user', content: 'hello', annotations_x: { note: t } }), 'other'],
    [
      'a JSON string inside an unknown field, the text escaped',
      OPENAI,
      '/v1/chat/completions',
      (t) => ({ ...chat(user('hello')), metadata: { payload: JSON.stringify({ note: t }).replace(/-/g, '\\u002d') } }),
      'other',
    ],
    ['a prompt object field', OPENAI, RESPONSES, (t) => ({ model: 'gpt-4.1', prompt: { id: 'pmpt_abc123', version: '2', variables: { city: 'Paris' }, note: t } }), 'other'],
    [
      'anthropic bash_code_execution_tool_result stderr',
      ANTHROPIC,
      MESSAGES,
      (t) => ({
        model: 'claude-sonnet-4-5',
        max_tokens: 64,
        messages: [
          user('List files.'),
          {
            role: 'assistant',
            content: [
              { type: 'server_tool_use', id: 'srvtoolu_1', name: 'bash_code_execution', input: { command: 'ls' } },
              { type: 'bash_code_execution_tool_result', tool_use_id: 'srvtoolu_1', content: { type: 'bash_code_execution_result', stdout: '', stderr: t, return_code: 1, content: [] } },
            ],
          },
        ],
      }),
      'tool',
    ],
    [
      'anthropic search_result with a string source',
      ANTHROPIC,
      MESSAGES,
      (t) => ({
        model: 'claude-sonnet-4-5',
        max_tokens: 64,
        messages: [user([{ type: 'search_result', source: 'https://docs.example.com/a', title: 'Doc', content: [{ type: 'text', text: t }], citations: { enabled: true } }, { type: 'text', text: 'Answer from it.' }])],
      }),
      'user',
    ],
    [
      'responses mcp_call output',
      OPENAI,
      RESPONSES,
      (t) => ({ model: 'gpt-4.1', input: [user('Ask.'), { type: 'mcp_call', id: 'mcp_1', server_label: 'deepwiki', name: 'ask', arguments: '{}', output: t }] }),
      'tool',
    ],
  ];
  for (const [name, authority, path, build, role] of places) {
    it(`${name}: denied, as ${role} text`, () => {
      const r = post(host, build(`before ${DENY_LITERAL} after`), { authority, path });
      expectDenied(r, name);
      expect(deniedRole(r), name).toBe(role);
    });
    it(`${name}: clean request forwarded byte for byte`, () => {
      const body = JSON.stringify(build(CLEAN_TEXT));
      expectForwarded(post(host, body, { authority, path }), body, name);
    });
  }
  it('no traps', () => host.assertHealthy());
});

describe('binary content is counted, not matched; text decoded from it is', () => {
  const image = base64('\x89PNG\r\n\x1a\n IHDR pixels pixels pixels');
  const fragment = image.slice(8, 28); // a deny pattern that matches the base64 itself
  let host: FilterHost;
  it('setup', async () => {
    host = await loadGuard({ ...base, deny_patterns: [DENY_LITERAL, fragment] });
  });
  it('an image whose base64 a deny pattern matches is forwarded (binary: not text)', () => {
    for (const body of [
      { model: 'claude-sonnet-4-5', max_tokens: 64, messages: [user([{ type: 'image', source: { type: 'base64', media_type: 'image/png', data: image } }, { type: 'text', text: 'What is this?' }])] },
      { contents: [{ role: 'user', parts: [{ inlineData: { mimeType: 'image/png', data: image } }] }] },
      chat(user([{ type: 'image_url', image_url: { url: `data:image/png;base64,${image}` } }])),
    ]) {
      const raw = JSON.stringify(body);
      expectForwarded(post(host, raw, { authority: 'contents' in body ? GEMINI : 'max_tokens' in body ? ANTHROPIC : OPENAI }), raw, raw.slice(0, 60));
    }
  });
  it('the same base64 where no shape says it is binary is text, and matched', () => {
    expectDenied(post(host, { ...chat(user('hi')), metadata: { blob: image } }), 'base64 in an unknown field');
  });
  it('a PDF whose bytes hold the literal is not decoded', () => {
    const pdf = base64(`%PDF-1.7 ${DENY_LITERAL}`);
    const body = JSON.stringify({ model: 'claude-sonnet-4-5', max_tokens: 64, messages: [user([{ type: 'document', source: { type: 'base64', media_type: 'application/pdf', data: pdf } }])] });
    expectForwarded(post(host, body, { authority: ANTHROPIC, path: '/v1/messages' }), body, 'pdf');
  });
  it('no traps', () => host.assertHealthy());
});

describe('inspect_roles and the other role', () => {
  const unknownField = (t: string) => ({ ...chat(user('hello')), metadata: { note: t } });
  const memberName = (t: string) => ({ model: 'gpt-4o', messages: [user('hello')], temperature: 0.2, [t]: 1 });

  it("['user'] does not see other text", async () => {
    const host = await loadGuard({ ...base, inspect_roles: ['user'] });
    for (const build of [unknownField, memberName]) {
      const body = JSON.stringify(build(DENY_LITERAL));
      expectForwarded(post(host, body), body, body);
    }
  });

  it("['user'] sees user text wherever it is: split across parts, inside base64, under an unknown role", async () => {
    const host = await loadGuard({ ...base, inspect_roles: ['user'] });
    const [a, b] = halves(DENY_LITERAL);
    expectDenied(post(host, chat(user([{ type: 'text', text: a }, { type: 'text', text: b }]))), 'split');
    expectDenied(
      post(host, { contents: [{ role: 'user', parts: [{ inlineData: { mimeType: 'text/plain', data: base64(DENY_LITERAL) } }] }] }, { authority: GEMINI, path: '/v1beta/models/gemini-2.5-flash:generateContent' }),
      'inlineData',
    );
    expectDenied(post(host, chat({ role: 'narrator', content: DENY_LITERAL })), 'unknown role');
  });

  it('the default (every role) sees other text', async () => {
    const host = await loadGuard(base);
    for (const build of [unknownField, memberName]) {
      const r = post(host, build(DENY_LITERAL));
      expectDenied(r, 'default');
      expect(deniedRole(r)).toBe('other');
    }
  });

  it("['other'] sees other text only", async () => {
    const host = await loadGuard({ ...base, inspect_roles: ['other'] });
    expectDenied(post(host, unknownField(DENY_LITERAL)), 'other inspected');
    const body = JSON.stringify(chat(user(DENY_LITERAL)));
    expectForwarded(post(host, body), body, 'user not inspected');
  });

  it('allow_patterns judge user text only: member names and unknown fields are not user text', async () => {
    const host = await loadGuard({ ...base, allow_patterns: ['^hello'] });
    const body = JSON.stringify({ ...chat(user('hello there')), temperature: 0.2, metadata: { note: 'anything at all' }, stream: true });
    expectForwarded(post(host, body), body, 'other text is not judged by allow_patterns');
    const r = post(host, chat({ role: 'narrator', content: 'goodbye' }));
    expect(r.localReply?.status, outcome(r)).toBe(403);
    expect(errorOf(r)?.code).toBe('not_allowed_by_pattern'); // an unknown role is user text
  });
});

describe('values of unexpected types are inspected, never refused for their shape', () => {
  let host: FilterHost;
  it('setup', async () => {
    host = await loadGuard(base);
  });
  const bodies: [string, string, (t: string) => unknown][] = [
    ['messages is an object', OPENAI, (t) => ({ model: 'm', messages: { role: 'user', content: t } })],
    ['content is an object', OPENAI, (t) => chat({ role: 'user', content: { type: 'text', text: t } })],
    ['a part is a number beside the text', OPENAI, (t) => chat(user([t, 7]))],
    ['an unknown role', OPENAI, (t) => chat({ role: 'wizard', content: t })],
    ['tool_calls is an object', OPENAI, (t) => chat(user('hi'), { role: 'assistant', content: null, tool_calls: { id: 'c', type: 'function', function: { name: 'f', arguments: JSON.stringify({ q: t }) } } })],
    ['input is an object', OPENAI, (t) => ({ model: 'm', input: { text: t } })],
    ['instructions is an array', OPENAI, (t) => ({ model: 'm', instructions: [t], input: 'hi' })],
    ['tools is an object', OPENAI, (t) => ({ ...chat(user('hi')), tools: { type: 'function', function: { name: 'f', description: t } } })],
    ['anthropic document source is a string', ANTHROPIC, (t) => ({ model: 'c', max_tokens: 5, messages: [user([{ type: 'document', source: t }])] })],
    ['gemini functionCall is a string', GEMINI, (t) => ({ contents: [{ role: 'model', parts: [{ functionCall: t }] }] })],
    ['bedrock toolConfig is an array', OPENAI, (t) => ({ messages: [user('hi')], toolConfig: [t] })],
  ];
  for (const [name, authority, build] of bodies) {
    it(`${name}: clean forwarded`, () => {
      const body = JSON.stringify(build(CLEAN_TEXT));
      expectForwarded(post(host, body, { authority }), body, name);
    });
    it(`${name}: literal denied`, () => expectDenied(post(host, build(DENY_LITERAL), { authority }), name));
  }
  it('no traps', () => host.assertHealthy());
});
