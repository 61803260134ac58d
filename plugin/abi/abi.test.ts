// The compiled filter against the ABI as Envoy implements it (../shared/notes/proxy-wasm-facts.md
// from the repository root): what it imports and exports, that it loads and configures under the
// real lifecycle.

import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { defaultWasmPath, FilterHost, SharedState, readModuleInfo, type ModuleInfo } from '../../operator/src/wasm/index.js';
import { KEY, OPENAI, chat, loadGuard, outcome, post, user } from '../../test/harness/llm.js';

const CONFIG = { hosts: [OPENAI], api_key: KEY, deny_patterns: ['forbidden-secret'] };

let info: ModuleInfo;
beforeAll(() => {
  info = readModuleInfo(new Uint8Array(readFileSync(defaultWasmPath())));
});

describe('module imports', () => {
  it('imports only env.proxy_* functions and the WASI functions the AssemblyScript shim needs', () => {
    const allowedWasi = new Set(['fd_write', 'environ_get', 'environ_sizes_get', 'clock_time_get', 'random_get', 'proc_exit']);
    for (const imp of info.imports) {
      const where = `${imp.module}.${imp.name}`;
      expect(imp.kind, where).toBe('function');
      if (imp.module === 'env') expect(imp.name, where).toMatch(/^proxy_/);
      else {
        expect(imp.module, where).toBe('wasi_snapshot_preview1');
        expect(allowedWasi.has(imp.name), `${where} is not one of the WASI functions expected`).toBe(true);
      }
    }
  });

  it('does not import env.abort, env.trace or env.seed (Envoy provides none: the VM would fail to load)', () => {
    const names = info.imports.map((i) => `${i.module}.${i.name}`);
    expect(names).not.toContain('env.abort');
    expect(names).not.toContain('env.trace');
    expect(names).not.toContain('env.seed');
  });

  it('imports no memory, table or global', () => {
    expect(info.imports.filter((i) => i.kind !== 'function')).toEqual([]);
  });
});

describe('module exports', () => {
  const names = () => new Set(info.exports.map((e) => e.name));

  it('exports the ABI marker, the allocator, _initialize and memory', () => {
    for (const n of ['proxy_abi_version_0_2_1', 'proxy_on_memory_allocate', '_initialize', 'memory']) {
      expect(names().has(n), n).toBe(true);
    }
  });

  it('does not export malloc (cpp-host would use it instead of proxy_on_memory_allocate)', () => {
    expect(names().has('malloc')).toBe(false);
  });

  it('has no start section and no _start (a WASI reactor, not a command)', () => {
    expect(info.hasStartSection).toBe(false);
    expect(names().has('_start')).toBe(false);
  });

  it('exports the callbacks an HTTP filter needs', () => {
    for (const n of [
      'proxy_on_context_create',
      'proxy_on_vm_start',
      'proxy_on_configure',
      'proxy_on_request_headers',
      'proxy_on_request_body',
      'proxy_on_response_headers',
      'proxy_on_response_body',
      'proxy_on_delete',
    ]) {
      expect(names().has(n), n).toBe(true);
    }
  });

  it('exports no callback it has no use for: each would cost the host a call into the VM per request', () => {
    for (const n of ['proxy_on_response_trailers', 'proxy_on_log', 'proxy_on_done']) {
      expect(names().has(n), n).toBe(false);
    }
  });
});

describe('lifecycle under the harness', () => {
  it('loads (imports link with the right signatures, _initialize runs with restricted host calls)', async () => {
    const host = await FilterHost.load({ pluginConfig: CONFIG });
    expect(host.trapped).toBe(false);
  });

  it("configures with root_id '' (a WasmPlugin without pluginName)", async () => {
    const host = await loadGuard(CONFIG, { rootId: '' });
    const r = post(host, chat(user('hello')));
    expect(r.forwarded).toBe(true);
    host.assertHealthy();
  });

  it('configures with a named root_id', async () => {
    const host = await loadGuard(CONFIG, { rootId: 'llm-guard', pluginName: 'istio-system.llm-guard' });
    const r = post(host, chat(user('hello')));
    expect(r.forwarded).toBe(true);
    host.assertHealthy();
  });

  it('starts with a non-empty vm configuration', async () => {
    const host = await loadGuard(CONFIG, { vmConfig: 'some-vm-config' });
    expect(post(host, chat(user('hello'))).forwarded).toBe(true);
  });

  it('runs in several VMs (worker threads) sharing one process', async () => {
    const shared = new SharedState();
    const a = await loadGuard(CONFIG, { shared });
    const b = await loadGuard(CONFIG, { shared });
    for (let i = 0; i < 5; i++) {
      expect(post(a, chat(user(`hello ${i}`))).forwarded).toBe(true);
      expect(post(b, chat(user(`forbidden-secret ${i}`))).localReply?.status).toBe(403);
    }
    a.assertHealthy();
    b.assertHealthy();
  });

  it('survives ticks and an orderly shutdown', async () => {
    const host = await loadGuard(CONFIG, { clock: 'manual' });
    host.tick();
    host.advanceTime(60_000);
    post(host, chat(user('hello')));
    host.shutdown();
    host.assertHealthy();
  });

  it('leaves no stream context behind after requests finish', async () => {
    const host = await loadGuard(CONFIG);
    for (let i = 0; i < 20; i++) post(host, chat(user(i % 2 ? 'hello' : 'forbidden-secret')));
    expect(host.activeStreams).toEqual([]);
    host.assertHealthy();
  });

  it('reports no ABI misuse (malformed pairs, invalid header values, continue on a root context)', async () => {
    const host = await loadGuard(CONFIG);
    post(host, chat(user('hello')));
    post(host, chat(user('forbidden-secret')));
    post(host, '{not json');
    expect(host.violations).toEqual([]);
    expect(host.hostCallErrors.filter((e) => e.status === 'InvalidMemoryAccess')).toEqual([]);
  });

  it('does not read or change request headers from a body callback (Envoy has sent them upstream: BAD_ARGUMENT)', async () => {
    const host = await loadGuard(CONFIG);
    post(host, chat(user('hello')));
    post(host, chat(user('forbidden-secret')));
    const late = host.hostCallErrors.filter(
      (e) => e.status === 'BadArgument' && /header_map/.test(e.fn),
    );
    expect(late).toEqual([]);
  });
});

describe('http callouts (intelligent_guard) under the real callout lifecycle', () => {
  const GUARD_HOST = 'guard.example.com';
  const CLUSTER = `outbound|443||${GUARD_HOST}`;
  const GUARD_KEY = 'sk-guard-KEY-5566778899';
  const guardCfg = {
    hosts: [OPENAI],
    api_key: KEY,
    intelligent_guard: { host: GUARD_HOST, port: 443, path: '/compatible-mode/v1/chat/completions', model: 'qwen-turbo', api_key: GUARD_KEY },
  };
  const verdict = (result: 'allow' | 'deny', reason = 'because') =>
    JSON.stringify({ choices: [{ index: 0, message: { role: 'assistant', content: JSON.stringify({ result, reason }) } }] });

  it('holds the request, calls the guard cluster with :method/:path/:authority, resumes on allow', async () => {
    const host = await loadGuard(guardCfg, { clusters: [CLUSTER] });
    const r = post(host, chat(user('what is the capital of France')));
    expect(r.forwarded).toBe(false);
    expect(r.pending).toBe(true);
    expect(r.pendingHttpCalls).toHaveLength(1);
    const call = r.pendingHttpCalls[0]!;
    expect(call.cluster).toBe(CLUSTER);
    expect(call.header(':method')).toBe('POST');
    expect(call.header(':authority')).toBe(GUARD_HOST);
    expect(call.header(':path')).toBe('/compatible-mode/v1/chat/completions');
    expect(JSON.stringify(call.headers) + call.bodyText).not.toContain(KEY);
    host.respondToHttpCall(call.token, [[':status', '200'], ['content-type', 'application/json']], verdict('allow'));
    expect(r.forwarded).toBe(true);
    expect(r.upstreamHeader('authorization')).toBe(`Bearer ${KEY}`);
    expect(r.upstreamBodyText).toBe(JSON.stringify(chat(user('what is the capital of France'))));
    host.assertHealthy();
  });

  it('a deny verdict answers the client and forwards nothing', async () => {
    const host = await loadGuard(guardCfg, { clusters: [CLUSTER] });
    const r = post(host, chat(user('something bad')));
    host.respondToHttpCall(host.httpCalls[0]!.token, [[':status', '200']], verdict('deny', 'nope'));
    expect(r.forwarded).toBe(false);
    expect(r.localReply?.status).toBe(403);
    expect(r.upstreamBody).toBeNull();
    host.assertHealthy();
  });

  it('answers arriving out of order go to the right streams', async () => {
    const host = await loadGuard(guardCfg, { clusters: [CLUSTER] });
    const a = post(host, chat(user('first question')));
    const b = post(host, chat(user('second question')));
    const c = post(host, chat(user('third question')));
    const [ca, cb, cc] = host.httpCalls;
    host.respondToHttpCall(cc!.token, [[':status', '200']], verdict('allow'));
    host.respondToHttpCall(ca!.token, [[':status', '200']], verdict('deny'));
    host.respondToHttpCall(cb!.token, [[':status', '200']], verdict('allow'));
    expect(a.localReply?.status).toBe(403);
    expect(b.forwarded).toBe(true);
    expect(c.forwarded).toBe(true);
    expect(host.violations).toEqual([]);
    host.assertHealthy();
  });

  const badAnswers: [string, (host: FilterHost, token: number) => void][] = [
    ['a failed call (reset)', (h, t) => h.failHttpCall(t)],
    ['a timeout (504 from the async client)', (h, t) => h.timeoutHttpCall(t)],
    ['a 500', (h, t) => h.respondToHttpCall(t, [[':status', '500']], 'oops')],
    ['empty choices (asm-labs panics here)', (h, t) => h.respondToHttpCall(t, [[':status', '200']], '{"choices":[]}')],
    ['no body', (h, t) => h.respondToHttpCall(t, [[':status', '200']], '')],
    ['garbage', (h, t) => h.respondToHttpCall(t, [[':status', '200']], '\u0000\uffff{{{')],
    ['a fenced verdict', (h, t) => h.respondToHttpCall(t, [[':status', '200']], JSON.stringify({ choices: [{ message: { content: '```json\n{"result":"allow"}\n```' } }] }))],
  ];
  for (const [name, answer] of badAnswers) {
    it(`${name}: the request ends (no hang, no trap) and the next one is served`, async () => {
      const host = await loadGuard(guardCfg, { clusters: [CLUSTER] });
      const r = post(host, chat(user('question')));
      answer(host, host.httpCalls[0]!.token);
      expect(r.pending, outcome(r)).toBe(false);
      host.assertHealthy();
      const next = post(host, chat(user('another question')));
      host.respondToHttpCall(host.httpCalls[1]!.token, [[':status', '200']], verdict('allow'));
      expect(next.forwarded, outcome(next)).toBe(true);
    });
  }

  it('a guard cluster that does not exist (BAD_ARGUMENT) does not hang the request', async () => {
    const host = await loadGuard(guardCfg, { clusters: [] });
    const r = post(host, chat(user('question')));
    expect(r.pending, outcome(r)).toBe(false);
    host.assertHealthy();
  });
});
