// The response side under untrusted bytes: provider streams and JSON replies, mutated and cut at
// random, with the injected key planted (whole or split), through the real filter in the
// in-process host. For every response: no trap, no key in what the app gets, every byte that
// isn't key arriving unchanged, and an audit record. FUZZ_SEED=<n> FUZZ_RESPONSES=<n> to reproduce
// or run longer.
import { describe, expect, it } from 'vitest';
import { KEY, OPENAI, chat, loadGuard, post, user } from '../../test/harness/llm.js';
import { seededRandom } from '../testing/prng.mjs';
import { pick, spliceBytes } from '../testing/fuzz_bytes.mjs';
import { PROVIDER_STREAMS } from '../sse/testdata/provider_streams.mjs';

const SEED = Number(process.env.FUZZ_SEED ?? 20240607);
const RESPONSES = Number(process.env.FUZZ_RESPONSES ?? 10_000);
const enc = new TextEncoder();
const KEY_BYTES = enc.encode(KEY);
const MASKED = enc.encode('*'.repeat(KEY.length));
const JSON_REPLY = enc.encode(JSON.stringify({ model: 'gpt-4o', choices: [{ message: { role: 'assistant', content: 'hi' } }], usage: { prompt_tokens: 1, completion_tokens: 2, total_tokens: 3 } }));
const SEEDS = [...PROVIDER_STREAMS.map((s: { stream: string }) => enc.encode(s.stream)), JSON_REPLY];
const NOISE = [[0x00], [0x0d], [0x0a], [0xff], [0xc3], [0xed, 0xa0, 0x80], [0x7b], [0x22], [0x5c]].map((b) => Uint8Array.from(b));
const TYPES = ['text/event-stream', 'application/json', 'application/json; charset=utf-8', 'text/plain', 'TEXT/EVENT-STREAM'];

function mutated(rnd: () => number): Uint8Array {
  let b: Uint8Array = pick(rnd, SEEDS);
  for (let k = Math.floor(rnd() * 4); k > 0; k--) {
    const at = Math.floor(rnd() * (b.length + 1));
    const m = rnd();
    if (m < 0.35) b = spliceBytes(b, at, 0, pick(rnd, NOISE));
    else if (m < 0.6) b = spliceBytes(b, at, Math.floor(rnd() * 32), new Uint8Array(0));
    else if (m < 0.85) b = spliceBytes(b, at, 0, KEY_BYTES);
    else b = spliceBytes(b, at, 0, KEY_BYTES.subarray(0, 1 + Math.floor(rnd() * (KEY_BYTES.length - 1))));
  }
  return b;
}

function cut(rnd: () => number, b: Uint8Array): Uint8Array[] {
  const chunks: Uint8Array[] = [];
  let at = 0;
  while (at < b.length) {
    const n = 1 + Math.floor(rnd() * (rnd() < 0.3 ? 8 : 512));
    chunks.push(b.subarray(at, at + n));
    at += n;
  }
  return chunks.length ? chunks : [new Uint8Array(0)];
}

/** What the app must get: every whole occurrence of the key masked, everything else as sent. */
function expected(b: Uint8Array): Uint8Array {
  const out = b.slice();
  for (let i = 0; i + KEY_BYTES.length <= out.length; ) {
    if (KEY_BYTES.every((c, j) => out[i + j] === c)) {
      out.set(MASKED, i);
      i += KEY_BYTES.length;
    } else i++;
  }
  return out;
}

const EMAIL = 'zed.fuzz@example.org';
const EMAIL_BYTES = enc.encode(EMAIL);
const TEXT_STARTS = ['"content":"', '"text":"', '"delta":"', '"partial_json":"'].map((t) => enc.encode(t));
/** String values that only label (as the filter's completion_text.ts): the rest is text the patterns read. */
const LABELS = new Set(['id', 'object', 'type', 'role', 'model', 'modelVersion', 'status', 'finish_reason', 'finishReason', 'stop_reason',
  'system_fingerprint', 'service_tier', 'call_id', 'item_id', 'tool_call_id', 'tool_use_id', 'responseId', 'signature', 'encrypted_content', 'created_at', 'obfuscation']);

/** `b` with the address planted just inside some text value (where a model's answer would carry it). */
function planted(rnd: () => number, b: Uint8Array): Uint8Array {
  const starts: number[] = [];
  for (const t of TEXT_STARTS) {
    for (let i = 0; i + t.length <= b.length; i++) if (t.every((c, j) => b[i + j] === c)) starts.push(i + t.length);
  }
  if (starts.length === 0) return b;
  return spliceBytes(b, pick(rnd, starts), 0, EMAIL_BYTES);
}

/** Text values (not labels) of a JSON value holding the address. */
function leaks(v: unknown, key = ''): string[] {
  if (typeof v === 'string') return !LABELS.has(key) && v.includes(EMAIL) ? [key] : [];
  if (Array.isArray(v)) return v.flatMap((x) => leaks(x, key));
  if (v && typeof v === 'object') return Object.entries(v).flatMap(([k, x]) => leaks(x, k));
  return [];
}

function jsonOrNull(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

describe('response fuzz', () => {
  it(`${RESPONSES} mutated provider responses (seed ${SEED}): no trap, the key never reaches the app, nothing else changed`, async () => {
    const host = await loadGuard({ hosts: [OPENAI], api_key: KEY, deny_patterns: ['(?i)password'] });
    const rnd = seededRandom(SEED);
    for (let n = 0; n < RESPONSES; n++) {
      const body = mutated(rnd);
      const r = post(host, chat(user('hi')), { response: { headers: [['content-type', pick(rnd, TYPES)]], chunks: cut(rnd, body) } });
      const got = r.response!.body;
      expect(Buffer.from(got).equals(Buffer.from(expected(body))), `response ${n}`).toBe(true);
      expect(r.filterState.get('llm_guard.audit'), `response ${n}`).toBeDefined();
    }
    host.assertHealthy();
  });
});

describe('response fuzz with response patterns', () => {
  it(`${RESPONSES} mutated provider responses with an address planted in their text (seed ${SEED + 1}): no trap, no text value delivered holding it`, async () => {
    const host = await loadGuard({
      hosts: [OPENAI], api_key: KEY,
      response_deny_patterns: ['(?i)launch codes'],
      response_redact_patterns: ['[a-z0-9.]+@[a-z0-9]+\\.[a-z]{2,}'],
      response_max_hold_back: 256,
    });
    const rnd = seededRandom(SEED + 1);
    let streamsRead = 0;
    for (let n = 0; n < RESPONSES; n++) {
      const body = planted(rnd, mutated(rnd));
      const type = pick(rnd, TYPES);
      const r = post(host, chat(user('hi')), { response: { headers: [['content-type', type]], chunks: cut(rnd, body) } });
      expect(r.filterState.get('llm_guard.audit'), `response ${n}`).toBeDefined();
      const got = new TextDecoder().decode(r.response!.body);
      expect(got.includes(KEY), `response ${n}: the key`).toBe(false);
      if (/json/i.test(type)) {
        expect(leaks(jsonOrNull(got)), `response ${n}: ${got.slice(0, 300)}`).toEqual([]);
      } else if (/event-stream/i.test(type)) {
        for (const line of got.split(/\r\n|\r|\n/)) {
          if (!line.startsWith('data:')) continue;
          const data = jsonOrNull(line.slice(5).trim());
          if (data !== null) streamsRead++;
          expect(leaks(data), `response ${n}: ${line.slice(0, 300)}`).toEqual([]);
        }
      }
    }
    expect(streamsRead).toBeGreaterThan(RESPONSES / 10);
    host.assertHealthy();
  });
});
