// Fuzzing the real filter through one VM: random and mutated bodies (byte flips, truncation, quotes,
// backslashes, \u fragments, deep nesting, invalid UTF-8, random chunking). Asserts: zero traps; every
// request is forwarded or answered with one of the documented JSON replies; no body carrying the deny
// literal in decodable prompt text is forwarded. Seeded: FUZZ_SEED=<n> FUZZ_BODIES=<n> to reproduce.

import { mkdirSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { HttpStream } from '../operator/src/wasm/index.js';
import { ANTHROPIC, ERROR_CODES, GEMINI, KEY, OPENAI, errorOf, loadGuard } from '../test/harness/llm.js';
import { DENY_LITERAL, SHAPES } from '../test/fixtures/llm-bodies.js';
import { seededRandom } from './testing/prng.mjs';

const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));

const SEED = Number(process.env.FUZZ_SEED ?? 20240607);
const BODIES = Number(process.env.FUZZ_BODIES ?? 100_000);
const MAX_BODY = 65536;
const DENY_STATUS = 403;


const enc = new TextEncoder();
const strictUtf8 = new TextDecoder('utf-8', { fatal: true });
const lossyUtf8 = new TextDecoder('utf-8');

// The deny literal, written in forms a JSON decoder turns back into the literal.
const LITERAL_FORMS = [
  DENY_LITERAL,
  'forbidden\\u002dsecret',
  '\\u0066orbidden-secret',
  'forbidden-\\u0073\\u0065cret',
  '\\u0066\\u006f\\u0072\\u0062\\u0069\\u0064\\u0064\\u0065\\u006e\\u002d\\u0073\\u0065\\u0063\\u0072\\u0065\\u0074',
];
const CLEAN_WORDS = ['hello', 'summarize', 'the', 'report', '账号信息', 'naïve', '😀', 'forbidden', 'secret', 'forbidden-', '-secret', 'a\\nb', 'q\\"uote', 'tab\\t'];

const INSERTS = [
  '"', '\\', '\\u', '\\u00', '\\u12', '\\ud83d', '\\udc00', '\\ud83d\\ude00', '\\uZZZZ', '\\x', '\\', '{', '}', '[', ']', ':', ',',
  'null', 'true', '-', '1e999', '"\\u0000"', '\u0000', '\r\n', '{"a":', '"messages":', '"content":"', ',"content":"forbidden-secret"',
];
const BAD_UTF8: number[][] = [[0xff], [0xfe], [0xc3], [0xc0, 0xaf], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80], [0xe2, 0x82], [0x80], [0xf0, 0x9f, 0x98]];

interface Case {
  authority: string;
  path: string;
  body: Uint8Array;
  contentType: string;
  contentEncoding?: string;
  chunks: Uint8Array[];
  planted: boolean;
  mutated: boolean;
}

function pick<T>(rnd: () => number, xs: readonly T[]): T {
  return xs[Math.floor(rnd() * xs.length)]!;
}

function randomText(rnd: () => number, plant: boolean): string {
  const n = 1 + Math.floor(rnd() * 8);
  const words: string[] = [];
  for (let i = 0; i < n; i++) words.push(pick(rnd, CLEAN_WORDS));
  if (plant) words.splice(Math.floor(rnd() * (words.length + 1)), 0, pick(rnd, LITERAL_FORMS));
  return words.join(' ');
}

/** A valid body of a documented shape; the text is raw JSON string content (escapes kept). */
function baseBody(rnd: () => number, plant: boolean): { authority: string; path: string; json: string } {
  const shape = pick(rnd, SHAPES);
  const marker = 'FUZZTEXTMARKER';
  let json = JSON.stringify(shape.build(marker));
  // Several markers can appear (e.g. tool-call arguments are JSON inside a string: escaped once more).
  const text = randomText(rnd, plant);
  json = json.split(marker).join(text);
  if (rnd() < 0.2) {
    // Also extra pieces in other places of the same shape.
    const extra = JSON.stringify(shape.build(marker)).split(marker).join(randomText(rnd, false));
    if (rnd() < 0.5 && extra.startsWith('{') && json.startsWith('{')) json = `${json.slice(0, -1)},"extra":${extra}}`;
  }
  return { authority: shape.authority, path: shape.path, json };
}

function randomJson(rnd: () => number, depth: number, plant: { left: boolean }): string {
  const r = rnd();
  if (depth > 6 || r < 0.3) {
    if (plant.left && rnd() < 0.3) {
      plant.left = false;
      return `"${randomText(rnd, true)}"`;
    }
    return pick(rnd, ['1', '-2.5e3', 'true', 'false', 'null', '"x"', `"${randomText(rnd, false)}"`]);
  }
  if (r < 0.65) {
    const n = Math.floor(rnd() * 4);
    return `[${Array.from({ length: n }, () => randomJson(rnd, depth + 1, plant)).join(',')}]`;
  }
  const n = Math.floor(rnd() * 4);
  const keys = ['messages', 'content', 'text', 'role', 'prompt', 'input', 'system', 'parts', 'contents', 'k', 'm\\u0065ssages'];
  return `{${Array.from({ length: n }, () => `"${pick(rnd, keys)}":${randomJson(rnd, depth + 1, plant)}`).join(',')}}`;
}

const INSERT_BYTES = INSERTS.map((x) => enc.encode(x));
const BAD_UTF8_BYTES = BAD_UTF8.map((x) => Uint8Array.from(x));

function spliceBytes(b: Uint8Array, at: number, del: number, ins: Uint8Array): Uint8Array {
  at = Math.min(at, b.length);
  del = Math.min(del, b.length - at);
  const out = new Uint8Array(b.length - del + ins.length);
  out.set(b.subarray(0, at), 0);
  out.set(ins, at);
  out.set(b.subarray(at + del), at + ins.length);
  return out;
}

function mutate(rnd: () => number, body: Uint8Array): Uint8Array {
  let b = body;
  const rounds = 1 + Math.floor(rnd() * 4);
  for (let k = 0; k < rounds; k++) {
    const m = rnd();
    const at = Math.floor(rnd() * (b.length + 1));
    if (m < 0.18) {
      // byte flip
      if (b.length) {
        b = b.slice();
        const j = Math.min(at, b.length - 1);
        b[j] = (b[j] ?? 0) ^ (1 << Math.floor(rnd() * 8));
      }
    } else if (m < 0.3) {
      b = b.subarray(0, at); // truncation
    } else if (m < 0.55) {
      b = spliceBytes(b, at, 0, pick(rnd, INSERT_BYTES));
    } else if (m < 0.65) {
      b = spliceBytes(b, at, 0, pick(rnd, BAD_UTF8_BYTES));
    } else if (m < 0.72) {
      // deep nesting, closed or not
      const n = Math.floor(rnd() < 0.9 ? rnd() * 200 : rnd() * 20000);
      const open = rnd() < 0.5 ? '[' : '{"a":';
      const close = open === '[' ? ']' : '}';
      const closing = rnd() < 0.5 ? close.repeat(n) : '';
      b = spliceBytes(b, at, 0, enc.encode(open.repeat(n) + closing));
    } else if (m < 0.8) {
      b = spliceBytes(b, at, Math.floor(rnd() * 16), new Uint8Array(0)); // delete a range
    } else if (m < 0.88) {
      const len = Math.floor(rnd() * 32); // duplicate a range
      b = spliceBytes(b, at, 0, b.slice(Math.max(0, at - len), at));
    } else {
      const len = 1 + Math.floor(rnd() * 4); // random bytes
      const r = new Uint8Array(len);
      for (let i = 0; i < len; i++) r[i] = Math.floor(rnd() * 256);
      b = spliceBytes(b, at, 0, r);
    }
  }
  return b;
}

function chunk(rnd: () => number, body: Uint8Array): Uint8Array[] {
  const r = rnd();
  if (body.length === 0) return [];
  if (r < 0.45) return [body];
  const out: Uint8Array[] = [];
  // One-byte chunks for small bodies only: a 64 KiB body a byte at a time costs 64k callbacks.
  let maxChunk = r < 0.6 ? 1 : r < 0.8 ? 8 : 256;
  if (body.length > 2048) maxChunk = Math.max(maxChunk, 512);
  if (body.length > 16384) maxChunk = 4096;
  let i = 0;
  while (i < body.length) {
    const n = 1 + Math.floor(rnd() * maxChunk);
    out.push(body.subarray(i, i + n));
    i += n;
  }
  return out;
}

function makeCase(rnd: () => number): Case {
  const plant = rnd() < 0.4;
  let authority = OPENAI;
  let path = '/v1/chat/completions';
  let json: string;
  const kind = rnd();
  if (kind < 0.85) {
    const b = baseBody(rnd, plant);
    authority = b.authority;
    path = b.path;
    json = b.json;
  } else {
    const p = { left: plant };
    json = randomJson(rnd, 0, p);
  }
  let body: Uint8Array = enc.encode(json);
  let mutated = false;
  if (rnd() < 0.7) {
    body = mutate(rnd, body);
    mutated = true;
  }
  if (rnd() < 0.005) body = enc.encode('x'.repeat(MAX_BODY + 1 + Math.floor(rnd() * 1000)));
  const c = rnd();
  const contentType = c < 0.93 ? 'application/json' : c < 0.97 ? 'text/plain' : 'application/json; charset=utf-8';
  const contentEncoding = rnd() < 0.02 ? pick(rnd, ['gzip', 'br', 'identity']) : undefined;
  return { authority, path, body, contentType, contentEncoding, chunks: chunk(rnd, body), planted: plant, mutated };
}

// ---------------------------------------------------------------- oracle

/** Key paths (array indices dropped) where documented shapes carry prompt text. */
const PROMPT_PATHS = new Set([
  'messages.content',
  'messages.content.text',
  'messages.content.content',
  'messages.content.content.text',
  'messages.tool_calls.function.arguments',
  'messages.function_call.arguments',
  'prompt',
  'input',
  'input.content',
  'input.content.text',
  'instructions',
  'system',
  'system.text',
  'contents.parts.text',
  'systemInstruction.parts.text',
  'system_instruction.parts.text',
  'tools.function.description',
  'tools.description',
]);
const KNOWN_TOP = ['messages', 'prompt', 'input', 'contents', 'system', 'instructions', 'systemInstruction', 'system_instruction'];

/**
 * Where the deny literal sits in the parsed body. In a body of a known shape a string is prompt text
 * when its key path is one of the documented prompt places (text under a mangled key such as
 * "pnullarts" is not: the provider would reject or ignore it); in a body of no known shape every
 * string value counts (docs: unknown shapes have every string inspected).
 */
function literalPlaces(v: unknown): { inPrompt: boolean; anywhere: boolean; knownShape: boolean; paths: string[] } {
  let inPrompt = false;
  let anywhere = false;
  const paths: string[] = [];
  const known = typeof v === 'object' && v !== null && !Array.isArray(v) && KNOWN_TOP.some((k) => k in (v as object));
  const walk = (x: unknown, path: string, all: boolean) => {
    if (typeof x === 'string') {
      const p = all || PROMPT_PATHS.has(path) || path.startsWith('messages.content.input');
      if (x.includes(DENY_LITERAL)) {
        anywhere = true;
        paths.push(path);
        if (p) inPrompt = true;
      } else if (p && path.endsWith('arguments') && x.includes('forbidden')) {
        // tool-call arguments are JSON inside a string: every string in it is prompt text
        try {
          walk(JSON.parse(x), path, true);
        } catch {
          /* not JSON */
        }
      }
      return;
    }
    if (Array.isArray(x)) {
      for (const e of x) walk(e, path, all);
      return;
    }
    if (x && typeof x === 'object') {
      for (const [k, e] of Object.entries(x)) walk(e, path ? `${path}.${k}` : k, all);
    }
  };
  walk(v, '', !known);
  return { inPrompt, anywhere, knownShape: known, paths };
}

function parseJson(body: Uint8Array): { ok: boolean; value?: unknown; strictUtf8: boolean } {
  let text: string;
  let strict = true;
  try {
    text = strictUtf8.decode(body);
  } catch {
    strict = false;
    text = lossyUtf8.decode(body);
  }
  try {
    return { ok: true, value: JSON.parse(text), strictUtf8: strict };
  } catch {
    return { ok: false, strictUtf8: strict };
  }
}

describe('fuzz', () => {
  it(`${BODIES} random and mutated bodies through one VM (seed ${SEED})`, async () => {
    const host = await loadGuard(
      { hosts: [OPENAI, ANTHROPIC, GEMINI], api_key: KEY, deny_patterns: [DENY_LITERAL], max_body_bytes: MAX_BODY, deny_status: DENY_STATUS },
      { maxLogRecords: 2000, recordEvents: false },
    );
    const rnd = seededRandom(SEED);
    const counts = {
      bodies: 0,
      forwarded: 0,
      denied: 0,
      refused: {} as Record<string, number>,
      chunked: 0,
      mutated: 0,
      planted: 0,
      forwardedNotJson: 0,
      forwardedInvalidUtf8: 0,
      literalForwardedOutsidePrompt: 0,
      deniedWithoutLiteral: 0,
      invalidJsonOnValidJson: 0,
    };
    const failures: string[] = [];
    const slow: string[] = [];
    let inFilterMs = 0;
    const outsidePaths = new Map<string, number>();
    const failDir = resolve(REPO_ROOT, 'test', 'fixtures', 'fuzz-failures');
    const fail = (i: number, c: Case, why: string, r?: HttpStream) => {
      if (failures.length >= 20) return;
      mkdirSync(failDir, { recursive: true });
      writeFileSync(resolve(failDir, '.gitignore'), '*\n');
      const file = resolve(failDir, `seed${SEED}-case${i}.bin`);
      writeFileSync(file, c.body);
      failures.push(`#${i} ${why} [${c.authority}${c.path} ${c.contentType}${c.contentEncoding ? ` ${c.contentEncoding}` : ''}, ${c.chunks.length} chunks] body saved to ${file}${r ? `\n   ${JSON.stringify(r.summary()).slice(0, 600)}` : ''}`);
    };
    const started = Date.now();

    for (let i = 0; i < BODIES; i++) {
      const c = makeCase(rnd);
      counts.bodies++;
      if (c.chunks.length > 1) counts.chunked++;
      if (c.mutated) counts.mutated++;
      if (c.planted) counts.planted++;
      const headers: [string, string][] = [
        [':method', 'POST'],
        [':scheme', 'http'],
        [':path', c.path],
        [':authority', c.authority],
        ['content-type', c.contentType],
      ];
      if (c.contentEncoding) headers.push(['content-encoding', c.contentEncoding]);
      const t0 = performance.now();
      const r = host.request({ headers, chunks: c.chunks, response: i % 10 === 0 ? undefined : false });
      const dt = performance.now() - t0;
      inFilterMs += dt;
      if (dt > 50) slow.push(`#${i} ${dt.toFixed(0)} ms: ${c.body.length} bytes in ${c.chunks.length} chunks -> ${r.localReply ? r.localReply.status : 'forwarded'}`);

      if (host.trapped) {
        fail(i, c, `TRAP: ${host.traps[0]!.message}`, r);
        break;
      }
      if (r.pending && !r.forwarded && !r.localReply) {
        fail(i, c, 'request neither forwarded nor answered', r);
        continue;
      }
      if (r.localReply) {
        const lr = r.localReply;
        const e = errorOf(r);
        const spec = e ? ERROR_CODES[e.code] : undefined;
        const want = spec?.status === 'deny' ? DENY_STATUS : spec?.status;
        if (lr.source !== 'plugin' || !e || !spec || want !== lr.status || e.type !== spec.type) {
          fail(i, c, `undocumented reply ${lr.status} ${lr.body.slice(0, 200)}`, r);
          continue;
        }
        if (lr.body.includes(DENY_LITERAL) || lr.body.includes(KEY)) fail(i, c, 'reply leaks the literal or the key', r);
        if (r.upstreamBody !== null) fail(i, c, 'body bytes reached the upstream before a refusal', r);
        if (e.code === 'denied_by_pattern') {
          counts.denied++;
          if (!lossyUtf8.decode(c.body).includes('forbidden') && !/\\u/i.test(lossyUtf8.decode(c.body))) counts.deniedWithoutLiteral++;
        } else {
          counts.refused[e.code] = (counts.refused[e.code] ?? 0) + 1;
          // Unmutated bodies are valid JSON by construction: invalid_json there is a parser bug.
          // (Mutated ones are checked 1 in 8, JSON.parse being the slow part of this loop.)
          if (e.code === 'invalid_json' && (!c.mutated || i % 8 === 0) && c.contentType.startsWith('application/json') && !c.contentEncoding) {
            const p = parseJson(c.body);
            if (p.ok && p.strictUtf8 && !/\\u[dD][89a-fA-F]/.test(lossyUtf8.decode(c.body)) && c.body.length <= MAX_BODY) counts.invalidJsonOnValidJson++;
          }
        }
        continue;
      }
      if (!r.forwarded) {
        fail(i, c, 'stream ended without forwarding or a reply', r);
        continue;
      }
      counts.forwarded++;
      const sent = r.upstreamBody ?? new Uint8Array(0);
      if (Buffer.compare(Buffer.from(sent), Buffer.from(c.body)) !== 0 && !c.contentEncoding) {
        fail(i, c, 'forwarded body differs from what the client sent', r);
      }
      if (r.upstreamHeader('authorization') !== `Bearer ${KEY}`) fail(i, c, 'forwarded without the provider key', r);
      if (c.contentEncoding && c.contentEncoding !== 'identity' && sent.length > 0) {
        fail(i, c, 'compressed body forwarded under on_uninspectable: refuse', r);
        continue;
      }
      const p = parseJson(sent);
      if (!p.strictUtf8) counts.forwardedInvalidUtf8++;
      if (!p.ok && sent.length > 0) {
        counts.forwardedNotJson++;
        fail(i, c, 'forwarded a body that is not JSON under on_uninspectable: refuse', r);
        continue;
      }
      const places = literalPlaces(p.value);
      if (places.inPrompt) fail(i, c, 'forwarded the deny literal in decodable prompt text', r);
      else if (places.anywhere) {
        counts.literalForwardedOutsidePrompt++;
        for (const path of places.paths) outsidePaths.set(path, (outsidePaths.get(path) ?? 0) + 1);
      }
    }

    const secs = (Date.now() - started) / 1000;
    console.log(
      `fuzz seed=${SEED}: ${counts.bodies} bodies in ${secs.toFixed(1)} s (${Math.round(counts.bodies / secs)}/s); ` +
        `forwarded ${counts.forwarded}, denied ${counts.denied}, refused ${JSON.stringify(counts.refused)}; ` +
        `chunked ${counts.chunked}, mutated ${counts.mutated}, planted ${counts.planted}; ${(inFilterMs / 1000).toFixed(1)} s in requests`,
    );
    console.log(
      `fuzz notes: forwarded-not-JSON ${counts.forwardedNotJson}, forwarded-invalid-UTF-8 ${counts.forwardedInvalidUtf8}, ` +
        `literal forwarded outside prompt places ${counts.literalForwardedOutsidePrompt}, ` +
        `denied without a visible literal ${counts.deniedWithoutLiteral}, invalid_json on JSON.parse-able bodies ${counts.invalidJsonOnValidJson}`,
    );
    const top = [...outsidePaths].sort((a, b) => b[1] - a[1]).slice(0, 8);
    if (top.length) console.log(`fuzz: literal forwarded at non-prompt paths (mangled keys etc.): ${top.map(([p, n]) => `${(p || '(top)').slice(0, 48)} x${n}`).join(', ')}`);
    if (slow.length) console.log(`fuzz: ${slow.length} requests over 50 ms:\n  ${slow.slice(0, 10).join('\n  ')}`);
    for (const l of host.logs) expect(l[1]).not.toContain(KEY);
    expect(host.trapped, host.traps[0]?.message).toBe(false);
    expect(failures, failures.join('\n')).toEqual([]);
    expect(counts.bodies).toBe(BODIES);
  }, 300_000);
});
