// Resolving a policy's Secret references.
import { describe, expect, it } from 'vitest';
import { resolveSecrets } from './secrets.js';
import { policy } from './testdata/policy.js';

const b64 = (s: string) => Buffer.from(s).toString('base64');

describe('resolveSecrets', () => {
  const p = policy({
    providers: [
      { host: 'a.example', apiKeys: [{ secretKeyRef: { name: 's1', key: 'k' } }, { secretKeyRef: { name: 's2', key: 'k' } }] },
      { host: 'b.example', apiKeys: [{ secretKeyRef: { name: 's3', key: 'k' } }] },
    ],
  });

  it('reports missing Secrets and keys, decodes values and drops a trailing newline', () => {
    const secrets: Record<string, { data?: Record<string, string> }> = {
      s1: { data: { k: b64('v1\n') } },
      s2: { data: { other: b64('x') } },
    };
    const r = resolveSecrets(p, (_ns, name) => secrets[name]);
    expect(r.values.get('s1/k')).toBe('v1');
    expect(r.unresolved.map((u) => [u.name, u.reason])).toEqual([
      ['s2', 'SecretKeyNotFound'],
      ['s3', 'SecretNotFound'],
    ]);
    expect(r.total).toBe(3);
  });
});
