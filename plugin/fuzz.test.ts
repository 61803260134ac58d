// Fuzzing the real filter through one VM: random and mutated bodies (byte flips, truncation, quotes,
// backslashes, \u fragments, deep nesting, invalid UTF-8, random chunking), JSON mostly, also
// multipart/form-data (OpenAI's transcription, batch upload, image edit and file upload shapes; stray
// delimiters, bare LFs, header and boundary damage) and urlencoded forms (escapes of every kind).
// Asserts: zero traps; every request is forwarded or answered with one of the documented JSON replies;
// no body carrying the deny literal in decodable prompt text is forwarded (for forms: in any field
// name or value, or text file, as undici's form parser and URLSearchParams read them).
//
// Seeded: FUZZ_SEED=<n> FUZZ_BODIES=<n> reproduces a run (or runs longer), e.g.
//   FUZZ_SEED=7 FUZZ_BODIES=250000 LLM_GUARD_SKIP_BUILD=1 npx vitest run --project fast plugin/fuzz.test.ts
// A failing body is saved whole (headers, bytes, chunking) to test/fixtures/fuzz/request-bodies/
// seed<seed>-<index>.json, named in the failure; every saved body is replayed first, through the same
// checks, so a committed one is a regression test. `make fuzz` runs 1,000,000 bodies over several
// seeds (tools/fuzz/run.mjs).

import { describe, expect, it } from 'vitest';
import type { FilterHost, HttpStream } from '../operator/src/wasm/index.js';
import { ANTHROPIC, ERROR_CODES, GEMINI, KEY, OPENAI, errorOf, loadGuard } from '../test/harness/llm.js';
import { DENY_LITERAL, SHAPES } from '../test/fixtures/llm-bodies.js';
import { seededRandom } from './testing/prng.mjs';
import { pick, spliceBytes } from './testing/fuzz_bytes.mjs';
import { FuzzFailures, replaySaved, savedFailures } from './testing/fuzz_fixtures.js';

const KIND = 'request-bodies';
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
  /** How the body is written: JSON (also sent as text/plain), or a form. */
  form: 'json' | 'multipart' | 'urlencoded';
  authority: string;
  path: string;
  body: Uint8Array;
  contentType: string;
  contentEncoding?: string;
  chunks: Uint8Array[];
  planted: boolean;
  mutated: boolean;
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

// ---------------------------------------------------------------- forms

/** Plain text (no JSON escapes), the literal planted raw when `plant`. */
function plainText(rnd: () => number, plant: boolean): string {
  const words = ['hello', 'summarize', 'the report', '账号信息', 'naïve', '😀', 'forbidden', 'secret', 'forbidden-', '-secret', 'line\nbreak', 'a+b', '100%', 'x&y=z'];
  const n = 1 + Math.floor(rnd() * 6);
  const out: string[] = [];
  for (let i = 0; i < n; i++) out.push(pick(rnd, words));
  if (plant) out.splice(Math.floor(rnd() * (out.length + 1)), 0, DENY_LITERAL);
  return out.join(' ');
}

const PNG_HEAD = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52];
const MP3_HEAD = [0xff, 0xfb, 0x90, 0x64, 0x00, 0x0f, 0xf0, 0x00];

function binaryBytes(rnd: () => number, head: number[], literal: boolean): Uint8Array {
  const n = Math.floor(rnd() * 64);
  const b = [...head];
  for (let i = 0; i < n; i++) b.push(Math.floor(rnd() * 256));
  if (literal) b.splice(head.length, 0, ...enc.encode(DENY_LITERAL)); // inside a binary file: not inspected
  return Uint8Array.from(b);
}

interface FormPart {
  name: string;
  value: string | Uint8Array;
  filename?: string;
  type?: string;
}

const BOUNDARIES = ['----formdata-undici-021474836471', '----WebKitFormBoundary7MA4YWxkTrZu0gW', 'b', 'a b:c', '=_Part_0_17.1'];

/** An OpenAI multipart request with the literal planted (raw) in one text place when `plant`. */
function multipartBody(rnd: () => number, plant: boolean): { path: string; parts: FormPart[] } {
  const kind = rnd();
  const where = plant ? Math.floor(rnd() * 4) : -1;
  if (kind < 0.3) {
    return {
      path: '/v1/audio/transcriptions',
      parts: [
        { name: 'file', filename: 'speech.mp3', type: 'audio/mpeg', value: binaryBytes(rnd, MP3_HEAD, rnd() < 0.2) },
        { name: 'model', value: 'gpt-4o-transcribe' },
        { name: 'prompt', value: plainText(rnd, where >= 0) },
        { name: 'language', value: 'en' },
      ],
    };
  }
  if (kind < 0.55) {
    const lines: string[] = [];
    const nLines = 1 + Math.floor(rnd() * 3);
    const plantLine = Math.floor(rnd() * nLines);
    for (let i = 0; i < nLines; i++) {
      // randomText is raw JSON string content: escapes are decoded by the JSON reading.
      const line = `{"custom_id":"request-${i}","method":"POST","url":"/v1/chat/completions","body":{"model":"gpt-4o-mini","messages":[{"role":"system","content":"${randomText(rnd, false)}"},{"role":"user","content":"${randomText(rnd, where >= 0 && i === plantLine)}"}],"max_tokens":100}}`;
      lines.push(line);
    }
    return {
      path: '/v1/files',
      parts: [
        { name: 'purpose', value: 'batch' },
        { name: 'file', filename: pick(rnd, ['batchinput.jsonl', 'input.ndjson']), type: pick(rnd, ['application/octet-stream', 'application/jsonl', undefined]), value: lines.join(rnd() < 0.2 ? '\r\n' : '\n') + '\n' },
      ],
    };
  }
  if (kind < 0.8) {
    return {
      path: '/v1/images/edits',
      parts: [
        { name: 'image', filename: 'otter.png', type: 'image/png', value: binaryBytes(rnd, PNG_HEAD, rnd() < 0.2) },
        { name: 'prompt', value: plainText(rnd, where >= 0) },
        { name: 'model', value: 'gpt-image-1' },
        { name: 'size', value: '1024x1024' },
      ],
    };
  }
  const file = pick(rnd, [
    { filename: 'notes.txt', type: 'text/plain' },
    { filename: 'notes.md', type: 'application/octet-stream' },
    { filename: 'data.csv', type: undefined },
    { filename: 'blob', type: 'application/octet-stream' },
  ]);
  return {
    path: '/v1/files',
    parts: [
      { name: 'purpose', value: 'user_data' },
      { name: where === 3 ? DENY_LITERAL : 'file', ...file, value: plainText(rnd, where >= 0 && where !== 3) },
    ],
  };
}

function encodeMultipart(rnd: () => number, parts: FormPart[]): { body: Uint8Array; contentType: string; boundary: string } {
  const boundary = pick(rnd, BOUNDARIES);
  const eol = rnd() < 0.1 ? '\n' : '\r\n';
  const chunks: Uint8Array[] = [];
  if (rnd() < 0.1) chunks.push(enc.encode(`preamble${eol}`));
  for (const p of parts) {
    let head = `--${boundary}${eol}Content-Disposition: form-data; name="${p.name}"`;
    if (p.filename !== undefined) head += `; filename="${p.filename}"`;
    head += eol;
    if (p.type !== undefined) head += `Content-Type: ${p.type}${eol}`;
    chunks.push(enc.encode(head + eol), typeof p.value === 'string' ? enc.encode(p.value) : p.value, enc.encode(eol));
  }
  chunks.push(enc.encode(`--${boundary}--${eol}`));
  const quoted = boundary.includes(' ') || boundary.includes(':') || rnd() < 0.3;
  const contentType = `multipart/form-data; ${rnd() < 0.2 ? 'charset=utf-8; ' : ''}boundary=${quoted ? `"${boundary}"` : boundary}`;
  return { body: Buffer.concat(chunks), contentType, boundary };
}

function mutateMultipart(rnd: () => number, body: Uint8Array, boundary: string): Uint8Array {
  const inserts = [
    `\r\n--${boundary}\r\n`, `\n--${boundary}\n`, `--${boundary}--`, `\r\n--${boundary}`, `--${boundary}  \r\n`, '\r\n', '\n', '\r',
    'Content-Disposition: form-data; name="x"\r\n\r\n', '; filename="a.png"', '; filename=""', "; filename*=UTF-8''a.txt",
    'Content-Type: image/png\r\n', 'Content-Type: application/octet-stream\r\n', 'Content-Transfer-Encoding: base64\r\n',
    ' \r\n\tfolded', '"', ';', '\\"', '--', `${DENY_LITERAL}`,
  ].map((x) => enc.encode(x));
  let b = body;
  const rounds = 1 + Math.floor(rnd() * 3);
  for (let k = 0; k < rounds; k++) {
    const at = Math.floor(rnd() * (b.length + 1));
    if (rnd() < 0.5) b = spliceBytes(b, at, rnd() < 0.3 ? 1 + Math.floor(rnd() * 8) : 0, pick(rnd, inserts));
    else b = mutate(rnd, b);
  }
  return b;
}

/** application/x-www-form-urlencoded, each character encoded one of the ways clients do. */
function urlencodedBody(rnd: () => number, plant: boolean): string {
  const fields: [string, string][] = [['model', 'gpt-3.5-turbo-instruct']];
  const inName = plant && rnd() < 0.2;
  fields.push([inName ? DENY_LITERAL : 'prompt', plainText(rnd, plant && !inName)]);
  if (rnd() < 0.5) fields.push(['max_tokens', '16']);
  const style = rnd();
  const encode = (s: string): string => {
    if (style < 0.4) return new URLSearchParams([['', s]]).toString().slice(1); // + for spaces
    if (style < 0.7) return encodeURIComponent(s);
    let out = ''; // every character escaped or not, at random
    for (const ch of s) {
      if (/[A-Za-z0-9]/.test(ch) && rnd() < 0.5) out += ch;
      else out += [...enc.encode(ch)].map((x) => `%${x.toString(16).padStart(2, '0')}`).map((e) => (rnd() < 0.5 ? e.toUpperCase() : e)).join('');
    }
    return out;
  };
  return fields.map(([k, v]) => `${encode(k)}=${encode(v)}`).join('&');
}

function mutateUrlencoded(rnd: () => number, body: Uint8Array): Uint8Array {
  const inserts = ['%', '%2', '%zz', '%%', '&', '=', '+', '%26', '%3D', '%2B', '%C3', '%E8%B4', '%FF', '&&', '=='].map((x) => enc.encode(x));
  let b = body;
  const rounds = 1 + Math.floor(rnd() * 3);
  for (let k = 0; k < rounds; k++) {
    const at = Math.floor(rnd() * (b.length + 1));
    if (rnd() < 0.6) b = spliceBytes(b, at, rnd() < 0.3 ? 1 + Math.floor(rnd() * 4) : 0, pick(rnd, inserts));
    else b = mutate(rnd, b);
  }
  return b;
}

function makeFormCase(rnd: () => number, form: 'multipart' | 'urlencoded'): Case {
  const plant = rnd() < 0.4;
  let body: Uint8Array;
  let contentType: string;
  let path = '/v1/completions';
  let mutated = false;
  if (form === 'multipart') {
    const m = multipartBody(rnd, plant);
    const e = encodeMultipart(rnd, m.parts);
    path = m.path;
    body = e.body;
    contentType = e.contentType;
    if (rnd() < 0.6) {
      body = mutateMultipart(rnd, body, e.boundary);
      mutated = true;
    }
    if (rnd() < 0.03) contentType = pick(rnd, ['multipart/form-data', 'multipart/form-data; boundary=other', 'multipart/form-data; boundary=""', `${contentType}; boundary=x`]);
  } else {
    body = enc.encode(urlencodedBody(rnd, plant));
    contentType = rnd() < 0.8 ? 'application/x-www-form-urlencoded' : 'application/x-www-form-urlencoded; charset=UTF-8';
    if (rnd() < 0.6) {
      body = mutateUrlencoded(rnd, body);
      mutated = true;
    }
  }
  return { form, authority: OPENAI, path, body, contentType, chunks: chunk(rnd, body), planted: plant, mutated };
}

const TEXT_NAME = /\.(txt|text|md|markdown|csv|tsv|json|jsonl|ndjson|xml|ya?ml|toml|html?|css|m?js|ts|py|go|rs|java|kt|c|h|cc|cpp|hpp|cs|rb|php|sh|sql|log|ini|cfg|conf|tex|rtf|srt|vtt)$/i;
const TEXT_TYPE = /^(text\/|application\/(json|jsonl|x-jsonlines|x-ndjson|ndjson|xml|csv|x-yaml|yaml|javascript|x-javascript|ecmascript|sql|x-sh|x-python|toml|rtf|x-tex|graphql|ld\+json|markdown)$)|\+(json|xml)$/i;

/** Every string inside a JSON text (values and member names); [] when it isn't JSON. */
function jsonStrings(text: string): string[] {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return [];
  }
  const out: string[] = [];
  const walk = (x: unknown) => {
    if (typeof x === 'string') out.push(x);
    else if (Array.isArray(x)) x.forEach(walk);
    else if (x && typeof x === 'object') for (const [k, e] of Object.entries(x)) {
      out.push(k);
      walk(e);
    }
  };
  walk(v);
  return out;
}

/** Text a file part holds, as the filter decides (docs: "What is inspected in a non-JSON body"); null for binary. */
function fileText(name: string, type: string, bytes: Uint8Array): string[] | null {
  const t = type.split(';')[0]!.trim().toLowerCase();
  let strict = true;
  try {
    strictUtf8.decode(bytes);
  } catch {
    strict = false;
  }
  // undici reports a file part without Content-Type as text/plain (as the filter reads it), and one
  // whose Content-Type isn't a media type as "" (the filter reads it like application/octet-stream).
  const textual = TEXT_TYPE.test(t) || TEXT_NAME.test(name) || ((t === '' || t === 'application/octet-stream') && strict);
  if (!textual) return null;
  const text = lossyUtf8.decode(bytes);
  return [text, ...jsonStrings(text), ...text.split('\n').flatMap((l) => jsonStrings(l))];
}

/** Where the deny literal is readable in a forwarded form body, as Node's own parsers read it ("" when nowhere). */
async function formLiteral(c: Case, sent: Uint8Array): Promise<string> {
  if (c.form === 'urlencoded') {
    for (const [k, v] of new URLSearchParams(lossyUtf8.decode(sent))) {
      if (k.includes(DENY_LITERAL)) return 'a field name';
      if (v.includes(DENY_LITERAL)) return 'a field value';
    }
    return '';
  }
  let fd: FormData;
  try {
    fd = await new Response(sent as Uint8Array<ArrayBuffer>, { headers: { 'content-type': c.contentType } }).formData();
  } catch {
    return ''; // undici can't read it either
  }
  for (const [name, value] of fd) {
    if (name.includes(DENY_LITERAL)) return 'a part name';
    if (typeof value === 'string') {
      if (value.includes(DENY_LITERAL)) return `field ${JSON.stringify(name.slice(0, 20))}`;
      continue;
    }
    if (value.name.includes(DENY_LITERAL)) return 'a file name';
    const texts = fileText(value.name, value.type, new Uint8Array(await value.arrayBuffer()));
    if (texts?.some((t) => t.includes(DENY_LITERAL))) return `file ${JSON.stringify(value.name.slice(0, 20))} (${value.type})`;
  }
  return '';
}

function makeCase(rnd: () => number): Case {
  const f = rnd();
  if (f < 0.07) return makeFormCase(rnd, 'multipart');
  if (f < 0.12) return makeFormCase(rnd, 'urlencoded');
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
  return { form: 'json', authority, path, body, contentType, contentEncoding, chunks: chunk(rnd, body), planted: plant, mutated };
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

// ---------------------------------------------------------------- one case

/** A case as saved under test/fixtures/fuzz/request-bodies/: everything its replay needs. */
interface SavedBody {
  form: Case['form'];
  authority: string;
  path: string;
  contentType: string;
  contentEncoding?: string;
  /** The whole body, and the sizes of the chunks it was sent in (their sum is its length). */
  body: Uint8Array;
  chunkSizes: number[];
  planted: boolean;
  mutated: boolean;
  /** The upstream answers (the host's default chat completion), or the client goes away before. */
  withResponse: boolean;
}

function toSaved(c: Case, withResponse: boolean): SavedBody {
  const { chunks, ...rest } = c;
  return { ...rest, chunkSizes: chunks.map((x) => x.length), withResponse };
}

function fromSaved(s: SavedBody): { c: Case; withResponse: boolean } {
  const { chunkSizes, withResponse, ...rest } = s;
  const chunks: Uint8Array[] = [];
  let at = 0;
  for (const n of chunkSizes) {
    chunks.push(s.body.subarray(at, at + n));
    at += n;
  }
  return { c: { ...rest, chunks }, withResponse };
}

function headersOf(c: Case): [string, string][] {
  const headers: [string, string][] = [
    [':method', 'POST'],
    [':scheme', 'http'],
    [':path', c.path],
    [':authority', c.authority],
    ['content-type', c.contentType],
  ];
  if (c.contentEncoding) headers.push(['content-encoding', c.contentEncoding]);
  return headers;
}

function newCounts() {
  return {
    bodies: 0,
    forwarded: 0,
    denied: 0,
    refused: {} as Record<string, number>,
    chunked: 0,
    mutated: 0,
    planted: 0,
    forwardedNotJson: 0,
    forms: { multipart: 0, urlencoded: 0 },
    formsForwarded: 0,
    textForwarded: 0,
    forwardedInvalidUtf8: 0,
    literalForwardedOutsidePrompt: 0,
    deniedWithoutLiteral: 0,
    invalidJsonOnValidJson: 0,
    outsidePaths: new Map<string, number>(),
  };
}
type Counts = ReturnType<typeof newCounts>;

const loadBodiesGuard = () =>
  loadGuard(
    { hosts: [OPENAI, ANTHROPIC, GEMINI], api_key: KEY, deny_patterns: [DENY_LITERAL], max_body_bytes: MAX_BODY, deny_status: DENY_STATUS },
    { maxLogRecords: 2000, recordEvents: false },
  );

/**
 * One request through the filter, and why what happened breaks a promise ([] when it doesn't).
 * `sampleParse`: also JSON.parse a refused mutated body to count invalid_json on parseable JSON
 * (a note, not a failure; JSON.parse is the slow part of the loop).
 */
async function checkBody(host: FilterHost, c: Case, withResponse: boolean, counts: Counts, sampleParse: boolean): Promise<{ reasons: string[]; r: HttpStream; ms: number }> {
  const reasons: string[] = [];
  counts.bodies++;
  if (c.chunks.length > 1) counts.chunked++;
  if (c.mutated) counts.mutated++;
  if (c.planted) counts.planted++;
  if (c.form !== 'json') counts.forms[c.form]++;
  const t0 = performance.now();
  const r = host.request({ headers: headersOf(c), chunks: c.chunks, response: withResponse ? undefined : false });
  const ms = performance.now() - t0;
  const done = () => ({ reasons, r, ms });
  for (const [, message] of r.logs) if (message.includes(KEY)) reasons.push('the key in a log line');

  if (host.trapped) {
    reasons.push(`TRAP: ${host.traps[0]!.message}`);
    return done();
  }
  if (r.pending && !r.forwarded && !r.localReply) {
    reasons.push('request neither forwarded nor answered');
    return done();
  }
  if (r.localReply) {
    const lr = r.localReply;
    const e = errorOf(r);
    const spec = e ? ERROR_CODES[e.code] : undefined;
    const want = spec?.status === 'deny' ? DENY_STATUS : spec?.status;
    if (lr.source !== 'plugin' || !e || !spec || want !== lr.status || e.type !== spec.type) {
      reasons.push(`undocumented reply ${lr.status} ${lr.body.slice(0, 200)}`);
      return done();
    }
    if (lr.body.includes(DENY_LITERAL) || lr.body.includes(KEY)) reasons.push('reply leaks the literal or the key');
    if (r.upstreamBody !== null) reasons.push('body bytes reached the upstream before a refusal');
    if (e.code === 'denied_by_pattern') {
      counts.denied++;
      if (c.form === 'json' && !lossyUtf8.decode(c.body).includes('forbidden') && !/\\u/i.test(lossyUtf8.decode(c.body))) counts.deniedWithoutLiteral++;
    } else {
      counts.refused[e.code] = (counts.refused[e.code] ?? 0) + 1;
      // Unmutated bodies are valid JSON by construction: invalid_json there is a parser bug.
      if (e.code === 'invalid_json' && (!c.mutated || sampleParse) && c.contentType.startsWith('application/json') && !c.contentEncoding) {
        const p = parseJson(c.body);
        if (p.ok && p.strictUtf8 && !/\\u[dD][89a-fA-F]/.test(lossyUtf8.decode(c.body)) && c.body.length <= MAX_BODY) counts.invalidJsonOnValidJson++;
      }
    }
    return done();
  }
  if (!r.forwarded) {
    reasons.push('stream ended without forwarding or a reply');
    return done();
  }
  counts.forwarded++;
  const sent = r.upstreamBody ?? new Uint8Array(0);
  if (Buffer.compare(Buffer.from(sent), Buffer.from(c.body)) !== 0 && !c.contentEncoding) reasons.push('forwarded body differs from what the client sent');
  if (r.upstreamHeader('authorization') !== `Bearer ${KEY}`) reasons.push('forwarded without the provider key');
  if (c.contentEncoding && c.contentEncoding !== 'identity' && sent.length > 0) {
    reasons.push('compressed body forwarded under on_uninspectable: refuse');
    return done();
  }
  if (c.form !== 'json') {
    counts.formsForwarded++;
    const where = await formLiteral(c, sent);
    if (where) reasons.push(`forwarded the deny literal in ${where} of a ${c.form} body`);
    return done();
  }
  const p = parseJson(sent);
  if (!p.strictUtf8) counts.forwardedInvalidUtf8++;
  if (!p.ok && sent.length > 0 && c.contentType === 'text/plain') {
    // Text bodies are inspected as text: the literal must not be readable in them.
    counts.textForwarded++;
    if (lossyUtf8.decode(sent).includes(DENY_LITERAL)) reasons.push('forwarded the deny literal in a text/plain body');
    return done();
  }
  if (!p.ok && sent.length > 0) {
    counts.forwardedNotJson++;
    reasons.push('forwarded a body that is not JSON under on_uninspectable: refuse');
    return done();
  }
  const places = literalPlaces(p.value);
  if (places.inPrompt) reasons.push('forwarded the deny literal in decodable prompt text');
  else if (places.anywhere) {
    counts.literalForwardedOutsidePrompt++;
    for (const path of places.paths) counts.outsidePaths.set(path, (counts.outsidePaths.get(path) ?? 0) + 1);
  }
  return done();
}

const describeCase = (c: Case, r: HttpStream) =>
  `[${c.authority}${c.path} ${c.contentType}${c.contentEncoding ? ` ${c.contentEncoding}` : ''}, ${c.body.length} bytes in ${c.chunks.length} chunks] ${JSON.stringify(r.summary()).slice(0, 600)}`;

describe('fuzz', () => {
  it(`saved request bodies (test/fixtures/fuzz/${KIND}/), then ${BODIES} random and mutated bodies through one VM (seed ${SEED})`, async () => {
    const failures = new FuzzFailures(KIND, SEED);
    // Saved inputs first, in a VM of their own (the random run's VM sees only its seed's cases).
    const saved = replaySaved() ? savedFailures<SavedBody>(KIND) : [];
    if (saved.length > 0) {
      const counts = newCounts();
      let host = await loadBodiesGuard();
      for (const s of saved) {
        const { c, withResponse } = fromSaved(s.input);
        const { reasons } = await checkBody(host, c, withResponse, counts, true);
        failures.replay(s, reasons);
        if (host.trapped) host = await loadBodiesGuard();
      }
    }

    const host = await loadBodiesGuard();
    const random = newCounts();
    const rnd = seededRandom(SEED);
    const slow: string[] = [];
    let inFilterMs = 0;
    const started = Date.now();
    for (let i = 0; i < BODIES; i++) {
      const c = makeCase(rnd);
      const withResponse = i % 10 === 0;
      const { reasons, r, ms } = await checkBody(host, c, withResponse, random, i % 8 === 0);
      inFilterMs += ms;
      if (ms > 50) slow.push(`#${i} ${ms.toFixed(0)} ms: ${c.body.length} bytes in ${c.chunks.length} chunks -> ${r.localReply ? r.localReply.status : 'forwarded'}`);
      failures.random(i, reasons, () => toSaved(c, withResponse), () => describeCase(c, r));
      if (host.trapped) break; // the VM is gone: the rest would only repeat it
    }

    const secs = (Date.now() - started) / 1000;
    console.log(
      `fuzz seed=${SEED}: ${failures.replayed} saved inputs replayed (${failures.replayFailures} failing); ${random.bodies} bodies in ${secs.toFixed(1)} s (${Math.round(random.bodies / secs)}/s); ` +
        `forwarded ${random.forwarded}, denied ${random.denied}, refused ${JSON.stringify(random.refused)}; ` +
        `chunked ${random.chunked}, mutated ${random.mutated}, planted ${random.planted}; forms ${JSON.stringify(random.forms)}, ` +
        `${random.formsForwarded} forwarded; text/plain forwarded ${random.textForwarded}; ${(inFilterMs / 1000).toFixed(1)} s in requests`,
    );
    console.log(
      `fuzz notes: forwarded-not-JSON ${random.forwardedNotJson}, forwarded-invalid-UTF-8 ${random.forwardedInvalidUtf8}, ` +
        `literal forwarded outside prompt places ${random.literalForwardedOutsidePrompt}, ` +
        `denied without a visible literal ${random.deniedWithoutLiteral}, invalid_json on JSON.parse-able bodies ${random.invalidJsonOnValidJson}`,
    );
    const top = [...random.outsidePaths].sort((a, b) => b[1] - a[1]).slice(0, 8);
    if (top.length) console.log(`fuzz: literal forwarded at non-prompt paths (mangled keys etc.): ${top.map(([p, n]) => `${(p || '(top)').slice(0, 48)} x${n}`).join(', ')}`);
    if (slow.length) console.log(`fuzz: ${slow.length} requests over 50 ms:\n  ${slow.slice(0, 10).join('\n  ')}`);
    failures.report(random.bodies);
    for (const l of host.logs) expect(l[1]).not.toContain(KEY);
    expect(failures.messages, failures.messages.join('\n')).toEqual([]);
    expect(host.trapped, host.traps[0]?.message).toBe(false);
    expect(random.bodies).toBe(BODIES);
  }, Math.max(300_000, BODIES * 3)); // ~3,500 bodies a second on one core; room for slower machines
});
