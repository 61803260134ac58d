// The streamed replies of the bench: OpenAI Chat Completions chunk streams of about a given size,
// made by the local-mesh kit's own builder (the mock provider's event sequence: a role chunk, one
// chunk per content delta, a finish chunk, a usage chunk, [DONE]) from seeded prose, so every run
// streams the same text. Small events are OpenAI's own (deltas of 1-8 characters, ~250 bytes per
// event with `obfuscation`); large ones carry ~8 KiB of text each.
import { buildStream, splitText } from '../../build/operator/localmesh/index.js';
import { seededRandom } from '../../plugin/testing/prng.mjs';

export const MODEL = 'gpt-4o-mini';
/** What the request asks for, so the stream ends with a usage chunk (the filter reads it). */
export const STREAM_OPTIONS = { include_usage: true };

const WORDS = (
  'the a and or but so because when after if then this that it they we you our team service request ' +
  'latency budget plan draft review summary report customer order delivery schedule meeting notes owner ' +
  'release rollout migration database cache queue worker cluster region traffic metric alert incident ' +
  'explain compare suggest improve rewrite outline steps example should could would might will can need'
).split(' ');

/** About `chars` characters of prose from a seeded generator. @param {number} chars @param {number} seed */
function prose(chars, seed) {
  const rand = seededRandom(seed);
  /** @type {string[]} */
  const out = [];
  let n = 0;
  while (n < chars) {
    const w = WORDS[Math.floor(rand() * WORDS.length)] + (rand() < 0.08 ? '. ' : ' ');
    out.push(w);
    n += w.length;
  }
  return out.join('');
}

/**
 * @typedef {object} SseStream
 * @property {string} id
 * @property {Buffer} bytes          the whole response body
 * @property {number} events
 * @property {number} completionTokens  what its usage chunk reports (one a delta)
 * @property {number} promptTokens
 */

/**
 * A chat chunk stream of at least `bytes` bytes (a little more: whole events), its deltas
 * `minChars..maxChars` characters each.
 * @param {string} id @param {number} bytes @param {{minChars: number, maxChars: number}} deltas
 * @returns {SseStream}
 */
export function chatStream(id, bytes, deltas) {
  const avgDelta = (deltas.minChars + deltas.maxChars) / 2;
  // A chunk is its delta plus ~240 bytes of envelope; one pass to estimate, one to size.
  let chars = Math.max(64, Math.ceil((bytes / (avgDelta + 240)) * avgDelta));
  for (let tries = 0; ; ) {
    const pieces = splitText(prose(chars, 7), { ...deltas, seed: 11 });
    const promptTokens = 42;
    const stream = buildStream('openai-chat', {
      deltas: pieces, model: MODEL, created: 1700000000, promptTokens, completionTokens: pieces.length, body: { stream: true, stream_options: STREAM_OPTIONS },
    });
    const buf = Buffer.from(stream.events.join(''));
    if (buf.length >= bytes && (buf.length <= bytes * 1.02 || tries >= 4)) return { id, bytes: buf, events: stream.events.length, completionTokens: pieces.length, promptTokens };
    chars = Math.ceil(chars * (bytes / buf.length) * (buf.length < bytes ? 1.01 : 1.005)) + 16;
    tries++;
  }
}

/**
 * Cuts a stream into writes of at most `maxBytes` (whole events, an event larger than that alone),
 * as a fast upstream's socket writes look after the kernel grouped its per-event flushes.
 * `maxBytes` 0: one write per event.
 * @param {Buffer} bytes @param {number} maxBytes
 */
export function writesOf(bytes, maxBytes) {
  /** @type {Buffer[]} */
  const out = [];
  let start = 0;
  let end = 0;
  while (end < bytes.length) {
    const next = bytes.indexOf('\n\n', end);
    const eventEnd = next < 0 ? bytes.length : next + 2;
    if (end > start && eventEnd - start > maxBytes) {
      out.push(bytes.subarray(start, end));
      start = end;
    }
    end = eventEnd;
  }
  if (end > start) out.push(bytes.subarray(start, end));
  return out;
}
