// End-to-end: the intelligent guard (docs/filter-config.md, "The intelligent guard" and "Metrics")
// in a real Envoy (V8), configured as istiod delivers a WasmPlugin whose intelligent_guard points at
// `guard.internal:80`, i.e. the cluster `outbound|80||guard.internal` (a STATIC cluster here, on a
// local mock guard), in front of the mock provider. One Envoy for the file, one worker (one VM),
// several outbound listeners, one per WasmPlugin variant (fail-closed / fail-open, short timeout,
// a guard that is down, a guard cluster that doesn't exist).
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startEnvoy, type EnvoyProcess } from '../../operator/src/localmesh/envoy.js';
import {
  allow,
  choicesWithoutContent,
  deny,
  emptyChoices,
  garbage,
  llamaGuard,
  moderation,
  noChoices,
  qwenGuard,
  reset,
  resetBeforeHeaders,
  slow,
  status,
} from '../../operator/src/localmesh/guard_answers.js';
import { chatBody, send, type Reply } from '../../operator/src/localmesh/http_client.js';
import { byConversation, startMockGuard, type GuardRequest, type MockGuard } from '../../operator/src/localmesh/mock_guard.js';
import { startMockProvider, type MockProvider, type RecordedRequest } from '../../operator/src/localmesh/mock_provider.js';
import { closedPort } from '../../operator/src/localmesh/ports.js';
import { buildBootstrap } from '../../operator/src/localmesh/sidecar_bootstrap.js';
import { defaultWasmPath } from '../../operator/src/wasm/module_path.js';

vi.setConfig({ testTimeout: 90_000, hookTimeout: 120_000 });

const OPENAI = 'api.openai.com';
const PROVIDER_KEY = 'sk-e2e-guardtest-provider-Q7w8E9r0T1y2U3';
const GUARD_KEY = 'sk-e2e-guardtest-guardkey-A4s5D6f7G8h9J0';
const GUARD_HOST = 'guard.internal';
const GUARD_CLUSTER = 'outbound|80||guard.internal';
const DOWN_CLUSTER = 'outbound|80||guard-down.internal';
// Every prompt carries this word: it must never show up in Envoy's log.
const CANARY = 'zqguardcanary';
const DENY_REASON = 'mentions the zq-merger codename';
const SHORT_TIMEOUT_MS = 1000;
const SLOW_MS = 5000; // well past SHORT_TIMEOUT_MS
const CONCURRENT = 20;

// Markers in a prompt pick the mock guard's answer.
const M = {
  deny: '[guard:deny]',
  llamaUnsafe: '[guard:llama-unsafe]',
  qwenSafe: '[guard:qwen-safe]',
  slow: '[guard:slow]',
  e500: '[guard:500]',
  garbage: '[guard:garbage]',
  empty: '[guard:empty-choices]',
  noChoices: '[guard:no-choices]',
  noContent: '[guard:no-content]',
  reset: '[guard:reset]',
  resetEarly: '[guard:reset-before-headers]',
  flag: '[guard:flag]',
  conc: '[guard:concurrent]',
  concDeny: '[guard:concurrent-deny]',
} as const;

const WASM_PATH = defaultWasmPath();
const KINDS = ['timeout', 'connect_failure', 'non_200', 'unparseable', 'empty_choices', 'no_cluster'];

let mock: MockProvider;
let guard: MockGuard;
let envoy: EnvoyProcess;

/** Concurrent requests: all of a round are held until every one arrived, then answered last first. */
async function concurrentAnswer(req: GuardRequest) {
  const round = /\[round (\d+)\]/.exec(req.conversation)?.[1] ?? '?';
  const inRound = (r: GuardRequest) => r.conversation.includes(M.conc) && r.conversation.includes(`[round ${round}]`);
  const all = (await guard.waitForRequests(inRound, CONCURRENT, 60_000)).sort((a, b) => a.seq - b.seq);
  const i = all.indexOf(req);
  if (i >= 0 && i < all.length - 1) await guard.whenAnswered((r) => r === all[i + 1]);
  return req.conversation.includes(M.concDeny) ? deny(`concurrent deny ${round}`) : allow('concurrent allow');
}

const chatGuard = byConversation([
  [M.conc, concurrentAnswer],
  [M.deny, deny(DENY_REASON)],
  [M.llamaUnsafe, llamaGuard('unsafe', 'S1,S7')],
  [M.qwenSafe, qwenGuard('Safe')],
  [M.slow, slow(allow('too late'), SLOW_MS)],
  [M.e500, status(500)],
  [M.garbage, garbage()],
  [M.empty, emptyChoices()],
  [M.noChoices, noChoices()],
  [M.noContent, choicesWithoutContent()],
  [M.reset, reset(20)],
  [M.resetEarly, resetBeforeHeaders()],
], allow('looks harmless'));

/** /v1/moderations gets OpenAI moderation answers; everything else a chat-completion guard's. */
const guardBehaviour = (req: GuardRequest) =>
  req.path === '/v1/moderations' ? moderation(req.conversation.includes(M.flag), ['harassment']) : chatGuard(req);

beforeAll(async () => {
  mock = await startMockProvider({ keys: { [OPENAI]: PROVIDER_KEY } });
  guard = await startMockGuard({ behaviour: guardBehaviour });
  const downPort = await closedPort();
  // As the operator renders it: host + port 80, i.e. Istio's outbound|80||guard.internal.
  const intelligentGuard = { host: GUARD_HOST, port: 80, path: '/v1/chat/completions', api_key: GUARD_KEY, timeout_ms: 30_000 };
  const variant = (name: string, guardOverrides: Record<string, unknown>) => ({
    name,
    wasm: {
      wasmPath: WASM_PATH,
      namespace: 'apps',
      name: `llm-guard-${name}`,
      pluginConfig: {
        hosts: [OPENAI],
        api_key: PROVIDER_KEY,
        deny_patterns: ['(?i)password'],
        // The model names the listener so the verdict caches of the variants stay apart.
        intelligent_guard: { ...intelligentGuard, model: `guard-${name}`, ...guardOverrides },
      },
    },
  });
  envoy = await startEnvoy((run) =>
    buildBootstrap({
      accessLogPath: run.accessLogPath,
      mockPort: mock.port,
      providerHosts: [OPENAI],
      extraClusters: [
        { name: GUARD_CLUSTER, port: guard.port },
        { name: DOWN_CLUSTER, port: downPort },
      ],
      listeners: [
        variant('closed', {}),
        variant('open', { fail_mode: 'open' }),
        variant('slow_closed', { timeout_ms: SHORT_TIMEOUT_MS }),
        variant('slow_open', { timeout_ms: SHORT_TIMEOUT_MS, fail_mode: 'open' }),
        variant('down_closed', { cluster: DOWN_CLUSTER }),
        variant('down_open', { cluster: DOWN_CLUSTER, fail_mode: 'open' }),
        variant('nocluster_closed', { host: 'missing-guard.internal' }),
        variant('nocluster_open', { host: 'missing-guard.internal', fail_mode: 'open' }),
        variant('moderation', { path: '/v1/moderations', model: 'omni-moderation-latest' }),
      ],
    }),
  );
}, 120_000);

afterAll(async () => {
  await envoy?.stop();
  await guard?.close();
  await mock?.close();
});

// ---------------------------------------------------------------------------------------------
// helpers

let seq = 0;

interface Sent {
  res: Reply;
  id: string;
  /** What the provider received for this request. */
  provider: () => RecordedRequest[];
  /** What the guard received for this request. */
  guardSaw: () => GuardRequest[];
}

/**
 * Sends a chat request with `text` through a listener. The text gets a unique tag (unless `exact`)
 * so the guard's and the provider's records of it can be found, and verdicts are never cached
 * across tests by accident.
 */
async function ask(listener: string, text: string, opts: { exact?: boolean } = {}): Promise<Sent> {
  const id = `g${++seq}`;
  const prompt = opts.exact ? text : `${text} (${CANARY} #${id}#)`;
  const port = envoy.ports[listener];
  if (!port) throw new Error(`no listener ${listener}`);
  const res = await send({ port, json: chatBody(prompt), headers: { 'x-e2e-id': id }, timeoutMs: 60_000 });
  return {
    res,
    id,
    provider: () => mock.requests.filter((r) => r.headers['x-e2e-id'] === id),
    guardSaw: () => guard.requests.filter((r) => (opts.exact ? r.conversation.includes(text) : r.conversation.includes(`#${id}#`))),
  };
}

/** The llm_guard counters from /stats, without Envoy's `wasmcustom.` prefix. */
async function counters(): Promise<Record<string, number>> {
  const m = await envoy.stats('llm_guard');
  return Object.fromEntries([...m].map(([k, v]) => [k.replace(/^wasmcustom\./, ''), v]));
}

/** Counters that moved between two snapshots. */
function moved(before: Record<string, number>, after: Record<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(after)) if (v !== (before[k] ?? 0)) out[k] = v - (before[k] ?? 0);
  return out;
}

/** Runs `fn` and returns what it did to the llm_guard counters. */
async function countersMovedBy(fn: () => Promise<unknown>): Promise<Record<string, number>> {
  const before = await counters();
  await fn();
  return moved(before, await counters());
}

function guardErrorsMoved(d: Record<string, number>): Record<string, number> {
  return Object.fromEntries(KINDS.filter((k) => d[`llm_guard.guard_errors_${k}`]).map((k) => [k, d[`llm_guard.guard_errors_${k}`]!]));
}

/** Every credential header the provider received, as [name, value]. */
function credentials(rec: RecordedRequest): [string, string][] {
  const out: [string, string][] = [];
  for (let i = 0; i < rec.rawHeaders.length; i += 2) {
    const name = rec.rawHeaders[i]!.toLowerCase();
    if (['authorization', 'x-api-key', 'api-key', 'x-goog-api-key'].includes(name)) out.push([name, rec.rawHeaders[i + 1]!]);
  }
  return out;
}

/** The provider got this request complete, once, with the provider key. */
function expectForwarded(s: Sent): void {
  expect(s.res.status, s.res.text).toBe(200);
  const recs = s.provider();
  expect(recs.map((r) => ({ complete: r.complete, aborted: r.aborted }))).toEqual([{ complete: true, aborted: false }]);
  expect(credentials(recs[0]!)).toEqual([['authorization', `Bearer ${PROVIDER_KEY}`]]);
  expect(JSON.parse(recs[0]!.body.toString('utf8')).messages[0].content).toContain(`#${s.id}#`);
}

/** The provider saw nothing at all of this request: not the headers, not a byte of the body. */
async function expectNothingForwarded(s: Sent): Promise<void> {
  await mock.settle(1000);
  expect(s.provider().map((r) => ({ path: r.path, bytes: r.body.length, credentials: credentials(r) }))).toEqual([]);
}

function expectErrorReply(res: Reply, status: number, type: string, code: string): void {
  expect({ status: res.status, contentType: res.headers['content-type'] }).toEqual({
    status,
    contentType: expect.stringMatching(/^application\/json/),
  });
  expect(res.json()).toMatchObject({ error: { type, code, message: expect.any(String) } });
  expect(res.text).not.toContain(CANARY);
  expect(res.text).not.toContain(PROVIDER_KEY);
  expect(res.text).not.toContain(GUARD_KEY);
}

// ---------------------------------------------------------------------------------------------

describe('the guard allows', () => {
  it('the provider gets the request with the provider key; the guard got one call with its own key', async () => {
    let s!: Sent;
    const d = await countersMovedBy(async () => {
      s = await ask('closed', 'What is the capital of France?');
    });
    expectForwarded(s);
    const g = s.guardSaw();
    expect(g).toHaveLength(1);
    const call = g[0]!;
    expect(call.method).toBe('POST');
    expect(call.path).toBe('/v1/chat/completions');
    expect(call.host).toBe(GUARD_HOST);
    expect(call.headers.authorization).toBe(`Bearer ${GUARD_KEY}`);
    expect(call.jsonError).toBeNull();
    expect(call.model).toBe('guard-closed');
    expect(call.conversation).toContain('What is the capital of France?');
    expect(d).toMatchObject({
      'llm_guard.requests_total': 1,
      'llm_guard.requests_inspected': 1,
      'llm_guard.guard_calls': 1,
      'llm_guard.requests_allowed': 1,
    });
    expect(guardErrorsMoved(d)).toEqual({});
  });

  it('Qwen3Guard "Safety: Safe" is an allow', async () => {
    expectForwarded(await ask('closed', `Qwen says safe ${M.qwenSafe}`));
  });
});

describe('the guard denies', () => {
  it('403 denied_by_guard; the provider sees nothing at all; the reason is logged, not sent', async () => {
    const mark = await envoy.logMark();
    let s!: Sent;
    const d = await countersMovedBy(async () => {
      s = await ask('closed', `Summarise the merger plan ${M.deny}`);
    });
    expectErrorReply(s.res, 403, 'policy_violation', 'denied_by_guard');
    expect(s.res.text).not.toContain(DENY_REASON);
    expect(s.guardSaw()).toHaveLength(1);
    await expectNothingForwarded(s);
    expect(d).toMatchObject({ 'llm_guard.requests_denied_by_guard': 1, 'llm_guard.guard_calls': 1 });
    expect(d['llm_guard.requests_allowed'] ?? 0).toBe(0);
    await new Promise((r) => setTimeout(r, 100)); // log flush (20 ms)
    const log = await envoy.logSince(mark);
    expect(log).toContain(DENY_REASON);
    expect(log).not.toContain(CANARY);
  });

  it('Llama Guard "unsafe\\nS1,S7" is a deny', async () => {
    const s = await ask('closed', `Llama says unsafe ${M.llamaUnsafe}`);
    expectErrorReply(s.res, 403, 'policy_violation', 'denied_by_guard');
    await expectNothingForwarded(s);
  });

  it('an OpenAI moderation guard (/v1/moderations): flagged → 403, not flagged → forwarded', async () => {
    const flagged = await ask('moderation', `You are worthless ${M.flag}`);
    expectErrorReply(flagged.res, 403, 'policy_violation', 'denied_by_guard');
    await expectNothingForwarded(flagged);
    const fine = await ask('moderation', 'Thank you for your help');
    expectForwarded(fine);
    const call = fine.guardSaw()[0]!;
    expect(call.path).toBe('/v1/moderations');
    expect(call.json).toMatchObject({ model: 'omni-moderation-latest', input: [expect.stringContaining('Thank you for your help')] });
  });

  it('fail_mode open does not forward a deny', async () => {
    const s = await ask('open', `Denied on the open listener ${M.deny}`);
    expectErrorReply(s.res, 403, 'policy_violation', 'denied_by_guard');
    await expectNothingForwarded(s);
  });

  it('a deny pattern refuses before the guard is asked', async () => {
    const s = await ask('closed', 'my password is hunter2');
    expectErrorReply(s.res, 403, 'policy_violation', 'denied_by_pattern');
    expect(s.guardSaw()).toEqual([]);
  });
});

// [name, closed listener, open listener, marker, the guard_errors kind the filter counts in real Envoy]
const FAILURES: [string, string, string, string, string][] = [
  [`slow (answers after ${SLOW_MS} ms, timeout_ms ${SHORT_TIMEOUT_MS})`, 'slow_closed', 'slow_open', M.slow, 'timeout'],
  ['down (connection refused)', 'down_closed', 'down_open', '', 'connect_failure'],
  ['500', 'closed', 'open', M.e500, 'non_200'],
  ['garbage (a 200 that is not JSON)', 'closed', 'open', M.garbage, 'unparseable'],
  ['empty choices: []', 'closed', 'open', M.empty, 'empty_choices'],
  ['JSON without choices', 'closed', 'open', M.noChoices, 'unparseable'],
  ['choices without content', 'closed', 'open', M.noContent, 'unparseable'],
  ['reset mid-answer', 'closed', 'open', M.reset, 'connect_failure'],
  ['reset before the headers', 'closed', 'open', M.resetEarly, 'connect_failure'],
];

describe('no verdict, fail_mode closed: 503 guard_unavailable, nothing forwarded', () => {
  for (const [name, listener, , marker, kind] of FAILURES) {
    it(`${name} → 503, guard_errors_${kind}`, async () => {
      let s!: Sent;
      const d = await countersMovedBy(async () => {
        s = await ask(listener, `Failure case ${name} ${marker}`);
      });
      expectErrorReply(s.res, 503, 'service_unavailable', 'guard_unavailable');
      await expectNothingForwarded(s);
      expect(guardErrorsMoved(d)).toEqual({ [kind]: 1 });
      expect(d['llm_guard.guard_fail_open'] ?? 0).toBe(0);
    });
  }

  it('a guard cluster that doesn\'t exist → 503, guard_errors_no_cluster; the guard gets nothing', async () => {
    let s!: Sent;
    const d = await countersMovedBy(async () => {
      s = await ask('nocluster_closed', 'No cluster for this guard');
    });
    expectErrorReply(s.res, 503, 'service_unavailable', 'guard_unavailable');
    await expectNothingForwarded(s);
    expect(s.guardSaw()).toEqual([]);
    expect(guardErrorsMoved(d)).toEqual({ no_cluster: 1 });
  });
});

describe('no verdict, fail_mode open: forwarded with the key, counted', () => {
  for (const [name, , listener, marker, kind] of FAILURES) {
    it(`${name} → forwarded, guard_fail_open, guard_errors_${kind}`, async () => {
      let s!: Sent;
      const d = await countersMovedBy(async () => {
        s = await ask(listener, `Fail-open case ${name} ${marker}`);
      });
      expectForwarded(s);
      expect(guardErrorsMoved(d)).toEqual({ [kind]: 1 });
      expect(d['llm_guard.guard_fail_open']).toBe(1);
    });
  }

  it('a guard cluster that doesn\'t exist → forwarded, guard_errors_no_cluster', async () => {
    let s!: Sent;
    const d = await countersMovedBy(async () => {
      s = await ask('nocluster_open', 'No cluster, fail open');
    });
    expectForwarded(s);
    expect(guardErrorsMoved(d)).toEqual({ no_cluster: 1 });
    expect(d['llm_guard.guard_fail_open']).toBe(1);
  });
});

describe('the documented error kinds in real Envoy', () => {
  // Envoy's async client turns a timeout into a 504 and a refused or reset-before-headers
  // connection into a 503 that it makes itself; the filter tells them from a guard's own answers.
  it(`a guard slower than timeout_ms is counted as guard_errors_timeout`, async () => {
    const d = await countersMovedBy(() => ask('slow_closed', `Timeout kind ${M.slow}`));
    expect(guardErrorsMoved(d)).toEqual({ timeout: 1 });
  });

  it('a guard that refuses connections is counted as guard_errors_connect_failure', async () => {
    const d = await countersMovedBy(() => ask('down_closed', 'Connect failure kind'));
    expect(guardErrorsMoved(d)).toEqual({ connect_failure: 1 });
  });

  it('a guard that resets the connection before answering is counted as guard_errors_connect_failure', async () => {
    const d = await countersMovedBy(() => ask('closed', `Reset kind ${M.resetEarly}`));
    expect(guardErrorsMoved(d)).toEqual({ connect_failure: 1 });
  });
});

describe('concurrency', () => {
  it(`${CONCURRENT} requests in flight at once, answered last first: each gets its own verdict`, async () => {
    const round = 1;
    const sends = Array.from({ length: CONCURRENT }, (_, i) =>
      ask('closed', `Concurrent ${i} [round ${round}] ${M.conc}${i % 4 === 1 ? ` ${M.concDeny}` : ''}`),
    );
    const results = await Promise.all(sends);
    await mock.settle(2000);
    const inRound = guard.requests.filter((r) => r.conversation.includes(`[round ${round}]`));
    expect(inRound).toHaveLength(CONCURRENT);
    // The guard really answered out of order: the first to arrive was answered last.
    const bySeq = inRound.slice().sort((a, b) => a.seq - b.seq);
    expect(bySeq.map((r) => r.answeredAs)).toEqual(bySeq.map((r) => r.answeredAs).sort((a, b) => b - a));
    expect(guard.behaviourErrors).toEqual([]);
    results.forEach((s, i) => {
      if (i % 4 === 1) {
        expect(s.res.status, `#${i}: ${s.res.text}`).toBe(403);
        expect(s.res.json().error.code).toBe('denied_by_guard');
        expect(s.provider()).toEqual([]);
      } else {
        expectForwarded(s);
        expect(JSON.parse(s.provider()[0]!.body.toString('utf8')).messages[0].content).toContain(`Concurrent ${i} `);
      }
    });
  });
});

describe('the verdict cache', () => {
  it('a second identical request is not sent to the guard and gets the same decision (allow)', async () => {
    const text = `Cache me please ${CANARY} allow-case`;
    const first = await ask('closed', text, { exact: true });
    let second!: Sent;
    const d = await countersMovedBy(async () => {
      second = await ask('closed', text, { exact: true });
    });
    expect(first.res.status).toBe(200);
    expect(second.res.status).toBe(200);
    expect(second.guardSaw(), 'the guard saw one call for both').toHaveLength(1);
    expect(d['llm_guard.guard_cache_hits']).toBe(1);
    expect(d['llm_guard.guard_calls'] ?? 0).toBe(0);
    expect(second.provider()).toHaveLength(1);
    expect(credentials(second.provider()[0]!)).toEqual([['authorization', `Bearer ${PROVIDER_KEY}`]]);
  });

  it('a second identical request gets the same decision (deny), without a guard call', async () => {
    const text = `Cache my denial ${CANARY} ${M.deny}`;
    const first = await ask('closed', text, { exact: true });
    let second!: Sent;
    const d = await countersMovedBy(async () => {
      second = await ask('closed', text, { exact: true });
    });
    expect([first.res.status, second.res.status]).toEqual([403, 403]);
    expect(second.guardSaw()).toHaveLength(1);
    expect(d).toMatchObject({ 'llm_guard.guard_cache_hits': 1, 'llm_guard.requests_denied_by_guard': 1 });
    await expectNothingForwarded(second);
  });

  it('a failure is not cached: the same request after a 500 asks the guard again', async () => {
    const text = `Not cached after an error ${CANARY} ${M.e500}`;
    await ask('closed', text, { exact: true });
    await ask('closed', text, { exact: true });
    expect(guard.requests.filter((r) => r.conversation.includes(text))).toHaveLength(2);
  });
});

describe('metrics in /stats', () => {
  it('every documented counter is there', async () => {
    const c = await counters();
    const names = [
      'requests_total', 'requests_inspected', 'requests_allowed', 'requests_denied_by_pattern', 'requests_denied_by_guard',
      'requests_refused_uninspectable', 'requests_passed_uninspected', 'guard_calls', 'guard_cache_hits', 'guard_fail_open',
      ...KINDS.map((k) => `guard_errors_${k}`),
    ];
    for (const n of names) expect(c, n).toHaveProperty([`llm_guard.${n}`]);
  });

  it('the guard_latency_ms histogram has recorded values', async () => {
    expectForwarded(await ask('closed', 'One more call for the latency histogram'));
    // Histograms show in /stats once Envoy has flushed them (every 5 s by default).
    const deadline = Date.now() + 30_000;
    let line = '';
    for (;;) {
      const { text } = await envoy.admin('/stats?filter=guard_latency_ms');
      line = text.split('\n').find((l) => /llm_guard\.guard_latency_ms:/.test(l)) ?? '';
      if (/P50\(/.test(line) || Date.now() > deadline) break;
      await new Promise((r) => setTimeout(r, 500));
    }
    expect(line).toMatch(/^(wasmcustom\.)?llm_guard\.guard_latency_ms: P0\(/);
    expect(line).not.toContain('No recorded values');
  });
});

describe('over the whole run', () => {
  it('the provider key never reached the guard; every guard call carried the guard key', async () => {
    expectForwarded(await ask('closed', 'One more for the key check'));
    expect(guard.requests.length).toBeGreaterThan(0);
    for (const r of guard.requests) {
      expect(r.rawHeaders.join('\n')).not.toContain(PROVIDER_KEY);
      expect(r.text).not.toContain(PROVIDER_KEY);
      expect(r.headers.authorization).toBe(`Bearer ${GUARD_KEY}`);
      expect(r.host).toBe(GUARD_HOST);
      expect(r.jsonError, r.text.slice(0, 200)).toBeNull();
    }
  });

  it('no key and no prompt in Envoy\'s logs', async () => {
    const log = (await envoy.logText()) + (await envoy.accessLogText());
    expect(log).not.toContain(PROVIDER_KEY);
    expect(log).not.toContain(GUARD_KEY);
    expect(log).not.toContain(CANARY);
  });

  it('no VM failed; every listener still serves a normal request', async () => {
    for (const listener of ['closed', 'open', 'slow_closed', 'slow_open']) {
      expectForwarded(await ask(listener, `Still serving on ${listener}?`));
    }
    expect(await envoy.vmHealth()).toEqual({ ok: true, failureLines: [], failedStreams: [], reloads: [], vmsCreatedSinceStart: 0 });
  });
});
