// Keys from the key service (docs/filter-config.md, "The key service"): the first fetch right after
// configuring, injection, requests that wait for the first fetch, failures, stale keys, entries in
// error, rotation, the guard key, and providers with inline keys left alone. Through the in-process
// host with a manual clock; the host plays Envoy's async client for the fetches.

import { describe, expect, it } from 'vitest';
import type { FilterHost } from '../../operator/src/wasm/index.js';
import { ANTHROPIC, KEY, OPENAI, chat, errorOf, get, loadGuard, outcome, post, user, upstreamCredentials } from '../../test/harness/llm.js';
import {
  KS_CLUSTER,
  KS_HOST,
  KS_PATH,
  SECRET_ERROR,
  SVC_ANTHROPIC,
  SVC_GUARD_KEY,
  SVC_KEY,
  SVC_KEY2,
  SVC_ROTATED,
  advance,
  answerFetch,
  goodAnswer,
  keyFetches,
  keyService,
  loadWithKeys,
  pendingFetch,
  serviceConfig,
} from '../../test/harness/keys.js';

const ALL_SERVICE_KEYS = [SVC_KEY, SVC_KEY2, SVC_ROTATED, SVC_ANTHROPIC, SVC_GUARD_KEY];

function expectNoKeyReply(r: ReturnType<typeof post>): void {
  const e = errorOf(r);
  expect(e, outcome(r)).not.toBeNull();
  expect(e!.status).toBe(503);
  expect(e!.type).toBe('service_unavailable');
  expect(e!.code).toBe('provider_key_unavailable');
  expect(r.upstreamHeaders, 'nothing is forwarded').toBeNull();
  expect(r.localReply!.headers).toContainEqual(['content-type', 'application/json']);
}

function expectNoKeyInLogs(host: FilterHost, keys: string[] = ALL_SERVICE_KEYS): void {
  const text = host.logs.map(([, m]) => m).join('\n');
  for (const k of keys) expect(text).not.toContain(k);
}

const counter = (host: FilterHost, name: string) => host.metric(`llm_guard.${name}`) ?? 0;

describe('the first fetch', () => {
  it('starts right after a successful configure: GET <path> on the cluster, with nothing secret', async () => {
    const host = await loadWithKeys({ ...serviceConfig({ timeout_ms: 1500 }), hosts: ['inline.example'], api_key: KEY });
    const calls = keyFetches(host);
    expect(calls).toHaveLength(1);
    const call = calls[0]!;
    expect(call.cluster).toBe(KS_CLUSTER);
    expect(call.header(':method')).toBe('GET');
    // The query names the providers whose keys the service gives (not the inline one).
    expect(call.header(':path')).toBe(`${KS_PATH}?hosts=${OPENAI},${ANTHROPIC}`);
    expect(call.header(':authority')).toBe(KS_HOST);
    expect(call.header('accept')).toBe('application/json');
    expect(call.body).toHaveLength(0);
    expect(call.timeoutMs).toBe(1500);
    expect(call.header('authorization')).toBeUndefined();
    expect(JSON.stringify(call.headers)).not.toContain(KEY);
    expect(counter(host, 'key_fetches')).toBe(1);
    host.assertHealthy();
  });

  it('Istio names the cluster from host and port unless cluster is given', async () => {
    const a = await loadWithKeys(serviceConfig({ port: 8443 }), { clusters: [`outbound|8443||${KS_HOST}`] });
    expect(a.httpCalls.map((c) => c.cluster)).toEqual([`outbound|8443||${KS_HOST}`]);
    const b = await loadWithKeys(serviceConfig({ cluster: 'keys-cluster' }), { clusters: ['keys-cluster'] });
    expect(b.httpCalls.map((c) => c.cluster)).toEqual(['keys-cluster']);
  });

  it('then the service keys are injected, in turn, in the provider auth style; client credentials removed', async () => {
    const host = await loadWithKeys(serviceConfig());
    answerFetch(host, goodAnswer([SVC_KEY, SVC_KEY2]));
    const seen: string[] = [];
    for (let i = 0; i < 4; i++) {
      const r = post(host, chat(user(`hello ${i}`)), { headers: [['authorization', 'Bearer sk-client-own']] });
      expect(r.forwarded, outcome(r)).toBe(true);
      expect(upstreamCredentials(r)).toHaveLength(1);
      seen.push(r.upstreamHeader('authorization')!);
    }
    expect(seen).toEqual([`Bearer ${SVC_KEY}`, `Bearer ${SVC_KEY2}`, `Bearer ${SVC_KEY}`, `Bearer ${SVC_KEY2}`]);
    const a = post(host, { model: 'claude', max_tokens: 5, messages: [{ role: 'user', content: 'hi' }] }, { authority: ANTHROPIC, path: '/v1/messages' });
    expect(upstreamCredentials(a)).toEqual([['x-api-key', SVC_ANTHROPIC]]);
    expect(host.httpCalls.filter((c) => c.cluster !== KS_CLUSTER)).toEqual([]);
    expectNoKeyInLogs(host);
    host.assertHealthy();
  });

  it('no key_service: no fetch and no timer', async () => {
    const host = await loadGuard({ hosts: [OPENAI], api_key: KEY }, { clusters: [KS_CLUSTER] });
    expect(host.httpCalls).toEqual([]);
    expect([...host.tickPeriods.values()].filter((p) => p > 0)).toEqual([]);
  });

  it('ticks every refresh_seconds, and keeps one fetch in flight at a time', async () => {
    const host = await loadWithKeys(serviceConfig({ refresh_seconds: 3, timeout_ms: 60_000 }));
    expect([...host.tickPeriods.values()]).toEqual([3000]);
    advance(host, 30); // ten ticks while the first fetch is still unanswered
    expect(keyFetches(host)).toHaveLength(1);
    answerFetch(host, goodAnswer());
    advance(host, 3);
    expect(keyFetches(host)).toHaveLength(2);
    expect(counter(host, 'key_fetches')).toBe(2);
  });
});

describe('an answer from a policy older than the config', () => {
  it('the fetch names what the config needs keys for: every service-keyed provider and the guard', async () => {
    const guard = { host: 'guard.internal', port: 80, path: '/v1/chat/completions', model: 'm' };
    const host = await loadWithKeys(serviceConfig({}, { intelligent_guard: guard }), { clusters: ['outbound|80||guard.internal'] });
    expect(pendingFetch(host).header(':path')).toBe(`${KS_PATH}?hosts=${OPENAI},${ANTHROPIC}&guard=1`);
  });

  it('lacking a needed host or the guard: asked again after 1 s, then 2, 4 ... up to refresh_seconds; back to refresh_seconds once complete', async () => {
    const host = await loadWithKeys(serviceConfig({ refresh_seconds: 10 }));
    const root = [...host.tickPeriods.keys()][0]!;
    answerFetch(host, { providers: { [OPENAI]: { api_keys: [SVC_KEY] } } }); // Anthropic's missing
    expect(host.tickPeriods.get(root)).toBe(1000);
    expect(host.logs.map(([, m]) => m).join('\n')).toContain('its answer lacks keys this config needs');
    advance(host, 1);
    answerFetch(host, { providers: { [OPENAI]: { api_keys: [SVC_KEY] } } });
    expect(host.tickPeriods.get(root)).toBe(2000);
    advance(host, 2);
    // A host the service reports in error is covered: the service knows it, the Secret is the problem.
    answerFetch(host, { providers: { [OPENAI]: { api_keys: [SVC_KEY] }, [ANTHROPIC]: { error: 'Secret anthropic not found' } } });
    expect(host.tickPeriods.get(root)).toBe(10_000);
    expect(keyFetches(host)).toHaveLength(3);
  });
});

describe('requests that arrive before the first fetch ends', () => {
  it('wait at the request headers, then go on with the fetched key and their body intact', async () => {
    const host = await loadWithKeys(serviceConfig(), {});
    const body = chat(user('what is the capital of France'));
    const r = post(host, body);
    expect(r.pending).toBe(true);
    expect(r.upstreamHeaders, 'nothing reaches the provider while waiting').toBeNull();
    expect(r.localReply).toBeNull();
    const g = get(host, '/v1/models');
    expect(g.pending).toBe(true);
    answerFetch(host, goodAnswer());
    expect(r.forwarded, outcome(r)).toBe(true);
    expect(r.upstreamHeader('authorization')).toBe(`Bearer ${SVC_KEY}`);
    expect(r.upstreamBodyText).toBe(JSON.stringify(body));
    expect(g.forwarded, outcome(g)).toBe(true);
    expect(host.activeStreams.filter((s) => s.pending && !s.ended)).toEqual([]);
    expect(host.violations).toEqual([]);
    host.assertHealthy();
  });

  it('are judged as usual once resumed: a deny pattern still denies', async () => {
    const host = await loadWithKeys(serviceConfig({}, { deny_patterns: ['forbidden-secret'] }));
    const bad = post(host, chat(user('the forbidden-secret is here')));
    const ok = post(host, chat(user('hello')));
    answerFetch(host, goodAnswer());
    expect(errorOf(bad)?.code).toBe('denied_by_pattern');
    expect(bad.upstreamBody).toBeNull();
    expect(ok.forwarded, outcome(ok)).toBe(true);
    host.assertHealthy();
  });

  it('get 503 provider_key_unavailable when the first fetch fails, and so do later ones until a fetch works', async () => {
    const host = await loadWithKeys(serviceConfig({ refresh_seconds: 10 }));
    const waiting = post(host, chat(user('hello')));
    answerFetch(host, 'internal error', 500);
    expectNoKeyReply(waiting);
    expectNoKeyReply(post(host, chat(user('hello again'))));
    expect(counter(host, 'key_fetch_failures')).toBe(1);
    expect(counter(host, 'requests_refused_no_key')).toBe(2);
    advance(host, 10);
    answerFetch(host, goodAnswer());
    expect(post(host, chat(user('now'))).upstreamHeader('authorization')).toBe(`Bearer ${SVC_KEY}`);
    host.assertHealthy();
  });

  it('wait at most timeout_ms: a fetch that times out ends their wait with 503', async () => {
    const host = await loadWithKeys(serviceConfig({ timeout_ms: 2000, refresh_seconds: 60 }));
    const waiting = post(host, chat(user('hello')));
    advance(host, 1);
    expect(waiting.pending).toBe(true);
    advance(host, 1); // the async client gives up after timeout_ms: a 504 it makes itself
    expectNoKeyReply(waiting);
    expect(counter(host, 'key_fetch_failures')).toBe(1);
  });

  it('a fetch that could not start (no such cluster) is a failed one: nobody waits', async () => {
    const host = await loadGuard(serviceConfig(), { clock: 'manual', clusters: [] });
    expect(counter(host, 'key_fetches')).toBe(1);
    expect(counter(host, 'key_fetch_failures')).toBe(1);
    expectNoKeyReply(post(host, chat(user('hello'))));
    host.assertHealthy();
  });

  it('a client that goes away while waiting is simply dropped', async () => {
    const host = await loadWithKeys(serviceConfig());
    const s = host.createStream();
    s.sendHeaders([[':method', 'POST'], [':path', '/v1/chat/completions'], [':authority', OPENAI], ['content-type', 'application/json']], false);
    s.finish();
    answerFetch(host, goodAnswer());
    expect(post(host, chat(user('next'))).forwarded).toBe(true);
    expect(host.violations).toEqual([]);
    host.assertHealthy();
  });
});

describe('after failed fetches', () => {
  it('the last good keys stay in use until max_stale_seconds after the last success, then 503', async () => {
    const host = await loadWithKeys(serviceConfig({ refresh_seconds: 10, max_stale_seconds: 25 }));
    answerFetch(host, goodAnswer());
    for (const t of [10, 20]) {
      advance(host, 10);
      answerFetch(host, 'unavailable', 503);
      const r = post(host, chat(user(`at ${t} s`)));
      expect(r.upstreamHeader('authorization'), `${t} s after the last success`).toBe(`Bearer ${SVC_KEY}`);
    }
    advance(host, 5); // 25 s: still within max_stale_seconds
    expect(post(host, chat(user('at 25 s'))).forwarded).toBe(true);
    advance(host, 1);
    expectNoKeyReply(post(host, chat(user('at 26 s'))));
    expect(counter(host, 'key_fetch_failures')).toBe(2);
    // A fetch that works again brings keys back.
    advance(host, 4);
    answerFetch(host, goodAnswer([SVC_ROTATED]));
    expect(post(host, chat(user('back'))).upstreamHeader('authorization')).toBe(`Bearer ${SVC_ROTATED}`);
    expectNoKeyInLogs(host);
    host.assertHealthy();
  });

  it('max_stale_seconds 0: the first failure drops them', async () => {
    const host = await loadWithKeys(serviceConfig({ refresh_seconds: 5, max_stale_seconds: 0 }));
    answerFetch(host, goodAnswer());
    advance(host, 4);
    expect(post(host, chat(user('before'))).forwarded).toBe(true);
    advance(host, 1);
    host.failHttpCall(pendingFetch(host).token);
    expectNoKeyReply(post(host, chat(user('after'))));
  });

  it('logs once when fetching starts failing and once when it works again, with the status', async () => {
    const host = await loadWithKeys(serviceConfig({ refresh_seconds: 1, max_stale_seconds: 3600 }));
    answerFetch(host, goodAnswer());
    for (let i = 0; i < 5; i++) {
      advance(host, 1);
      answerFetch(host, 'nope', 502);
    }
    advance(host, 1);
    answerFetch(host, goodAnswer());
    advance(host, 1);
    answerFetch(host, goodAnswer());
    const lines = host.logs.map(([, m]) => m).filter((m) => m.includes('key service'));
    const failing = lines.filter((m) => m.includes('failed'));
    expect(failing).toHaveLength(1);
    expect(failing[0]).toContain('status 502');
    expect(lines.filter((m) => m.includes('works again'))).toHaveLength(1);
    expect(counter(host, 'key_fetch_failures')).toBe(5);
    expect(counter(host, 'key_fetches')).toBe(8);
    expectNoKeyInLogs(host);
  });
});

describe('what a successful fetch says', () => {
  it('an entry in error: 503 at once, with a message that names neither the Secret nor the error', async () => {
    const host = await loadWithKeys(serviceConfig());
    answerFetch(host, { providers: { [OPENAI]: { api_keys: [SVC_KEY] }, [ANTHROPIC]: { error: SECRET_ERROR } } });
    const r = post(host, { model: 'claude', messages: [{ role: 'user', content: 'hi' }] }, { authority: ANTHROPIC, path: '/v1/messages' });
    expectNoKeyReply(r);
    expect(r.localReply!.body).not.toContain('anthropic-credentials');
    expect(r.localReply!.body).not.toContain('api-key');
    expect(post(host, chat(user('openai still works'))).forwarded).toBe(true);
  });

  it('an entry that turns into an error at the next refresh stops its keys at once (a deleted Secret)', async () => {
    const host = await loadWithKeys(serviceConfig({ refresh_seconds: 10 }));
    answerFetch(host, goodAnswer());
    expect(post(host, chat(user('before'))).forwarded).toBe(true);
    advance(host, 10);
    answerFetch(host, { providers: { [OPENAI]: { error: SECRET_ERROR }, [ANTHROPIC]: { api_keys: [SVC_ANTHROPIC] } } });
    expectNoKeyReply(post(host, chat(user('after'))));
    const line = host.logs.map(([, m]) => m).find((m) => m.includes('has no keys for'));
    expect(line).toContain(OPENAI);
  });

  it('an entry that disappears stops its keys too', async () => {
    const host = await loadWithKeys(serviceConfig({ refresh_seconds: 10 }));
    answerFetch(host, goodAnswer());
    advance(host, 10);
    answerFetch(host, { providers: { [ANTHROPIC]: { api_keys: [SVC_ANTHROPIC] } } });
    expectNoKeyReply(post(host, chat(user('after'))));
  });

  it('rotation: the keys of the latest fetch are the ones used', async () => {
    const host = await loadWithKeys(serviceConfig({ refresh_seconds: 10 }));
    answerFetch(host, goodAnswer([SVC_KEY]));
    expect(post(host, chat(user('one'))).upstreamHeader('authorization')).toBe(`Bearer ${SVC_KEY}`);
    advance(host, 10);
    answerFetch(host, goodAnswer([SVC_ROTATED, SVC_KEY2]));
    const after = [0, 1, 2].map((i) => post(host, chat(user(`after ${i}`))).upstreamHeader('authorization'));
    expect(after).not.toContain(`Bearer ${SVC_KEY}`);
    expect(new Set(after)).toEqual(new Set([`Bearer ${SVC_ROTATED}`, `Bearer ${SVC_KEY2}`]));
    expectNoKeyInLogs(host);
  });

  it('providers are looked up by hosts[0] exactly as written; other hosts of the provider use its keys', async () => {
    const host = await loadWithKeys({ providers: [{ hosts: ['llm.internal:8080', 'llm-b.internal'] }], key_service: keyService() });
    answerFetch(host, { providers: { 'llm.internal:8080': { api_keys: [SVC_KEY] }, 'llm.internal': { api_keys: [SVC_KEY2] } } });
    expect(post(host, chat(user('a')), { authority: 'llm.internal:8080' }).upstreamHeader('authorization')).toBe(`Bearer ${SVC_KEY}`);
    expect(post(host, chat(user('b')), { authority: 'llm-b.internal' }).upstreamHeader('authorization')).toBe(`Bearer ${SVC_KEY}`);
  });
});

describe('providers with inline keys', () => {
  const mixed = () =>
    loadWithKeys({
      hosts: [OPENAI],
      api_key: KEY,
      providers: [{ hosts: [ANTHROPIC], auth_style: 'x-api-key' }],
      key_service: keyService({ refresh_seconds: 10 }),
    });

  it('use their own key, do not wait for the first fetch, and ignore what the service says of their host', async () => {
    const host = await mixed();
    const early = post(host, chat(user('early')));
    expect(early.forwarded, outcome(early)).toBe(true);
    expect(early.upstreamHeader('authorization')).toBe(`Bearer ${KEY}`);
    answerFetch(host, goodAnswer([SVC_KEY]));
    expect(post(host, chat(user('later'))).upstreamHeader('authorization')).toBe(`Bearer ${KEY}`);
  });

  it('keep working when the key service fails for good', async () => {
    const host = await mixed();
    answerFetch(host, 'down', 503);
    for (let i = 0; i < 3; i++) {
      advance(host, 10);
      host.failHttpCall(pendingFetch(host).token);
    }
    expect(post(host, chat(user('still fine'))).upstreamHeader('authorization')).toBe(`Bearer ${KEY}`);
    expect(counter(host, 'requests_refused_no_key')).toBe(0);
  });

  it('a config without key_service behaves as before: the inline forms, no fetch', async () => {
    const host = await loadGuard({ hosts: [OPENAI], api_keys: [KEY], providers: [{ hosts: [ANTHROPIC], api_key_env: 'ANT', auth_style: 'x-api-key' }] }, { env: { ANT: 'sk-from-env' } });
    expect(post(host, chat(user('a'))).upstreamHeader('authorization')).toBe(`Bearer ${KEY}`);
    expect(upstreamCredentials(post(host, { messages: [] }, { authority: ANTHROPIC, path: '/v1/messages' }))).toEqual([['x-api-key', 'sk-from-env']]);
    expect(host.httpCalls).toEqual([]);
  });
});

describe('the guard key from the key service', () => {
  const GUARD_HOST = 'guard.internal';
  const GUARD_CLUSTER = `outbound|80||${GUARD_HOST}`;
  const verdict = (result: 'allow' | 'deny') => JSON.stringify({ choices: [{ message: { role: 'assistant', content: JSON.stringify({ result }) } }] });
  const load = (guard: Record<string, unknown> = {}) =>
    loadWithKeys(
      {
        hosts: [OPENAI],
        api_key: KEY,
        intelligent_guard: { host: GUARD_HOST, port: 80, path: '/v1/chat/completions', cache: { enabled: false }, ...guard },
        key_service: keyService({ refresh_seconds: 10 }),
      },
      { clusters: [GUARD_CLUSTER] },
    );
  const guardCalls = (host: FilterHost) => host.httpCalls.filter((c) => c.cluster === GUARD_CLUSTER);

  it('is sent to the guard; the request waits for the first fetch before it is judged', async () => {
    const host = await load();
    const r = post(host, chat(user('is this fine')));
    expect(guardCalls(host)).toEqual([]);
    answerFetch(host, { providers: {}, intelligent_guard: { api_key: SVC_GUARD_KEY } });
    const call = guardCalls(host)[0]!;
    expect(call.header('authorization')).toBe(`Bearer ${SVC_GUARD_KEY}`);
    expect(call.bodyText).not.toContain(KEY);
    host.respondToHttpCall(call.token, [[':status', '200']], verdict('allow'));
    expect(r.forwarded, outcome(r)).toBe(true);
    expect(r.upstreamHeader('authorization')).toBe(`Bearer ${KEY}`);
    expectNoKeyInLogs(host);
  });

  it('a bodiless request does not wait for it', async () => {
    const host = await load();
    expect(get(host, '/v1/models').forwarded).toBe(true);
  });

  it('a rotated guard key is used after the refresh', async () => {
    const host = await load();
    answerFetch(host, { providers: {}, intelligent_guard: { api_key: SVC_GUARD_KEY } });
    advance(host, 10);
    answerFetch(host, { providers: {}, intelligent_guard: { api_key: SVC_ROTATED } });
    post(host, chat(user('question')));
    expect(guardCalls(host)[0]!.header('authorization')).toBe(`Bearer ${SVC_ROTATED}`);
  });

  for (const [name, answer] of [
    ['an error entry', { providers: {}, intelligent_guard: { error: SECRET_ERROR } }],
    ['no intelligent_guard in the answer', { providers: {} }],
  ] as const) {
    it(`${name}: no guard call; a guard failure (no_key) that follows fail_mode`, async () => {
      const closed = await load();
      answerFetch(closed, answer);
      const r = post(closed, chat(user('question')));
      expect(guardCalls(closed)).toEqual([]);
      expect(errorOf(r)).toMatchObject({ status: 503, code: 'guard_unavailable' });
      expect(r.upstreamBody).toBeNull();
      expect(counter(closed, 'guard_errors_no_key')).toBe(1);

      const open = await load({ fail_mode: 'open' });
      answerFetch(open, answer);
      const o = post(open, chat(user('question')));
      expect(o.forwarded, outcome(o)).toBe(true);
      expect(counter(open, 'guard_fail_open')).toBe(1);
      expect(counter(open, 'guard_errors_no_key')).toBe(1);
    });
  }

  it('the first fetch failing: a guard failure too', async () => {
    const host = await load();
    const r = post(host, chat(user('question')));
    host.failHttpCall(pendingFetch(host).token);
    expect(errorOf(r)).toMatchObject({ status: 503, code: 'guard_unavailable' });
    expect(guardCalls(host)).toEqual([]);
  });

  it('an inline guard api_key is used even with a key_service', async () => {
    const host = await load({ api_key: 'gk-inline-guard-key' });
    post(host, chat(user('question')));
    expect(guardCalls(host)[0]!.header('authorization')).toBe('Bearer gk-inline-guard-key');
  });
});
