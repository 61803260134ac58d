// The key service's answer is untrusted (docs/filter-config.md, "The key service", the answer
// format): every malformed answer is a failed fetch (counted; the last good keys kept; no trap, no
// unbounded loop or recursion), well-formed ones with unknown fields are taken, and a seeded fuzzer
// throws mutated answers at one VM.

import { describe, expect, it } from 'vitest';
import type { FilterHost } from '../../operator/src/wasm/index.js';
import { ANTHROPIC, OPENAI, chat, errorOf, outcome, post, user } from '../../test/harness/llm.js';
import { seededRandom } from '../testing/prng.mjs';
import {
  SVC_ANTHROPIC,
  SVC_GUARD_KEY,
  SVC_KEY,
  SVC_KEY2,
  advance,
  answerFetch,
  goodAnswer,
  loadWithKeys,
  pendingFetch,
  serviceConfig,
  type Answer,
} from '../../test/harness/keys.js';

const counter = (host: FilterHost, name: string) => host.metric(`llm_guard.${name}`) ?? 0;

type Play = (host: FilterHost) => void;
const body = (b: string | Uint8Array, status = 200): Play => (host) => answerFetch(host, b, status);
const json = (v: unknown): Play => body(JSON.stringify(v));
const entry = (e: unknown): Play => json({ providers: { [OPENAI]: e, [ANTHROPIC]: { api_keys: [SVC_ANTHROPIC] } } });
const deep = (n: number) => '{"providers":{},"x":' + '['.repeat(n) + ']'.repeat(n) + '}';

const MALFORMED: [string, Play][] = [
  ['status 500', body(JSON.stringify(goodAnswer()), 500)],
  ['status 404', body('not found', 404)],
  ['status 403 (the service refused our identity)', body('RBAC: access denied', 403)],
  ['status 204', body('', 204)],
  ['status 201 with good keys', body(JSON.stringify(goodAnswer()), 201)],
  ['a reset (no answer)', (h) => h.failHttpCall(pendingFetch(h).token)],
  ['a timeout (504 from the async client)', (h) => h.timeoutHttpCall(pendingFetch(h).token)],
  ['an empty body', body('')],
  ['not JSON', body('<html>oops</html>')],
  ['truncated JSON', body(JSON.stringify(goodAnswer()).slice(0, 40))],
  ['trailing garbage', body(JSON.stringify(goodAnswer()) + 'x')],
  ['invalid UTF-8', body(new Uint8Array([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x3a, 0x31, 0x7d]))],
  ['a JSON array', json([goodAnswer()])],
  ['a JSON string', json('sk-1')],
  ['null', body('null')],
  ['no providers', json({ intelligent_guard: { api_key: SVC_GUARD_KEY } })],
  ['providers: null', json({ providers: null })],
  ['providers is a list', json({ providers: [{ [OPENAI]: { api_keys: [SVC_KEY] } }] })],
  ['providers given twice', body(`{"providers":{},"providers":${JSON.stringify(goodAnswer().providers)}}`)],
  ['a host given twice', body(`{"providers":{"${OPENAI}":{"api_keys":["${SVC_KEY}"]},"${OPENAI}":{"api_keys":["${SVC_KEY2}"]}}}`)],
  ['an entry that is a string', entry(SVC_KEY)],
  ['an entry that is a list of keys', entry([SVC_KEY])],
  ['an entry with neither api_keys nor error', entry({ keys: [SVC_KEY] })],
  ['an entry with both api_keys and error', entry({ api_keys: [SVC_KEY], error: 'x' })],
  ['api_keys given twice', body(`{"providers":{"${OPENAI}":{"api_keys":["a"],"api_keys":["b"]}}}`)],
  ['api_keys: a string', entry({ api_keys: SVC_KEY })],
  ['api_keys: []', entry({ api_keys: [] })],
  ['api_keys: 9 keys', entry({ api_keys: Array.from({ length: 9 }, (_, i) => `sk-${i}`) })],
  ['a key that is a number', entry({ api_keys: [12345] })],
  ['a key that is null', entry({ api_keys: [null] })],
  ['an empty key', entry({ api_keys: [''] })],
  ['a key of 4097 bytes', entry({ api_keys: ['k'.repeat(4097)] })],
  ['a key with a newline (header injection)', entry({ api_keys: ['sk-1\r\nx-evil: 1'] })],
  ['a key with NUL', entry({ api_keys: ['sk-\u0000-1'] })],
  ['a key with non-ASCII', entry({ api_keys: ['sk-ключ'] })],
  ['a key with DEL', entry({ api_keys: ['sk-\u007f'] })],
  ['error: not a string', entry({ error: { reason: 'x' } })],
  ['intelligent_guard: null', json({ ...goodAnswer(), intelligent_guard: null })],
  ['intelligent_guard: a string', json({ ...goodAnswer(), intelligent_guard: SVC_GUARD_KEY })],
  ['intelligent_guard: api_key a list', json({ ...goodAnswer(), intelligent_guard: { api_key: [SVC_GUARD_KEY] } })],
  ['intelligent_guard: empty api_key', json({ ...goodAnswer(), intelligent_guard: { api_key: '' } })],
  ['intelligent_guard: neither', json({ ...goodAnswer(), intelligent_guard: {} })],
  ['an answer over 64 KiB (otherwise good)', json({ ...goodAnswer(), padding: 'x'.repeat(66_000) })],
  ['JSON nested 100,000 deep', body(deep(100_000))],
  ['JSON nested 20 deep in an unknown field', body(deep(20))],
  ['a malformed entry for a host nobody asked about', json({ providers: { ...goodAnswer().providers, 'other.example': { api_keys: 'x' } } })],
];

describe('a malformed answer to the first fetch', () => {
  for (const [name, play] of MALFORMED) {
    it(`${name}: a failed fetch; the waiting request gets 503; no trap`, async () => {
      const host = await loadWithKeys(serviceConfig());
      const waiting = post(host, chat(user('hello')));
      play(host);
      expect(host.trapped).toBe(false);
      expect(counter(host, 'key_fetch_failures')).toBe(1);
      expect(errorOf(waiting), outcome(waiting)).toMatchObject({ status: 503, code: 'provider_key_unavailable' });
      expect(waiting.upstreamHeaders).toBeNull();
      host.assertHealthy();
    });
  }
});

describe('a malformed answer after a good one', () => {
  for (const [name, play] of MALFORMED) {
    it(`${name}: a failed fetch; the last good keys stay in use`, async () => {
      const host = await loadWithKeys(serviceConfig({ refresh_seconds: 5, max_stale_seconds: 60 }));
      answerFetch(host, goodAnswer());
      advance(host, 5);
      play(host);
      expect(counter(host, 'key_fetch_failures')).toBe(1);
      const r = post(host, chat(user('hello')));
      expect(r.upstreamHeader('authorization'), outcome(r)).toBe(`Bearer ${SVC_KEY}`);
      const logs = host.logs.map(([, m]) => m).join('\n');
      expect(logs).not.toContain(SVC_KEY);
      expect(logs).not.toContain(SVC_KEY2);
      host.assertHealthy();
    });
  }
});

describe('well-formed answers', () => {
  const WELL_FORMED: [string, unknown, string][] = [
    ['unknown fields at every level', {
      version: 3,
      providers: { [OPENAI]: { api_keys: [SVC_KEY], secret_ref: { name: 'openai', key: 'api-key' } } },
      intelligent_guard: { api_key: SVC_GUARD_KEY, rotated_at: '2026-01-01T00:00:00Z' },
      generated: { by: ['llmguard-keys'] },
    }, SVC_KEY],
    ['entries for hosts this filter does not serve', { providers: { 'api.mistral.ai': { api_keys: ['m'] }, [OPENAI]: { api_keys: [SVC_KEY] } } }, SVC_KEY],
    ['8 keys', { providers: { [OPENAI]: { api_keys: [SVC_KEY, ...Array.from({ length: 7 }, (_, i) => `sk-${i}`)] } } }, SVC_KEY],
    ['a key of 4096 bytes', { providers: { [OPENAI]: { api_keys: ['k'.repeat(4096)] } } }, 'k'.repeat(4096)],
    ['a key written with \\u escapes', '{"providers":{"api.openai.com":{"api_keys":["\\u0073k-escaped"]}}}', 'sk-escaped'],
    ['an empty error text for another host', { providers: { [OPENAI]: { api_keys: [SVC_KEY] }, [ANTHROPIC]: { error: '' } } }, SVC_KEY],
    ['no intelligent_guard', { providers: { [OPENAI]: { api_keys: [SVC_KEY] } } }, SVC_KEY],
  ];
  for (const [name, answer, key] of WELL_FORMED) {
    it(`${name}: taken`, async () => {
      const host = await loadWithKeys(serviceConfig());
      answerFetch(host, typeof answer === 'string' ? answer : (answer as Answer));
      expect(counter(host, 'key_fetch_failures')).toBe(0);
      expect(post(host, chat(user('hi'))).upstreamHeader('authorization')).toBe(`Bearer ${key}`);
    });
  }

  it('the largest answer allowed (64 KiB) is read', async () => {
    const base = JSON.stringify({ ...goodAnswer(), padding: '' });
    const padded = JSON.stringify({ ...goodAnswer(), padding: 'x'.repeat(64 * 1024 - base.length) });
    expect(padded.length).toBe(64 * 1024);
    const host = await loadWithKeys(serviceConfig());
    answerFetch(host, padded);
    expect(counter(host, 'key_fetch_failures')).toBe(0);
  });
});

describe('fuzzing the answer (seeded)', () => {
  const SEED = Number(process.env.FUZZ_SEED ?? 424242);
  const ROUNDS = Number(process.env.FUZZ_KEY_ANSWERS ?? 3000);
  const INSERTS = ['"', '\\', '\\u', '\\u0000', '\\ud800', '{', '}', '[', ']', ':', ',', 'null', '1e999', '-', '\u0000', '\r\n', '"api_keys":', '"error":', '\u00ff', '😀'];

  it(`${ROUNDS} mutated answers in one VM: no trap, every fetch succeeds or counts as failed, requests forwarded or 503`, async () => {
    const rand = seededRandom(SEED);
    const pick = <T,>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
    const seeds = [
      JSON.stringify(goodAnswer([SVC_KEY, SVC_KEY2])),
      JSON.stringify({ ...goodAnswer(), intelligent_guard: { api_key: SVC_GUARD_KEY } }),
      JSON.stringify({ providers: { [OPENAI]: { error: 'Secret "x" not found' }, [ANTHROPIC]: { api_keys: [SVC_ANTHROPIC] } } }),
    ];
    const host = await loadWithKeys(serviceConfig({ refresh_seconds: 1, max_stale_seconds: 2 }), { maxLogRecords: 2000 });
    let statusFlips = 0;
    for (let i = 0; i < ROUNDS; i++) {
      let text = pick(seeds);
      const edits = 1 + Math.floor(rand() * 4);
      for (let e = 0; e < edits; e++) {
        const at = Math.floor(rand() * (text.length + 1));
        const op = rand();
        if (op < 0.35) text = text.slice(0, at) + pick(INSERTS) + text.slice(at);
        else if (op < 0.6) text = text.slice(0, at) + text.slice(at + 1 + Math.floor(rand() * 8));
        else if (op < 0.75) text = text.slice(0, at);
        else if (op < 0.9) text = text.slice(0, at) + String.fromCharCode(Math.floor(rand() * 0x80)) + text.slice(at + 1);
        else text = text.slice(0, at) + text.slice(at).replace(/"sk-[^"]*"/, `"${'k'.repeat(Math.floor(rand() * 5000))}"`);
      }
      const status = rand() < 0.05 ? (statusFlips++, 500) : 200;
      answerFetch(host, text, status);
      expect(host.trapped, `round ${i}: ${text.slice(0, 200)}`).toBe(false);
      const r = post(host, chat(user(`round ${i}`)));
      const auth = r.upstreamHeader('authorization');
      if (auth === undefined) expect(errorOf(r)?.code, `round ${i}: ${outcome(r)}`).toBe('provider_key_unavailable');
      else expect(auth).toMatch(/^Bearer [\x20-\x7e]{1,4096}$/);
      advance(host, 1);
    }
    expect(counter(host, 'key_fetches')).toBe(ROUNDS + 1);
    expect(counter(host, 'key_fetch_failures')).toBeGreaterThan(statusFlips);
    expect(counter(host, 'key_fetch_failures')).toBeLessThan(ROUNDS);
    answerFetch(host, goodAnswer());
    expect(post(host, chat(user('after the storm'))).upstreamHeader('authorization')).toBe(`Bearer ${SVC_KEY}`);
    host.assertHealthy();
  });
});
