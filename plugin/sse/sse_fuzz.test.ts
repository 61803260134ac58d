// Fuzzing the SSE parser through its probe: provider streams mutated (line ends swapped, bytes
// flipped, tokens, BOMs, NULs, ill-formed UTF-8, lone CRs, huge lines spliced in), and random
// bytes, under default and tiny limits, each parsed whole and cut at random. Asserts: zero traps;
// the items' raw bytes are the input exactly; each byte read once; bounded copying and bounded
// memory; the same items however the input was cut; and, when no limit was hit, the events the
// WHATWG reference reading gives.
//
// Seeded: FUZZ_SEED=<n> FUZZ_SSE_INPUTS=<n> reproduces a run (or runs longer), e.g.
//   FUZZ_SEED=7 FUZZ_SSE_INPUTS=250000 LLM_GUARD_SKIP_BUILD=1 npx vitest run --project fast plugin/sse/sse_fuzz.test.ts
// A failing input is saved whole (bytes, limits, cuts) to test/fixtures/fuzz/sse/seed<seed>-<index>.json,
// named in the failure; every saved input is replayed first, through the same checks, so a
// committed one is a regression test. `make fuzz` runs 1,000,000 inputs over several seeds
// (tools/fuzz/run.mjs).
import { beforeAll, describe, expect, it } from 'vitest';
import { seededRandom } from '../testing/prng.mjs';
import { pick, spliceBytes } from '../testing/fuzz_bytes.mjs';
import { type Limits, type ParseResult, type SseProbe, blocksOf, chunkingInvariant, loadSseProbe, parseSse, referenceOf } from './testdata/harness.mjs';
import { PROVIDER_STREAMS } from './testdata/provider_streams.mjs';
import { FuzzFailures, replaySaved, savedFailures } from '../testing/fuzz_fixtures.js';

const KIND = 'sse';
const SEED = Number(process.env.FUZZ_SEED ?? 20240607);
const INPUTS = Number(process.env.FUZZ_SSE_INPUTS ?? 20_000);
/** The parser's default limits (plugin/sse/parser.ts SseLimits). */
const DEFAULTS = { line: 64 * 1024, data: 1024 * 1024, event: 2 * 1024 * 1024 };
/** A ByteBuffer's smallest allocation. */
const MIN_CAPACITY = 64;

let probe: SseProbe;

beforeAll(async () => {
  probe = await loadSseProbe();
}, 300_000);

const enc = new TextEncoder();
const STREAMS = PROVIDER_STREAMS.map((s) => enc.encode(s.stream));
const TOKENS = [
  '\r', '\n', '\r\n', '\n\n', '\r\r', '\r\n\r\n', ':', ' ', ': ping\n', 'data:', 'data: ', 'data', 'event: x\n', 'event:', 'id: 7\n',
  'id', 'retry: 1500\n', 'retry: 1x\n', '{"delta":"', '[DONE]', 'é', '账', '😀',
].map((t) => enc.encode(t));
const BYTES = [[0x00], [0xef, 0xbb, 0xbf], [0xef, 0xbb], [0xff], [0xc3], [0xc0, 0xaf], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80], [0xe2, 0x82], [0x80], [0x0d]].map(
  (b) => Uint8Array.from(b),
);

/** Every LF (and the CR of a CRLF) rewritten as CRLF, CR or LF: one style for all, or one per line. */
function swapLineEnds(rnd: () => number, b: Uint8Array): Uint8Array {
  const style = Math.floor(rnd() * 4);
  const out: number[] = [];
  for (let i = 0; i < b.length; i++) {
    const c = b[i]!;
    if (c === 0x0d && b[i + 1] === 0x0a) continue;
    if (c !== 0x0a) {
      out.push(c);
      continue;
    }
    const s = style === 3 ? Math.floor(rnd() * 3) : style;
    if (s === 0) out.push(0x0a);
    else if (s === 1) out.push(0x0d, 0x0a);
    else out.push(0x0d);
  }
  return Uint8Array.from(out);
}

function mutate(rnd: () => number, input: Uint8Array, huge: boolean): Uint8Array {
  let b = input;
  const rounds = Math.floor(rnd() * 5);
  for (let k = 0; k < rounds; k++) {
    const m = rnd();
    const at = Math.floor(rnd() * (b.length + 1));
    if (m < 0.2) {
      if (b.length) {
        b = b.slice();
        const i = Math.min(at, b.length - 1);
        b[i] = b[i]! ^ (1 << Math.floor(rnd() * 8));
      }
    } else if (m < 0.3) {
      b = b.subarray(0, at);
    } else if (m < 0.55) {
      b = spliceBytes(b, at, 0, pick(rnd, TOKENS));
    } else if (m < 0.7) {
      b = spliceBytes(b, at, 0, pick(rnd, BYTES));
    } else if (m < 0.8) {
      b = spliceBytes(b, at, Math.floor(rnd() * 24), new Uint8Array(0));
    } else if (m < 0.9) {
      const len = Math.floor(rnd() * 64);
      b = spliceBytes(b, at, 0, b.slice(Math.max(0, at - len), at));
    } else if (huge) {
      b = spliceBytes(b, at, 0, new Uint8Array(DEFAULTS.line - 64 + Math.floor(rnd() * 128)).fill(pick(rnd, [0x78, 0x3a, 0x00, 0xff])));
    }
  }
  return b;
}

/** A provider stream, maybe only part of it or two of them end to end, line ends swapped, mutated. */
function mutatedStream(rnd: () => number, huge: boolean): Uint8Array {
  let b: Uint8Array = pick(rnd, STREAMS);
  if (rnd() < 0.5) {
    const from = Math.floor(rnd() * b.length);
    b = b.subarray(from, from + 64 + Math.floor(rnd() * 1024));
  }
  if (rnd() < 0.1) {
    const other = pick(rnd, STREAMS);
    const joined = new Uint8Array(b.length + other.length);
    joined.set(b);
    joined.set(other, b.length);
    b = joined;
  }
  if (rnd() < 0.4) b = swapLineEnds(rnd, b);
  return mutate(rnd, b, huge);
}

/** Bytes drawn mostly from what SSE gives meaning to. */
function randomBytes(rnd: () => number): Uint8Array {
  const out: number[] = [];
  const n = Math.floor(rnd() * 400);
  const alphabet = [0x0d, 0x0a, 0x3a, 0x20, 0x64, 0x61, 0x74, 0x00, 0xef, 0xbb, 0xbf, 0x69];
  while (out.length < n) {
    const r = rnd();
    if (r < 0.5) out.push(pick(rnd, alphabet));
    else if (r < 0.7) out.push(...pick(rnd, TOKENS));
    else if (r < 0.8) out.push(...pick(rnd, BYTES));
    else out.push(Math.floor(rnd() * 256));
  }
  return Uint8Array.from(out);
}

function randomLimits(rnd: () => number): Limits {
  if (rnd() < 0.7) return {};
  return { line: 1 + Math.floor(rnd() * 200), data: 1 + Math.floor(rnd() * 600), event: 1 + Math.floor(rnd() * 1200) };
}

function randomCuts(rnd: () => number, length: number): number[] {
  if (length < 64 && rnd() < 0.2) return Array.from({ length }, (_, i) => i);
  const n = Math.floor(rnd() * 10);
  return Array.from({ length: n }, () => Math.floor(rnd() * (length + 1))).sort((a, b) => a - b);
}

function retainedBound(l: Limits): number {
  return Math.max(MIN_CAPACITY, l.line ?? DEFAULTS.line) + Math.max(MIN_CAPACITY, l.data ?? DEFAULTS.data) + Math.max(MIN_CAPACITY, l.event ?? DEFAULTS.event);
}

/** Why `r` breaks a property the parser promises for every input, or null. */
function brokenPromise(r: ParseResult, length: number, limits: Limits): string | null {
  if (!r.rawOk) return 'raw bytes do not reproduce the input';
  // The loop stops at the byte that broke a limit (finish() may break one at the end: offset = length).
  const read = r.error === 'none' ? length : Math.min(r.errorOffset + 1, length);
  if (r.examined !== read) return `examined ${r.examined} bytes, not ${read}`;
  if (r.copied > 8 * length + MIN_CAPACITY) return `copied ${r.copied} bytes for ${length}`;
  if (r.maxRetained > retainedBound(limits)) return `retained ${r.maxRetained} bytes, over ${retainedBound(limits)}`;
  if (r.error !== 'none' && (r.errorOffset < 0 || r.errorOffset > length)) return `error offset ${r.errorOffset} outside the input`;
  return null;
}

/** An input as saved under test/fixtures/fuzz/sse/: everything its replay needs. */
interface SseCase {
  input: Uint8Array;
  limits: Limits;
  /** Where the input is cut for the second parse. */
  cuts: number[];
}

function newCounts() {
  return { inputs: 0, bytes: 0, cut: 0, limited: 0, errors: {} as Record<string, number>, incomplete: 0, events: 0, traps: 0 };
}

/** One input parsed whole and cut: why the results break a promise ([] when they don't). */
function checkSse(c: SseCase, counts: ReturnType<typeof newCounts>): string[] {
  const { input, limits, cuts } = c;
  counts.inputs++;
  counts.bytes += input.length;
  if (cuts.length) counts.cut++;
  if (limits.line) counts.limited++;
  let whole: ParseResult;
  let cut: ParseResult;
  try {
    whole = parseSse(probe, input, [], limits);
    cut = parseSse(probe, input, cuts, limits);
  } catch (e) {
    counts.traps++;
    return [`trap: ${(e as Error).message}`];
  }
  const broken = brokenPromise(whole, input.length, limits) ?? brokenPromise(cut, input.length, limits);
  if (broken) return [broken];
  if (JSON.stringify(chunkingInvariant(cut)) !== JSON.stringify(chunkingInvariant(whole))) return ['cutting changed the items'];
  counts.errors[whole.error] = (counts.errors[whole.error] ?? 0) + 1;
  counts.events += whole.items.filter((it) => it.kind === 'event').length;
  if (whole.items.some((it) => it.kind === 'incomplete')) counts.incomplete++;
  if (whole.error === 'none' && JSON.stringify(blocksOf(whole.items)) !== JSON.stringify(referenceOf(input))) return ['events differ from the reference reading'];
  return [];
}

describe('fuzz', () => {
  it(`saved inputs (test/fixtures/fuzz/${KIND}/), then ${INPUTS} mutated provider streams and random bytes, whole and cut (seed ${SEED})`, () => {
    const failures = new FuzzFailures(KIND, SEED);
    const counts = newCounts();
    if (replaySaved()) for (const saved of savedFailures<SseCase>(KIND)) failures.replay(saved, checkSse(saved.input, newCounts()));

    const rnd = seededRandom(SEED);
    const started = Date.now();
    for (let i = 0; i < INPUTS; i++) {
      const kind = rnd();
      const input = kind < 0.75 ? mutatedStream(rnd, rnd() < 0.01) : randomBytes(rnd);
      const limits = randomLimits(rnd);
      const c: SseCase = { input, limits, cuts: randomCuts(rnd, input.length) };
      failures.random(i, checkSse(c, counts), () => c, () => `limits ${JSON.stringify(limits)}, cuts ${JSON.stringify(c.cuts)}, ${input.length} bytes`);
      if (counts.traps > 0) break; // the probe's state is undefined after a trap
    }
    console.log(`sse fuzz: seed ${SEED}, ${failures.replayed} saved inputs replayed (${failures.replayFailures} failing); ${counts.inputs} inputs (${counts.bytes} bytes, ${counts.cut} cut, ${counts.limited} under tiny limits) in ${Date.now() - started} ms: ` +
      `${counts.events} events, ${counts.incomplete} with an incomplete tail, errors ${JSON.stringify(counts.errors)}, ${counts.traps} traps`);
    failures.report(counts.inputs);
    expect(failures.messages, failures.messages.join('\n')).toEqual([]);
    expect(counts.inputs).toBe(INPUTS);
  }, Math.max(120_000, INPUTS * 2)); // ~5,000 inputs a second on one core; room for slower machines
});
