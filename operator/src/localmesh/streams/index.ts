// The mock provider's streams: one builder per provider's documented event sequence, and the knobs
// that make them arrive like real ones (delta sizes, socket writes, keep-alives, mid-stream errors).
import { anthropicStream } from './anthropic.js';
import type { DeltaSplit } from './deltas.js';
import { geminiStream } from './gemini.js';
import { openaiChatStream } from './openai_chat.js';
import { openaiResponsesStream } from './openai_responses.js';
import type { ProviderStream, StreamInput } from './stream_types.js';
import type { WriteSplit } from './writes.js';

export type StreamKind = 'openai-chat' | 'openai-responses' | 'anthropic' | 'gemini';

/** How a stream is played; every field has a default like the real service's. */
export interface StreamKnobs {
  /** How the reply text is cut into deltas (default: DEFAULT_DELTAS for the provider). */
  deltas?: DeltaSplit;
  /** How the stream's bytes are cut into socket writes (default `event`: one write per event). */
  writes?: WriteSplit;
  /** Pause after each write (default MockOptions.sseDelayMs, else 5 ms). */
  delayMs?: number;
  /** A keep-alive comment every this many ms, at event boundaries (default: none). */
  keepAliveMs?: number;
  /** Its text (default "keep-alive": `: keep-alive`). */
  keepAliveComment?: string;
  /** After this many deltas, the provider's own error event ends the stream (default: none). */
  errorAfterDeltas?: number;
}

/** Tokens for OpenAI (a few characters), a few words for Anthropic, phrases for Gemini. */
export const DEFAULT_DELTAS: Record<StreamKind, DeltaSplit> = {
  'openai-chat': { minChars: 1, maxChars: 8 },
  'openai-responses': { minChars: 1, maxChars: 8 },
  anthropic: { minChars: 4, maxChars: 24 },
  gemini: { minChars: 16, maxChars: 64 },
};

const BUILDERS: Record<StreamKind, (input: StreamInput) => ProviderStream> = {
  'openai-chat': openaiChatStream,
  'openai-responses': openaiResponsesStream,
  anthropic: anthropicStream,
  gemini: geminiStream,
};

export function buildStream(kind: StreamKind, input: StreamInput): ProviderStream {
  return BUILDERS[kind](input);
}

export { ANTHROPIC_STREAM_ERROR } from './anthropic.js';
export { splitText, type DeltaSplit } from './deltas.js';
export { GEMINI_STREAM_ERROR } from './gemini.js';
export { OPENAI_STREAM_ERROR } from './openai_chat.js';
export { RESPONSES_STREAM_ERROR } from './openai_responses.js';
export { sendWrites } from './send.js';
export type { ProviderStream, StreamInput } from './stream_types.js';
export { planWrites, type PlannedWrite, type WriteSplit } from './writes.js';
