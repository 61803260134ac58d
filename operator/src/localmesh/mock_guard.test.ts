// The mock guard (operator/src/localmesh/mock_guard.ts, its answers in guard_answers.ts) itself,
// over real loopback HTTP: it must answer the way each kind of guard model does, record what it was
// asked, fail the ways it claims to, and hold answers back for out-of-order tests. The e2e guard
// tests rely on all of this.

import { afterEach, describe, expect, it } from 'vitest';
import { send } from './http_client.js';
import {
  allow,
  choicesWithoutContent,
  deny,
  emptyChoices,
  garbage,
  hang,
  jsonVerdict,
  llamaGuard,
  moderation,
  noChoices,
  nullContent,
  qwenGuard,
  renderAnswer,
  reset,
  resetBeforeHeaders,
  slow,
  status,
  type Answer,
} from './guard_answers.js';
import { byConversation, startMockGuard, type Behaviour, type GuardRequest, type MockGuard } from './mock_guard.js';
import { closedPort } from './ports.js';
import { playAnswer } from '../../../test/support/play_answer.js';

let guard: MockGuard | null = null;
afterEach(async () => {
  await guard?.close();
  guard = null;
});

async function start(behaviour: Behaviour) {
  guard = await startMockGuard({ behaviour });
  return guard;
}

function chatRequest(g: MockGuard, text: string, init: { system?: string; path?: string; signal?: AbortSignal } = {}) {
  const messages = [...(init.system !== undefined ? [{ role: 'system', content: init.system }] : []), { role: 'user', content: text }];
  return fetch(`http://127.0.0.1:${g.port}${init.path ?? '/v1/chat/completions'}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: 'Bearer guard-key' },
    body: JSON.stringify({ model: 'guard-model', messages, temperature: 0 }),
    signal: init.signal,
  });
}

async function contentOf(res: Response): Promise<unknown> {
  const body = (await res.json()) as { choices: { message: { content?: unknown } }[] };
  return body.choices[0]!.message.content;
}

describe('answers', () => {
  const chats: [string, Answer, string][] = [
    ['allow', allow('fine'), '{"result":"allow","reason":"fine"}'],
    ['deny', deny('bad'), '{"result":"deny","reason":"bad"}'],
    ['ALLOW', jsonVerdict('ALLOW', 'x'), '{"result":"ALLOW","reason":"x"}'],
    ['llama safe', llamaGuard('safe'), 'safe'],
    ['llama unsafe', llamaGuard('unsafe', 'S1,S7'), 'unsafe\nS1,S7'],
    ['qwen controversial', qwenGuard('Controversial', 'Politics'), 'Safety: Controversial\nCategories: Politics'],
  ];
  for (const [name, answer, content] of chats) {
    it(`${name}: a 200 chat completion with that content`, async () => {
      const g = await start(answer);
      const res = await chatRequest(g, 'hi');
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/^application\/json/);
      expect(await contentOf(res)).toBe(content);
    });
  }

  it('fenced and prose styles wrap the same JSON verdict', async () => {
    for (const style of ['fenced', 'prose', 'fenced_prose'] as const) {
      const c = renderAnswer(deny('r', style))!;
      const content = JSON.parse(c.body as string).choices[0].message.content as string;
      expect(content).not.toBe('{"result":"deny","reason":"r"}');
      expect(content.replace(/\s/g, '')).toContain('{"result":"deny","reason":"r"}');
      if (style !== 'prose') expect(content).toContain('```json');
    }
  });

  it('moderation: results[0].flagged with categories and scores', async () => {
    const g = await start(moderation(true, ['violence']));
    const res = await fetch(`http://127.0.0.1:${g.port}/v1/moderations`, {
      method: 'POST',
      body: JSON.stringify({ model: 'omni-moderation-latest', input: ['a', 'b'] }),
    });
    const body = (await res.json()) as { id: string; model: string; results: { flagged: boolean; categories: Record<string, boolean>; category_scores: Record<string, number> }[] };
    expect(body.id).toMatch(/^modr-/);
    expect(body.model).toBe('omni-moderation-latest');
    expect(body.results[0]!.flagged).toBe(true);
    expect(body.results[0]!.categories.violence).toBe(true);
    expect(body.results[0]!.categories.hate).toBe(false);
    expect(typeof body.results[0]!.category_scores.violence).toBe('number');
    expect(g.requests[0]!.conversation).toBe('a\n\nb');
  });

  it('malformed answers: 500, garbage, no choices, empty choices, no content, null content', async () => {
    const cases: [Answer, (res: Response) => Promise<void>][] = [
      [status(500), async (res) => expect(res.status).toBe(500)],
      [garbage(), async (res) => {
        expect(res.status).toBe(200);
        await expect(res.json()).rejects.toThrow();
      }],
      [noChoices(), async (res) => expect(await res.json()).not.toHaveProperty('choices')],
      [emptyChoices(), async (res) => expect(((await res.json()) as { choices: unknown[] }).choices).toEqual([])],
      [choicesWithoutContent(), async (res) => {
        const b = (await res.json()) as { choices: { message: object }[] };
        expect(b.choices[0]!.message).not.toHaveProperty('content');
      }],
      [nullContent(), async (res) => expect(await contentOf(res)).toBeNull()],
    ];
    for (const [answer, check] of cases) {
      const g = await start(answer);
      await check(await chatRequest(g, 'x'));
      await g.close();
      guard = null;
    }
  });
});

describe('failures', () => {
  it('reset: headers and a few bytes, then the connection is destroyed', async () => {
    const g = await start(reset(5));
    const res = await chatRequest(g, 'x');
    expect(res.status).toBe(200);
    await expect(res.text()).rejects.toThrow();
    expect(g.requests[0]!.state).toBe('reset');
  });

  it('reset before headers: the request fails without a response', async () => {
    const g = await start(resetBeforeHeaders());
    await expect(chatRequest(g, 'x')).rejects.toThrow();
  });

  it('down: nothing listens on closedPort()', async () => {
    const port = await closedPort();
    const err = await fetch(`http://127.0.0.1:${port}/`).then(
      () => null,
      (e: Error & { cause?: { code?: string } }) => e,
    );
    expect(err?.cause?.code).toBe('ECONNREFUSED');
  });

  it('slow: answers eventually, with the answer it wraps', async () => {
    const g = await start(slow(deny('late'), 50));
    const res = await chatRequest(g, 'x');
    expect(await contentOf(res)).toBe('{"result":"deny","reason":"late"}');
    expect(g.requests[0]!.answer).toMatch(/after 50 ms/);
  });

  it('hang: never answers; the client gives up', async () => {
    const g = await start(hang());
    const ctl = new AbortController();
    const pending = chatRequest(g, 'x', { signal: ctl.signal });
    while (g.requests[0]?.state !== 'hung') await new Promise((r) => setTimeout(r, 5));
    ctl.abort();
    await expect(pending).rejects.toThrow();
  });
});

describe('what it records', () => {
  it('headers, raw headers, body, model, system prompt and the conversation', async () => {
    const g = await start(allow());
    await send({
      port: g.port,
      host: 'guard.internal',
      headers: { authorization: 'Bearer guard-key' },
      json: { model: 'guard-model', messages: [{ role: 'system', content: 'be a guard' }, { role: 'user', content: 'user text "quoted"\n2nd line' }] },
    });
    const r = g.requests[0]!;
    expect(r.method).toBe('POST');
    expect(r.path).toBe('/v1/chat/completions');
    expect(r.host).toBe('guard.internal');
    expect(r.headers.authorization).toBe('Bearer guard-key');
    expect(r.rawHeaders).toContain('Bearer guard-key');
    expect(r.jsonError).toBeNull();
    expect(r.model).toBe('guard-model');
    expect(r.system).toBe('be a guard');
    expect(r.conversation).toBe('user text "quoted"\n2nd line');
    expect(r.complete).toBe(true);
    expect(r.state).toBe('answered');
    expect(r.status).toBe(200);
  });

  it('a body that is not JSON is recorded with the parse error', async () => {
    const g = await start(allow());
    await fetch(`http://127.0.0.1:${g.port}/v1/chat/completions`, { method: 'POST', body: '{"messages": [' });
    expect(g.requests[0]!.jsonError).toBeTruthy();
    expect(g.requests[0]!.text).toBe('{"messages": [');
  });
});

describe('behaviours that depend on the request', () => {
  it('byConversation picks the first matching rule, else the fallback', async () => {
    const g = await start(byConversation([['secret', deny('has a secret')], [/unsafe\d/, llamaGuard('unsafe', 'S2')]], allow('ok')));
    expect(await contentOf(await chatRequest(g, 'my secret plan'))).toBe('{"result":"deny","reason":"has a secret"}');
    expect(await contentOf(await chatRequest(g, 'unsafe7'))).toBe('unsafe\nS2');
    expect(await contentOf(await chatRequest(g, 'hello'))).toBe('{"result":"allow","reason":"ok"}');
  });

  it('out of order: A is held until B has been answered', async () => {
    let g!: MockGuard;
    const behaviour = async (req: GuardRequest) => {
      if (req.conversation === 'A') await g.whenAnswered((r) => r.conversation === 'B');
      return allow(req.conversation);
    };
    g = await start(behaviour);
    const a = chatRequest(g, 'A');
    await g.waitForRequests((r) => r.conversation === 'A', 1);
    const b = chatRequest(g, 'B');
    await Promise.all([a, b]);
    const [ra, rb] = [g.requests.find((r) => r.conversation === 'A')!, g.requests.find((r) => r.conversation === 'B')!];
    expect(ra.seq).toBeLessThan(rb.seq);
    expect(ra.answeredAs).toBeGreaterThan(rb.answeredAs);
  });

  it('a behaviour that throws answers 500 and is reported', async () => {
    const g = await start(() => {
      throw new Error('oops');
    });
    expect((await chatRequest(g, 'x')).status).toBe(500);
    expect(g.behaviourErrors.join('\n')).toContain('oops');
  });
});

describe('playAnswer (the harness, no server)', () => {
  function fakeHost() {
    const calls: unknown[][] = [];
    return {
      calls,
      respondToHttpCall: (...a: unknown[]) => void calls.push(['respond', ...a]),
      failHttpCall: (...a: unknown[]) => void calls.push(['fail', ...a]),
      timeoutHttpCall: (...a: unknown[]) => void calls.push(['timeout', ...a]),
    };
  }

  it('HTTP answers → respondToHttpCall with :status; reset → failHttpCall; timeout; hang → nothing', () => {
    const h = fakeHost();
    playAnswer(h, 4, status(503, 'down', 'text/plain'));
    playAnswer(h, 8, reset());
    playAnswer(h, 12, 'timeout');
    playAnswer(h, 16, hang());
    playAnswer(h, 20, 'fail');
    expect(h.calls).toEqual([
      ['respond', 4, [[':status', '503'], ['content-type', 'text/plain']], 'down'],
      ['fail', 8],
      ['timeout', 12],
      ['fail', 20],
    ]);
  });
});
