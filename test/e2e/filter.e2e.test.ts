// End-to-end: the release build of the filter in a real Envoy (V8), configured exactly as istiod
// delivers a WasmPlugin, in front of a local mock provider. One Envoy for the whole file, with
// several outbound listeners (one per WasmPlugin variant) plus a baseline without the filter.
// Expected behaviour: docs/filter-config.md.
import { gzipSync, brotliCompressSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startEnvoy, type EnvoyProcess } from '../../operator/src/localmesh/envoy.js';
import { chatBody, send, sendRaw, splitBytes, type Reply, type SendOptions } from '../../operator/src/localmesh/http_client.js';
import { startMockProvider, type MockProvider, type RecordedRequest } from '../../operator/src/localmesh/mock_provider.js';
import { buildBootstrap, OTHER_HOST } from '../../operator/src/localmesh/sidecar_bootstrap.js';
import { defaultWasmPath } from '../../operator/src/wasm/module_path.js';

// Envoy start-up, 3 MiB bodies and 100,000-deep JSON take longer than vitest's 5 s default.
vi.setConfig({ testTimeout: 60_000, hookTimeout: 120_000 });

// Fake keys, long and distinctive so a leak into a log is unmistakable.
const OPENAI_KEY = 'sk-e2e-openai-7Qm2xV9pL4aB8cD1eF6gH3jK';
const ANTHROPIC_KEY = 'sk-ant-e2e-anthropic-R5tY8uI2oP7aS4dF';
const AZURE_KEY = 'e2eazurekey0b1c2d3e4f5a6b7c8d9e0f1a';
const GEMINI_KEY = 'AIzaE2eGeminiKey-Zx8Cv7Bn6Mm5Ll4Kk3';
const RR_KEYS = ['sk-e2e-mistral-first-Aa1Bb2Cc3Dd4', 'sk-e2e-mistral-second-Ee5Ff6Gg7Hh8'];
const INLINE_ENV_KEY = 'sk-e2e-from-vm-env-Jj9Kk8Ll7Mm6Nn5';
const HOST_ENV_KEY = 'sk-e2e-from-host-env-Pp4Qq3Rr2Ss1Tt0';
const ALL_KEYS = [OPENAI_KEY, ANTHROPIC_KEY, AZURE_KEY, GEMINI_KEY, ...RR_KEYS, INLINE_ENV_KEY, HOST_ENV_KEY];

const OPENAI = 'api.openai.com';
const ANTHROPIC = 'api.anthropic.com';
const AZURE = 'e2e.openai.azure.com';
const GEMINI = 'generativelanguage.googleapis.com';
const MISTRAL = 'api.mistral.ai';
const ENV_HOST = 'llm.env.example';
const HOST_ENV_HOST = 'llm.hostenv.example';

// Every denied prompt carries this word: it must never show up in Envoy's log (log_prompts is off).
const CANARY = 'zqcanary';
const MAX_BODY = 256 * 1024;
const SMALL_BUFFER = 64 * 1024;

const DENY_PATTERNS = ['\\b(?:\\d{4}[ -]?){3}\\d{4}\\b', '(?i)password', '账号'];

// The WasmPlugin's spec.pluginConfig, as an operator would write it.
const pluginConfig = {
  hosts: [OPENAI],
  api_key: OPENAI_KEY,
  providers: [
    { hosts: [ANTHROPIC], api_key: ANTHROPIC_KEY, auth_style: 'x-api-key' },
    { hosts: [AZURE], api_key: AZURE_KEY, auth_style: 'api-key' },
    { hosts: [GEMINI], api_key: GEMINI_KEY, auth_style: 'x-goog-api-key' },
    { hosts: [MISTRAL], api_keys: RR_KEYS },
  ],
  deny_patterns: DENY_PATTERNS,
  max_body_bytes: MAX_BODY,
};

const WASM_PATH = defaultWasmPath();
let mock: MockProvider;
let envoy: EnvoyProcess;

beforeAll(async () => {
  mock = await startMockProvider({
    keys: {
      [OPENAI]: [OPENAI_KEY, INLINE_ENV_KEY, HOST_ENV_KEY],
      [ANTHROPIC]: ANTHROPIC_KEY,
      [AZURE]: AZURE_KEY,
      [GEMINI]: GEMINI_KEY,
      [MISTRAL]: RR_KEYS,
      [ENV_HOST]: INLINE_ENV_KEY,
      [HOST_ENV_HOST]: HOST_ENV_KEY,
    },
    sseDelayMs: 25,
  });
  const plugin = { wasmPath: WASM_PATH, namespace: 'apps', name: 'llm-guard' };
  envoy = await startEnvoy(
    (run) => buildBootstrap({
      accessLogPath: run.accessLogPath,
      mockPort: mock.port,
      providerHosts: [OPENAI, ANTHROPIC, AZURE, GEMINI, MISTRAL, ENV_HOST, HOST_ENV_HOST],
      listeners: [
        { name: 'baseline', wasm: null },
        { name: 'guard', wasm: { ...plugin, pluginConfig } },
        // WasmPlugin with spec.pluginName set: root_id is that name.
        { name: 'named_root', wasm: { ...plugin, name: 'llm-guard-named', pluginName: 'llm_guard', pluginConfig } },
        // vmConfig.env INLINE: the key comes from the VM's environment.
        {
          name: 'inline_env',
          wasm: {
            ...plugin,
            name: 'llm-guard-env',
            env: { LLM_GUARD_E2E_KEY: INLINE_ENV_KEY },
            pluginConfig: { hosts: [ENV_HOST], api_key_env: 'LLM_GUARD_E2E_KEY', deny_patterns: DENY_PATTERNS },
          },
        },
        // vmConfig.env HOST: copied from istio-proxy's own environment.
        {
          name: 'host_env',
          wasm: {
            ...plugin,
            name: 'llm-guard-host-env',
            hostEnvKeys: ['LLM_GUARD_E2E_HOST_KEY'],
            pluginConfig: { hosts: [HOST_ENV_HOST], api_key_env: 'LLM_GUARD_E2E_HOST_KEY', deny_patterns: DENY_PATTERNS },
          },
        },
        // require_hold, as the operator renders it: with the hold (and its mark) on the provider
        // virtual hosts, and on a listener where the hold is missing.
        { name: 'hold_required', wasm: { ...plugin, name: 'llm-guard-hold', pluginConfig: { ...pluginConfig, require_hold: true } } },
        { name: 'hold_missing', holdRequest: false, wasm: { ...plugin, name: 'llm-guard-no-hold', pluginConfig: { ...pluginConfig, require_hold: true } } },
        // Envoy's own buffer limit below max_body_bytes' default (1 MiB).
        {
          name: 'small_buffer',
          perConnectionBufferLimitBytes: SMALL_BUFFER,
          wasm: { ...plugin, name: 'llm-guard-small', pluginConfig: { hosts: [OPENAI], api_key: OPENAI_KEY, deny_patterns: DENY_PATTERNS } },
        },
      ],
    }),
    { env: { LLM_GUARD_E2E_HOST_KEY: HOST_ENV_KEY } },
  );
}, 60_000);

afterAll(async () => {
  await envoy?.stop();
  await mock?.close();
});

// ---------------------------------------------------------------------------------------------
// helpers

let seq = 0;
type Call = Omit<SendOptions, 'port'> & { listener?: string };

/** Sends through a listener, tagging the request so the mock's records can be found. */
async function call(opts: Call): Promise<{ res: Reply; id: string; recs: () => RecordedRequest[] }> {
  const id = `e2e-${++seq}`;
  const { listener = 'guard', headers, ...rest } = opts;
  const port = envoy.ports[listener];
  if (!port) throw new Error(`no listener ${listener}`);
  const res = await send({ ...rest, port, headers: { ...(headers ?? {}), 'x-e2e-id': id } });
  const recs = () => mock.requests.filter((r) => r.headers['x-e2e-id'] === id);
  return { res, id, recs };
}

const CREDENTIAL_HEADERS = new Set(['authorization', 'x-api-key', 'api-key', 'x-goog-api-key']);

/** Every credential header the provider received, in order, as [name, value]. */
function credentials(rec: RecordedRequest): [string, string][] {
  const out: [string, string][] = [];
  for (let i = 0; i < rec.rawHeaders.length; i += 2) {
    const name = rec.rawHeaders[i]!.toLowerCase();
    if (CREDENTIAL_HEADERS.has(name)) out.push([name, rec.rawHeaders[i + 1]!]);
  }
  return out;
}

/** The one request the provider received for this call, complete. */
function onlyComplete(recs: RecordedRequest[]): RecordedRequest {
  expect(recs.map((r) => ({ complete: r.complete, aborted: r.aborted }))).toEqual([{ complete: true, aborted: false }]);
  return recs[0]!;
}

/** A reply the filter wrote itself: OpenAI's error shape, JSON, nothing echoed. */
function expectGuardError(res: Reply, status: number, type: string, code: string) {
  expect({ status: res.status, contentType: res.headers['content-type'] }).toEqual({
    status,
    contentType: expect.stringMatching(/^application\/json/),
  });
  const body = res.json();
  expect(body).toMatchObject({ error: { type, code, message: expect.any(String) } });
  for (const key of ALL_KEYS) expect(res.text).not.toContain(key);
  expect(res.text).not.toContain(CANARY);
}

/**
 * What the provider saw of a request the filter refused: never a complete request, never a byte
 * of the body. Returns a description (headers forwarded or not) for the report.
 */
async function expectNothingForwarded(recs: () => RecordedRequest[], forbidden: string[] = [CANARY]) {
  await mock.settle(1000);
  const seen = recs();
  for (const r of seen) {
    for (const word of forbidden) expect(r.body.toString('latin1')).not.toContain(word);
  }
  // With the hold filter after the guard (as deployed), not even the headers leave Envoy.
  expect(seen.map((r) => ({ path: r.path, bodyBytes: r.body.length, credentials: credentials(r) }))).toEqual([]);
}

/** After any kind of bad input: no VM failure anywhere, and a good request is still served. */
async function expectStillServing(listener = 'guard') {
  const { res, recs } = await call({ listener, json: chatBody('What is the capital of France?') });
  expect(res.status).toBe(200);
  expect(res.json()).toMatchObject({ object: 'chat.completion' });
  const rec = onlyComplete(recs());
  expect(credentials(rec)).toEqual([['authorization', `Bearer ${OPENAI_KEY}`]]);
  const health = await envoy.vmHealth();
  expect(health).toEqual({ ok: true, failureLines: [], failedStreams: [], reloads: [], vmsCreatedSinceStart: 0 });
}

const json = (s: string) => ({ body: s, headers: { 'content-type': 'application/json' } });

// ---------------------------------------------------------------------------------------------

describe('allowed requests', () => {
  it('reach the provider with the key injected and the body byte-for-byte unchanged', async () => {
    const raw = '{"model":"gpt-4o-mini",  "messages":[{"role":"user","content":"Caf\\u00e9 \\ud83d\\ude00 é 😀"}],"temperature":0.2}';
    const { res, recs } = await call({ ...json(raw) });
    expect(res.status).toBe(200);
    const rec = onlyComplete(recs());
    expect(rec.body.toString('utf8')).toBe(raw);
    expect(rec.headers['content-length']).toBe(String(Buffer.byteLength(raw)));
    expect(credentials(rec)).toEqual([['authorization', `Bearer ${OPENAI_KEY}`]]);
    expect(res.body.equals(rec.responseBody)).toBe(true);
  });

  it.each([
    ['/v1/completions', { model: 'gpt-3.5-turbo-instruct', prompt: 'Say hi' }, 'text_completion'],
    ['/v1/embeddings', { model: 'text-embedding-3-small', input: ['one', 'two'] }, 'list'],
    ['/v1/responses', { model: 'gpt-4o-mini', input: 'Say hi', instructions: 'Be brief' }, 'response'],
  ])('%s is forwarded with the key', async (path, body, object) => {
    const { res, recs } = await call({ path, json: body });
    expect(res.status).toBe(200);
    expect(res.json()).toMatchObject({ object });
    const rec = onlyComplete(recs());
    expect(JSON.parse(rec.body.toString())).toEqual(body);
    expect(credentials(rec)).toEqual([['authorization', `Bearer ${OPENAI_KEY}`]]);
  });

  it('GET /v1/models (no body) gets the key', async () => {
    const { res, recs } = await call({ method: 'GET', path: '/v1/models' });
    expect(res.status).toBe(200);
    expect(res.json()).toMatchObject({ object: 'list' });
    const rec = onlyComplete(recs());
    expect(rec.method).toBe('GET');
    expect(credentials(rec)).toEqual([['authorization', `Bearer ${OPENAI_KEY}`]]);
  });

  it('host matching ignores case and the port', async () => {
    for (const host of ['API.OpenAI.com', 'api.openai.com:80']) {
      const { res, recs } = await call({ host, json: chatBody('hello') });
      expect(res.status, host).toBe(200);
      expect(credentials(onlyComplete(recs()))).toEqual([['authorization', `Bearer ${OPENAI_KEY}`]]);
    }
  });
});

describe('keys', () => {
  it('replaces every client credential with exactly one provider key', async () => {
    const { res, recs } = await call({
      json: chatBody('hello'),
      headers: { authorization: 'Bearer client-key', 'x-api-key': 'x', 'api-key': 'y', 'x-goog-api-key': 'z' },
    });
    expect(res.status).toBe(200);
    const rec = onlyComplete(recs());
    expect(credentials(rec)).toEqual([['authorization', `Bearer ${OPENAI_KEY}`]]);
    expect(JSON.stringify(rec.rawHeaders)).not.toContain('client-key');
  });

  it('anthropic: x-api-key', async () => {
    const body = { model: 'claude-sonnet-4-5', max_tokens: 64, system: 'Be brief', messages: [{ role: 'user', content: 'hi' }] };
    const { res, recs } = await call({
      host: ANTHROPIC,
      path: '/v1/messages',
      json: body,
      headers: { 'anthropic-version': '2023-06-01', authorization: 'Bearer client-key', 'x-api-key': 'client-x' },
    });
    expect(res.status).toBe(200);
    expect(res.json()).toMatchObject({ type: 'message' });
    const rec = onlyComplete(recs());
    expect(credentials(rec)).toEqual([['x-api-key', ANTHROPIC_KEY]]);
    expect(rec.headers['anthropic-version']).toBe('2023-06-01');
  });

  it('azure: api-key', async () => {
    const { res, recs } = await call({
      host: AZURE,
      path: '/openai/deployments/gpt-4o/chat/completions?api-version=2024-10-21',
      json: chatBody('hi'),
      headers: { 'api-key': 'client-azure' },
    });
    expect(res.status).toBe(200);
    expect(credentials(onlyComplete(recs()))).toEqual([['api-key', AZURE_KEY]]);
  });

  it('gemini: x-goog-api-key', async () => {
    const { res, recs } = await call({
      host: GEMINI,
      path: '/v1beta/models/gemini-2.0-flash:generateContent',
      json: { contents: [{ role: 'user', parts: [{ text: 'hi' }] }] },
    });
    expect(res.status).toBe(200);
    expect(credentials(onlyComplete(recs()))).toEqual([['x-goog-api-key', GEMINI_KEY]]);
  });

  it('api_keys are used in turn', async () => {
    const used: string[] = [];
    for (let i = 0; i < 4; i++) {
      const { res, recs } = await call({ host: MISTRAL, json: chatBody(`hi ${i}`) });
      expect(res.status).toBe(200);
      const creds = credentials(onlyComplete(recs()));
      expect(creds).toHaveLength(1);
      expect(creds[0]![0]).toBe('authorization');
      used.push(creds[0]![1].replace(/^Bearer /, ''));
    }
    expect(new Set(used)).toEqual(new Set(RR_KEYS));
    // one worker, one VM: strictly alternating
    expect(used[0]).not.toBe(used[1]);
    expect(used[1]).not.toBe(used[2]);
  });
});

describe('other hosts pass untouched', () => {
  it('headers and body arrive exactly as without the filter, with no key', async () => {
    const raw = JSON.stringify(chatBody(`my password is 4111 1111 1111 1111 and 账号 ${CANARY}`));
    const headers = {
      authorization: 'Bearer client-own-key',
      'x-api-key': 'client-x',
      'content-type': 'application/json',
      'X-Mixed-Case': 'Value With  Spaces',
      accept: '*/*',
    };
    const a = await call({ listener: 'baseline', host: OTHER_HOST, body: raw, headers });
    const b = await call({ listener: 'guard', host: OTHER_HOST, body: raw, headers });
    expect(b.res.status).toBe(200);
    const ra = onlyComplete(a.recs());
    const rb = onlyComplete(b.recs());
    const strip = (h: string[]) => {
      const out: string[] = [];
      for (let i = 0; i < h.length; i += 2) {
        if (h[i] !== 'x-request-id' && h[i] !== 'x-e2e-id') out.push(`${h[i]}: ${h[i + 1]}`);
      }
      return out;
    };
    expect(strip(rb.rawHeaders)).toEqual(strip(ra.rawHeaders));
    expect(rb.body.equals(ra.body)).toBe(true);
    expect(rb.body.toString()).toBe(raw);
    expect(credentials(rb)).toEqual([
      ['authorization', 'Bearer client-own-key'],
      ['x-api-key', 'client-x'],
    ]);
  });

  it('a bodiless request to another host gets no key', async () => {
    const { res, recs } = await call({ host: OTHER_HOST, method: 'GET', path: '/v1/models' });
    expect(res.status).toBe(200);
    expect(credentials(onlyComplete(recs()))).toEqual([]);
  });
});

describe('denied requests', () => {
  const cases: [string, Call][] = [
    ['a card number in a user message', { json: chatBody(`pay with 4111 1111 1111 1111 ${CANARY}`) }],
    ['(?i)password, any case', { json: chatBody(`my PassWord is hunter2 ${CANARY}`) }],
    ['账号 literally', { json: chatBody(`我的账号是 ${CANARY}`) }],
    ['账号 written as \\u escapes', json(`{"model":"m","messages":[{"role":"user","content":"\\u8d26\\u53f7 ${CANARY}"}]}`)],
    ['a system prompt', { json: { model: 'm', messages: [{ role: 'system', content: `password ${CANARY}` }, { role: 'user', content: 'hi' }] } }],
    ['a content-part array', { json: { model: 'm', messages: [{ role: 'user', content: [{ type: 'text', text: 'hello' }, { type: 'text', text: `password ${CANARY}` }] }] } }],
    ['tool-call arguments', { json: { model: 'm', messages: [{ role: 'user', content: 'hi' }, { role: 'assistant', content: null, tool_calls: [{ id: 'c1', type: 'function', function: { name: 'f', arguments: `{"q":"password ${CANARY}"}` } }] }] } }],
    ['a duplicate key (both values are inspected)', json(`{"model":"m","messages":[{"role":"user","content":"password ${CANARY}","content":"hi"}]}`)],
    ['an escaped key name', json(`{"model":"m","messages":[{"role":"user","con\\u0074ent":"password ${CANARY}"}]}`)],
    ['/v1/completions prompt', { path: '/v1/completions', json: { model: 'm', prompt: `password ${CANARY}` } }],
    ['/v1/responses input', { path: '/v1/responses', json: { model: 'm', input: [{ role: 'user', content: [{ type: 'input_text', text: `password ${CANARY}` }] }] } }],
    ['/v1/embeddings input', { path: '/v1/embeddings', json: { model: 'm', input: [`password ${CANARY}`] } }],
    ['anthropic system + messages', { host: ANTHROPIC, path: '/v1/messages', json: { model: 'c', max_tokens: 5, system: [{ type: 'text', text: `password ${CANARY}` }], messages: [{ role: 'user', content: 'hi' }] } }],
    ['gemini contents', { host: GEMINI, path: '/v1beta/models/g:generateContent', json: { contents: [{ role: 'user', parts: [{ text: `password ${CANARY}` }] }] } }],
    ['an unknown JSON shape (every string inspected)', { path: '/v1/unknown', json: { deep: { list: [1, { text: `password ${CANARY}` }] } } }],
  ];

  it.each(cases)('%s: 403 JSON from the filter, no complete request upstream', async (_name, opts) => {
    const { res, recs } = await call(opts);
    expectGuardError(res, 403, 'policy_violation', 'denied_by_pattern');
    expect(res.text.toLowerCase()).not.toContain('password');
    expect(res.text).not.toContain('4111');
    await expectNothingForwarded(recs);
  });

  it('the access log names the pattern that denied (filter state wasm.llm_guard.rule); an allowed request names none', async () => {
    const before = (await envoy.accessLogText()).length;
    await call({ json: chatBody(`pay with 4111 1111 1111 1111 ${CANARY}`) });
    await call({ json: chatBody(`my password is hunter2 ${CANARY}`) });
    await call({ json: chatBody('What is the capital of France?') });
    await new Promise((r) => setTimeout(r, 100)); // the access log is flushed every 20 ms
    const lines = (await envoy.accessLogText()).slice(before).split('\n').filter((l) => l.includes('] guard "'));
    expect(lines.map((l) => [/" (\d{3}) /.exec(l)?.[1], /rule=(\S+)/.exec(l)?.[1]])).toEqual([
      ['403', 'deny_patterns[0]'],
      ['403', 'deny_patterns[1]'],
      ['200', '-'],
    ]);
  });
});

describe('require_hold', () => {
  it('with the hold installed, requests are judged and forwarded as usual', async () => {
    const ok = await call({ listener: 'hold_required', host: OPENAI, json: chatBody('a harmless question') });
    expect(ok.res.status, ok.res.text).toBe(200);
    await mock.settle();
    expect(credentials(onlyComplete(ok.recs()))).toEqual([['authorization', `Bearer ${OPENAI_KEY}`]]);
  });

  it('without it, an inspected request is refused with 503 hold_not_installed and nothing reaches the provider', async () => {
    const bytesBefore = mock.bytesReceived();
    const r = await call({ listener: 'hold_missing', host: OPENAI, json: chatBody('a harmless question') });
    expectGuardError(r.res, 503, 'service_unavailable', 'hold_not_installed');
    await mock.settle();
    expect(r.recs()).toEqual([]);
    expect(mock.bytesReceived()).toBe(bytesBefore);
    expect((await envoy.stats('requests_refused_no_hold')).get('wasmcustom.llm_guard.requests_refused_no_hold')).toBeGreaterThanOrEqual(1);
  });

  it('without it, a request with no body to judge is refused too: no key leaves by a route that is not the provider\'s', async () => {
    const bytesBefore = mock.bytesReceived();
    const r = await call({ listener: 'hold_missing', host: OPENAI, method: 'GET', path: '/v1/models' });
    expectGuardError(r.res, 503, 'service_unavailable', 'hold_not_installed');
    await mock.settle();
    expect(r.recs()).toEqual([]);
    expect(mock.bytesReceived()).toBe(bytesBefore);
  });

  it('a provider host spelled so the route table misses it (trailing dot, odd port) gets no key down the catch-all route', async () => {
    for (const host of [`${OPENAI}.`, `${OPENAI}.:80`]) {
      const bytesBefore = mock.bytesReceived();
      const r = await call({ listener: 'hold_required', host, method: 'GET', path: '/v1/models' });
      expectGuardError(r.res, 503, 'service_unavailable', 'hold_not_installed');
      await mock.settle();
      expect(r.recs(), host).toEqual([]);
      expect(mock.bytesReceived()).toBe(bytesBefore);
    }
  });
});

describe('chunked request bodies', () => {
  it('an allowed body sent in many small chunks arrives intact', async () => {
    const raw = JSON.stringify(chatBody('a perfectly fine question about the weather in Paris, 天气'));
    const { res, recs } = await call({ chunks: splitBytes(raw, 5), chunkDelayMs: 2, headers: { 'content-type': 'application/json' } });
    expect(res.status).toBe(200);
    const rec = onlyComplete(recs());
    expect(rec.body.toString()).toBe(raw);
    expect(credentials(rec)).toEqual([['authorization', `Bearer ${OPENAI_KEY}`]]);
  });

  it('a deny literal split across chunks is still denied', async () => {
    const raw = JSON.stringify(chatBody(`please remember my pass${''}word ${CANARY}`));
    const cut = raw.indexOf('password') + 4;
    const chunks = [...splitBytes(raw.slice(0, cut), 3), ...splitBytes(raw.slice(cut), 3)];
    const { res, recs } = await call({ chunks, chunkDelayMs: 3, headers: { 'content-type': 'application/json' } });
    expectGuardError(res, 403, 'policy_violation', 'denied_by_pattern');
    await expectNothingForwarded(recs);
  });

  it('a multi-byte deny literal cut inside its UTF-8 bytes is still denied', async () => {
    const raw = JSON.stringify(chatBody(`我的账号 ${CANARY}`));
    const { res, recs } = await call({ chunks: splitBytes(raw, 2), chunkDelayMs: 2, headers: { 'content-type': 'application/json' } });
    expectGuardError(res, 403, 'policy_violation', 'denied_by_pattern');
    await expectNothingForwarded(recs);
  });
});

describe('bad input is answered as documented and never breaks the VM', () => {
  const deep = (n: number) => `{"model":"m","messages":[{"role":"user","content":"hi"}],"x":${'['.repeat(n)}${']'.repeat(n)}}`;
  const deepObj = (n: number) => `{"model":"m","messages":[{"role":"user","content":"hi"}],"x":${'{"a":'.repeat(n)}1${'}'.repeat(n)}}`;
  const bigChat = (bytes: number) => JSON.stringify(chatBody(`${CANARY} ${'lorem ipsum '.repeat(Math.ceil(bytes / 12))}`));
  const cases: [string, number, string, string, Call][] = [
    ['truncated JSON', 400, 'invalid_request_error', 'invalid_json', json('{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi')],
    ['a bad \\u escape', 400, 'invalid_request_error', 'invalid_json', json('{"model":"m","messages":[{"role":"user","content":"\\uZZZZ"}]}')],
    ['trailing garbage', 400, 'invalid_request_error', 'invalid_json', json('{"model":"m","messages":[]} x')],
    ['a trailing comma', 400, 'invalid_request_error', 'invalid_json', json('{"model":"m","messages":[],}')],
    ['a raw control character in a string', 400, 'invalid_request_error', 'invalid_json', json('{"model":"m","messages":[{"role":"user","content":"a\u0001b"}]}')],
    [
      'invalid UTF-8 inside a string', 400, 'invalid_request_error', 'invalid_json',
      { headers: { 'content-type': 'application/json' }, body: Buffer.concat([Buffer.from('{"model":"m","messages":[{"role":"user","content":"pass'), Buffer.from([0xff, 0xc0]), Buffer.from('word"}]}')]) },
    ],
    ['a gzip body', 415, 'invalid_request_error', 'unsupported_content_encoding', { headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' }, body: gzipSync(JSON.stringify(chatBody('hello'))) }],
    ['a gzip body hiding a deny word', 415, 'invalid_request_error', 'unsupported_content_encoding', { headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' }, body: gzipSync(JSON.stringify(chatBody(`password ${CANARY}`))) }],
    ['a brotli body', 415, 'invalid_request_error', 'unsupported_content_encoding', { headers: { 'content-type': 'application/json', 'content-encoding': 'br' }, body: brotliCompressSync(JSON.stringify(chatBody('hello'))) }],
    ['a binary body (not JSON)', 415, 'invalid_request_error', 'unsupported_body', { headers: { 'content-type': 'application/octet-stream' }, body: Buffer.from([0, 1, 2, 0xfe, 0xff, 0x80, 10, 13]) }],
    ['a body over max_body_bytes (content-length)', 413, 'invalid_request_error', 'body_too_large', json(bigChat(MAX_BODY + 50_000))],
    ['a body over max_body_bytes (chunked)', 413, 'invalid_request_error', 'body_too_large', { headers: { 'content-type': 'application/json' }, chunks: splitBytes(bigChat(MAX_BODY + 50_000), 16 * 1024), chunkDelayMs: 1 }],
    ['JSON nested 100 deep', 400, 'invalid_request_error', 'json_too_deep', json(deep(100))],
    ['JSON nested 100,000 deep (arrays)', 400, 'invalid_request_error', 'json_too_deep', json(deep(100_000))],
    ['JSON nested 30,000 deep (objects)', 400, 'invalid_request_error', 'json_too_deep', json(deepObj(30_000))],
  ];

  it.each(cases)('%s -> %i %s/%s', async (_name, status, type, code, opts) => {
    const { res, recs } = await call({ ...opts, timeoutMs: 20_000 });
    expectGuardError(res, status, type, code);
    await expectNothingForwarded(recs);
    await expectStillServing();
  });

  it('a JSON content-type with a body that is not JSON at all is refused (400 or 415)', async () => {
    const { res, recs } = await call(json(`password ${CANARY}`));
    expect([400, 415]).toContain(res.status);
    expectGuardError(res, res.status, 'invalid_request_error', res.status === 400 ? 'invalid_json' : 'unsupported_body');
    await expectNothingForwarded(recs);
    await expectStillServing();
  });

  it('JSON nested 32 deep (under max_json_depth 64) is accepted', async () => {
    const { res, recs } = await call(json(deep(30)));
    expect(res.status).toBe(200);
    onlyComplete(recs());
  });

  it('a body over Envoy\'s buffer limit (below max_body_bytes) gets 413, nothing forwarded', async () => {
    const raw = bigChat(SMALL_BUFFER * 3);
    const { res, recs } = await call({ listener: 'small_buffer', ...json(raw), timeoutMs: 20_000 });
    expect(res.status).toBe(413);
    if (/^application\/json/.test(String(res.headers['content-type']))) expectGuardError(res, 413, 'invalid_request_error', 'body_too_large');
    await expectNothingForwarded(recs);
    await expectStillServing('small_buffer');
  });

  it('a chunked body over Envoy\'s buffer limit gets 413, nothing forwarded', async () => {
    const raw = bigChat(SMALL_BUFFER * 3);
    const { res, recs } = await call({ listener: 'small_buffer', headers: { 'content-type': 'application/json' }, chunks: splitBytes(raw, 8192), chunkDelayMs: 1, timeoutMs: 20_000 });
    expect(res.status).toBe(413);
    await expectNothingForwarded(recs);
    await expectStillServing('small_buffer');
  });

  it('a 3 MiB body (over both limits) gets 413, nothing forwarded', async () => {
    const { res, recs } = await call({ ...json(bigChat(3 * 1024 * 1024)), timeoutMs: 30_000 });
    expect(res.status).toBe(413);
    if (/^application\/json/.test(String(res.headers['content-type']))) expectGuardError(res, 413, 'invalid_request_error', 'body_too_large');
    await expectNothingForwarded(recs);
    await expectStillServing();
  });

  it('malformed HTTP framing is refused by Envoy and the filter keeps serving', async () => {
    const port = envoy.ports.guard!;
    const bad = [
      // chunk size that isn't hex
      'POST /v1/chat/completions HTTP/1.1\r\nHost: api.openai.com\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\nzz\r\n{}\r\n0\r\n\r\n',
      // both content-length and chunked (request smuggling shape)
      'POST /v1/chat/completions HTTP/1.1\r\nHost: api.openai.com\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n5\r\n{"a":\r\n0\r\n\r\n',
      // body shorter than content-length, then the client goes away
      `POST /v1/chat/completions HTTP/1.1\r\nHost: api.openai.com\r\nContent-Type: application/json\r\nContent-Length: 500\r\n\r\n{"model":"m","messages":[{"role":"user","content":"password ${CANARY}`,
    ];
    const before = mock.requests.length;
    for (const raw of bad) {
      const r = await sendRaw(port, [raw], { timeoutMs: 1500 });
      expect(r.status === null || r.status >= 400, r.raw.slice(0, 200)).toBe(true);
    }
    await mock.settle(500);
    const arrived = mock.requests.slice(before);
    expect(arrived.filter((r) => r.complete).map((r) => r.body.toString('latin1'))).toEqual([]);
    await expectStillServing();
  });
});

describe('plugin variants', () => {
  it('a named root_id (spec.pluginName) allows and denies like root_id ""', async () => {
    const ok = await call({ listener: 'named_root', json: chatBody('hello') });
    expect(ok.res.status).toBe(200);
    expect(credentials(onlyComplete(ok.recs()))).toEqual([['authorization', `Bearer ${OPENAI_KEY}`]]);
    const denied = await call({ listener: 'named_root', json: chatBody(`password ${CANARY}`) });
    expectGuardError(denied.res, 403, 'policy_violation', 'denied_by_pattern');
    await expectNothingForwarded(denied.recs);
  });

  it('api_key_env reads the key from vmConfig.env (INLINE)', async () => {
    const { res, recs } = await call({ listener: 'inline_env', host: ENV_HOST, json: chatBody('hello'), headers: { authorization: 'Bearer client-key' } });
    expect(res.status).toBe(200);
    expect(credentials(onlyComplete(recs()))).toEqual([['authorization', `Bearer ${INLINE_ENV_KEY}`]]);
    const denied = await call({ listener: 'inline_env', host: ENV_HOST, json: chatBody(`password ${CANARY}`) });
    expectGuardError(denied.res, 403, 'policy_violation', 'denied_by_pattern');
  });

  it('api_key_env reads the key from vmConfig.env (HOST: the proxy\'s environment)', async () => {
    const { res, recs } = await call({ listener: 'host_env', host: HOST_ENV_HOST, json: chatBody('hello') });
    expect(res.status).toBe(200);
    expect(credentials(onlyComplete(recs()))).toEqual([['authorization', `Bearer ${HOST_ENV_KEY}`]]);
  });
});

describe('responses', () => {
  it('an SSE stream passes through intact and is not buffered', async () => {
    const { res, recs } = await call({ json: chatBody('tell me a story', { stream: true, stream_options: { include_usage: true } }) });
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/event-stream/);
    expect(res.headers['content-length']).toBeUndefined();
    const rec = onlyComplete(recs());
    expect(credentials(rec)).toEqual([['authorization', `Bearer ${OPENAI_KEY}`]]);
    expect(res.text).toBe(rec.responseBody.toString());
    expect(res.text.endsWith('data: [DONE]\n\n')).toBe(true);
    const events = res.text.split('\n\n').filter(Boolean);
    expect(events.length).toBeGreaterThan(4);
    for (const e of events.slice(0, -1)) expect(JSON.parse(e.replace(/^data: /, ''))).toMatchObject({ object: 'chat.completion.chunk' });
    // the mock pauses 25 ms between events: the first must arrive well before the last
    expect(res.durationMs - res.firstByteMs).toBeGreaterThan(75);
  });

  it('a provider error (429) passes through unchanged', async () => {
    const { res, recs } = await call({ path: '/mock/status/429', json: chatBody('hi') });
    expect(res.status).toBe(429);
    const rec = onlyComplete(recs());
    expect(res.body.equals(rec.responseBody)).toBe(true);
    expect(res.json()).toMatchObject({ error: { type: 'rate_limit_exceeded' } });
  });

  it('without the filter the provider refuses the request (the key really comes from the filter)', async () => {
    const { res } = await call({ listener: 'baseline', json: chatBody('hi') });
    expect(res.status).toBe(401);
    expect(res.json()).toMatchObject({ error: { type: 'invalid_request_error' } });
  });
});

describe('logs and VM health over the whole run', () => {
  it('no provider key and no denied prompt ever appears in Envoy\'s logs', async () => {
    await new Promise((r) => setTimeout(r, 100));
    const log = (await envoy.logText()) + (await envoy.accessLogText());
    expect(log.length).toBeGreaterThan(0);
    for (const key of ALL_KEYS) expect(log.includes(key), `key ${key.slice(0, 10)}… in the log`).toBe(false);
    expect(log.includes(CANARY), 'a denied prompt was logged').toBe(false);
  });

  it('no VM failed or was recreated during the run', async () => {
    expect(await envoy.vmHealth()).toEqual({ ok: true, failureLines: [], failedStreams: [], reloads: [], vmsCreatedSinceStart: 0 });
    expect(envoy.running).toBe(true);
  });
});
