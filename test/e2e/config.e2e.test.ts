// End-to-end: a WasmPlugin whose pluginConfig is wrong must be refused when Envoy loads it
// (proxy_on_configure returns false), with a log line naming the field. With a static bootstrap
// and FAIL_CLOSED, Envoy then refuses the whole config and exits: startEnvoy rejects with the log.
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startEnvoy } from '../../operator/src/localmesh/envoy.js';
import { startMockProvider, type MockProvider } from '../../operator/src/localmesh/mock_provider.js';
import { buildBootstrap } from '../../operator/src/localmesh/sidecar_bootstrap.js';
import { defaultWasmPath } from '../../operator/src/wasm/module_path.js';

// Envoy start-up, 3 MiB bodies and 100,000-deep JSON take longer than vitest's 5 s default.
vi.setConfig({ testTimeout: 60_000, hookTimeout: 120_000 });

const WASM_PATH = defaultWasmPath();
let mock: MockProvider;
beforeAll(async () => {
  mock = await startMockProvider({});
});
afterAll(async () => {
  await mock?.close();
});

const good = { hosts: ['api.openai.com'], api_key: 'sk-e2e-config-test-key', deny_patterns: ['(?i)password'] };

/** Starts Envoy with this pluginConfig; resolves to its log if Envoy refused it, or null if it started. */
async function tryConfig(pluginConfig: unknown, extra: { rawConfiguration?: string } = {}): Promise<string | null> {
  try {
    const envoy = await startEnvoy(
      buildBootstrap({
        mockPort: mock.port,
        providerHosts: ['api.openai.com'],
        listeners: [{ name: 'guard', wasm: { wasmPath: WASM_PATH, namespace: 'apps', name: 'llm-guard', pluginConfig, ...extra } }],
      }),
    );
    await envoy.stop();
    return null;
  } catch (e) {
    const err = e as Error & { envoyLog?: string };
    return err.envoyLog ?? err.message;
  }
}

/** The plugin's own rejection lines. */
const rejections = (log: string) => log.split('\n').filter((l) => l.includes('llm-guard: config rejected'));

describe('pluginConfig validation at load time', () => {
  it('a valid config loads (control)', async () => {
    expect(await tryConfig(good)).toBeNull();
  });

  it.each<[string, unknown, RegExp]>([
    ['a misspelt field', { ...good, deny_patern: ['x'] }, /deny_patern/],
    ['a lookahead pattern', { ...good, deny_patterns: ['ok', '(?=x)y'] }, /deny_patterns\[1\]/],
    ['a pattern that does not compile', { ...good, deny_patterns: ['(unclosed'] }, /deny_patterns\[0\]/],
    ['hosts as a string', { ...good, hosts: 'api.openai.com' }, /hosts/],
    ['an unknown auth_style', { ...good, auth_style: 'basic' }, /auth_style/],
    ['deny_status out of range', { ...good, deny_status: 200 }, /deny_status/],
    ['max_body_bytes of 0', { ...good, max_body_bytes: 0 }, /max_body_bytes/],
    ['an unset api_key_env', { hosts: ['api.openai.com'], api_key_env: 'LLM_GUARD_E2E_SURELY_UNSET' }, /api_key_env/],
    ['a provider with a misspelt field', { ...good, providers: [{ hosts: ['api.anthropic.com'], api_key: 'k', auth_styl: 'x-api-key' }] }, /providers\[0\]\.auth_styl/],
  ])('%s is refused, the log names the field', async (_name, cfg, field) => {
    const log = await tryConfig(cfg);
    expect(log, 'Envoy started with a bad pluginConfig').not.toBeNull();
    const lines = rejections(log!);
    expect(lines.length, `no "llm-guard: config rejected" line in:\n${log!.slice(-4000)}`).toBeGreaterThan(0);
    expect(lines.join('\n')).toMatch(field);
    expect(log).toMatch(/Unable to create Wasm plugin apps\.llm-guard/);
  });

  it('configuration that is not JSON is refused', async () => {
    const log = await tryConfig(null, { rawConfiguration: '{hosts: [api.openai.com' });
    expect(log).not.toBeNull();
    expect(rejections(log!).length).toBeGreaterThan(0);
  });

  it('the key is not written to the log when a config is refused', async () => {
    const log = await tryConfig({ ...good, api_key: 'sk-e2e-must-not-be-logged-9f8e7d', deny_patern: ['x'] });
    expect(log).not.toBeNull();
    expect(log).not.toContain('sk-e2e-must-not-be-logged-9f8e7d');
  });
});
