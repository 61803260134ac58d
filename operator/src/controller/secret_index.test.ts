// SecretIndex: which policies a Secret change concerns.
import { describe, expect, it } from 'vitest';
import { SecretIndex } from './secret_index.js';

describe('SecretIndex', () => {
  it('maps Secrets to the policies that reference them', () => {
    const idx = new SecretIndex();
    idx.set('ns/a', 'ns', ['s1', 's2']);
    idx.set('ns/b', 'ns', ['s2']);
    expect(idx.policiesFor('ns', 's2').sort()).toEqual(['ns/a', 'ns/b']);
    expect(idx.policiesFor('other', 's2')).toEqual([]);
    idx.set('ns/a', 'ns', ['s3']);
    expect(idx.policiesFor('ns', 's1')).toEqual([]);
    idx.remove('ns/b');
    expect(idx.policiesFor('ns', 's2')).toEqual([]);
  });
});
