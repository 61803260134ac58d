// Render-time checks of a policy.
import { describe, expect, it } from 'vitest';
import { renderChecked } from './validate.js';
import { policy } from './testdata/policy.js';

describe('renderChecked', () => {
  it('accepts a valid policy', () => {
    expect(renderChecked(policy()).problems).toEqual([]);
  });

  it('reports hosts whose objects would share a name', () => {
    const p = policy({
      providers: [
        { host: 'api.openai.com', apiKeys: [{ secretKeyRef: { name: 's', key: 'k' } }] },
        { host: 'api-openai.com', apiKeys: [{ secretKeyRef: { name: 's', key: 'k' } }] },
      ],
    });
    expect(renderChecked(p).problems.join('\n')).toMatch(/both render ServiceEntry "guard-api-openai-com"/);
  });

  it('reports names too long to label with and https plugins without sha256', () => {
    expect(renderChecked(policy({}, 'x'.repeat(64))).problems.join('\n')).toMatch(/at most 63/);
    expect(renderChecked(policy({ plugin: { url: 'https://example/guard.wasm' } })).problems.join('\n')).toMatch(/sha256 is required/);
  });
});
