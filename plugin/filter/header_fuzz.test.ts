// Fuzzing request headers through the real filter in the in-process host: authorities (provider
// hosts in every spelling, ports, IPv6, garbage), content types and encodings, credentials the
// client sends (every auth header, repeated, empty, with the provider's own key), upgrades, request
// ids, content lengths, paths; with a small chat body that sometimes carries the deny literal.
// Asserts for every request: no trap; forwarded or answered with a documented reply; on a provider
// host, what reaches the upstream carries exactly the provider's credential and none of the
// client's, and never the deny literal; elsewhere the request passes untouched; no reply and no log
// line holds the key or a client credential. FUZZ_SEED=<n> FUZZ_HEADERS=<n> to reproduce or run longer.
import { describe, expect, it } from 'vitest';
import type { HeaderPair } from '../../operator/src/wasm/index.js';
import { ANTHROPIC, ERROR_CODES, KEY, KEY2, OPENAI, errorOf, loadGuard } from '../../test/harness/llm.js';
import { seededRandom } from '../testing/prng.mjs';
import { pick } from '../testing/fuzz_bytes.mjs';

const SEED = Number(process.env.FUZZ_SEED ?? 20261204);
const HEADERS = Number(process.env.FUZZ_HEADERS ?? 5_000);
const DENY_LITERAL = 'forbidden-secret';
const CLIENT_SECRET = 'sk-client-FUZZ-c11e47';
const CREDENTIALS = ['authorization', 'x-api-key', 'api-key', 'x-goog-api-key'];
const CONFIG = {
  hosts: [OPENAI], api_key: KEY,
  providers: [{ hosts: [ANTHROPIC], api_key: KEY2, auth_style: 'x-api-key' }],
  deny_patterns: [DENY_LITERAL],
};
const REFUSALS: Record<string, { status: number | 'deny'; type: string }> = {
  ...ERROR_CODES,
  hold_not_installed: { status: 503, type: 'service_unavailable' },
};

const AUTHORITIES = [OPENAI, `${OPENAI}:80`, `${OPENAI}:443`, 'API.OpenAI.com', `${OPENAI}.`, ANTHROPIC, `${ANTHROPIC}:8080`, 'other.example',
  '', ' ', 'api.openai.com:', 'api.openai.com:abc', '[::1]:80', '[::1', 'a'.repeat(300), 'api.openai.com\u0000', 'xn--80ak6aa92e.com', 'ápi.openai.com', '*.openai.com'];
const CONTENT_TYPES = ['application/json', 'application/json; charset=utf-8', 'APPLICATION/JSON', 'text/plain', 'application/octet-stream',
  'multipart/form-data', 'multipart/form-data; boundary=', 'application/x-www-form-urlencoded', 'application/json; charset=latin1', 'a/b; c="d', ';;;', ''];
const ENCODINGS = ['identity', 'gzip', 'br', 'identity, gzip', 'IDENTITY', ' ', 'x-custom', 'deflate;q=1'];
const CLIENT_VALUES = [CLIENT_SECRET, `Bearer ${CLIENT_SECRET}`, '', 'Bearer ', `Bearer ${KEY}`, KEY2, 'Basic Zm9vOmJhcg==', `${CLIENT_SECRET}\u00e9`];

function headersFor(rnd: () => number): HeaderPair[] {
  const h: HeaderPair[] = [[':method', pick(rnd, ['POST', 'POST', 'GET', 'PUT', 'CONNECT'])], [':scheme', 'http'],
    [':path', pick(rnd, ['/v1/chat/completions', '/v1/messages', '/', '/v1/models?x=1', `/${'p'.repeat(2000)}`, '/v1/chat/completions?api_key=x'])],
    [':authority', pick(rnd, AUTHORITIES)]];
  const more = Math.floor(rnd() * 6);
  for (let i = 0; i < more; i++) {
    const m = rnd();
    if (m < 0.35) h.push([pick(rnd, CREDENTIALS), pick(rnd, CLIENT_VALUES)]);
    else if (m < 0.5) h.push(['content-type', pick(rnd, CONTENT_TYPES)]);
    else if (m < 0.6) h.push(['content-encoding', pick(rnd, ENCODINGS)]);
    else if (m < 0.7) h.push(['content-length', pick(rnd, ['0', '5', '-1', '99999999999999', 'abc', '1048577', ' 12 '])]);
    else if (m < 0.78) h.push(['upgrade', pick(rnd, ['websocket', '', 'h2c'])]);
    else if (m < 0.84) h.push([':protocol', 'websocket']);
    else if (m < 0.92) h.push(['x-request-id', pick(rnd, ['r-1', 'x'.repeat(500), '\u00e9\u0000'])]);
    else h.push(['accept-encoding', pick(rnd, ENCODINGS)]);
  }
  return h;
}

function bodyFor(rnd: () => number): string {
  const text = rnd() < 0.3 ? `please ${DENY_LITERAL} now` : 'hello there';
  return pick(rnd, [JSON.stringify({ model: 'm', messages: [{ role: 'user', content: text }] }), '', `text ${text}`]);
}

/** The provider an authority names, read as docs/filter-config.md says (case, a trailing dot and a numeric port ignored). */
const providerOf = (authority: string): 'openai' | 'anthropic' | null => {
  let a = authority.trim().toLowerCase();
  if (a.endsWith('.')) a = a.slice(0, -1);
  const colon = a.lastIndexOf(':');
  if (colon >= 0 && a.indexOf(':') === colon && !a.startsWith('[')) {
    if (!/^\d{0,5}$/.test(a.slice(colon + 1))) return null; // a port that isn't one: no host's
    a = a.slice(0, colon);
  }
  if (a.endsWith('.')) a = a.slice(0, -1);
  if (a === OPENAI) return 'openai';
  if (a === ANTHROPIC) return 'anthropic';
  return null;
};

describe('request header fuzz', () => {
  it(`${HEADERS} requests with fuzzed headers (seed ${SEED}): no trap, the provider's credential only, documented replies, no key or client credential in replies and logs`, async () => {
    const host = await loadGuard(CONFIG);
    const rnd = seededRandom(SEED);
    const failures: string[] = [];
    const outcomes = new Map<string, number>();
    for (let i = 0; i < HEADERS; i++) {
      const headers = headersFor(rnd);
      const body = bodyFor(rnd);
      const r = host.request({ headers, body });
      const authority = headers.find(([k]) => k === ':authority')![1];
      const fail = (why: string) => {
        if (failures.length < 10) failures.push(`#${i} ${why}: ${JSON.stringify(headers).slice(0, 400)} body ${JSON.stringify(body).slice(0, 80)}`);
      };
      let outcome = 'forwarded';
      const reply = r.localReply;
      if (reply) {
        const e = errorOf(r);
        outcome = e?.code || `${reply.status} ${reply.source}`;
        const spec = e ? REFUSALS[e.code] : undefined;
        if (reply.source === 'plugin' && (!spec || e!.type !== spec.type)) fail(`undocumented reply ${reply.status} ${reply.body.slice(0, 120)}`);
        for (const secret of [KEY, KEY2, CLIENT_SECRET]) if (reply.body.includes(secret) || reply.headers.some(([, v]) => v.includes(secret))) fail('a key or client credential in the reply');
        if (r.upstreamBody !== null && reply.source === 'plugin') fail('body bytes reached the upstream before a refusal');
      } else if (r.forwarded) {
        const up = r.upstreamHeaders ?? [];
        const creds = up.filter(([k]) => CREDENTIALS.includes(k));
        const provider = providerOf(authority);
        if (provider === 'openai' && JSON.stringify(creds) !== JSON.stringify([['authorization', `Bearer ${KEY}`]])) fail(`credentials upstream ${JSON.stringify(creds)}`);
        if (provider === 'anthropic' && JSON.stringify(creds) !== JSON.stringify([['x-api-key', KEY2]])) fail(`credentials upstream ${JSON.stringify(creds)}`);
        if (provider === null && JSON.stringify(up.filter(([k]) => CREDENTIALS.includes(k))) !== JSON.stringify(headers.filter(([k]) => CREDENTIALS.includes(k)))) {
          fail('a request to another host had its credentials changed');
        }
        if (provider !== null && (r.upstreamBodyText ?? '').includes(DENY_LITERAL)) fail('the deny literal reached a provider');
      } else outcome = r.reset ? 'reset' : 'held';
      outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
    }
    for (const [, message] of host.logs) {
      for (const secret of [KEY, KEY2, CLIENT_SECRET]) if (message.includes(secret)) failures.push(`a key or client credential in a log line: ${message.slice(0, 200)}`);
    }
    console.log(`header fuzz seed=${SEED}: ${HEADERS} requests; ${JSON.stringify(Object.fromEntries([...outcomes].sort((a, b) => b[1] - a[1])))}`);
    expect(failures.slice(0, 10), failures.slice(0, 10).join('\n')).toEqual([]);
    expect(host.trapped, host.traps[0]?.message).toBe(false);
    expect(outcomes.get('forwarded') ?? 0).toBeGreaterThan(HEADERS / 10);
    expect(outcomes.get('denied_by_pattern') ?? 0).toBeGreaterThan(0);
  }, Math.max(120_000, HEADERS * 10));
});
