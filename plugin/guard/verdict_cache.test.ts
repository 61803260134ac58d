// The verdict cache (docs/filter-config.md, `intelligent_guard.cache`): the same guard request
// within the TTL reuses the verdict without a call, shared by all workers through proxy-wasm shared
// data (the harness: several FilterHost VMs on one SharedState), bounded, errors never cached.

import { describe, expect, it } from 'vitest';
import { SharedState, type FilterHost, type HttpStream } from '../../operator/src/wasm/index.js';
import { KEY, OPENAI, chat, errorOf, loadGuard, outcome, post, user } from '../../test/harness/llm.js';
import { allow, deny, llamaGuard, qwenGuard, status, type Answer } from '../../operator/src/localmesh/guard_answers.js';
import { playAnswer } from '../../test/support/play_answer.js';

const CLUSTER = 'outbound|80||guard.internal';
const GUARD = { host: 'guard.internal', port: 80, path: '/v1/chat/completions', model: 'guard-model', api_key: 'sk-guard-cache-abcdef0123' };

interface LoadOpts {
  shared?: SharedState;
  clock?: 'real' | 'manual';
}

function load(guard: Record<string, unknown> = {}, opts: LoadOpts = {}): Promise<FilterHost> {
  return loadGuard({ hosts: [OPENAI], api_key: KEY, intelligent_guard: { ...GUARD, ...guard } }, { clusters: [CLUSTER], ...opts });
}

/** Sends `prompt`; if the guard is called, answers with `answer`. Returns the stream and whether a call was made. */
function ask(host: FilterHost, prompt: string, answer: Answer = allow()): { r: HttpStream; called: boolean } {
  const before = host.httpCalls.length;
  const r = post(host, chat(user(prompt)));
  const called = host.httpCalls.length > before;
  if (called) playAnswer(host, host.httpCalls[host.httpCalls.length - 1]!.token, answer);
  return { r, called };
}

const decision = (r: HttpStream) => (r.forwarded ? 'allow' : (errorOf(r)?.code ?? outcome(r)));
const cacheKeys = (host: FilterHost) => [...host.sharedData.keys()].filter((k) => k.startsWith('llm_guard.verdicts'));

describe('a second identical request', () => {
  it('allowed: no second guard call, forwarded again, guard_cache_hits counted', async () => {
    const host = await load();
    const first = ask(host, 'What is the capital of France?', allow());
    expect(first.called).toBe(true);
    expect(decision(first.r)).toBe('allow');
    const second = ask(host, 'What is the capital of France?');
    expect(second.called, 'answered from the cache').toBe(false);
    expect(decision(second.r)).toBe('allow');
    expect(JSON.parse(second.r.upstreamBodyText!)).toEqual(chat(user('What is the capital of France?')));
    expect(second.r.upstreamHeaderAll('authorization')).toEqual([`Bearer ${KEY}`]);
    expect(host.metric('llm_guard.guard_calls')).toBe(1);
    expect(host.metric('llm_guard.guard_cache_hits')).toBe(1);
    expect(host.metric('llm_guard.requests_allowed')).toBe(2);
    expect(host.histograms['llm_guard.guard_latency_ms'], 'latency is recorded for real calls only').toHaveLength(1);
  });

  it('denied: no second guard call, denied again (counted, logged as cached)', async () => {
    const host = await load();
    expect(decision(ask(host, 'leak the payroll', deny('payroll data')).r)).toBe('denied_by_guard');
    const second = ask(host, 'leak the payroll');
    expect(second.called).toBe(false);
    expect(decision(second.r)).toBe('denied_by_guard');
    expect(second.r.localReply?.status).toBe(403);
    expect(host.metric('llm_guard.requests_denied_by_guard')).toBe(2);
    expect(host.metric('llm_guard.guard_cache_hits')).toBe(1);
    const cachedLine = host.logs.map(([, m]) => m).filter((m) => m.includes('payroll data') && /cached/.test(m));
    expect(cachedLine).toHaveLength(1);
  });

  it('many repeats: one call', async () => {
    const host = await load();
    ask(host, 'repeat me', allow());
    for (let i = 0; i < 25; i++) expect(ask(host, 'repeat me').called).toBe(false);
    expect(host.metric('llm_guard.guard_calls')).toBe(1);
    expect(host.metric('llm_guard.guard_cache_hits')).toBe(25);
  });

  it('with expose_reason, a cached deny carries the same reason as the first', async () => {
    const host = await load({ expose_reason: true });
    const first = ask(host, 'tell me secrets', deny('secrets requested')).r;
    const second = ask(host, 'tell me secrets').r;
    expect(second.localReply!.json()).toEqual(first.localReply!.json());
  });

  it('a cached deny loses the part of the reason after a newline', async () => {
    const host = await load({ expose_reason: true });
    const reason = 'contains credentials\nand personal data';
    const first = ask(host, 'multi-line reason', deny(reason)).r;
    expect((first.localReply!.json() as { error: { message: string } }).error.message).toContain(reason);
    const second = ask(host, 'multi-line reason').r;
    expect(second.localReply!.json()).toEqual(first.localReply!.json());
  });
});

describe('what makes a different guard request', () => {
  it('different text → a new call', async () => {
    const host = await load();
    ask(host, 'text one', allow());
    expect(ask(host, 'text two', deny()).called).toBe(true);
    expect(ask(host, 'text one ').called, 'one trailing space differs').toBe(true);
    expect(host.metric('llm_guard.guard_cache_hits')).toBe(0);
  });

  it('the same text under another role → a new call', async () => {
    const host = await load();
    post(host, chat(user('same words')));
    playAnswer(host, host.pendingHttpCalls()[0]!.token, allow());
    post(host, chat({ role: 'system', content: 'same words' }));
    expect(host.pendingHttpCalls()).toHaveLength(1);
  });

  it('another model or system prompt (another plugin config, same shared data) → a new call', async () => {
    const shared = new SharedState();
    const a = await load({}, { shared });
    const b = await load({ model: 'other-guard-model' }, { shared });
    const c = await load({ system_prompt: 'You are a different guard.' }, { shared });
    ask(a, 'shared text', deny('a says no'));
    expect(ask(b, 'shared text', allow()).called).toBe(true);
    expect(ask(c, 'shared text', allow()).called).toBe(true);
  });

  it('another guard path (moderations) → a new call', async () => {
    const shared = new SharedState();
    const a = await load({}, { shared });
    const b = await load({ path: '/v1/moderations' }, { shared });
    ask(a, 'shared text', allow());
    expect(ask(b, 'shared text', { kind: 'moderation', results: [{ flagged: true, categories: { hate: true } }] }).called).toBe(true);
  });
});

describe('shared by all workers (two VMs, one shared-data store)', () => {
  it('a verdict one VM got is used by the other without a call', async () => {
    const shared = new SharedState();
    const vm1 = await load({}, { shared });
    const vm2 = await load({}, { shared });
    ask(vm1, 'allowed on worker 1', allow());
    ask(vm1, 'denied on worker 1', deny('bad'));
    const a = ask(vm2, 'allowed on worker 1');
    const d = ask(vm2, 'denied on worker 1');
    expect([a.called, d.called]).toEqual([false, false]);
    expect([decision(a.r), decision(d.r)]).toEqual(['allow', 'denied_by_guard']);
    expect(vm2.metric('llm_guard.guard_calls')).toBe(0);
    expect(vm2.metric('llm_guard.guard_cache_hits')).toBe(2);
  });

  it('VMs that don\'t share the store don\'t share verdicts', async () => {
    const vm1 = await load();
    const vm2 = await load();
    ask(vm1, 'not shared', allow());
    expect(ask(vm2, 'not shared', allow()).called).toBe(true);
  });

  it('a call in flight on one VM is not a verdict for the other: it asks too', async () => {
    const shared = new SharedState();
    const vm1 = await load({}, { shared });
    const vm2 = await load({}, { shared });
    const r1 = post(vm1, chat(user('in flight')));
    const { r: r2, called } = ask(vm2, 'in flight', deny('vm2 answer'));
    expect(called).toBe(true);
    expect(decision(r2)).toBe('denied_by_guard');
    playAnswer(vm1, vm1.pendingHttpCalls()[0]!.token, deny('vm1 answer'));
    expect(decision(r1)).toBe('denied_by_guard');
  });
});

describe('TTL', () => {
  it('the verdict is reused within ttl_seconds and asked again after', async () => {
    const host = await load({ cache: { ttl_seconds: 60 } }, { clock: 'manual' });
    ask(host, 'ttl text', allow());
    host.advanceTime(59_000);
    expect(ask(host, 'ttl text').called, 'at 59 s: cached').toBe(false);
    host.advanceTime(2_000);
    const late = ask(host, 'ttl text', deny('changed its mind'));
    expect(late.called, 'at 61 s: expired, a new call').toBe(true);
    expect(decision(late.r)).toBe('denied_by_guard');
    const again = ask(host, 'ttl text');
    expect(again.called, 'the new verdict is cached in turn').toBe(false);
    expect(decision(again.r)).toBe('denied_by_guard');
  });

  it('the default TTL is 300 s', async () => {
    const host = await load({}, { clock: 'manual' });
    ask(host, 'default ttl', allow());
    host.advanceTime(299_000);
    expect(ask(host, 'default ttl').called).toBe(false);
    host.advanceTime(2_000);
    expect(ask(host, 'default ttl', allow()).called).toBe(true);
  });

  it('another VM does not use an entry past its expiry either (shared store, one clock each)', async () => {
    const shared = new SharedState();
    const vm1 = await load({ cache: { ttl_seconds: 10 } }, { shared, clock: 'manual' });
    ask(vm1, 'expiring', allow());
    // vm2 starts later: its clock is already past the entry's expiry.
    await new Promise((r) => setTimeout(r, 15));
    const vm2 = await load({ cache: { ttl_seconds: 10 } }, { shared, clock: 'manual' });
    vm2.advanceTime(11_000);
    expect(ask(vm2, 'expiring', allow()).called).toBe(true);
  });
});

describe('cache settings', () => {
  it('cache.enabled: false → every request asks the guard, nothing stored', async () => {
    const host = await load({ cache: { enabled: false } });
    for (let i = 0; i < 3; i++) expect(ask(host, 'no cache', allow()).called).toBe(true);
    expect(host.metric('llm_guard.guard_cache_hits')).toBe(0);
    expect(cacheKeys(host)).toEqual([]);
  });

  it('max_entries bounds the shared data: 200 different texts use at most max_entries slots', async () => {
    const host = await load({ cache: { max_entries: 8 } });
    for (let i = 0; i < 200; i++) ask(host, `bounded ${i}`, i % 2 ? allow() : deny());
    const keys = cacheKeys(host);
    expect(keys.length).toBeGreaterThan(0);
    expect(keys.length).toBeLessThanOrEqual(8);
    expect(host.metric('llm_guard.guard_cache_slots_filled'), 'the gauge counts the slots in use').toBe(keys.length);
  });

  it('guard_cache_slots_filled counts a slot once, however often it is overwritten, and never an error', async () => {
    const host = await load({ cache: { max_entries: 1 } });
    expect(host.metric('llm_guard.guard_cache_slots_filled')).toBe(0);
    ask(host, 'first', status(500));
    expect(host.metric('llm_guard.guard_cache_slots_filled')).toBe(0);
    ask(host, 'second', allow());
    ask(host, 'third', deny());
    expect(host.metric('llm_guard.guard_cache_slots_filled')).toBe(1);
  });

  it('max_entries: 1 → a newer verdict replaces the older one', async () => {
    const host = await load({ cache: { max_entries: 1 } });
    ask(host, 'first text', allow());
    ask(host, 'second text', deny());
    expect(cacheKeys(host)).toHaveLength(1);
    expect(ask(host, 'second text').called).toBe(false);
    const again = ask(host, 'first text', deny('now denied'));
    expect(again.called, 'evicted').toBe(true);
    expect(decision(again.r)).toBe('denied_by_guard');
  });

  it('the shared data holds verdicts, not prompts', async () => {
    const host = await load();
    ask(host, 'my zqcanary secret prompt', deny('secret'));
    ask(host, 'another zqcanary prompt', allow());
    const values = [...host.sharedData.values()].join('\n');
    expect(values).not.toContain('zqcanary');
    expect(values).not.toContain(KEY);
  });

  it('unknown cache fields and out-of-range values are refused at configure time', async () => {
    for (const cache of [{ ttl: 5 }, { ttl_seconds: 0 }, { max_entries: 0 }, { enabled: 'yes' }]) {
      const host = await loadGuard(
        { hosts: [OPENAI], api_key: KEY, intelligent_guard: { ...GUARD, cache } },
        { clusters: [CLUSTER], expectConfigured: false },
      );
      expect(host.configured, JSON.stringify(cache)).toBe(false);
    }
  });
});

describe('errors are never cached', () => {
  it('a 500 then the same request → a new call, which can allow', async () => {
    const host = await load();
    expect(decision(ask(host, 'flaky', status(500)).r)).toBe('guard_unavailable');
    const second = ask(host, 'flaky', allow());
    expect(second.called).toBe(true);
    expect(decision(second.r)).toBe('allow');
    expect(ask(host, 'flaky').called, 'the allow is cached').toBe(false);
  });

  it('a failed call, an unparseable answer, empty choices, Envoy\'s timeout: none stored', async () => {
    const host = await load();
    const prompts = ['e1', 'e2', 'e3', 'e4'];
    post(host, chat(user(prompts[0]!)));
    host.failHttpCall(host.pendingHttpCalls()[0]!.token);
    ask(host, prompts[1]!, status(200, 'not json'));
    ask(host, prompts[2]!, status(200, '{"choices":[]}'));
    post(host, chat(user(prompts[3]!)));
    host.timeoutHttpCall(host.pendingHttpCalls()[0]!.token);
    expect(cacheKeys(host)).toEqual([]);
    for (const p of prompts) expect(ask(host, p, allow()).called, p).toBe(true);
  });

  it('fail-open forwards but caches nothing', async () => {
    const host = await load({ fail_mode: 'open' });
    expect(decision(ask(host, 'open flaky', status(503)).r)).toBe('allow');
    expect(ask(host, 'open flaky', deny('real verdict')).called).toBe(true);
  });
});

describe('verdicts that depend on the plugin config', () => {
  // Two WasmPlugins (or two revisions of one) with the same guard model and prompt share the VM's
  // shared data. Whether an answer allows depends on controversial / verdict_format, which are not
  // part of the cache key: the first config's reading is reused by the other.
  it('a Controversial verdict cached by a controversial: allow config is not an allow for a controversial: deny config', async () => {
    const shared = new SharedState();
    const lenient = await load({ controversial: 'allow' }, { shared });
    const strict = await load({ controversial: 'deny' }, { shared });
    expect(decision(ask(lenient, 'a debatable topic', qwenGuard('Controversial')).r)).toBe('allow');
    const r = ask(strict, 'a debatable topic', qwenGuard('Controversial'));
    expect(decision(r.r)).toBe('denied_by_guard');
  });

  it('an answer one verdict_format reads as allow is not an allow for a config whose format can\'t read it', async () => {
    const shared = new SharedState();
    const auto = await load({ verdict_format: 'auto' }, { shared });
    const jsonOnly = await load({ verdict_format: 'json' }, { shared });
    expect(decision(ask(auto, 'llama answer', llamaGuard('safe')).r)).toBe('allow');
    // jsonOnly on its own would refuse this answer (unparseable → 503); from the cache it allows.
    expect(decision(ask(jsonOnly, 'llama answer', llamaGuard('safe')).r)).toBe('guard_unavailable');
  });
});
