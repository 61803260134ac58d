// The SSE probe (plugin/testing/sse_probe.ts) for the tests: typed, its JSON parsed, and the
// comparisons the tests share (chunking invariance, the reference reading).
import { loadSseProbe as load } from '../../testing/probes.mjs';
import { referenceBlocks } from './reference.mjs';

/**
 * @typedef {object} Item
 * @property {'event' | 'nodata' | 'comment' | 'incomplete' | 'unparsed'} kind
 * @property {number} start
 * @property {number} end
 * @property {'lf' | 'crlf' | 'cr'} lineEnd
 * @property {string} [event]
 * @property {string} [data]
 * @property {number} [dataLines]
 * @property {boolean} [hasId]
 * @property {string} [id]
 * @property {string} [retry]
 * @property {string} [raw]   bytes as char codes 0-255
 */

/**
 * @typedef {object} ParseResult
 * @property {Item[]} items
 * @property {'none' | 'line_too_long' | 'data_too_large' | 'event_too_large'} error
 * @property {number} errorOffset
 * @property {number} examined
 * @property {number} copied
 * @property {number} maxRetained
 * @property {number} retainedAfter
 * @property {boolean} rawOk   the items' raw bytes, in order, are the input exactly
 */

/**
 * @typedef {object} Limits   bytes; absent: the parser's defaults
 * @property {number} [line]
 * @property {number} [data]
 * @property {number} [event]
 */

/**
 * @typedef {object} SseProbe
 * @property {(input: Uint8Array, cuts: Int32Array, maxLine: number, maxData: number, maxEvent: number, withRaw: boolean) => string} parse
 * @property {(maxLine: number, maxData: number, maxEvent: number) => void} open
 * @property {(chunk: Uint8Array) => string} feed
 * @property {(chunk: Uint8Array) => number} feedBytewise
 * @property {() => string} finish
 * @property {() => string} state
 * @property {(event: string, data: string, hasId: boolean, id: string, retry: string, lineEnd: number) => Uint8Array} encode
 * @property {(input: Uint8Array) => Uint8Array} reencode
 */

const utf8 = new TextEncoder();
const ascii = new TextDecoder('latin1');

/**
 * The probe, with its JSON answers as strings (it returns them as ASCII bytes: much faster to
 * cross than strings).
 * @returns {Promise<SseProbe>}
 */
export async function loadSseProbe() {
  const raw = await load();
  /** @param {Uint8Array} b */
  const text = (b) => ascii.decode(b);
  return {
    parse: (input, cuts, maxLine, maxData, maxEvent, withRaw) => text(raw.parse(input, cuts, maxLine, maxData, maxEvent, withRaw)),
    open: (maxLine, maxData, maxEvent) => raw.open(maxLine, maxData, maxEvent),
    feed: (chunk) => text(raw.feed(chunk)),
    feedBytewise: (chunk) => raw.feedBytewise(chunk),
    finish: () => text(raw.finish()),
    state: () => raw.state(),
    encode: (event, data, hasId, id, retry, lineEnd) => raw.encode(event, data, hasId, id, retry, lineEnd),
    reencode: (input) => raw.reencode(input),
  };
}

/** @param {string | Uint8Array} input */
export function bytesOf(input) {
  return typeof input === 'string' ? utf8.encode(input) : input;
}

/** Each char code one byte: writes invalid UTF-8, lone CRs and NULs literally. @param {string} s */
export function latin1(s) {
  return Uint8Array.from(s, (c) => c.charCodeAt(0));
}

/**
 * Parses `input` fed in pieces cut at `cuts`, then finish().
 * @param {SseProbe} probe
 * @param {string | Uint8Array} input
 * @param {number[]} [cuts]
 * @param {Limits} [limits]
 * @param {boolean} [withRaw]
 * @returns {ParseResult}
 */
export function parseSse(probe, input, cuts = [], limits = {}, withRaw = false) {
  const json = probe.parse(bytesOf(input), Int32Array.from(cuts), limits.line ?? -1, limits.data ?? -1, limits.event ?? -1, withRaw);
  return JSON.parse(json);
}

/**
 * What must not depend on where the stream was cut: the items (Unparsed ones are cut with the
 * chunks), the error and where it happened.
 * @param {ParseResult} r
 */
export function chunkingInvariant(r) {
  return { items: r.items.filter((i) => i.kind !== 'unparsed'), error: r.error, errorOffset: r.errorOffset };
}

/**
 * The parser's blocks (Event and NoData items) in the reference's shape.
 * @param {Item[]} items
 */
export function blocksOf(items) {
  return items
    .filter((i) => i.kind === 'event' || i.kind === 'nodata')
    .map((i) => ({
      dispatched: i.kind === 'event',
      event: i.event,
      data: i.kind === 'event' ? i.data : '',
      hasId: i.hasId,
      id: i.id,
      retry: i.retry,
    }));
}

/**
 * The reference's blocks, data left out of those not dispatched (the parser's NoData has none).
 * @param {Uint8Array} bytes
 */
export function referenceOf(bytes) {
  return referenceBlocks(bytes).map((b) => ({ ...b, data: b.dispatched ? b.data : '' }));
}
