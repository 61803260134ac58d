// What every provider's stream builder takes and gives.
import type { LineEnding } from './sse.js';

export interface StreamInput {
  /** The reply text, already cut into deltas (join('') is the text). */
  deltas: string[];
  model: string;
  /** Unix seconds. */
  created: number;
  promptTokens: number;
  completionTokens: number;
  /** The request's JSON body (stream_options and the like). */
  body: Record<string, unknown>;
  /** After this many deltas, the provider's own mid-stream error event ends the stream. */
  errorAfterDeltas?: number;
}

export interface ProviderStream {
  contentType: string;
  eol: LineEnding;
  /** Complete SSE events, in order. */
  events: string[];
}

/** The deltas sent before the error (all of them, and no error, without errorAfterDeltas). */
export function deltasBeforeError(input: StreamInput): { sent: string[]; failed: boolean } {
  const n = input.errorAfterDeltas;
  return n === undefined ? { sent: input.deltas, failed: false } : { sent: input.deltas.slice(0, Math.max(0, n)), failed: true };
}
