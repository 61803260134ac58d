// When no verdict can be had (docs/filter-config.md, "The intelligent guard": fail_mode and the
// guard_errors_<kind> metrics): every way a guard call fails, with fail_mode closed (503
// guard_unavailable) and open (forwarded, counted), through the Node harness. After each one the
// VM must be healthy and serve the next request.

import { describe, expect, it } from 'vitest';
import type { FilterHost, HttpCallRecord, HttpStream } from '../../operator/src/wasm/index.js';
import { KEY, OPENAI, chat, errorOf, loadGuard, outcome, post, user } from '../../test/harness/llm.js';
import {
  allow,
  chatContent,
  choicesWithoutContent,
  deny,
  emptyChoices,
  garbage,
  noChoices,
  nullContent,
  reset,
  status,
  type Answer,
} from '../../operator/src/localmesh/guard_answers.js';
import { playAnswer } from '../../test/support/play_answer.js';

const GUARD_KEY = 'sk-guard-KEY-failures-1a2b3c4d';
const CLUSTER = 'outbound|80||guard.internal';
const GUARD = { host: 'guard.internal', port: 80, path: '/v1/chat/completions', model: 'guard-model', api_key: GUARD_KEY };
const KINDS = ['timeout', 'connect_failure', 'non_200', 'unparseable', 'empty_choices', 'no_cluster'] as const;
type Kind = (typeof KINDS)[number];
const PROMPT = 'Draft the zqcanary quarterly report';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function load(guard: Record<string, unknown> = {}, clusters = [CLUSTER]): Promise<FilterHost> {
  return loadGuard({ hosts: [OPENAI], api_key: KEY, intelligent_guard: { ...GUARD, ...guard } }, { clusters });
}

/** Envoy's async client when the call times out: a 504 it makes itself (router local reply). */
const ENVOY_TIMEOUT: Answer = status(504, 'upstream request timeout', 'text/plain');
/** Envoy's async client when the guard refuses the connection: a 503 it makes itself. */
const ENVOY_CONNECT_REFUSED: Answer = status(
  503,
  'upstream connect error or disconnect/reset before headers. reset reason: remote connection failure, transport failure reason: delayed connect error: Connection refused',
  'text/plain',
);

interface FailureCase {
  name: string;
  kind: Kind;
  guard?: Record<string, unknown>;
  clusters?: string[];
  /** Fails the pending call (none for no_cluster, which fails at once). */
  fail?: (host: FilterHost, call: HttpCallRecord) => Promise<void> | void;
}

const answerWith = (a: Answer) => (host: FilterHost, call: HttpCallRecord) => playAnswer(host, call.token, a);

const deepJson = '{"choices":[{"message":{"content":' + '['.repeat(20_000) + ']'.repeat(20_000) + '}}]}';
const hugeAllow = JSON.stringify({
  choices: [{ message: { role: 'assistant', content: '{"result":"allow","reason":"ok"} ' + 'x'.repeat(1_100_000) } }],
});

const CASES: FailureCase[] = [
  { name: 'the guard answers 500', kind: 'non_200', fail: answerWith(status(500)) },
  { name: 'the guard answers 503', kind: 'non_200', fail: answerWith(status(503)) },
  { name: 'the guard answers 429', kind: 'non_200', fail: answerWith(status(429)) },
  { name: 'the guard answers 401 (wrong guard key)', kind: 'non_200', fail: answerWith(status(401)) },
  { name: 'a 200 that is not JSON', kind: 'unparseable', fail: answerWith(garbage()) },
  { name: 'a 200 with an empty body', kind: 'unparseable', fail: answerWith(status(200, '')) },
  { name: 'a 200 with a JSON array', kind: 'unparseable', fail: answerWith(status(200, '[]')) },
  { name: 'JSON without choices', kind: 'unparseable', fail: answerWith(noChoices()) },
  { name: 'choices that is not an array', kind: 'unparseable', fail: answerWith(status(200, '{"choices":{"0":{}}}')) },
  { name: 'empty choices: []', kind: 'empty_choices', fail: answerWith(emptyChoices()) },
  { name: 'choices without content', kind: 'unparseable', fail: answerWith(choicesWithoutContent()) },
  { name: 'content: null', kind: 'unparseable', fail: answerWith(nullContent()) },
  { name: 'content: "" (blank)', kind: 'unparseable', fail: answerWith(chatContent('   ')) },
  { name: 'moderation results: []', kind: 'empty_choices', guard: { path: '/v1/moderations' }, fail: answerWith({ kind: 'moderation', results: [] }) },
  { name: 'moderation result without flagged', kind: 'unparseable', guard: { path: '/v1/moderations' }, fail: answerWith({ kind: 'moderation', results: [{ categories: {} }] }) },
  { name: 'JSON nested 20,000 deep', kind: 'unparseable', fail: answerWith(status(200, deepJson)) },
  { name: 'an answer over 1 MiB (even one that says allow)', kind: 'unparseable', fail: answerWith(status(200, hugeAllow)) },
  { name: 'a 200 with invalid UTF-8', kind: 'unparseable', fail: answerWith(status(200, Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d]))) },
  {
    name: 'the call fails before the timeout (connection refused / reset mid-answer)',
    kind: 'connect_failure',
    fail: answerWith(reset()),
  },
  {
    name: 'the call fails after the timeout has passed',
    kind: 'timeout',
    guard: { timeout_ms: 30 },
    fail: async (host, call) => {
      await sleep(120); // real time: the filter reads the clock to tell a timeout from a failure to connect
      host.failHttpCall(call.token);
    },
  },
  { name: 'the cluster does not exist', kind: 'no_cluster', clusters: [] },
];

/** Sends one request, fails its guard call as the case says, returns the stream. */
async function failOnce(host: FilterHost, c: FailureCase, prompt = PROMPT): Promise<HttpStream> {
  const before = host.httpCalls.length;
  const r = post(host, chat(user(prompt)));
  if (c.kind === 'no_cluster') {
    expect(host.pendingHttpCalls()).toEqual([]);
    return r;
  }
  expect(host.httpCalls.length, outcome(r)).toBe(before + 1);
  expect(r.pending).toBe(true);
  await c.fail!(host, host.httpCalls[host.httpCalls.length - 1]!);
  return r;
}

function guardErrors(host: FilterHost): Record<string, number> {
  return Object.fromEntries(KINDS.map((k) => [k, host.metric(`llm_guard.guard_errors_${k}`) ?? -1]));
}

const only = (kind: Kind) => Object.fromEntries(KINDS.map((k) => [k, k === kind ? 1 : 0]));

/** The VM is healthy and a normal request is judged and served. */
function expectStillServing(host: FilterHost): void {
  host.assertHealthy();
  expect(host.violations).toEqual([]);
  const r = post(host, chat(user(`a normal question ${Math.random()}`)));
  const call = host.pendingHttpCalls()[0];
  expect(call, outcome(r)).toBeDefined();
  playAnswer(host, call!.token, allow());
  expect(r.forwarded, outcome(r)).toBe(true);
  expect(r.upstreamHeaderAll('authorization')).toEqual([`Bearer ${KEY}`]);
  host.assertHealthy();
}

describe('fail_mode closed (the default): 503 guard_unavailable', () => {
  for (const c of CASES) {
    it(`${c.name} → 503, guard_errors_${c.kind}`, async () => {
      const host = await load(c.guard, c.clusters);
      const r = await failOnce(host, c);
      const lr = r.localReply;
      expect(lr, outcome(r)).not.toBeNull();
      expect(lr!.source).toBe('plugin');
      expect(lr!.status).toBe(503);
      expect(lr!.header('content-type')).toMatch(/^application\/json/);
      expect(lr!.header('x-llm-guard')).toBe('guard_unavailable');
      expect(errorOf(r)).toMatchObject({ status: 503, type: 'service_unavailable', code: 'guard_unavailable' });
      expect(r.forwarded).toBe(false);
      expect(r.upstreamBody, 'no body byte reached the provider').toBeNull();
      expect(guardErrors(host)).toEqual(only(c.kind));
      expect(host.metric('llm_guard.guard_fail_open')).toBe(0);
      expect(host.metric('llm_guard.requests_allowed')).toBe(0);
      // The log says what went wrong, at warn, without the prompt or a key.
      const warn = host.logs.filter(([level, m]) => level === 3 && m.includes(c.kind));
      expect(warn.length, host.logs.map(([, m]) => m).join('\n')).toBeGreaterThan(0);
      const all = host.logs.map(([, m]) => m).join('\n');
      expect(all).not.toContain('zqcanary');
      expect(all).not.toContain(KEY);
      expect(all).not.toContain(GUARD_KEY);
      if (c.kind !== 'no_cluster') expectStillServing(host);
      else host.assertHealthy();
    });
  }
});

describe('fail_mode open: forwarded with the key, counted', () => {
  for (const c of CASES) {
    it(`${c.name} → forwarded, guard_fail_open and guard_errors_${c.kind}`, async () => {
      const host = await load({ ...c.guard, fail_mode: 'open' }, c.clusters);
      const r = await failOnce(host, c);
      expect(r.forwarded, outcome(r)).toBe(true);
      expect(r.upstreamHeaderAll('authorization')).toEqual([`Bearer ${KEY}`]);
      expect(JSON.parse(r.upstreamBodyText!)).toEqual(chat(user(PROMPT)));
      expect(guardErrors(host)).toEqual(only(c.kind));
      expect(host.metric('llm_guard.guard_fail_open')).toBe(1);
      const warn = host.logs.filter(([level, m]) => level === 3 && m.includes('fail_mode: open'));
      expect(warn.length, host.logs.map(([, m]) => m).join('\n')).toBeGreaterThan(0);
      if (c.kind !== 'no_cluster') expectStillServing(host);
      else host.assertHealthy();
    });
  }

  it('fail-open does not turn a deny into an allow', async () => {
    const host = await load({ fail_mode: 'open' });
    const r = post(host, chat(user(PROMPT)));
    playAnswer(host, host.pendingHttpCalls()[0]!.token, deny('no'));
    expect(r.localReply?.status).toBe(403);
    expect(host.metric('llm_guard.guard_fail_open')).toBe(0);
  });
});

describe('the missing cluster', () => {
  it('is reported in the log with the cluster name, and counted once per request', async () => {
    const host = await load({}, ['outbound|80||some.other.cluster']);
    for (let i = 0; i < 3; i++) expect(post(host, chat(user(`q${i}`))).localReply?.status).toBe(503);
    expect(host.metric('llm_guard.guard_errors_no_cluster')).toBe(3);
    expect(host.logs.map(([, m]) => m).join('\n')).toContain(CLUSTER);
    host.assertHealthy();
  });
});

describe('the answer arrives after the client has gone', () => {
  const answers: [string, (host: FilterHost, call: HttpCallRecord) => void][] = [
    ['an allow', (h, c) => playAnswer(h, c.token, allow())],
    ['a deny', (h, c) => playAnswer(h, c.token, deny('late'))],
    ['a 500', (h, c) => playAnswer(h, c.token, status(500))],
    ['a failed call', (h, c) => h.failHttpCall(c.token)],
    ['Envoy\'s timeout (504)', (h, c) => h.timeoutHttpCall(c.token)],
  ];
  for (const mode of ['closed', 'open']) {
    for (const [name, answer] of answers) {
      it(`${name}, fail_mode ${mode}: nothing happens to the dead stream, no trap, the VM serves on`, async () => {
        const host = await load({ fail_mode: mode });
        const r = post(host, chat(user(PROMPT)));
        const call = host.pendingHttpCalls()[0]!;
        expect(r.pending).toBe(true);
        r.finish(); // the client went away: on_log, on_done, on_delete
        answer(host, call);
        expect(r.localReply).toBeNull();
        expect(r.upstreamBody).toBeNull();
        host.assertHealthy();
        expect(host.violations, 'no continue/local reply on a deleted context').toEqual([]);
        expectStillServing(host);
      });
    }
  }

  it('a stream deleted while others wait does not disturb their verdicts', async () => {
    const host = await load();
    const a = post(host, chat(user('first')));
    const b = post(host, chat(user('second')));
    const c = post(host, chat(user('third')));
    const [ca, cb, cc] = host.pendingHttpCalls();
    b.finish();
    playAnswer(host, cb!.token, allow());
    playAnswer(host, cc!.token, deny('third is bad'));
    playAnswer(host, ca!.token, allow());
    expect(a.forwarded, outcome(a)).toBe(true);
    expect(c.localReply?.status).toBe(403);
    expect(b.upstreamBody).toBeNull();
    host.assertHealthy();
  });
});

describe('Envoy-faithful failures (what real Envoy hands the filter)', () => {
  // Envoy's async client reports a timeout and a refused connection as responses it makes itself
  // (504 "upstream request timeout", 503 "upstream connect error ..."), not as failed calls; see
  // test/e2e/guard.e2e.test.ts for the same in real Envoy.
  for (const mode of ['closed', 'open']) {
    it(`Envoy's timeout (504) and connect failure (503) give no verdict, fail_mode ${mode}`, async () => {
      const host = await load({ fail_mode: mode });
      for (const a of [ENVOY_TIMEOUT, ENVOY_CONNECT_REFUSED]) {
        const r = post(host, chat(user(`${PROMPT} ${a.status}`)));
        playAnswer(host, host.pendingHttpCalls()[0]!.token, a);
        if (mode === 'closed') expect(errorOf(r)?.code).toBe('guard_unavailable');
        else expect(r.forwarded, outcome(r)).toBe(true);
      }
      expectStillServing(host);
    });
  }

  it('the harness clock: advancing past timeout_ms times the call out (Envoy\'s 504), no verdict', async () => {
    const host = await loadGuard({ hosts: [OPENAI], api_key: KEY, intelligent_guard: { ...GUARD, timeout_ms: 500 } }, { clusters: [CLUSTER], clock: 'manual' });
    const r = post(host, chat(user(PROMPT)));
    host.advanceTime(499);
    expect(r.pending).toBe(true);
    host.advanceTime(1);
    expect(errorOf(r)?.code).toBe('guard_unavailable');
    host.assertHealthy();
  });

  it('a guard timeout in Envoy (504 from the async client) is counted as guard_errors_timeout', async () => {
    const host = await load({ timeout_ms: 500 });
    post(host, chat(user(PROMPT)));
    host.timeoutHttpCall(host.pendingHttpCalls()[0]!.token);
    expect(guardErrors(host)).toEqual(only('timeout'));
  });

  it('a refused connection in Envoy (503 from the async client) is counted as guard_errors_connect_failure', async () => {
    const host = await load();
    post(host, chat(user(PROMPT)));
    playAnswer(host, host.pendingHttpCalls()[0]!.token, ENVOY_CONNECT_REFUSED);
    expect(guardErrors(host)).toEqual(only('connect_failure'));
  });
});

describe('errors are never cached', () => {
  for (const c of CASES.filter((x) => x.kind !== 'no_cluster' && x.kind !== 'timeout')) {
    it(`after ${c.name}, the same request asks the guard again`, async () => {
      const host = await load(c.guard);
      await failOnce(host, c);
      const calls = host.httpCalls.length;
      const r = post(host, chat(user(PROMPT)));
      expect(host.httpCalls.length, 'a new guard call').toBe(calls + 1);
      expect(host.metric('llm_guard.guard_cache_hits')).toBe(0);
      playAnswer(host, host.pendingHttpCalls()[0]!.token, c.guard?.path ? { kind: 'moderation', results: [{ flagged: false, categories: {} }] } : allow());
      expect(r.forwarded, outcome(r)).toBe(true);
    });
  }

  it('after a timeout, the same request asks the guard again', async () => {
    const host = await load({ timeout_ms: 30 });
    const c = CASES.find((x) => x.kind === 'timeout')!;
    await failOnce(host, c);
    post(host, chat(user(PROMPT)));
    expect(host.httpCalls).toHaveLength(2);
  });
});
