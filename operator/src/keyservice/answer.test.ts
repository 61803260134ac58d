import { describe, expect, it } from 'vitest';
import { policy } from '../controller/testdata/policy.js';
import type { SecretLike } from '../controller/secrets.js';
import { buildAnswer } from './answer.js';

const b64 = (s: string) => Buffer.from(s).toString('base64');
const secret = (data: Record<string, string>): SecretLike => ({ data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, b64(v)])) });

const twoProviders = policy({
  providers: [
    { host: 'api.openai.com', apiKeys: [{ secretKeyRef: { name: 'openai', key: 'a' } }, { secretKeyRef: { name: 'openai', key: 'b' } }] },
    { host: 'api.anthropic.com', apiKeys: [{ secretKeyRef: { name: 'anthropic', key: 'k' } }] },
  ],
  intelligentGuard: { host: 'guard.internal', apiKeySecretRef: { name: 'guard', key: 'token' } },
});

describe('the key service answer', () => {
  it('gives each provider its keys in order, by host, and the guard its key', () => {
    const secrets: Record<string, SecretLike> = { openai: secret({ a: 'sk-a', b: 'sk-b\n' }), anthropic: secret({ k: 'ak-1' }), guard: secret({ token: 'gk' }) };
    expect(buildAnswer(twoProviders, (n) => secrets[n])).toEqual({
      providers: { 'api.openai.com': { api_keys: ['sk-a', 'sk-b'] }, 'api.anthropic.com': { api_keys: ['ak-1'] } },
      intelligent_guard: { api_key: 'gk' },
    });
  });

  it('a missing Secret or key makes only that entry an error, naming what is missing', () => {
    const secrets: Record<string, SecretLike> = { openai: secret({ a: 'sk-a' }), guard: secret({}) };
    expect(buildAnswer(twoProviders, (n) => secrets[n])).toEqual({
      providers: {
        'api.openai.com': { error: 'Secret "openai" has no key "b"' },
        'api.anthropic.com': { error: 'Secret "anthropic" not found' },
      },
      intelligent_guard: { error: 'Secret "guard" has no key "token"' },
    });
  });

  it('an empty value or one an HTTP header cannot carry is an error, not a key', () => {
    const p = policy();
    expect(buildAnswer(p, () => secret({ k: '' })).providers['api.openai.com']).toEqual({ error: 'key "k" of Secret "openai" is empty' });
    expect(buildAnswer(p, () => secret({ k: 'sk-1\r\nx-evil: 1' })).providers['api.openai.com']).toEqual({
      error: 'key "k" of Secret "openai" has characters an HTTP header can\'t carry',
    });
    expect(buildAnswer(p, () => secret({ k: 'sk-é' })).providers['api.openai.com']).toHaveProperty('error');
  });

  it('no guard in the policy: no guard entry', () => {
    expect(buildAnswer(policy(), () => secret({ k: 'sk' }))).toEqual({ providers: { 'api.openai.com': { api_keys: ['sk'] } } });
  });
});
