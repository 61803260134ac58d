// Writes a planned stream to the HTTP response, pausing after each write, with keep-alive comments
// sent on a timer, as servers do while the model is slow, but only where an event has ended.
import type { ServerResponse } from 'node:http';
import { sseComment, type LineEnding } from './sse.js';
import type { PlannedWrite } from './writes.js';

export interface Pacing {
  /** Pause after each write. */
  delayMs: number;
  /** A keep-alive comment every this many ms (none if unset). */
  keepAliveMs?: number;
  /** Its text, e.g. "keep-alive" gives `: keep-alive`. */
  keepAliveComment: string;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Resolves once every write is out and the response ended, or the client went away. */
export async function sendWrites(res: ServerResponse, writes: PlannedWrite[], eol: LineEnding, pacing: Pacing, onWrite: (bytes: Buffer) => void): Promise<void> {
  let atBoundary = true;
  const write = (bytes: Buffer) => {
    onWrite(bytes);
    res.write(bytes);
  };
  const comment = Buffer.from(sseComment(pacing.keepAliveComment, eol));
  const timer = pacing.keepAliveMs ? setInterval(() => atBoundary && !res.destroyed && !res.writableEnded && write(comment), pacing.keepAliveMs) : undefined;
  try {
    for (const w of writes) {
      if (res.destroyed) return;
      write(w.bytes);
      atBoundary = w.endsAtBoundary;
      await sleep(pacing.delayMs);
    }
  } finally {
    clearInterval(timer);
  }
  res.end();
}
