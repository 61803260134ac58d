// Render-time checks of a policy.
import { describe, expect, it } from 'vitest';
import { hostObjectName } from '../render/names.js';
import { renderChecked } from './validate.js';
import { policy } from './testdata/policy.js';

describe('renderChecked', () => {
  it('accepts a valid policy', () => {
    expect(renderChecked(policy()).problems).toEqual([]);
  });

  it('gives hosts that slug alike objects of their own, and reports hosts that name one object', () => {
    const key = [{ secretKeyRef: { name: 's', key: 'k' } }];
    expect(renderChecked(policy({ providers: [{ host: 'api.openai.com', apiKeys: key }, { host: 'api-openai.com', apiKeys: key }] })).problems).toEqual([]);
    // The schema refuses upper case; renderChecked still catches two spellings of one host.
    const p = policy({ providers: [{ host: 'api.openai.com', apiKeys: key }, { host: 'API.openai.com', apiKeys: key }] });
    expect(renderChecked(p).problems.join('\n')).toMatch(new RegExp(`both render ServiceEntry "${hostObjectName('guard', 'api.openai.com')}"`));
  });

  it('reports names too long to label with and https plugins without sha256', () => {
    expect(renderChecked(policy({}, 'x'.repeat(64))).problems.join('\n')).toMatch(/at most 63/);
    expect(renderChecked(policy({ plugin: { url: 'https://example/guard.wasm' } })).problems.join('\n')).toMatch(/sha256 is required/);
  });
});
