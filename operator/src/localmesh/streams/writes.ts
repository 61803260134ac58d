// How a stream's bytes are cut into socket writes. Providers flush once per event, but between
// them and the app, TLS records, proxies and the kernel regroup bytes: one read can hold several
// events, or half of one, or stop between the CR and the LF of a line ending. A parser (or a
// filter that rewrites the stream) must cope with every one of these cuts.

/**
 * - `event`: one write per event (how the providers flush);
 * - `coalesce`: three events per write;
 * - `split`: every event in two writes, cut at its middle byte (may cut a UTF-8 sequence);
 * - `crlf`: every event's last line ending cut in two (`\r` | `\n`, or `\n` | `\n`);
 * - `mixed`: all of the above in turn;
 * - a function: the writes themselves (they must join back to the stream's bytes).
 */
export type WriteSplit = 'event' | 'coalesce' | 'split' | 'crlf' | 'mixed' | ((frames: Buffer[]) => Buffer[]);

export interface PlannedWrite {
  bytes: Buffer;
  /** The write ends where an event ends: a keep-alive comment may follow it. */
  endsAtBoundary: boolean;
}

const COALESCE = 3;
const MIXED = ['coalesce', 'coalesce', 'split', 'crlf', 'event'] as const;

/** Offsets (into the concatenated frames) where one write ends and the next begins. */
function cuts(frames: Buffer[], how: Exclude<WriteSplit, (frames: Buffer[]) => Buffer[]>): number[] {
  const out: number[] = [];
  let start = 0;
  frames.forEach((frame, i) => {
    const end = start + frame.length;
    const mode = how === 'mixed' ? MIXED[i % MIXED.length]! : how;
    if (mode === 'split' && frame.length > 1) out.push(start + Math.floor(frame.length / 2));
    if (mode === 'crlf' && frame.length > 1) out.push(end - 1);
    const lastOfGroup = how === 'coalesce' ? (i + 1) % COALESCE === 0 : mode !== 'coalesce';
    if (lastOfGroup) out.push(end);
    start = end;
  });
  return out;
}

export function planWrites(frames: Buffer[], how: WriteSplit): PlannedWrite[] {
  const all = Buffer.concat(frames);
  const boundaries = new Set<number>([0]);
  frames.reduce((at, f) => (boundaries.add(at + f.length), at + f.length), 0);
  let pieces: Buffer[];
  if (typeof how === 'function') {
    pieces = how(frames);
    if (!Buffer.concat(pieces).equals(all)) throw new Error('writes: the pieces do not join back to the stream');
  } else {
    const points = [...new Set([...cuts(frames, how), all.length])].filter((p) => p > 0 && p <= all.length).sort((a, b) => a - b);
    let from = 0;
    pieces = points.map((p) => {
      const piece = all.subarray(from, p);
      from = p;
      return piece;
    });
  }
  let at = 0;
  return pieces
    .filter((p) => p.length > 0)
    .map((bytes) => {
      at += bytes.length;
      return { bytes, endsAtBoundary: boundaries.has(at) };
    });
}
