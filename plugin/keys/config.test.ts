// key_service in the pluginConfig (docs/filter-config.md, "The key service"): what is accepted, what
// is refused (with the exact field path and code), and what it changes about keys: a provider may
// give none and the guard's api_key may be left out, only with key_service.

import { describe, expect, it } from 'vitest';
import { checkPluginConfig } from '../../operator/src/wasm/configure.js';
import { KEY, OPENAI } from '../../test/harness/llm.js';
import { KS_HOST, keyService } from '../../test/harness/keys.js';

const GUARD = { host: 'guard.internal', port: 80 };

function refusal(config: unknown) {
  const r = checkPluginConfig(config);
  expect(r.ok, `expected a refusal of ${JSON.stringify(config).slice(0, 300)}`).toBe(false);
  return r.refusal;
}

const withKs = (ks: Record<string, unknown>, rest: Record<string, unknown> = { providers: [{ hosts: [OPENAI] }] }) => ({ ...rest, key_service: ks });

describe('accepted', () => {
  it('host and path alone (everything else defaulted)', () => {
    expect(checkPluginConfig(withKs(keyService())).reason).toBeUndefined();
  });

  it('every field at its bounds', () => {
    for (const [port, refresh, stale, timeout] of [[1, 1, 0, 1], [65535, 3600, 86400, 60000]]) {
      const ks = keyService({ port, refresh_seconds: refresh, max_stale_seconds: stale, timeout_ms: timeout, cluster: 'keys' });
      expect(checkPluginConfig(withKs(ks)).reason).toBeUndefined();
    }
  });

  it('single-label and numeric-label hosts; a 1024-character path', () => {
    expect(checkPluginConfig(withKs(keyService({ host: 'llmguard-keys' }))).reason).toBeUndefined();
    expect(checkPluginConfig(withKs(keyService({ host: 'keys-1.ns-2.svc' }))).reason).toBeUndefined();
    expect(checkPluginConfig(withKs(keyService({ path: '/' + 'a'.repeat(1023) }))).reason).toBeUndefined();
    expect(checkPluginConfig(withKs(keyService({ path: '/v1/keys?app=a&x=%2F~' }))).reason).toBeUndefined();
  });

  it('a provider without keys, the top-level form too; a guard without api_key', () => {
    expect(checkPluginConfig({ hosts: [OPENAI], key_service: keyService() }).reason).toBeUndefined();
    expect(checkPluginConfig({ hosts: [OPENAI], key_service: keyService(), intelligent_guard: GUARD }).reason).toBeUndefined();
  });

  it('key_service with inline keys everywhere (nothing to fetch but the config is fine)', () => {
    expect(checkPluginConfig({ hosts: [OPENAI], api_key: KEY, key_service: keyService(), intelligent_guard: { ...GUARD, api_key: 'g' } }).reason).toBeUndefined();
  });
});

describe('refused, with path and code', () => {
  const cases: [string, unknown, { path: string; code: string }][] = [
    ['key_service not an object', { hosts: [OPENAI], key_service: 'llmguard-keys' }, { path: 'key_service', code: 'wrong_type' }],
    ['key_service: null', { hosts: [OPENAI], key_service: null }, { path: 'key_service', code: 'wrong_type' }],
    ['no host', withKs({ path: '/v1/keys/a' }), { path: 'key_service.host', code: 'required' }],
    ['an empty host', withKs(keyService({ host: '' })), { path: 'key_service.host', code: 'required' }],
    ['a host of the wrong type', withKs(keyService({ host: 7 })), { path: 'key_service.host', code: 'wrong_type' }],
    ['an upper-case host', withKs(keyService({ host: KS_HOST.toUpperCase() })), { path: 'key_service.host', code: 'invalid_value' }],
    ['a host with a port', withKs(keyService({ host: `${KS_HOST}:15443` })), { path: 'key_service.host', code: 'invalid_value' }],
    ['a host with a trailing dot', withKs(keyService({ host: `${KS_HOST}.` })), { path: 'key_service.host', code: 'invalid_value' }],
    ['a host with an empty label', withKs(keyService({ host: 'keys..svc' })), { path: 'key_service.host', code: 'invalid_value' }],
    ['a host with an underscore', withKs(keyService({ host: 'llm_keys.svc' })), { path: 'key_service.host', code: 'invalid_value' }],
    ['a label starting with -', withKs(keyService({ host: '-keys.svc' })), { path: 'key_service.host', code: 'invalid_value' }],
    ['a label of 64 characters', withKs(keyService({ host: `${'a'.repeat(64)}.svc` })), { path: 'key_service.host', code: 'invalid_value' }],
    ['a wildcard host', withKs(keyService({ host: '*.svc.cluster.local' })), { path: 'key_service.host', code: 'invalid_value' }],
    ['an IP literal in brackets', withKs(keyService({ host: '[::1]' })), { path: 'key_service.host', code: 'invalid_value' }],
    ['no path', withKs({ host: KS_HOST }), { path: 'key_service.path', code: 'required' }],
    ['a path without /', withKs(keyService({ path: 'v1/keys' })), { path: 'key_service.path', code: 'invalid_value' }],
    ['an empty path', withKs(keyService({ path: '' })), { path: 'key_service.path', code: 'invalid_value' }],
    ['a path with a space', withKs(keyService({ path: '/v1/keys/a b' })), { path: 'key_service.path', code: 'invalid_value' }],
    ['a path with a newline', withKs(keyService({ path: '/v1/keys\r\nx: y' })), { path: 'key_service.path', code: 'invalid_value' }],
    ['a path with non-ASCII', withKs(keyService({ path: '/v1/ключи' })), { path: 'key_service.path', code: 'invalid_value' }],
    ['a path of 1025 characters', withKs(keyService({ path: '/' + 'a'.repeat(1024) })), { path: 'key_service.path', code: 'invalid_value' }],
    ['a path of the wrong type', withKs(keyService({ path: ['/v1'] })), { path: 'key_service.path', code: 'wrong_type' }],
    ['port 0', withKs(keyService({ port: 0 })), { path: 'key_service.port', code: 'out_of_range' }],
    ['port 65536', withKs(keyService({ port: 65536 })), { path: 'key_service.port', code: 'out_of_range' }],
    ['port as a string', withKs(keyService({ port: '15443' })), { path: 'key_service.port', code: 'wrong_type' }],
    ['refresh_seconds 0', withKs(keyService({ refresh_seconds: 0 })), { path: 'key_service.refresh_seconds', code: 'out_of_range' }],
    ['refresh_seconds 3601', withKs(keyService({ refresh_seconds: 3601 })), { path: 'key_service.refresh_seconds', code: 'out_of_range' }],
    ['refresh_seconds 1.5', withKs(keyService({ refresh_seconds: 1.5 })), { path: 'key_service.refresh_seconds', code: 'out_of_range' }],
    ['max_stale_seconds -1', withKs(keyService({ max_stale_seconds: -1 })), { path: 'key_service.max_stale_seconds', code: 'out_of_range' }],
    ['max_stale_seconds 86401', withKs(keyService({ max_stale_seconds: 86401 })), { path: 'key_service.max_stale_seconds', code: 'out_of_range' }],
    ['timeout_ms 0', withKs(keyService({ timeout_ms: 0 })), { path: 'key_service.timeout_ms', code: 'out_of_range' }],
    ['timeout_ms 60001', withKs(keyService({ timeout_ms: 60001 })), { path: 'key_service.timeout_ms', code: 'out_of_range' }],
    ['cluster of the wrong type', withKs(keyService({ cluster: 15443 })), { path: 'key_service.cluster', code: 'wrong_type' }],
    ['an unknown field', withKs(keyService({ refresh: 10 })), { path: 'key_service.refresh', code: 'unknown_field' }],
    ['a field given twice', `{"providers":[{"hosts":["${OPENAI}"]}],"key_service":{"host":"${KS_HOST}","path":"/a","path":"/b"}}`, { path: 'key_service.path', code: 'duplicate_field' }],
    // Keys given inline must still be keys.
    ['an empty inline api_key', withKs(keyService(), { providers: [{ hosts: [OPENAI], api_key: '' }] }), { path: 'providers[0].api_key', code: 'empty' }],
    ['an empty api_keys list', withKs(keyService(), { providers: [{ hosts: [OPENAI], api_keys: [] }] }), { path: 'providers[0].hosts', code: 'required' }],
    ['an empty guard api_key', withKs(keyService(), { hosts: [OPENAI], intelligent_guard: { ...GUARD, api_key: '' } }), { path: 'intelligent_guard.api_key', code: 'empty' }],
  ];
  for (const [name, config, want] of cases) {
    it(`${name}: ${want.path} ${want.code}`, () => {
      expect(refusal(config)).toMatchObject(want);
    });
  }
});

describe('without key_service, keys stay required as before', () => {
  it('a provider without keys', () => {
    expect(refusal({ providers: [{ hosts: [OPENAI] }] })).toMatchObject({ path: 'providers[0].hosts', code: 'required' });
    expect(refusal({ hosts: [OPENAI] })).toMatchObject({ path: 'hosts', code: 'required' });
  });

  it('a guard without api_key, or with an empty one', () => {
    expect(refusal({ hosts: [OPENAI], api_key: KEY, intelligent_guard: GUARD })).toMatchObject({ path: 'intelligent_guard.api_key', code: 'required' });
    expect(refusal({ hosts: [OPENAI], api_key: KEY, intelligent_guard: { ...GUARD, api_key: '' } })).toMatchObject({ path: 'intelligent_guard.api_key', code: 'required' });
  });
});
