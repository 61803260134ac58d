// Every byte inspected (issue 11), in real Envoy configured as istiod does: text in every place a
// provider's API lets a request carry it is seen by the deny patterns, a WebSocket upgrade to a
// provider is refused (or, when the policy says so, forwarded uninspected and counted), and valid
// requests of every shape still reach the provider, byte for byte, with the key.
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startEnvoy, type EnvoyProcess } from '../../operator/src/localmesh/envoy.js';
import { send, sendRaw, type Reply, type SendOptions } from '../../operator/src/localmesh/http_client.js';
import { startMockProvider, credentialsOf, type MockProvider, type RecordedRequest } from '../../operator/src/localmesh/mock_provider.js';
import { buildBootstrap } from '../../operator/src/localmesh/sidecar_bootstrap.js';
import { defaultWasmPath } from '../../operator/src/wasm/module_path.js';
import { CLEAN_TEXT, DENY_LITERAL, SHAPES } from '../fixtures/llm-bodies.js';

vi.setConfig({ testTimeout: 30_000, hookTimeout: 120_000 });

const OPENAI = 'api.openai.com';
const ANTHROPIC = 'api.anthropic.com';
const GEMINI = 'generativelanguage.googleapis.com';
const OPENAI_KEY = 'sk-e2e-every-byte-openai-4Rt7Yu1Io9';
const ANTHROPIC_KEY = 'sk-ant-e2e-every-byte-2Wq5Er8Ty3';
const GEMINI_KEY = 'AIzaE2eEveryByteGemini-6Hj9Kl2Zx5';
const ALL_KEYS = [OPENAI_KEY, ANTHROPIC_KEY, GEMINI_KEY];

const pluginConfig = {
  providers: [
    { hosts: [OPENAI], api_key: OPENAI_KEY },
    { hosts: [ANTHROPIC], api_key: ANTHROPIC_KEY, auth_style: 'x-api-key' },
    { hosts: [GEMINI], api_key: GEMINI_KEY, auth_style: 'x-goog-api-key' },
  ],
  deny_patterns: [DENY_LITERAL],
};

let mock: MockProvider;
let envoy: EnvoyProcess;

beforeAll(async () => {
  mock = await startMockProvider({ keys: { [OPENAI]: OPENAI_KEY, [ANTHROPIC]: ANTHROPIC_KEY, [GEMINI]: GEMINI_KEY } });
  const plugin = { wasmPath: defaultWasmPath(), namespace: 'apps', name: 'llm-guard' };
  envoy = await startEnvoy((run) => buildBootstrap({
    accessLogPath: run.accessLogPath,
    mockPort: mock.port,
    providerHosts: [OPENAI, ANTHROPIC, GEMINI],
    listeners: [
      { name: 'guard', wasm: { ...plugin, pluginConfig } },
      { name: 'not_normalized', wasm: { ...plugin, name: 'llm-guard-plain', pluginConfig: { ...pluginConfig, normalize: false } } },
      // Envoy's buffer filter (the hold) waits for a request's end, which an upgrade never has: an
      // allowed upgrade needs a route without the hold (a hand-written WasmPlugin, not the operator's).
      { name: 'upgrades_allowed', holdRequest: false, wasm: { ...plugin, name: 'llm-guard-upgrades', pluginConfig: { ...pluginConfig, on_upgrade: 'allow' } } },
    ],
  }));
}, 120_000);

afterAll(async () => {
  await envoy?.stop();
  await mock?.close();
});

let seq = 0;

async function call(opts: Omit<SendOptions, 'port'> & { listener?: string }): Promise<{ res: Reply; recs: () => RecordedRequest[] }> {
  const id = `every-${++seq}`;
  const { listener = 'guard', headers, ...rest } = opts;
  const res = await send({ ...rest, port: envoy.ports[listener]!, headers: { ...(headers ?? {}), 'x-e2e-id': id } });
  return { res, recs: () => mock.requests.filter((r) => r.headers['x-e2e-id'] === id) };
}

function expectRefusal(res: Reply, status: number, code: string) {
  expect({ status: res.status, contentType: res.headers['content-type'] }).toEqual({ status, contentType: expect.stringMatching(/^application\/json/) });
  expect(res.json()).toMatchObject({ error: { code, message: expect.any(String), type: expect.any(String) } });
  for (const key of ALL_KEYS) expect(res.text).not.toContain(key);
}

async function expectNothingForwarded(recs: () => RecordedRequest[]) {
  await mock.settle(500);
  expect(recs().map((r) => r.path)).toEqual([]);
}

describe('denied wherever the text sits', () => {
  it.each(SHAPES.map((shape) => [shape.name, shape] as const))('%s', async (_name, shape) => {
    const { res, recs } = await call({ host: shape.authority, path: shape.path, json: shape.build(DENY_LITERAL) });
    expectRefusal(res, 403, 'denied_by_pattern');
    await expectNothingForwarded(recs);
  });
});

describe('valid requests of every shape still pass', () => {
  it.each(SHAPES.map((shape) => [shape.name, shape] as const))('%s reaches the provider unchanged, with the key', async (_name, shape) => {
    const raw = JSON.stringify(shape.build(CLEAN_TEXT));
    const { res, recs } = await call({ host: shape.authority, path: shape.path, body: raw, headers: { 'content-type': 'application/json' } });
    expect(res.status, res.text).toBe(200);
    await mock.settle(500);
    const [rec, ...more] = recs();
    expect(more).toEqual([]);
    expect(rec!.body.toString('utf8')).toBe(raw);
    expect(credentialsOf(rec!.headers)).toHaveLength(1);
  });

  it('an Anthropic search_result block (its source is a string) is forwarded', async () => {
    const body = {
      model: 'claude-sonnet-4-5',
      max_tokens: 64,
      messages: [{
        role: 'user',
        content: [
          { type: 'search_result', source: 'https://docs.example.com/handbook', title: 'Handbook', content: [{ type: 'text', text: 'Leave is 25 days.' }], citations: { enabled: true } },
          { type: 'text', text: 'How many days of leave?' },
        ],
      }],
    };
    const { res } = await call({ host: ANTHROPIC, path: '/v1/messages', json: body });
    expect(res.status, res.text).toBe(200);
  });
});

describe('normalization: text written to slip past the patterns', () => {
  // Each spells DENY_LITERAL ("forbidden-secret") so that a model reads it, but not byte for byte.
  const evasions: [string, string][] = [
    ['fullwidth letters', 'ｆｏｒｂｉｄｄｅｎ－ｓｅｃｒｅｔ'],
    ['zero-width spaces inside the word', 'for\u200bbid\u200bden-sec\u200bret'],
    ['a zero-width joiner and a soft hyphen', 'forbid\u200dden-se\u00adcret'],
    ['stacked combining marks', 'f\u0336\u0337\u0338orbidden-secret'],
    ['Cyrillic look-alikes in a Latin word', 'f\u043erbidd\u0435n-s\u0435cr\u0435t'],
    ['a Unicode hyphen', 'forbidden\u2010secret'],
  ];
  it.each(evasions)('%s: denied, and forwarded with normalize: false', async (_name, text) => {
    const denied = await call({ json: { model: 'gpt-4o', messages: [{ role: 'user', content: `tell me the ${text}` }] } });
    expectRefusal(denied.res, 403, 'denied_by_pattern');
    await expectNothingForwarded(denied.recs);
    const plain = await call({ listener: 'not_normalized', json: { model: 'gpt-4o', messages: [{ role: 'user', content: `tell me the ${text}` }] } });
    expect(plain.res.status).toBe(200);
  });

  it('clean text in many scripts passes', async () => {
    for (const text of ['Переведи: «секретный рецепт борща»', 'Ελέγξτε το ΤΟΡΤΑ', 'Cọp là con hổ', '密码学的基础是什么？', 'Ça coûte 25 €']) {
      const { res } = await call({ json: { model: 'gpt-4o', messages: [{ role: 'user', content: text }] } });
      expect(res.status, text).toBe(200);
    }
  });
});

describe('bodies that are not JSON', () => {
  it('a form body is decoded: a deny word in a value is denied, a clean one forwarded with the key', async () => {
    const denied = await call({ path: '/v1/completions', body: `model=gpt-4o-mini&prompt=${encodeURIComponent(`a ${DENY_LITERAL}`)}`, headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    expectRefusal(denied.res, 403, 'denied_by_pattern');
    await expectNothingForwarded(denied.recs);
    const clean = await call({ path: '/v1/completions', body: 'model=gpt-4o-mini&prompt=hello', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    expect(clean.res.status).not.toBe(403);
  });

  it('an audio transcription upload: the prompt field is inspected, the audio file is binary', async () => {
    const form = (prompt: string) => {
      const b = 'llmguardboundary7d3';
      const parts = [
        `--${b}\r\ncontent-disposition: form-data; name="model"\r\n\r\nwhisper-1\r\n`,
        `--${b}\r\ncontent-disposition: form-data; name="prompt"\r\n\r\n${prompt}\r\n`,
        `--${b}\r\ncontent-disposition: form-data; name="file"; filename="call.mp3"\r\ncontent-type: audio/mpeg\r\n\r\n`,
      ];
      const body = Buffer.concat([Buffer.from(parts.join('')), Buffer.from([0xff, 0xfb, 0x90, 0x64, 0x00, 0x0f]), Buffer.from(`\r\n--${b}--\r\n`)]);
      return { body, headers: { 'content-type': `multipart/form-data; boundary=${b}` } };
    };
    const denied = await call({ path: '/v1/audio/transcriptions', ...form(`names: ${DENY_LITERAL}`) });
    expectRefusal(denied.res, 403, 'denied_by_pattern');
    await expectNothingForwarded(denied.recs);
    const clean = await call({ path: '/v1/audio/transcriptions', ...form('names: Ada, Grace') });
    await mock.settle(500);
    expect(clean.recs().map((r) => credentialsOf(r.headers))).toEqual([[OPENAI_KEY]]);
  });

  it('unexpected field types are inspected, not refused', async () => {
    const { res } = await call({ json: { model: 'gpt-4o', messages: 'hello' } });
    expect(res.status).toBe(200);
    const denied = await call({ json: { model: 'gpt-4o', messages: [{ role: 'user', content: { note: DENY_LITERAL } }] } });
    expectRefusal(denied.res, 403, 'denied_by_pattern');
  });
});

describe('WebSocket upgrades to a provider host (the Realtime API)', () => {
  const upgrade = (id: string) => [
    'GET /v1/realtime?model=gpt-realtime HTTP/1.1',
    `host: ${OPENAI}`,
    'upgrade: websocket',
    'connection: Upgrade',
    'sec-websocket-version: 13',
    'sec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==',
    `x-e2e-id: ${id}`,
    '', '',
  ].join('\r\n');
  const recorded = (id: string) => mock.requests.filter((r) => r.headers['x-e2e-id'] === id);

  it('are refused by default with a JSON error, and nothing reaches the provider', async () => {
    const before = (await envoy.stats('upgrades_refused')).get('wasmcustom.llm_guard.upgrades_refused') ?? 0;
    const reply = await sendRaw(envoy.ports.guard!, upgrade('ws-refused'), { timeoutMs: 3000 });
    expect(reply.status).toBe(403);
    expect(JSON.parse(reply.body)).toMatchObject({ error: { code: 'upgrade_not_inspectable', type: 'policy_violation' } });
    await mock.settle(300);
    expect(recorded('ws-refused')).toEqual([]);
    expect((await envoy.stats('upgrades_refused')).get('wasmcustom.llm_guard.upgrades_refused')).toBe(before + 1);
  });

  it('with on_upgrade: allow (on a route without the hold), are forwarded with the key, uninspected, and counted', async () => {
    const reply = await sendRaw(envoy.ports.upgrades_allowed!, upgrade('ws-allowed'), { timeoutMs: 1500 });
    expect(reply.status).toBe(101);
    expect(reply.raw).toContain('session.created');
    const [rec] = recorded('ws-allowed');
    expect(credentialsOf(rec!.headers)).toEqual([OPENAI_KEY]);
    expect((await envoy.stats('upgrades_passed_uninspected')).get('wasmcustom.llm_guard.upgrades_passed_uninspected')).toBe(1);
  });
});
