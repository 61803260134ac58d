import { describe, expect, it } from 'vitest';
import { planWrites } from './writes.js';

const LF = ['data: {"a":"ééééé"}\n\n', 'data: {"a":2}\n\n', 'data: {"a":3}\n\n', 'data: {"a":4}\n\n', 'data: [DONE]\n\n'].map((s) => Buffer.from(s));
const CRLF = ['data: {"a": 1}\r\n\r\n', 'data: {"a": 2}\r\n\r\n'].map((s) => Buffer.from(s));
const text = (ws: { bytes: Buffer }[]) => ws.map((w) => w.bytes.toString('latin1'));

describe('planWrites', () => {
  it.each(['event', 'coalesce', 'split', 'crlf', 'mixed'] as const)('%s: the writes join back to the stream', (how) => {
    for (const frames of [LF, CRLF]) expect(Buffer.concat(planWrites(frames, how).map((w) => w.bytes)).equals(Buffer.concat(frames))).toBe(true);
  });

  it('event: one write per event, each at a boundary', () => {
    const ws = planWrites(LF, 'event');
    expect(ws.map((w) => w.bytes)).toEqual(LF);
    expect(ws.every((w) => w.endsAtBoundary)).toBe(true);
  });

  it('coalesce: three events per write', () => {
    expect(planWrites(LF, 'coalesce').map((w) => w.bytes)).toEqual([Buffer.concat(LF.slice(0, 3)), Buffer.concat(LF.slice(3))]);
  });

  it('split: every event in two writes, the first one not at a boundary, even inside a UTF-8 sequence', () => {
    const ws = planWrites(LF, 'split');
    expect(ws).toHaveLength(LF.length * 2);
    expect(ws.map((w) => w.endsAtBoundary)).toEqual(LF.flatMap(() => [false, true]));
    // The first event's middle byte falls inside "é" (2 bytes in UTF-8).
    expect(ws[0]!.bytes.toString('utf8').endsWith('\uFFFD')).toBe(true);
  });

  it('crlf: the last line ending of each event is cut between CR and LF (or LF and LF)', () => {
    const crlf = text(planWrites(CRLF, 'crlf'));
    expect(crlf).toEqual(['data: {"a": 1}\r\n\r', '\n', 'data: {"a": 2}\r\n\r', '\n']);
    expect(text(planWrites(LF.slice(0, 1), 'crlf'))).toEqual([Buffer.from('data: {"a":"ééééé"}\n').toString('latin1'), '\n']);
  });

  it('mixed: several events in one write, events cut in two, and cuts inside line endings', () => {
    const ws = planWrites(LF, 'mixed');
    const t = text(ws);
    expect(t.some((w) => (w.match(/\n\n/g) ?? []).length >= 2)).toBe(true);
    expect(ws.some((w) => !w.endsAtBoundary && !w.bytes.toString('latin1').endsWith('\n'))).toBe(true);
    expect(t.some((w) => w === '\n')).toBe(true);
  });

  it('takes the writes from a function, and refuses writes that change the bytes', () => {
    const whole = Buffer.concat(LF);
    expect(planWrites(LF, () => [whole.subarray(0, 3), whole.subarray(3)]).map((w) => w.endsAtBoundary)).toEqual([false, true]);
    expect(() => planWrites(LF, () => [whole.subarray(1)])).toThrow(/do not join back/);
  });
});
