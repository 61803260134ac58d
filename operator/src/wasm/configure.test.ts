// configureFilter / checkPluginConfig: the real compiled filter configured in the in-process host
// as Envoy configures it, with the filter's own structured report when it refuses.
import { describe, expect, it } from 'vitest';
import { pluginConfigJson } from '../api/pluginconfig/index.js';
import { checkPluginConfig, configureFilter } from './configure.js';
import { ensureLoadable, WasmLoadError } from './filter_host.js';
import { defaultWasmPath, WasmModuleNotFoundError } from './module_path.js';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

describe('configuring the filter', () => {
  it('hands the config over as istiod does: JSON with sorted keys', () => {
    expect(pluginConfigJson({ b: 1, a: { d: [{ z: 1, y: 2 }], c: 'x' } })).toBe('{"a":{"c":"x","d":[{"y":2,"z":1}]},"b":1}');
    expect(checkPluginConfig({ hosts: ['a.example'], api_key: 'k', deny_status: 451 }).configText).toBe(
      '{"api_key":"k","deny_status":451,"hosts":["a.example"]}',
    );
  });

  it('reports refusals of the whole document', () => {
    expect(checkPluginConfig('').reason).toBe('pluginConfig is empty (expected a JSON object)');
    expect(checkPluginConfig('[]').reason).toBe('expected a JSON object');
    expect(checkPluginConfig('{"hosts": ["a.example"], "api_key": "k", "colour": 1}').reason).toBe('colour: unknown field');
  });

  it('reads the refusal from the filter as a field path and a code, not from its log', () => {
    expect(checkPluginConfig('').refusal).toEqual({ path: '', code: 'empty', message: 'pluginConfig is empty (expected a JSON object)' });
    expect(checkPluginConfig('{"hosts": [').refusal).toMatchObject({ path: '', code: 'invalid_json' });
    expect(checkPluginConfig('[]').refusal).toEqual({ path: '', code: 'wrong_type', message: 'expected a JSON object' });
    expect(checkPluginConfig({ hosts: ['a.example'], api_key: 'k', colour: 1 }).refusal).toEqual({ path: 'colour', code: 'unknown_field', message: 'unknown field' });
    expect(checkPluginConfig({ hosts: ['a.example'], api_key: 'k', deny_patterns: ['ok', 'x(?=y)'] }).refusal).toEqual({
      path: 'deny_patterns[1]',
      code: 'invalid_pattern',
      message: 'lookahead (?=...) is not supported (RE2 syntax has no lookaround) (at offset 1)',
    });
    expect(checkPluginConfig({ hosts: ['a.example'], api_key: 'k', intelligent_guard: { host: 'g', api_key: 'x', port: 0 } }).refusal).toMatchObject({
      path: 'intelligent_guard.port',
      code: 'out_of_range',
    });
    expect(checkPluginConfig({ hosts: ['a.example'], api_key: 'k', deny_status: 'x' }).refusal).toMatchObject({ path: 'deny_status', code: 'wrong_type' });
    expect(checkPluginConfig({ providers: [{ hosts: ['a.example'], api_key: 'k' }, { hosts: ['a.example'], api_key: 'j' }] }).refusal).toMatchObject({
      path: 'providers',
      code: 'conflict',
    });
  });

  it('gives the VM its environment (WasmPlugin vmConfig.env, for api_key_env)', () => {
    const cfg = { hosts: ['api.openai.com'], api_key_env: 'OPENAI_KEY' };
    expect(checkPluginConfig(cfg, { env: { OPENAI_KEY: 'sk-env' } }).ok).toBe(true);
    expect(checkPluginConfig(cfg).reason).toBe(
      "api_key_env: environment variable OPENAI_KEY is not set or empty (set it in the WasmPlugin's vmConfig.env)",
    );
    expect(checkPluginConfig(cfg).refusal?.code).toBe('env_not_set');
  });

  it('uses a fresh VM per check, and forgets an earlier refusal once a config is accepted', () => {
    const bad = checkPluginConfig({ hosts: ['a.example'], api_key: 'k', deny_patterns: ['(?<=x)y'] });
    expect(bad.ok).toBe(false);
    const good = checkPluginConfig({ hosts: ['a.example'], api_key: 'k', deny_patterns: ['xy'] });
    expect(good.ok).toBe(true);
    expect(good.refusal).toBeUndefined();
    expect(good.logs.some((l) => l.message.includes('config rejected'))).toBe(false);
    const { host } = configureFilter({ hosts: ['a.example'], api_key: 'k' });
    expect(host?.readDiagnostic('llm_guard_config_error')).toBeUndefined();
  });

  it('captures every log line of the filter with its level', () => {
    const r = checkPluginConfig({ hosts: ['a.example'], api_key: 'k' });
    expect(r.logs).toEqual([{ level: 'info', message: 'llm-guard: configured: 1 provider(s), 1 host(s), 0 deny and 0 allow pattern(s)' }]);
    const refused = checkPluginConfig({ hosts: ['a.example'], api_key: 'k', max_json_depth: 0 });
    expect(refused.logs).toEqual([{ level: 'error', message: 'llm-guard: config rejected: max_json_depth: must be between 1 and 512, got 0' }]);
  });

  it('says where it looked when the module is missing', () => {
    expect(defaultWasmPath()).toMatch(/llm_guard\.wasm$/);
    expect(() => ensureLoadable('/nonexistent/llm_guard.wasm')).toThrow(WasmModuleNotFoundError);
    expect(() => checkPluginConfig({}, { wasmPath: '/nonexistent/llm_guard.wasm' })).toThrow(WasmModuleNotFoundError);
  });

  it('refuses a module that is not a proxy-wasm filter, with Envoy’s words', () => {
    // (module (memory (export "memory") 1)): valid wasm, no proxy-wasm ABI version export.
    const bytes = new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 5, 3, 1, 0, 1, 7, 10, 1, 6, 109, 101, 109, 111, 114, 121, 2, 0]);
    const dir = mkdtempSync(join(tmpdir(), 'llmguard-configure-'));
    try {
      const path = join(dir, 'memory-only.wasm');
      writeFileSync(path, bytes);
      expect(() => ensureLoadable(path)).toThrow(WasmLoadError);
      const r = checkPluginConfig({}, { wasmPath: path });
      expect(r.ok).toBe(false);
      expect(r.refusal).toEqual({ path: '', code: 'module_not_loadable', message: 'Missing or unknown Proxy-Wasm ABI version' });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
