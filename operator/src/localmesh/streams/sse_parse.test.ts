import { describe, expect, it } from 'vitest';
import { parseSse, SseParser } from './sse_parse.js';

/** Every way of cutting `s` into two pieces, as bytes. */
function everyCut(s: string): Buffer[][] {
  const b = Buffer.from(s);
  return Array.from({ length: b.length + 1 }, (_, i) => [b.subarray(0, i), b.subarray(i)]);
}

describe('SseParser (WHATWG event stream interpretation)', () => {
  it('reads named events, data lines joined by LF, ids and comments', () => {
    const p = parseSse(['\uFEFFevent: a\ndata: x\ndata:  y\nid: 7\n\n: keep-alive\n\ndata\n\nretry: 5\nfoo: bar\ndata: z\n\n']);
    expect(p.items).toEqual([
      { kind: 'event', event: 'a', data: 'x\n y', id: '7' },
      { kind: 'comment', text: ' keep-alive' },
      { kind: 'event', event: undefined, data: '', id: '7' },
      { kind: 'event', event: undefined, data: 'z', id: '7' },
    ]);
  });

  it('accepts CRLF, LF and CR line endings', () => {
    for (const eol of ['\r\n', '\n', '\r']) expect(parseSse([`data: 1${eol}${eol}data: 2${eol}${eol}`]).events.map((e) => e.data)).toEqual(['1', '2']);
  });

  it('gives the same events however the bytes are cut (inside CRLF, inside UTF-8 sequences)', () => {
    const stream = 'event: x\r\ndata: {"t": "é🎉"}\r\n\r\n: ping\r\n\r\ndata: 2\r\n\r\n';
    const whole = parseSse([stream]).items;
    expect(whole).toHaveLength(3);
    for (const pieces of everyCut(stream)) expect(parseSse(pieces).items).toEqual(whole);
  });

  it('does not dispatch an event whose blank line never came, and parseSse says so', () => {
    const p = new SseParser();
    p.push('data: 1\n\ndata: 2\n');
    expect(p.end()).toBe('<unfinished event>');
    expect(p.events.map((e) => e.data)).toEqual(['1']);
    expect(() => parseSse(['data: 1\n\ndata: 2'])).toThrow(/ended mid-event/);
  });
});
