// Anthropic Messages streaming (docs: "Streaming Messages"): named events, each data repeating the
// name in `type`. message_start (a Message with empty content, usage so far), content_block_start
// (a text block, text ""), ping, content_block_delta per delta (`text_delta`), content_block_stop,
// message_delta (stop_reason, stop_sequence, cumulative `usage.output_tokens`), message_stop.
// A mid-stream failure is an `error` event: {"type":"error","error":{"type":"overloaded_error",...}}.
import { makeId } from './ids.js';
import { sseEvent } from './sse.js';
import { deltasBeforeError, type ProviderStream, type StreamInput } from './stream_types.js';

export const ANTHROPIC_STREAM_ERROR = { type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } };

export function anthropicStream(a: StreamInput): ProviderStream {
  const events: string[] = [];
  const emit = (type: string, fields: Record<string, unknown> = {}) => events.push(sseEvent(JSON.stringify({ type, ...fields }), '\n', type));
  const { sent, failed } = deltasBeforeError(a);
  emit('message_start', {
    message: {
      id: makeId('msg_'),
      type: 'message',
      role: 'assistant',
      model: a.model,
      content: [],
      stop_reason: null,
      stop_sequence: null,
      usage: { input_tokens: a.promptTokens, cache_creation_input_tokens: 0, cache_read_input_tokens: 0, output_tokens: 1 },
    },
  });
  emit('content_block_start', { index: 0, content_block: { type: 'text', text: '' } });
  emit('ping');
  for (const text of sent) emit('content_block_delta', { index: 0, delta: { type: 'text_delta', text } });
  if (failed) {
    events.push(sseEvent(JSON.stringify(ANTHROPIC_STREAM_ERROR), '\n', 'error'));
    return { contentType: 'text/event-stream; charset=utf-8', eol: '\n', events };
  }
  emit('content_block_stop', { index: 0 });
  emit('message_delta', { delta: { stop_reason: 'end_turn', stop_sequence: null }, usage: { output_tokens: a.completionTokens } });
  emit('message_stop');
  return { contentType: 'text/event-stream; charset=utf-8', eol: '\n', events };
}
