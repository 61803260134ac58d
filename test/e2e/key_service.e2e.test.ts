// End-to-end: keys from the key service (docs/filter-config.md, "The key service") in a real Envoy
// (V8), configured as istiod delivers a WasmPlugin whose pluginConfig has key_service and no key:
// the key service is a local mock (plain HTTP) behind a cluster named as Istio names it,
// `outbound|15443||llmguard-keys.llmguard-system.svc.cluster.local`, and its names are routed to
// that cluster as Istio routes a Kubernetes service, so an app request to it would get there if the
// filter let it. One Envoy for the file, one worker (one VM), a listener per WasmPlugin variant,
// and a baseline listener without the filter (to show the key service is reachable without it).
// Every wait for a refresh polls for the state it wants (no timing assertions).
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startEnvoy, type EnvoyProcess } from '../../operator/src/localmesh/envoy.js';
import { chatBody, send, type Reply } from '../../operator/src/localmesh/http_client.js';
import { startMockKeyService, type KeyServiceDocument, type MockKeyService } from '../../operator/src/localmesh/mock_key_service.js';
import { startMockProvider, type MockProvider, type RecordedRequest } from '../../operator/src/localmesh/mock_provider.js';
import { buildBootstrap } from '../../operator/src/localmesh/sidecar_bootstrap.js';
import { defaultWasmPath } from '../../operator/src/wasm/module_path.js';

vi.setConfig({ testTimeout: 60_000, hookTimeout: 120_000 });

const OPENAI = 'api.openai.com';
const ANTHROPIC = 'api.anthropic.com';
const KS_HOST = 'llmguard-keys.llmguard-system.svc.cluster.local';
const KS_PORT = 15443;
const KS_CLUSTER = `outbound|${KS_PORT}||${KS_HOST}`;
/** Istio's domains for a Kubernetes service's virtual host, as an app in the same namespace gets them. */
const KS_DOMAINS = ['llmguard-keys.llmguard-system.svc.cluster.local', 'llmguard-keys.llmguard-system.svc', 'llmguard-keys.llmguard-system', 'llmguard-keys'].flatMap(
  (d) => [d, `${d}:${KS_PORT}`],
);
/** Another name routed to the key service cluster: only the xds.cluster_name check can catch it. */
const KS_ALIAS = 'keys-alias.example';

// Keys the key service hands out: long and distinctive, so a leak anywhere is unmistakable.
const KEY_1 = 'sk-e2e-keysvc-first-R4nD0mLooK1ngK3y9a8b7c';
const KEY_2 = 'sk-e2e-keysvc-rotated-Zz9Yy8Xx7Ww6Vv5Uu4Tt';
const KEY_ANT = 'sk-ant-e2e-keysvc-Q1w2E3r4T5y6U7i8O9p0';
const KEY_HELD = 'sk-e2e-keysvc-held-Mm1Nn2Bb3Vv4Cc5Xx6Zz';
const KEY_PROBE = 'sk-e2e-keysvc-probe-Aa0Ss9Dd8Ff7Gg6Hh5Jj';
const ALL_KEYS = [KEY_1, KEY_2, KEY_ANT, KEY_HELD, KEY_PROBE];
const SECRET_ERROR = 'Secret "openai-e2e" has no key "api-key"';

const PATH_MAIN = '/v1/keys/apps/e2e-main';
const PATH_PROBE = '/v1/keys/apps/e2e-probe';
const PATH_HELD = '/v1/keys/apps/e2e-held';

const WASM_PATH = defaultWasmPath();

let provider: MockProvider;
let keys: MockKeyService;
let envoy: EnvoyProcess;
let releaseHeld: () => void;

const doc = (openai: string[] | { error: string }, anthropic: string[] = [KEY_ANT]): KeyServiceDocument => ({
  providers: {
    [OPENAI]: Array.isArray(openai) ? { api_keys: openai } : openai,
    [ANTHROPIC]: { api_keys: anthropic },
  },
});

beforeAll(async () => {
  provider = await startMockProvider();
  keys = await startMockKeyService();
  keys.set(PATH_MAIN, doc([KEY_1]));
  keys.set(PATH_PROBE, doc([KEY_PROBE]));
  keys.set(PATH_HELD, doc([KEY_HELD]));
  // The held listener's first fetch (from proxy_on_configure, at Envoy's start) stays in flight
  // until a test lets it go: requests that come meanwhile must wait for it.
  releaseHeld = keys.hold(PATH_HELD);
  const plugin = (name: string, path: string, ks: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
    name,
    wasm: {
      wasmPath: WASM_PATH,
      namespace: 'apps',
      name: `llm-guard-${name}`,
      pluginConfig: {
        providers: [{ hosts: [OPENAI] }, { hosts: [ANTHROPIC], auth_style: 'x-api-key' }],
        key_service: { host: KS_HOST, port: KS_PORT, path, ...ks },
        deny_patterns: ['(?i)password'],
        require_hold: true,
        ...extra,
      },
    },
  });
  envoy = await startEnvoy((run) =>
    buildBootstrap({
      accessLogPath: run.accessLogPath,
      mockPort: provider.port,
      providerHosts: [OPENAI, ANTHROPIC],
      extraClusters: [{ name: KS_CLUSTER, port: keys.port }],
      extraVirtualHosts: [
        { name: `${KS_HOST}:${KS_PORT}`, domains: KS_DOMAINS, cluster: KS_CLUSTER },
        { name: `${KS_ALIAS}:80`, domains: [KS_ALIAS, `${KS_ALIAS}:*`], cluster: KS_CLUSTER },
      ],
      listeners: [
        { name: 'baseline', wasm: null },
        plugin('main', PATH_MAIN, { refresh_seconds: 1, max_stale_seconds: 3, timeout_ms: 1000 }),
        // Refreshes once an hour: the only fetch a test can see is the one from proxy_on_configure.
        plugin('probe', PATH_PROBE, { refresh_seconds: 3600 }),
        plugin('held', PATH_HELD, { refresh_seconds: 3600, timeout_ms: 60_000 }),
      ],
    }),
  );
}, 120_000);

afterAll(async () => {
  releaseHeld?.();
  await envoy?.stop();
  await keys?.close();
  await provider?.close();
});

// ---------------------------------------------------------------------------------------------
// helpers

let seq = 0;

interface Sent {
  res: Reply;
  id: string;
  /** What the provider received for this request. */
  atProvider: () => RecordedRequest[];
}

async function ask(listener: string, opts: { host?: string; path?: string; text?: string; method?: string } = {}): Promise<Sent> {
  const id = `k${++seq}`;
  const port = envoy.ports[listener];
  if (!port) throw new Error(`no listener ${listener}`);
  const host = opts.host ?? OPENAI;
  const anthropic = host === ANTHROPIC;
  const json = opts.method === 'GET' ? undefined : anthropic ? { model: 'claude-3-5-haiku', max_tokens: 16, messages: [{ role: 'user', content: opts.text ?? 'hi' }] } : chatBody(opts.text ?? 'hello');
  const res = await send({
    port,
    host,
    method: opts.method,
    path: opts.path ?? (anthropic ? '/v1/messages' : '/v1/chat/completions'),
    json,
    headers: { 'x-e2e-id': id, authorization: 'Bearer sk-app-own-should-not-pass' },
    timeoutMs: 30_000,
  });
  return { res, id, atProvider: () => provider.requests.filter((r) => r.headers['x-e2e-id'] === id) };
}

/** The key the provider received for a request (Bearer or x-api-key). */
function keyAt(s: Sent): string | undefined {
  const r = s.atProvider()[0];
  if (!r) return undefined;
  const auth = r.headers.authorization;
  if (typeof auth === 'string') return auth.replace(/^Bearer /, '');
  const x = r.headers['x-api-key'];
  return typeof x === 'string' ? x : undefined;
}

/** Polls `probe` until it returns a value (not undefined), for at most `ms`. */
async function eventually<T>(what: string, probe: () => Promise<T | undefined>, ms = 20_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function counter(name: string): Promise<number> {
  return (await envoy.stats(`llm_guard\\.${name}$`)).get(`wasmcustom.llm_guard.${name}`) ?? 0;
}

function errorCode(res: Reply): string | undefined {
  try {
    return (res.json() as { error?: { code?: string } }).error?.code;
  } catch {
    return undefined;
  }
}

// ---------------------------------------------------------------------------------------------

describe('the first fetch', () => {
  it('starts from proxy_on_configure: the key service is asked before any tick could fire', async () => {
    const probes = await eventually('a fetch of the probe path', async () => (keys.requestsTo(PATH_PROBE).length > 0 ? keys.requestsTo(PATH_PROBE) : undefined));
    const r = probes[0]!;
    expect(r.method).toBe('GET');
    expect(r.host).toBe(KS_HOST);
    expect(r.headers.accept).toBe('application/json');
    expect(r.headers.authorization).toBeUndefined();
    expect(r.headers['x-api-key']).toBeUndefined();
    expect(r.body.length).toBe(0);
    // One fetch per VM configured: Envoy configures the plugin on its main thread as well as on the
    // worker (and cpp-host's configuration canary may start one before it is killed); no tick yet.
    expect(probes.length).toBeGreaterThanOrEqual(1);
    // The worker serving requests has the keys, without any tick.
    const s = await ask('probe');
    expect(s.res.status, s.res.text).toBe(200);
    expect(keyAt(s)).toBe(KEY_PROBE);
  });

  it('a request that comes while it is in flight waits at its headers, then goes with the key and its body', async () => {
    expect(keys.requestsTo(PATH_HELD).length).toBeGreaterThanOrEqual(1);
    expect(keys.requestsTo(PATH_HELD).every((r) => r.status === 0), 'the fetches are held').toBe(true);
    const pending = ask('held', { text: 'what is the capital of France' });
    // The request is held in the sidecar: nothing reaches the provider while the fetch is in flight.
    await new Promise((r) => setTimeout(r, 300));
    expect(provider.requests.filter((r) => r.path === '/v1/chat/completions' && r.headers['x-e2e-id'] === `k${seq}`)).toEqual([]);
    releaseHeld();
    const s = await pending;
    expect(s.res.status, s.res.text).toBe(200);
    expect(keyAt(s)).toBe(KEY_HELD);
    const got = s.atProvider()[0]!;
    expect(JSON.parse(got.body.toString()).messages[0].content).toBe('what is the capital of France');
    expect(got.headers.authorization).toBe(`Bearer ${KEY_HELD}`);
  });
});

describe('keys from the key service', () => {
  it('the provider gets the service key, in its auth style; the app\'s own credential is replaced', async () => {
    const o = await ask('main');
    expect(o.res.status, o.res.text).toBe(200);
    expect(keyAt(o)).toBe(KEY_1);
    const a = await ask('main', { host: ANTHROPIC });
    expect(a.res.status, a.res.text).toBe(200);
    expect(a.atProvider()[0]!.headers['x-api-key']).toBe(KEY_ANT);
    expect(a.atProvider()[0]!.headers.authorization).toBeUndefined();
  });

  it('patterns still apply', async () => {
    const s = await ask('main', { text: 'my password is hunter2' });
    expect(s.res.status).toBe(403);
    expect(errorCode(s.res)).toBe('denied_by_pattern');
    expect(s.atProvider().filter((r) => r.complete)).toEqual([]);
  });

  it('rotation: after a refresh the new key is used', async () => {
    keys.set(PATH_MAIN, doc([KEY_2]));
    await eventually('the rotated key at the provider', async () => (keyAt(await ask('main')) === KEY_2 ? true : undefined));
    for (let i = 0; i < 3; i++) expect(keyAt(await ask('main'))).toBe(KEY_2);
  });

  it('a removed key (an error entry): 503 provider_key_unavailable, and the provider gets nothing', async () => {
    keys.set(PATH_MAIN, doc({ error: SECRET_ERROR }));
    const refused = await eventually('a 503', async () => {
      const s = await ask('main');
      return s.res.status === 503 ? s : undefined;
    });
    expect(errorCode(refused.res)).toBe('provider_key_unavailable');
    expect(refused.res.text).not.toContain('openai-e2e');
    expect(refused.atProvider()).toEqual([]);
    const again = await ask('main', { method: 'GET', path: '/v1/models' });
    expect(again.res.status).toBe(503);
    expect(again.atProvider()).toEqual([]);
    // Anthropic's entry is fine: it still works.
    expect((await ask('main', { host: ANTHROPIC })).res.status).toBe(200);
    expect(await counter('requests_refused_no_key')).toBeGreaterThanOrEqual(2);
  });

  it('a key service that fails: the last keys are kept for max_stale_seconds, then requests fail closed; back, keys are back', async () => {
    keys.set(PATH_MAIN, doc([KEY_1]));
    await eventually('keys back', async () => (keyAt(await ask('main')) === KEY_1 ? true : undefined));
    const failuresBefore = await counter('key_fetch_failures');
    keys.setRaw(PATH_MAIN, { status: 500, body: 'internal error' });
    // Within max_stale_seconds the last key keeps working; past it, 503.
    const refused = await eventually('keys dropped as stale', async () => {
      const s = await ask('main');
      if (s.res.status === 200) expect(keyAt(s)).toBe(KEY_1);
      return s.res.status === 503 ? s : undefined;
    });
    expect(errorCode(refused.res)).toBe('provider_key_unavailable');
    expect(await counter('key_fetch_failures')).toBeGreaterThan(failuresBefore);
    keys.setRaw(PATH_MAIN, { status: 200, body: '{"providers": {"api.openai.com": {"api_keys": [' });
    await new Promise((r) => setTimeout(r, 1500));
    expect((await ask('main')).res.status, 'a malformed answer brings nothing back').toBe(503);
    keys.set(PATH_MAIN, doc([KEY_2]));
    await eventually('keys back after the outage', async () => (keyAt(await ask('main')) === KEY_2 ? true : undefined));
    expect(await counter('key_fetches')).toBeGreaterThan(await counter('key_fetch_failures'));
  });
});

describe('the app may not reach the key service', () => {
  const names = [KS_HOST, `${KS_HOST}:${KS_PORT}`, 'llmguard-keys.llmguard-system.svc', 'llmguard-keys.llmguard-system', 'LLMGUARD-KEYS.llmguard-system.', 'llmguard-keys'];

  it('without the filter (baseline), the key service is reachable by those names: the 403s below are the filter\'s', async () => {
    const before = keys.requests.length;
    const s = await ask('baseline', { host: KS_HOST, method: 'GET', path: PATH_MAIN });
    expect(s.res.status).toBe(200);
    expect(keys.requests.length).toBe(before + 1);
  });

  for (const host of [...names, KS_ALIAS]) {
    it(`${host}: 403 key_service_forbidden, and the key service gets nothing`, async () => {
      for (const method of ['GET', 'POST']) {
        const s = await ask('main', { host, method, path: PATH_MAIN });
        expect(s.res.status, s.res.text).toBe(403);
        expect(errorCode(s.res)).toBe('key_service_forbidden');
        expect(keys.requests.filter((r) => r.headers['x-e2e-id'] === s.id)).toEqual([]);
      }
    });
  }

  it('counted in requests_refused_key_service', async () => {
    expect(await counter('requests_refused_key_service')).toBeGreaterThanOrEqual(2 * (names.length + 1));
  });
});

describe('no key anywhere Envoy shows', () => {
  it('/config_dump, /stats, /clusters, the log and the access log hold no key', async () => {
    // Every listener has fetched and used keys by now.
    for (const path of ['/config_dump', '/config_dump?include_eds', '/stats', '/stats?format=json', '/clusters', '/clusters?format=json', '/listeners', '/server_info']) {
      const { status, text } = await envoy.admin(path);
      expect(status, path).toBe(200);
      for (const k of ALL_KEYS) expect(text.includes(k), `${k} in ${path}`).toBe(false);
    }
    const dump = (await envoy.admin('/config_dump')).text;
    expect(dump).toContain('key_service');
    expect(dump).toContain(KS_HOST);
    await new Promise((r) => setTimeout(r, 100));
    const logs = (await envoy.logText()) + (await envoy.accessLogText());
    for (const k of ALL_KEYS) expect(logs.includes(k), `${k} in Envoy's log`).toBe(false);
    expect(logs).toContain('key service');
  });

  it('the VMs stayed healthy', async () => {
    const health = await envoy.vmHealth();
    expect(health, JSON.stringify(health)).toMatchObject({ ok: true });
  });
});
