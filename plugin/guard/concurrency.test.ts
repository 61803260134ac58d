// Many requests waiting for the guard at once on one VM (one Envoy worker), answered out of order:
// each must get its own verdict and go on with its own body, whatever order the answers come in.

import { describe, expect, it } from 'vitest';
import type { FilterHost, HttpCallRecord, HttpStream } from '../../operator/src/wasm/index.js';
import { KEY, OPENAI, chat, errorOf, loadGuard, outcome, post, user } from '../../test/harness/llm.js';
import {
  allow,
  deny,
  emptyChoices,
  garbage,
  llamaGuard,
  status,
  type Answer,
} from '../../operator/src/localmesh/guard_answers.js';
import { playAnswer } from '../../test/support/play_answer.js';

const CLUSTER = 'outbound|80||guard.internal';
const GUARD = { host: 'guard.internal', port: 80, path: '/v1/chat/completions', model: 'guard-model', api_key: 'sk-guard-conc-0123456789' };
const MARKER = 'DENY-ME';

function load(guard: Record<string, unknown> = {}): Promise<FilterHost> {
  return loadGuard({ hosts: [OPENAI], api_key: KEY, intelligent_guard: { ...GUARD, ...guard } }, { clusters: [CLUSTER] });
}

/** Deterministic shuffle (a fixed seed, so a failure can be replayed). */
function shuffled<T>(items: T[], seed: number): T[] {
  const out = items.slice();
  let s = seed >>> 0;
  for (let i = out.length - 1; i > 0; i--) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    const j = s % (i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

interface InFlight {
  i: number;
  prompt: string;
  stream: HttpStream;
  call: HttpCallRecord;
}

/** Sends n requests; all wait for the guard at once. */
function sendMany(host: FilterHost, n: number, promptOf: (i: number) => string): InFlight[] {
  const out: InFlight[] = [];
  for (let i = 0; i < n; i++) {
    const prompt = promptOf(i);
    const stream = post(host, chat(user(prompt)), { headers: [['x-request-no', String(i)]] });
    expect(stream.pending, outcome(stream)).toBe(true);
    const call = host.httpCalls[host.httpCalls.length - 1]!;
    expect(JSON.stringify(JSON.parse(call.bodyText)), 'the call carries this request\'s text').toContain(JSON.stringify(prompt).slice(1, -1));
    out.push({ i, prompt, stream, call });
  }
  expect(host.pendingHttpCalls()).toHaveLength(n);
  expect(new Set(out.map((f) => f.call.token)).size, 'distinct call ids').toBe(n);
  return out;
}

function expectOwnBody(f: InFlight): void {
  expect(f.stream.forwarded, `#${f.i}: ${outcome(f.stream)}`).toBe(true);
  expect(JSON.parse(f.stream.upstreamBodyText!)).toEqual(chat(user(f.prompt)));
  expect(f.stream.upstreamHeader('x-request-no')).toBe(String(f.i));
  expect(f.stream.upstreamHeaderAll('authorization')).toEqual([`Bearer ${KEY}`]);
}

describe('requests in flight on one VM, answered out of order', () => {
  for (const [order, seed] of [['reverse', 0], ['shuffled', 7], ['shuffled', 12345]] as const) {
    it(`60 requests, answers in ${order} order${seed ? ` (seed ${seed})` : ''}: each gets its own verdict`, async () => {
      const host = await load();
      const flights = sendMany(host, 60, (i) => `request number ${i}${i % 3 === 0 ? ` ${MARKER}` : ''} please`);
      const answerOrder = order === 'reverse' ? flights.slice().reverse() : shuffled(flights, seed);
      for (const f of answerOrder) {
        const a: Answer = f.prompt.includes(MARKER) ? deny(`denied #${f.i}`) : allow(`allowed #${f.i}`);
        playAnswer(host, f.call.token, a);
        // Answering one request settles that request only.
        expect(f.stream.pending, `#${f.i} settled by its own answer`).toBe(false);
      }
      for (const f of flights) {
        if (f.prompt.includes(MARKER)) {
          expect(errorOf(f.stream)?.code, `#${f.i}`).toBe('denied_by_guard');
          expect(f.stream.upstreamBody).toBeNull();
        } else expectOwnBody(f);
      }
      expect(host.metric('llm_guard.requests_denied_by_guard')).toBe(20);
      expect(host.metric('llm_guard.requests_allowed')).toBe(40);
      expect(host.metric('llm_guard.guard_calls')).toBe(60);
      expect(host.histograms['llm_guard.guard_latency_ms']).toHaveLength(60);
      host.assertHealthy();
      expect(host.violations).toEqual([]);
    });
  }

  it('a mix of allow, deny and every failure kind, in shuffled order, fail_mode closed', async () => {
    const host = await load();
    const kinds: [string, Answer | 'fail', 'allow' | 'deny' | 'unavailable'][] = [
      ['allow', allow(), 'allow'],
      ['deny', deny('x'), 'deny'],
      ['llama unsafe', llamaGuard('unsafe', 'S1'), 'deny'],
      ['500', status(500), 'unavailable'],
      ['garbage', garbage(), 'unavailable'],
      ['empty choices', emptyChoices(), 'unavailable'],
      ['failed call', 'fail', 'unavailable'],
    ];
    const flights = sendMany(host, 70, (i) => `mixed ${i} (${kinds[i % kinds.length]![0]})`);
    for (const f of shuffled(flights, 99)) playAnswer(host, f.call.token, kinds[f.i % kinds.length]![1]);
    for (const f of flights) {
      const want = kinds[f.i % kinds.length]![2];
      if (want === 'allow') expectOwnBody(f);
      else if (want === 'deny') expect(errorOf(f.stream)?.code, `#${f.i}`).toBe('denied_by_guard');
      else expect(errorOf(f.stream)?.code, `#${f.i}`).toBe('guard_unavailable');
    }
    host.assertHealthy();
  });

  it('fail_mode open: failures among allows and denies, out of order', async () => {
    const host = await load({ fail_mode: 'open' });
    const flights = sendMany(host, 30, (i) => `open ${i}${i % 5 === 0 ? ` ${MARKER}` : ''}`);
    for (const f of shuffled(flights, 3)) {
      if (f.prompt.includes(MARKER)) playAnswer(host, f.call.token, deny());
      else if (f.i % 2) playAnswer(host, f.call.token, status(502));
      else playAnswer(host, f.call.token, allow());
    }
    for (const f of flights) {
      if (f.prompt.includes(MARKER)) expect(errorOf(f.stream)?.code).toBe('denied_by_guard');
      else expectOwnBody(f);
    }
    expect(host.metric('llm_guard.guard_fail_open')).toBe(flights.filter((f) => !f.prompt.includes(MARKER) && f.i % 2).length);
  });

  it('two requests with the same text in flight at once each ask the guard and each get an answer', async () => {
    const host = await load();
    const a = post(host, chat(user('same text')));
    const b = post(host, chat(user('same text')));
    const [ca, cb] = host.pendingHttpCalls();
    expect(ca && cb, 'two calls: nothing cached yet').toBeTruthy();
    playAnswer(host, cb!.token, deny('second said no'));
    playAnswer(host, ca!.token, allow('first said yes'));
    expect(errorOf(b)?.code).toBe('denied_by_guard');
    expect(a.forwarded, outcome(a)).toBe(true);
    host.assertHealthy();
  });

  it('an answer for a call nobody made, or a second answer, changes nothing and does not trap', async () => {
    const host = await load();
    const r = post(host, chat(user('hello')));
    const call = host.pendingHttpCalls()[0]!;
    playAnswer(host, call.token, allow());
    expect(r.forwarded).toBe(true);
    // Straight into the ABI: a response for an unknown call id, and the same id again.
    const root = host.rootContextId;
    for (const token of [call.token, 999_999, 0]) {
      const ok = host.invoke(host.rootContext(), 'proxy_on_http_call_response', [root, token, 0, 0, 0]);
      expect(ok.ok).toBe(true);
    }
    host.assertHealthy();
    expect(r.forwarded).toBe(true);
  });
});
