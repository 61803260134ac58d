// The response side under untrusted bytes: provider streams and JSON replies, mutated and cut at
// random, with the injected key planted (whole or split), through the real filter in the
// in-process host. For every response: no trap, no key in what the app gets, every byte that
// isn't key arriving unchanged, and an audit record; with response patterns, no text value
// delivered holding the address planted in the text.
//
// Seeded: FUZZ_SEED=<n> FUZZ_RESPONSES=<n> reproduces a run (or runs longer): each of the two tests
// sends FUZZ_RESPONSES responses (the second with seed FUZZ_SEED+1), e.g.
//   FUZZ_SEED=7 FUZZ_RESPONSES=125000 LLM_GUARD_SKIP_BUILD=1 npx vitest run --project fast plugin/filter/response_fuzz.test.ts
// A failing response is saved whole (which test, content type, bytes, chunking) to
// test/fixtures/fuzz/responses/seed<seed>-<index>.json (seed<seed>-patterns-<index>.json for the
// second test), named in the failure; every saved response is replayed first, by its test, through
// the same checks, so a committed one is a regression test. `make fuzz` runs 1,000,000 responses
// (both tests together) over several seeds (tools/fuzz/run.mjs).
import { describe, expect, it } from 'vitest';
import type { FilterHost } from '../../operator/src/wasm/index.js';
import { KEY, OPENAI, chat, loadGuard, post, user } from '../../test/harness/llm.js';
import { seededRandom } from '../testing/prng.mjs';
import { pick, spliceBytes } from '../testing/fuzz_bytes.mjs';
import { PROVIDER_STREAMS } from '../sse/testdata/provider_streams.mjs';
import { FuzzFailures, replaySaved, savedFailures } from '../testing/fuzz_fixtures.js';

const KIND = 'responses';
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

/** A response as saved under test/fixtures/fuzz/responses/: everything its replay needs. */
interface ResponseCase {
  /** Which test: the key masked alone, or with response patterns too. */
  variant: 'key' | 'patterns';
  contentType: string;
  /** The whole response body, and the sizes of the chunks the upstream sends it in. */
  body: Uint8Array;
  chunkSizes: number[];
}

function chunksOf(c: ResponseCase): Uint8Array[] {
  const chunks: Uint8Array[] = [];
  let at = 0;
  for (const n of c.chunkSizes) {
    chunks.push(c.body.subarray(at, at + n));
    at += n;
  }
  return chunks;
}

const CONFIGS = {
  key: { hosts: [OPENAI], api_key: KEY, deny_patterns: ['(?i)password'] },
  patterns: {
    hosts: [OPENAI], api_key: KEY,
    response_deny_patterns: ['(?i)launch codes'],
    response_redact_patterns: ['[a-z0-9.]+@[a-z0-9]+\\.[a-z]{2,}'],
    response_max_hold_back: 256,
  },
};

/** One response through the filter: why what the app got breaks a promise ([] when it doesn't), and how many SSE data lines held JSON. */
function checkResponse(host: FilterHost, c: ResponseCase): { reasons: string[]; streamsRead: number } {
  const reasons: string[] = [];
  let streamsRead = 0;
  const r = post(host, chat(user('hi')), { response: { headers: [['content-type', c.contentType]], chunks: chunksOf(c) } });
  if (host.trapped) return { reasons: [`TRAP: ${host.traps[0]!.message}`], streamsRead };
  if (!r.response) return { reasons: ['no response reached the app'], streamsRead };
  if (r.filterState.get('llm_guard.audit') === undefined) reasons.push('no audit record');
  const got = r.response.body;
  if (c.variant === 'key') {
    if (!Buffer.from(got).equals(Buffer.from(expected(c.body)))) reasons.push('what the app got is not the response with the key masked');
    return { reasons, streamsRead };
  }
  const text = new TextDecoder().decode(got);
  if (text.includes(KEY)) reasons.push('the key reached the app');
  if (/json/i.test(c.contentType)) {
    const leaked = leaks(jsonOrNull(text));
    if (leaked.length) reasons.push(`the address delivered in ${leaked.join(', ')}: ${text.slice(0, 300)}`);
  } else if (/event-stream/i.test(c.contentType)) {
    for (const line of text.split(/\r\n|\r|\n/)) {
      if (!line.startsWith('data:')) continue;
      const data = jsonOrNull(line.slice(5).trim());
      if (data !== null) streamsRead++;
      const leaked = leaks(data);
      if (leaked.length) reasons.push(`the address delivered in ${leaked.join(', ')}: ${line.slice(0, 300)}`);
    }
  }
  return { reasons, streamsRead };
}

/** The saved responses of one test, each through the same checks (a fresh VM after a trap). */
async function replay(variant: ResponseCase['variant'], failures: FuzzFailures): Promise<void> {
  const saved = replaySaved() ? savedFailures<ResponseCase>(KIND).filter((s) => s.input.variant === variant) : [];
  if (saved.length === 0) return;
  let host = await loadGuard(CONFIGS[variant]);
  for (const s of saved) {
    failures.replay(s, checkResponse(host, s.input).reasons);
    if (host.trapped) host = await loadGuard(CONFIGS[variant]);
  }
}

const sizes = (chunks: Uint8Array[]) => chunks.map((x) => x.length);
const TIMEOUT = Math.max(120_000, RESPONSES * 4); // ~2,000 responses a second on one core (the patterns test); room for slower machines

describe('response fuzz', () => {
  it(`saved responses, then ${RESPONSES} mutated provider responses (seed ${SEED}): no trap, the key never reaches the app, nothing else changed`, async () => {
    const failures = new FuzzFailures(KIND, SEED);
    await replay('key', failures);
    const host = await loadGuard(CONFIGS.key);
    const rnd = seededRandom(SEED);
    let inputs = 0;
    for (let n = 0; n < RESPONSES; n++) {
      const body = mutated(rnd);
      const contentType = pick(rnd, TYPES);
      const c: ResponseCase = { variant: 'key', contentType, body, chunkSizes: sizes(cut(rnd, body)) };
      failures.random(n, checkResponse(host, c).reasons, () => c, () => `${contentType}, ${body.length} bytes in ${c.chunkSizes.length} chunks`);
      inputs++;
      if (host.trapped) break; // the VM is gone: the rest would only repeat it
    }
    console.log(`response fuzz seed=${SEED}: ${failures.replayed} saved responses replayed (${failures.replayFailures} failing); ${inputs} responses`);
    failures.report(inputs);
    expect(failures.messages, failures.messages.join('\n')).toEqual([]);
    host.assertHealthy();
  }, TIMEOUT);
});

describe('response fuzz with response patterns', () => {
  it(`saved responses, then ${RESPONSES} mutated provider responses with an address planted in their text (seed ${SEED + 1}): no trap, no text value delivered holding it`, async () => {
    const failures = new FuzzFailures(KIND, SEED, 'patterns-');
    await replay('patterns', failures);
    const host = await loadGuard(CONFIGS.patterns);
    const rnd = seededRandom(SEED + 1);
    let streamsRead = 0;
    let inputs = 0;
    for (let n = 0; n < RESPONSES; n++) {
      const body = planted(rnd, mutated(rnd));
      const contentType = pick(rnd, TYPES);
      const c: ResponseCase = { variant: 'patterns', contentType, body, chunkSizes: sizes(cut(rnd, body)) };
      const checked = checkResponse(host, c);
      streamsRead += checked.streamsRead;
      failures.random(n, checked.reasons, () => c, () => `${contentType}, ${body.length} bytes in ${c.chunkSizes.length} chunks`);
      inputs++;
      if (host.trapped) break;
    }
    console.log(`response fuzz with patterns seed=${SEED + 1}: ${failures.replayed} saved responses replayed (${failures.replayFailures} failing); ${inputs} responses, ${streamsRead} SSE data lines read as JSON`);
    failures.report(inputs);
    expect(failures.messages, failures.messages.join('\n')).toEqual([]);
    expect(streamsRead).toBeGreaterThan(RESPONSES / 10);
    host.assertHealthy();
  }, TIMEOUT);
});
