// Fuzzing request headers through the real filter in the in-process host: authorities (provider
// hosts in every spelling, ports, IPv6, garbage), content types and encodings, credentials the
// client sends (every auth header, repeated, empty, with the provider's own key), upgrades, request
// ids, content lengths, paths; with a small chat body that sometimes carries the deny literal.
// Asserts for every request: no trap; forwarded or answered with a documented reply; on a provider
// host, what reaches the upstream carries exactly the provider's credential and none of the
// client's, and never the deny literal; elsewhere the request passes untouched; no reply and no log
// line holds the key or a client credential.
//
// Seeded: FUZZ_SEED=<n> FUZZ_HEADERS=<n> reproduces a run (or runs longer), e.g.
//   FUZZ_SEED=7 FUZZ_HEADERS=250000 LLM_GUARD_SKIP_BUILD=1 npx vitest run --project fast plugin/filter/header_fuzz.test.ts
// A failing request is saved whole (headers and body) to test/fixtures/fuzz/request-headers/
// seed<seed>-<index>.json, named in the failure; every saved request is replayed first, through
// the same checks, so a committed one is a regression test. `make fuzz` runs 1,000,000 requests
// over several seeds (tools/fuzz/run.mjs).
import { describe, expect, it } from 'vitest';
import type { FilterHost, HeaderPair } from '../../operator/src/wasm/index.js';
import { ANTHROPIC, ERROR_CODES, KEY, KEY2, OPENAI, errorOf, loadGuard } from '../../test/harness/llm.js';
import { seededRandom } from '../testing/prng.mjs';
import { pick } from '../testing/fuzz_bytes.mjs';
import { FuzzFailures, replaySaved, savedFailures } from '../testing/fuzz_fixtures.js';

const KIND = 'request-headers';
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

/** A request as saved under test/fixtures/fuzz/request-headers/: everything its replay needs. */
interface HeaderCase {
  headers: HeaderPair[];
  body: string;
}

const SECRETS = [KEY, KEY2, CLIENT_SECRET];

/** One request through the filter: what happened (for the tally), and why it breaks a promise ([] when it doesn't). */
function checkHeaders(host: FilterHost, c: HeaderCase): { outcome: string; reasons: string[] } {
  const { headers, body } = c;
  const reasons: string[] = [];
  const r = host.request({ headers, body });
  const authority = headers.find(([k]) => k === ':authority')?.[1] ?? '';
  let outcome = 'forwarded';
  const reply = r.localReply;
  if (host.trapped) reasons.push(`TRAP: ${host.traps[0]!.message}`);
  if (reply) {
    const e = errorOf(r);
    outcome = e?.code || `${reply.status} ${reply.source}`;
    const spec = e ? REFUSALS[e.code] : undefined;
    if (reply.source === 'plugin' && (!spec || e!.type !== spec.type)) reasons.push(`undocumented reply ${reply.status} ${reply.body.slice(0, 120)}`);
    for (const secret of SECRETS) if (reply.body.includes(secret) || reply.headers.some(([, v]) => v.includes(secret))) reasons.push('a key or client credential in the reply');
    if (r.upstreamBody !== null && reply.source === 'plugin') reasons.push('body bytes reached the upstream before a refusal');
  } else if (r.forwarded) {
    const up = r.upstreamHeaders ?? [];
    const creds = up.filter(([k]) => CREDENTIALS.includes(k));
    const provider = providerOf(authority);
    if (provider === 'openai' && JSON.stringify(creds) !== JSON.stringify([['authorization', `Bearer ${KEY}`]])) reasons.push(`credentials upstream ${JSON.stringify(creds)}`);
    if (provider === 'anthropic' && JSON.stringify(creds) !== JSON.stringify([['x-api-key', KEY2]])) reasons.push(`credentials upstream ${JSON.stringify(creds)}`);
    if (provider === null && JSON.stringify(creds) !== JSON.stringify(headers.filter(([k]) => CREDENTIALS.includes(k)))) {
      reasons.push('a request to another host had its credentials changed');
    }
    if (provider !== null && (r.upstreamBodyText ?? '').includes(DENY_LITERAL)) reasons.push('the deny literal reached a provider');
  } else outcome = r.reset ? 'reset' : 'held';
  for (const [, message] of r.logs) {
    for (const secret of SECRETS) if (message.includes(secret)) reasons.push(`a key or client credential in a log line: ${message.slice(0, 200)}`);
  }
  return { outcome, reasons };
}

/** Log lines of the root context (a stream's own are checked with it). */
function rootLogLeaks(host: FilterHost): string[] {
  return host.logs.filter(([, m]) => SECRETS.some((s) => m.includes(s))).map(([, m]) => `a key or client credential in a log line: ${m.slice(0, 200)}`);
}

describe('request header fuzz', () => {
  it(`saved requests (test/fixtures/fuzz/${KIND}/), then ${HEADERS} requests with fuzzed headers (seed ${SEED}): no trap, the provider's credential only, documented replies, no key or client credential in replies and logs`, async () => {
    const failures = new FuzzFailures(KIND, SEED);
    if (replaySaved()) {
      for (const saved of savedFailures<HeaderCase>(KIND)) {
        const replayHost = await loadGuard(CONFIG); // a VM each: its log lines are its own
        const { reasons } = checkHeaders(replayHost, saved.input);
        failures.replay(saved, [...reasons, ...rootLogLeaks(replayHost)]);
      }
    }

    const host = await loadGuard(CONFIG);
    const rnd = seededRandom(SEED);
    const outcomes = new Map<string, number>();
    let inputs = 0;
    for (let i = 0; i < HEADERS; i++) {
      const c: HeaderCase = { headers: headersFor(rnd), body: bodyFor(rnd) };
      const { outcome, reasons } = checkHeaders(host, c);
      inputs++;
      outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
      failures.random(i, reasons, () => c, () => `${JSON.stringify(c.headers).slice(0, 400)} body ${JSON.stringify(c.body).slice(0, 80)}`);
      if (host.trapped) break; // the VM is gone: the rest would only repeat it
    }
    const rootLeaks = rootLogLeaks(host);
    console.log(`header fuzz seed=${SEED}: ${failures.replayed} saved requests replayed (${failures.replayFailures} failing); ${inputs} requests; ${JSON.stringify(Object.fromEntries([...outcomes].sort((a, b) => b[1] - a[1])))}`);
    failures.report(inputs);
    expect(failures.messages, failures.messages.join('\n')).toEqual([]);
    expect(rootLeaks.slice(0, 10), rootLeaks.slice(0, 10).join('\n')).toEqual([]);
    expect(host.trapped, host.traps[0]?.message).toBe(false);
    expect(outcomes.get('forwarded') ?? 0).toBeGreaterThan(HEADERS / 10);
    expect(outcomes.get('denied_by_pattern') ?? 0).toBeGreaterThan(0);
  }, Math.max(120_000, HEADERS * 2)); // ~10,000 requests a second on one core; room for slower machines
});
