// plugin/sse: the incremental Server-Sent Events parser and the writer, through the
// plugin/testing/sse_probe.ts probe. The fuzz is in sse_fuzz.test.ts.
import { beforeAll, describe, expect, it } from 'vitest';
import { seededRandom } from '../testing/prng.mjs';
import {
  type Item, type SseProbe, blocksOf, bytesOf, chunkingInvariant, latin1, loadSseProbe, parseSse, referenceOf,
} from './testdata/harness.mjs';
import { PROVIDER_STREAMS } from './testdata/provider_streams.mjs';

let probe: SseProbe;

beforeAll(async () => {
  probe = await loadSseProbe();
}, 300_000);

const decode = (b: Uint8Array) => new TextDecoder().decode(b);

/** The dispatched events, as a browser's EventSource sees them (type, data, lastEventId). */
function dispatched(input: string | Uint8Array, cuts: number[] = []) {
  const r = parseSse(probe, input, cuts);
  expect(r.rawOk).toBe(true);
  expect(r.error).toBe('none');
  let lastId = '';
  const out: { type: string; data: string; lastEventId: string }[] = [];
  for (const i of r.items) {
    if (i.kind !== 'event' && i.kind !== 'nodata') continue;
    if (i.hasId) lastId = i.id!;
    if (i.kind === 'event') out.push({ type: i.event || 'message', data: i.data!, lastEventId: lastId });
  }
  return out;
}

function kinds(items: Item[]) {
  return items.map((i) => i.kind);
}

/** The parse of `input` with its raw bytes, checked to reproduce the input. */
function parsed(input: string | Uint8Array, cuts: number[] = [], limits = {}) {
  const r = parseSse(probe, input, cuts, limits, true);
  expect(r.rawOk).toBe(true);
  return r;
}

describe('the WHATWG examples (HTML, 9.2.6 Interpreting an event stream)', () => {
  it('joins data lines with LF', () => {
    expect(dispatched('data: YHOO\ndata: +2\ndata: 10\n\n')).toEqual([{ type: 'message', data: 'YHOO\n+2\n10', lastEventId: '' }]);
  });

  it('a comment, ids (an empty one resets), no space after the colon, and an unterminated event discarded', () => {
    const stream = ': test stream\n\ndata: first event\nid: 1\n\ndata:second event\nid\n\ndata:  third event\n';
    expect(dispatched(stream)).toEqual([
      { type: 'message', data: 'first event', lastEventId: '1' },
      { type: 'message', data: 'second event', lastEventId: '' },
    ]);
    const r = parsed(stream);
    expect(kinds(r.items)).toEqual(['comment', 'nodata', 'event', 'event', 'incomplete']);
    expect(r.items[4]).toMatchObject({ data: ' third event', raw: 'data:  third event\n' });
  });

  it('an empty data line dispatches an empty event; two make one LF; a trailing `data:` is discarded', () => {
    expect(dispatched('data\n\ndata\ndata\n\ndata:')).toEqual([
      { type: 'message', data: '', lastEventId: '' },
      { type: 'message', data: '\n', lastEventId: '' },
    ]);
  });

  it('one space after the colon is dropped, or none', () => {
    expect(dispatched('data:test\n\ndata: test\n\n').map((e) => e.data)).toEqual(['test', 'test']);
  });

  it('event types', () => {
    const stream = 'event: add\ndata: 73857293\n\nevent: remove\ndata: 2153\n\nevent: add\ndata: 113411\n\n';
    expect(dispatched(stream).map((e) => [e.type, e.data])).toEqual([['add', '73857293'], ['remove', '2153'], ['add', '113411']]);
  });
});

describe('lines', () => {
  const events = [
    { type: 'message', data: 'a\nb', lastEventId: '' },
    { type: 'x', data: 'c', lastEventId: '7' },
  ];

  it.each([
    ['LF', 'data: a\ndata: b\n\nevent: x\nid: 7\ndata: c\n\n'],
    ['CRLF', 'data: a\r\ndata: b\r\n\r\nevent: x\r\nid: 7\r\ndata: c\r\n\r\n'],
    ['CR', 'data: a\rdata: b\r\revent: x\rid: 7\rdata: c\r\r'],
    ['mixed', 'data: a\rdata: b\r\n\nevent: x\nid: 7\r\ndata: c\r\r\n'],
  ])('end with %s alike', (_name, stream) => {
    expect(dispatched(stream)).toEqual(events);
  });

  it('a CR ending one chunk and an LF starting the next are one line end, not two', () => {
    expect(dispatched('data: a\r\ndata: b\r\n\r\n', [8])).toEqual([{ type: 'message', data: 'a\nb', lastEventId: '' }]);
    const r = parsed('data: a\r\n\r\ndata: b\r\n\r\n', [10]);
    expect(r.items.map((i) => [i.kind, i.raw, i.lineEnd])).toEqual([
      ['event', 'data: a\r\n\r\n', 'crlf'],
      ['event', 'data: b\r\n\r\n', 'crlf'],
    ]);
  });

  it('an event a CR ends is reported once the next byte shows it is no CRLF, or at the end', () => {
    probe.open(-1, -1, -1);
    expect(JSON.parse(probe.feed(bytesOf('data: a\r\r')))).toEqual([]);
    const next: Item[] = JSON.parse(probe.feed(bytesOf('data: b')));
    expect(next.map((i) => [i.kind, i.raw, i.lineEnd])).toEqual([['event', 'data: a\r\r', 'cr']]);
    expect(JSON.parse(probe.feed(bytesOf('\r\r')))).toEqual([]);
    const last: Item[] = JSON.parse(probe.finish());
    expect(last.map((i) => [i.kind, i.data, i.raw, i.lineEnd])).toEqual([['event', 'b', 'data: b\r\r', 'cr']]);
  });

  it('a blank line before any field ends an empty item; several blank lines each one', () => {
    const r = parsed('\n\r\n\rdata: x\n\n');
    expect(kinds(r.items)).toEqual(['nodata', 'nodata', 'nodata', 'event']);
    expect(r.items.map((i) => i.lineEnd)).toEqual(['lf', 'crlf', 'cr', 'lf']);
  });
});

describe('the byte order mark', () => {
  it('one leading BOM is skipped, and kept in the raw bytes', () => {
    const r = parsed('\uFEFFdata: x\n\n');
    expect(r.items).toMatchObject([{ kind: 'event', data: 'x', raw: '\xEF\xBB\xBFdata: x\n\n' }]);
  });

  it('however it is cut', () => {
    for (const cuts of [[1], [2], [1, 2], [3], [2, 5]]) expect(dispatched('\uFEFFdata: x\n\n', cuts)).toEqual([{ type: 'message', data: 'x', lastEventId: '' }]);
  });

  it('a second BOM is part of the field name', () => {
    expect(dispatched('\uFEFF\uFEFFdata: x\n\n')).toEqual([]);
  });

  it('a BOM later in the stream is text', () => {
    expect(dispatched('data: x\n\n\uFEFFdata: y\n\ndata: \uFEFFz\n\n').map((e) => e.data)).toEqual(['x', '\uFEFFz']);
  });

  it('the start of a BOM that turns out not to be one is text of the first line', () => {
    for (const cuts of [[], [1], [2]]) {
      const r = parsed(latin1('\xEF\xBBdata: x\n\ndata: y\n\n'), cuts);
      expect(blocksOf(r.items).map((b) => b.data)).toEqual(['', 'y']);
    }
    expect(parsed(latin1('\xEF\xBB')).items).toMatchObject([{ kind: 'incomplete', raw: '\xEF\xBB', dataLines: 0 }]);
    expect(parsed(latin1('\xEF\n\n')).items.map((i) => i.kind)).toEqual(['nodata']);
  });
});

describe('comments', () => {
  it('a comment before any field is an item of its own (keep-alives pass at once)', () => {
    const r = parsed(': ping\n\n: hi\ndata: x\n\n');
    expect(r.items.map((i) => [i.kind, i.raw])).toEqual([
      ['comment', ': ping\n'],
      ['nodata', '\n'],
      ['comment', ': hi\n'],
      ['event', 'data: x\n\n'],
    ]);
  });

  it('a comment after a field stays in its event, as sent', () => {
    const r = parsed('data: a\n: note\ndata: b\n\n');
    expect(r.items).toMatchObject([{ kind: 'event', data: 'a\nb', raw: 'data: a\n: note\ndata: b\n\n' }]);
  });

  it('a bare colon and a comment holding a colon', () => {
    expect(kinds(parsed(':\n:a:b\n\n').items)).toEqual(['comment', 'comment', 'nodata']);
  });
});

describe('fields', () => {
  it('a field without a colon has an empty value', () => {
    expect(parsed('event\ndata\n\n').items).toMatchObject([{ kind: 'event', event: '', data: '' }]);
  });

  it('only one space is dropped; tabs are kept', () => {
    expect(dispatched('data:  two\n\ndata:\tt\n\n').map((e) => e.data)).toEqual([' two', '\tt']);
  });

  it('names are exact: unknown ones, other cases, spaces and NULs are ignored', () => {
    const stream = 'Data: a\ndata : b\ndat: c\ndataa: d\nfoo: e\nda\x00ta: f\ndata\x00: g\nevent2: h\n\n';
    const r = parsed(latin1(stream));
    expect(r.items).toMatchObject([{ kind: 'nodata', event: '', dataLines: 0 }]);
    expect(r.items[0]!.raw).toBe(stream);
  });

  it('the last `event` wins; an empty one means message', () => {
    expect(dispatched('event: a\nevent: b\ndata: x\n\nevent: a\nevent:\ndata: y\n\n').map((e) => e.type)).toEqual(['b', 'message']);
  });

  it('an id holding NUL is ignored; the id before it stays', () => {
    expect(parsed(latin1('id: 1\nid: 2\x00\ndata: x\n\n')).items).toMatchObject([{ hasId: true, id: '1' }]);
    expect(parsed(latin1('id: \x00\ndata: x\n\n')).items).toMatchObject([{ hasId: false, id: '' }]);
  });

  it('the last event ID carries over events without an id', () => {
    expect(dispatched('id: 5\ndata: a\n\ndata: b\n\nid\ndata: c\n\n').map((e) => e.lastEventId)).toEqual(['5', '5', '']);
  });

  it('retry: ASCII digits only', () => {
    const r = parsed('retry: 1000\n\nretry: 10a\n\nretry: -1\n\nretry:\n\nretry: 5\nretry: x\n\nretry:  7\n\nretry: 0012\n\n');
    expect(r.items.map((i) => i.retry)).toEqual(['1000', '', '', '', '5', '', '0012']);
  });

  it('ill-formed UTF-8 reads as U+FFFD, one per maximal ill-formed part, and never hides the ASCII after it', () => {
    expect(parsed(latin1('data: a\xFFb\xE2\x82c\xF0\x9F\x98\x80\n\n')).items).toMatchObject([{ data: 'a\uFFFDb\uFFFDc😀' }]);
  });

  it('NUL is data like any other byte', () => {
    expect(parsed(latin1('data: a\x00b\n\n')).items).toMatchObject([{ data: 'a\u0000b' }]);
  });

  it('an unterminated stream ends in one Incomplete item holding its last line too', () => {
    const r = parsed('data: a\n\nevent: e\nid: 9\nretry: 3\ndata: b\ndata: c');
    expect(r.items.map((i) => i.kind)).toEqual(['event', 'incomplete']);
    expect(r.items[1]).toMatchObject({ event: 'e', id: '9', retry: '3', data: 'b\nc', dataLines: 2, raw: 'event: e\nid: 9\nretry: 3\ndata: b\ndata: c' });
  });
});

describe('provider streams', () => {
  it.each(PROVIDER_STREAMS.map((s) => [s.name, s] as const))('%s: events, text and raw bytes', (_name, s) => {
    const r = parsed(s.stream);
    expect(r.error).toBe('none');
    const events = r.items.filter((i) => i.kind === 'event');
    expect(events.map((e) => s.textOf(e.event!, e.data!)).join('')).toBe(s.text);
    expect(r.items.some((i) => i.kind === 'incomplete' || i.kind === 'unparsed')).toBe(false);
    expect(blocksOf(r.items)).toEqual(referenceOf(bytesOf(s.stream)));
  });

  it('OpenAI chat completions end with data: [DONE]', () => {
    const s = PROVIDER_STREAMS.find((x) => x.name === 'openai chat completions')!;
    expect(parsed(s.stream).items.at(-1)).toMatchObject({ kind: 'event', event: '', data: '[DONE]', raw: 'data: [DONE]\n\n' });
  });

  it('OpenAI Responses and Anthropic name their events', () => {
    const responses = parsed(PROVIDER_STREAMS.find((x) => x.name === 'openai responses')!.stream).items.map((i) => i.event);
    expect(responses).toContain('response.output_text.delta');
    expect(responses.at(-1)).toBe('response.completed');
    const anthropic = parsed(PROVIDER_STREAMS.find((x) => x.name === 'anthropic messages')!.stream).items.map((i) => i.event);
    expect(anthropic[0]).toBe('message_start');
    expect(anthropic).toContain('ping');
    expect(anthropic.at(-1)).toBe('message_stop');
  });

  it('Gemini alt=sse ends its events with CRLF CRLF', () => {
    const r = parsed(PROVIDER_STREAMS.find((x) => x.name.startsWith('gemini'))!.stream);
    expect(r.items.every((i) => i.kind === 'event' && i.lineEnd === 'crlf' && i.raw!.endsWith('\r\n\r\n'))).toBe(true);
  });

  it('keep-alive comments are items of their own', () => {
    const r = parsed(PROVIDER_STREAMS.find((x) => x.name.startsWith('gateway'))!.stream);
    expect(r.items.slice(0, 4).map((i) => [i.kind, i.raw])).toEqual([
      ['comment', ': OPENROUTER PROCESSING\n'], ['nodata', '\n'], ['comment', ': ping\n'], ['nodata', '\n'],
    ]);
  });
});

/** A short stream with every kind of line end, a split BOM, comments, fields of every kind. */
const TRICKY = '\uFEFF: c\r\ndata: a\rdata:b\r\nid: 1\r\n\r\nevent: e\nretry: 9\n:x\ndata\n\r\rdata: 账\n\nfoo\r\r\ndata: t';

describe('chunk-boundary invariance: every cut gives the items one piece gives', () => {
  const streams: [string, string][] = [
    ['tricky', TRICKY],
    ['WHATWG', ': test stream\n\ndata: first event\nid: 1\n\ndata:second event\nid\n\ndata:  third event\n'],
    ...PROVIDER_STREAMS.map((s) => [s.name, s.stream] as [string, string]),
  ];

  /** Items, error and its offset as text, for streams without errors (no Unparsed items to leave out). */
  function invariantText(bytes: Uint8Array, cuts: number[]): string {
    const json = probe.parse(bytes, Int32Array.from(cuts), -1, -1, -1, false);
    expect(json.endsWith('"rawOk":true}')).toBe(true);
    return json.slice(0, json.indexOf(',"examined"'));
  }

  it.each(streams)('%s, cut in 2 pieces anywhere', (_name, stream) => {
    const bytes = bytesOf(stream);
    const whole = invariantText(bytes, []);
    for (let i = 0; i <= bytes.length; i++) {
      const cut = invariantText(bytes, [i]);
      if (cut !== whole) expect({ cuts: [i], items: JSON.parse(`${cut}}`) }).toEqual({ cuts: [i], items: JSON.parse(`${whole}}`) });
    }
  });

  it.each(streams.slice(0, 2))('%s, cut in 3 pieces anywhere', (_name, stream) => {
    const bytes = bytesOf(stream);
    const whole = invariantText(bytes, []);
    for (let i = 0; i <= bytes.length; i++) {
      for (let j = i; j <= bytes.length; j++) {
        const cut = invariantText(bytes, [i, j]);
        if (cut !== whole) expect({ cuts: [i, j], items: JSON.parse(`${cut}}`) }).toEqual({ cuts: [i, j], items: JSON.parse(`${whole}}`) });
      }
    }
  });

  it.each(streams)('%s, cut at random (seeded), and byte by byte', (_name, stream) => {
    const bytes = bytesOf(stream);
    const whole = chunkingInvariant(parseSse(probe, bytes));
    const rnd = seededRandom(7);
    for (let k = 0; k < 200; k++) {
      const cuts = Array.from({ length: 1 + Math.floor(rnd() * 12) }, () => Math.floor(rnd() * (bytes.length + 1))).sort((a, b) => a - b);
      const r = parseSse(probe, bytes, cuts);
      expect(r.rawOk).toBe(true);
      expect(chunkingInvariant(r)).toEqual(whole);
    }
    const bytewise = parseSse(probe, bytes, Array.from({ length: bytes.length }, (_, i) => i));
    expect(chunkingInvariant(bytewise)).toEqual(whole);
  });

  it('the raw bytes of the items, in order, are the stream exactly', () => {
    for (const [, stream] of streams) {
      const r = parseSse(probe, stream, [5, 17], {}, true);
      expect(r.items.map((i) => i.raw).join('')).toBe(String.fromCharCode(...bytesOf(stream)));
    }
  });

  it('the tricky stream reads as the reference reads it', () => {
    const r = parseSse(probe, TRICKY);
    expect(blocksOf(r.items)).toEqual(referenceOf(bytesOf(TRICKY)));
    expect(kinds(r.items)).toEqual(['comment', 'event', 'event', 'nodata', 'event', 'nodata', 'incomplete']);
  });
});

describe('the writer', () => {
  type Fields = { event: string; data: string; hasId: boolean; id: string; retry: string };
  const LINE_ENDS = [0, 1, 2] as const;

  function encode(f: Fields, lineEnd = 0): Uint8Array {
    return probe.encode(f.event, f.data, f.hasId, f.id, f.retry, lineEnd);
  }

  it('writes data line by line, then a blank line', () => {
    expect(decode(encode({ event: 'delta', data: '{"a":1}', hasId: true, id: '42', retry: '3000' }))).toBe('event: delta\nid: 42\nretry: 3000\ndata: {"a":1}\n\n');
    expect(decode(encode({ event: '', data: 'a\r\nb\rc\nd', hasId: false, id: '', retry: '' }, 1))).toBe('data: a\r\ndata: b\r\ndata: c\r\ndata: d\r\n\r\n');
    expect(decode(encode({ event: '', data: '', hasId: true, id: '', retry: 'x' }))).toBe('id:\ndata:\n\n');
    expect(decode(encode({ event: '', data: ' lead\n', hasId: false, id: '', retry: '' }, 2))).toBe('data:  lead\rdata:\r\r');
  });

  it('leaves line ends out of event and id: they cannot travel there', () => {
    expect(decode(encode({ event: 'a\r\nb', data: 'x', hasId: true, id: '1\n2', retry: '' }))).toBe('event: ab\nid: 12\ndata: x\n\n');
  });

  it('a lone surrogate becomes U+FFFD', () => {
    expect(decode(encode({ event: '', data: 'a\uD800b', hasId: false, id: '', retry: '' }))).toBe('data: a\uFFFDb\n\n');
  });

  it('reads back to the same fields (random fields, seeded)', () => {
    const rnd = seededRandom(20240901);
    const alphabet = ['a', 'b', ' ', ':', '\r', '\n', '\r\n', '\t', '\u0000', 'é', '账', '😀', 'data:', 'id', '[DONE]', '{"x":1}', '\uFEFF'];
    const text = (max: number) => Array.from({ length: Math.floor(rnd() * max) }, () => alphabet[Math.floor(rnd() * alphabet.length)]).join('');
    for (let k = 0; k < 3000; k++) {
      const f: Fields = { event: text(4), data: text(12), hasId: rnd() < 0.5, id: text(3), retry: rnd() < 0.5 ? String(Math.floor(rnd() * 1e6)) : text(2) };
      const lineEnd = LINE_ENDS[k % 3]!;
      const bytes = encode(f, lineEnd);
      const r = parseSse(probe, bytes);
      expect(r.rawOk).toBe(true);
      expect(r.items.length).toBe(1);
      const noLineEnds = (s: string) => s.replace(/[\r\n]/g, '');
      const idKept = f.hasId && !f.id.includes('\u0000');
      expect(r.items[0]).toMatchObject({
        kind: 'event',
        lineEnd: ['lf', 'crlf', 'cr'][lineEnd],
        event: noLineEnds(f.event),
        data: f.data.replace(/\r\n|\r/g, '\n'),
        hasId: idKept,
        id: idKept ? noLineEnds(f.id) : '',
        retry: /^[0-9]+$/.test(f.retry) ? f.retry : '',
      });
      expect(r.items[0]!.end).toBe(bytes.length);
    }
  });

  it('re-encoding the events of canonical provider streams gives them back byte for byte', () => {
    for (const s of PROVIDER_STREAMS) expect(decode(probe.reencode(bytesOf(s.stream)))).toBe(s.stream);
  });

  it('a re-encoded event reads like the original among raw neighbours, whatever the line ends', () => {
    const bytes = bytesOf(TRICKY);
    const again = probe.reencode(bytes);
    expect(blocksOf(parseSse(probe, again).items)).toEqual(blocksOf(parseSse(probe, bytes).items));
    const crThenLf = bytesOf('data: a\r\rdata: b\r\n\r\n');
    expect(blocksOf(parseSse(probe, probe.reencode(crThenLf)).items)).toEqual(blocksOf(parseSse(probe, crThenLf).items));
  });
});

describe('bounds', () => {
  const limits = { line: 64, data: 256, event: 512 };

  it('a line over the line limit stops the parser with line_too_long, at the byte that broke it', () => {
    const stream = `data: ok\n\ndata: ${'x'.repeat(100)}\n\ndata: later\n\n`;
    for (const cuts of [[], [20], [12, 40, 80]]) {
      const r = parsed(stream, cuts, limits);
      expect(r.error).toBe('line_too_long');
      expect(r.errorOffset).toBe(10 + 64);
      expect(r.items.filter((i) => i.kind !== 'unparsed').map((i) => i.data)).toEqual(['ok']);
      expect(r.items.filter((i) => i.kind === 'unparsed').map((i) => i.raw).join('')).toBe(stream.slice(10));
    }
  });

  it('comments and unknown fields count too', () => {
    expect(parsed(`: ${'x'.repeat(100)}\n\n`, [], limits).error).toBe('line_too_long');
    expect(parsed(`foo: ${'x'.repeat(100)}\n\n`, [], limits).error).toBe('line_too_long');
    expect(parsed(`data: ${'x'.repeat(58)}\n\n`, [], limits).error).toBe('none');
    expect(parsed(`data: ${'x'.repeat(59)}\n\n`, [], limits).error).toBe('line_too_long');
  });

  it('data over the data limit: data_too_large', () => {
    const stream = `${'data: 0123456789\n'.repeat(30)}\n`;
    const r = parsed(stream, [], limits);
    expect(r.error).toBe('data_too_large');
    expect(r.items.map((i) => i.kind)).toEqual(['unparsed']);
    expect(parsed(`${'data: 0123456789\n'.repeat(23)}\n`, [], limits).error).toBe('none');
  });

  it('an event over the event limit, made of lines without data: event_too_large', () => {
    expect(parsed(`data: x\n${': keep\n'.repeat(100)}\n`, [], limits).error).toBe('event_too_large');
    expect(parsed(`${'event: e\n'.repeat(100)}\n`, [], limits).error).toBe('event_too_large');
    const r = parsed(`data: x\n${'id: 1\n'.repeat(100)}\n`, [3, 200], limits);
    expect(r.error).toBe('event_too_large');
    expect(r.errorOffset).toBe(512);
  });

  it('comments between events never add up: each is its own item', () => {
    expect(parsed(': keep\n'.repeat(1000), [], limits).error).toBe('none');
  });

  it('after an error every later chunk is Unparsed, and finish() adds nothing', () => {
    probe.open(8, 8, 64);
    const first: Item[] = JSON.parse(probe.feed(bytesOf('data: 123456\n\n')));
    expect(first.map((i) => [i.kind, i.raw])).toEqual([['unparsed', 'data: 123456\n\n']]);
    expect(JSON.parse(probe.state())).toMatchObject({ error: 'line_too_long', errorOffset: 8 });
    expect(JSON.parse(probe.feed(bytesOf('data: a\n\n'))).map((i: Item) => [i.kind, i.start, i.raw])).toEqual([['unparsed', 14, 'data: a\n\n']]);
    expect(JSON.parse(probe.finish())).toEqual([]);
    expect(JSON.parse(probe.feed(bytesOf('more')))).toEqual([]);
  });

  it('what a parser keeps between feeds stays within its limits and falls back after a large event', () => {
    const big = { line: 1 << 20, data: 1 << 20, event: 1 << 21 };
    probe.open(big.line, big.data, big.event);
    const payload = `data: ${'y'.repeat(900_000)}\n\n`;
    const bytes = bytesOf(payload);
    let peak = 0;
    for (let at = 0; at < bytes.length; at += 4096) {
      probe.feed(bytes.subarray(at, at + 4096));
      peak = Math.max(peak, JSON.parse(probe.state()).retained);
    }
    expect(peak).toBeGreaterThan(900_000);
    expect(peak).toBeLessThanOrEqual(big.line + big.data + big.event);
    expect(JSON.parse(probe.state()).retained).toBeLessThanOrEqual(3 * 4096);
    // Then a long stream of small events: nothing grows.
    const small = bytesOf('event: d\ndata: {"delta":"abc"}\n\n: ping\n\n'.repeat(20_000));
    for (let at = 0; at < small.length; at += 1000) {
      probe.feed(small.subarray(at, at + 1000));
      expect(JSON.parse(probe.state()).retained).toBeLessThanOrEqual(3 * 4096);
    }
  });
});

describe('linear work', () => {
  it('1 MB fed one byte at a time reads each byte once and copies each a bounded number of times', () => {
    const small = bytesOf(`${'data: {"choices":[{"delta":{"content":"token"}}]}\n\n'.repeat(10_000)}: ping\n\n`);
    const single = bytesOf(`data: ${'z'.repeat(1_000_000)}\n\n`);
    for (const stream of [small, single]) {
      probe.open(2 << 20, 2 << 20, 4 << 20);
      const count = probe.feedBytewise(stream);
      const s = JSON.parse(probe.state());
      expect(s.error).toBe('none');
      expect(count).toBe(stream === small ? 10_002 : 1);
      expect(s.examined).toBe(stream.length);
      // Each byte at most: into the held item and its data, moved once by each one's doubling
      // growth (on average), out to the item's raw bytes and data. Quadratic would be ~n^2/2.
      expect(s.copied).toBeLessThanOrEqual(8 * stream.length);
    }
  });

  it('the work does not depend on how the stream is cut', () => {
    const stream = bytesOf(PROVIDER_STREAMS.map((s) => s.stream).join(''));
    const whole = parseSse(probe, stream);
    const bytewise = parseSse(probe, stream, Array.from({ length: stream.length }, (_, i) => i));
    expect(bytewise.examined).toBe(whole.examined);
    expect(whole.examined).toBe(stream.length);
    expect(bytewise.copied).toBeLessThanOrEqual(8 * stream.length);
  });
});
