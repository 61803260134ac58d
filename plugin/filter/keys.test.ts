// Key injection (docs/filter-config.md, "What the filter does on a matching host", step 1, and host
// matching rules).

import { describe, expect, it } from 'vitest';
import type { HeaderPair } from '../../operator/src/wasm/index.js';
import {
  ANTHROPIC,
  AZURE,
  CLIENT_KEY,
  CREDENTIAL_HEADERS,
  GEMINI,
  KEY,
  KEY2,
  KEY3,
  OPENAI,
  chat,
  get,
  loadGuard,
  post,
  requestHeaders,
  upstreamCredentials,
  user,
} from '../../test/harness/llm.js';

describe('auth styles', () => {
  const styles: [string | undefined, string, string, string][] = [
    [undefined, OPENAI, 'authorization', `Bearer ${KEY}`],
    ['bearer', OPENAI, 'authorization', `Bearer ${KEY}`],
    ['x-api-key', ANTHROPIC, 'x-api-key', KEY],
    ['api-key', AZURE, 'api-key', KEY],
    ['x-goog-api-key', GEMINI, 'x-goog-api-key', KEY],
  ];
  for (const [style, authority, header, value] of styles) {
    it(`${style ?? 'default (bearer)'} sends ${header}`, async () => {
      const cfg: Record<string, unknown> = { hosts: [authority], api_key: KEY };
      if (style) cfg.auth_style = style;
      const host = await loadGuard(cfg);
      const r = post(host, chat(user('hi')), { authority });
      expect(r.forwarded).toBe(true);
      expect(upstreamCredentials(r)).toEqual([[header, value]]);
      host.assertHealthy();
    });
  }
});

describe('client credentials are replaced', () => {
  const clientSets: [string, HeaderPair[]][] = [
    ['authorization', [['authorization', `Bearer ${CLIENT_KEY}`]]],
    ['x-api-key', [['x-api-key', CLIENT_KEY]]],
    ['api-key', [['api-key', CLIENT_KEY]]],
    ['x-goog-api-key', [['x-goog-api-key', CLIENT_KEY]]],
    [
      'all four at once',
      [
        ['authorization', `Bearer ${CLIENT_KEY}`],
        ['x-api-key', CLIENT_KEY],
        ['api-key', CLIENT_KEY],
        ['x-goog-api-key', CLIENT_KEY],
      ],
    ],
    [
      'repeated, mixed case',
      [
        ['Authorization', `Bearer ${CLIENT_KEY}`],
        ['authorization', `Basic ${CLIENT_KEY}`],
        ['X-Api-Key', CLIENT_KEY],
        ['x-api-key', `${CLIENT_KEY}-2`],
      ],
    ],
  ];
  for (const style of ['bearer', 'x-api-key', 'api-key', 'x-goog-api-key']) {
    for (const [name, client] of clientSets) {
      it(`${name} -> exactly one ${style} credential`, async () => {
        const host = await loadGuard({ hosts: [OPENAI], api_key: KEY, auth_style: style, deny_patterns: ['forbidden-secret'] });
        const r = post(host, chat(user('hi')), { headers: client });
        expect(r.forwarded).toBe(true);
        const creds = upstreamCredentials(r);
        expect(creds).toHaveLength(1);
        expect(creds[0]![1]).toContain(KEY);
        expect(JSON.stringify(r.upstreamHeaders)).not.toContain(CLIENT_KEY);
      });
    }
  }

  it('bodiless requests too', async () => {
    const host = await loadGuard({ hosts: [OPENAI], api_key: KEY });
    const r = get(host, '/v1/models', { headers: [['authorization', `Bearer ${CLIENT_KEY}`], ['x-api-key', CLIENT_KEY]] });
    expect(upstreamCredentials(r)).toEqual([['authorization', `Bearer ${KEY}`]]);
  });

  it('other headers are kept as sent', async () => {
    const host = await loadGuard({ hosts: [OPENAI], api_key: KEY });
    const extra: HeaderPair[] = [
      ['openai-organization', 'org-123'],
      ['x-request-id', 'abc'],
      ['user-agent', 'OpenAI/Python 1.99'],
    ];
    const r = post(host, chat(user('hi')), { headers: [...extra, ['authorization', `Bearer ${CLIENT_KEY}`]] });
    const nonCred = (r.upstreamHeaders ?? []).filter(([k]) => !CREDENTIAL_HEADERS.includes(k));
    expect(nonCred).toEqual(requestHeaders({ headers: extra }));
  });
});

describe('several keys', () => {
  it('api_keys are used in turn, one per request', async () => {
    const host = await loadGuard({ hosts: [OPENAI], api_keys: [KEY, KEY2, KEY3] });
    const seen = Array.from({ length: 9 }, () => upstreamCredentials(post(host, chat(user('hi'))))[0]?.[1]);
    const keys = seen.map((v) => v?.replace(/^Bearer /, ''));
    expect(new Set(keys)).toEqual(new Set([KEY, KEY2, KEY3]));
    for (let i = 3; i < keys.length; i++) expect(keys[i]).toBe(keys[i - 3]);
    for (let i = 1; i < keys.length; i++) expect(keys[i]).not.toBe(keys[i - 1]);
  });

  it('bodiless and denied requests take part in the rotation without breaking it', async () => {
    const host = await loadGuard({ hosts: [OPENAI], api_keys: [KEY, KEY2], deny_patterns: ['forbidden-secret'] });
    const a = upstreamCredentials(get(host, '/v1/models'))[0]?.[1];
    const b = upstreamCredentials(get(host, '/v1/models'))[0]?.[1];
    expect(new Set([a, b])).toEqual(new Set([`Bearer ${KEY}`, `Bearer ${KEY2}`]));
    post(host, chat(user('forbidden-secret')));
    const c = upstreamCredentials(get(host, '/v1/models'))[0]?.[1];
    expect([`Bearer ${KEY}`, `Bearer ${KEY2}`]).toContain(c);
  });
});

describe('keys from the environment', () => {
  it('api_key_env (string)', async () => {
    const host = await loadGuard({ hosts: [OPENAI], api_key_env: 'OPENAI_API_KEY' }, { env: { OPENAI_API_KEY: KEY, OTHER: 'x' } });
    expect(upstreamCredentials(post(host, chat(user('hi'))))).toEqual([['authorization', `Bearer ${KEY}`]]);
  });

  it('api_key_env (array) gives several keys used in turn', async () => {
    const host = await loadGuard({ hosts: [ANTHROPIC], api_key_env: ['K_A', 'K_B'], auth_style: 'x-api-key' }, { env: { K_A: KEY, K_B: KEY2 } });
    const vals = Array.from({ length: 4 }, () => upstreamCredentials(post(host, chat(user('hi')), { authority: ANTHROPIC }))[0]?.[1]);
    expect(new Set(vals)).toEqual(new Set([KEY, KEY2]));
    expect(vals[0]).not.toBe(vals[1]);
  });

  it('per provider', async () => {
    const host = await loadGuard(
      {
        providers: [
          { hosts: [OPENAI], api_key_env: 'OPENAI_KEY' },
          { hosts: [GEMINI], api_key_env: 'GEMINI_KEY', auth_style: 'x-goog-api-key' },
        ],
      },
      { env: { OPENAI_KEY: KEY, GEMINI_KEY: KEY2 } },
    );
    expect(upstreamCredentials(get(host, '/v1/models', { authority: OPENAI }))).toEqual([['authorization', `Bearer ${KEY}`]]);
    expect(upstreamCredentials(get(host, '/v1beta/models', { authority: GEMINI }))).toEqual([['x-goog-api-key', KEY2]]);
  });
});

describe('bodiless requests', () => {
  it('GET /v1/models gets the key', async () => {
    const host = await loadGuard({ hosts: [OPENAI], api_key: KEY, deny_patterns: ['forbidden-secret'] });
    const r = get(host, '/v1/models');
    expect(r.forwarded).toBe(true);
    expect(r.upstreamBody).toBeNull();
    expect(upstreamCredentials(r)).toEqual([['authorization', `Bearer ${KEY}`]]);
  });

  it('DELETE with no body gets the key', async () => {
    const host = await loadGuard({ hosts: [OPENAI], api_key: KEY, deny_patterns: ['x'] });
    const r = host.request({ headers: requestHeaders({ method: 'DELETE', path: '/v1/files/file-1', contentType: null }) });
    expect(r.forwarded).toBe(true);
    expect(upstreamCredentials(r)).toEqual([['authorization', `Bearer ${KEY}`]]);
  });
});

describe('other hosts are untouched', () => {
  for (const authority of ['example.com', 'api.openai.com.evil.example', 'evil-api.openai.com', 'openai.com', 'api.openai.co']) {
    it(`${authority}: headers and body byte-identical`, async () => {
      const host = await loadGuard({ hosts: [OPENAI], api_key: KEY, deny_patterns: ['forbidden-secret'], on_uninspectable: 'refuse' });
      const headers: HeaderPair[] = [
        [':method', 'POST'],
        [':scheme', 'http'],
        [':path', '/v1/chat/completions'],
        [':authority', authority],
        ['content-type', 'application/json'],
        ['authorization', `Bearer ${CLIENT_KEY}`],
        ['x-api-key', CLIENT_KEY],
      ];
      const body = '{"messages":[{"role":"user","content":"forbidden-secret"}], broken json';
      const r = host.request({ headers, body });
      expect(r.forwarded).toBe(true);
      expect(r.upstreamHeaders).toEqual(headers);
      expect(r.upstreamBodyText).toBe(body);
      host.assertHealthy();
    });
  }

  it('a request without :authority passes untouched', async () => {
    const host = await loadGuard({ hosts: [OPENAI], api_key: KEY, deny_patterns: ['x'] });
    const headers: HeaderPair[] = [
      [':method', 'GET'],
      [':path', '/'],
    ];
    const r = host.request({ headers });
    expect(r.forwarded).toBe(true);
    expect(r.upstreamHeaders).toEqual(headers);
  });
});

describe('host matching', () => {
  const match = async (configured: string[], authority: string): Promise<boolean> => {
    const host = await loadGuard({ hosts: configured, api_key: KEY });
    const r = get(host, '/v1/models', { authority });
    expect(r.forwarded).toBe(true);
    return upstreamCredentials(r).length === 1 && upstreamCredentials(r)[0]![1] === `Bearer ${KEY}`;
  };

  const cases: [string[], string, boolean][] = [
    [['api.openai.com'], 'api.openai.com', true],
    [['api.openai.com'], 'API.OpenAI.com', true],
    [['api.openai.com'], 'api.openai.com:80', true],
    [['api.openai.com'], 'api.openai.com:443', true],
    [['API.OPENAI.COM'], 'api.openai.com', true],
    [['api.openai.com'], 'xapi.openai.com', false],
    [['api.openai.com'], 'api.openai.com.evil.example', false],
    [['llm.internal:8080'], 'llm.internal:8080', true],
    [['llm.internal:8080'], 'LLM.internal:8080', true],
    [['llm.internal:8080'], 'llm.internal', false],
    [['llm.internal:8080'], 'llm.internal:9090', false],
    [['*.example.com'], 'a.example.com', true],
    [['*.example.com'], 'a.b.example.com', true],
    [['*.example.com'], 'A.Example.COM:443', true],
    [['*.example.com'], 'example.com', false],
    [['*.example.com'], 'badexample.com', false],
    [['*.example.com'], 'a.example.com.evil.io', false],
  ];
  for (const [configured, authority, expected] of cases) {
    it(`${JSON.stringify(configured)} ${expected ? 'matches' : 'does not match'} ${authority}`, async () => {
      expect(await match(configured, authority)).toBe(expected);
    });
  }
});
