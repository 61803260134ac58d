// OpenAI Responses API streaming (API reference: "Streaming events"): named events whose data
// repeats the name in `type` and carries a `sequence_number` counting from 0. For one text message:
// response.created, response.in_progress (status in_progress, output []), response.output_item.added
// (a message, content []), response.content_part.added (output_text, text ""),
// response.output_text.delta per delta, response.output_text.done (the whole text),
// response.content_part.done, response.output_item.done (status completed), response.completed
// (output and usage). No [DONE]. A mid-stream failure is an `error` event (type, code, message,
// param, sequence_number) followed by response.failed.
import { makeId, padding } from './ids.js';
import { sseEvent } from './sse.js';
import { deltasBeforeError, type ProviderStream, type StreamInput } from './stream_types.js';

export const RESPONSES_STREAM_ERROR = { code: 'server_error', message: 'The server had an error while processing your request. Sorry about that!', param: null };

function obfuscationOn(body: Record<string, unknown>): boolean {
  const o = body.stream_options;
  return !(o && typeof o === 'object' && (o as Record<string, unknown>).include_obfuscation === false);
}

export function openaiResponsesStream(a: StreamInput): ProviderStream {
  const obfuscation = obfuscationOn(a.body);
  const itemId = makeId('msg_', 48);
  const responseId = makeId('resp_', 48);
  const response = (status: string, output: unknown[], extra: Record<string, unknown> = {}) => ({
    id: responseId,
    object: 'response',
    created_at: a.created,
    status,
    background: false,
    error: null,
    incomplete_details: null,
    instructions: typeof a.body.instructions === 'string' ? a.body.instructions : null,
    max_output_tokens: null,
    model: a.model,
    output,
    parallel_tool_calls: true,
    previous_response_id: null,
    reasoning: { effort: null, summary: null },
    store: true,
    temperature: 1,
    text: { format: { type: 'text' } },
    tool_choice: 'auto',
    tools: [],
    top_p: 1,
    truncation: 'disabled',
    usage: null,
    user: null,
    metadata: {},
    ...extra,
  });
  let seq = 0;
  const events: string[] = [];
  const emit = (type: string, fields: Record<string, unknown>) => events.push(sseEvent(JSON.stringify({ type, sequence_number: seq++, ...fields }), '\n', type));
  const at = { item_id: itemId, output_index: 0, content_index: 0 };
  const { sent, failed } = deltasBeforeError(a);
  const text = sent.join('');

  emit('response.created', { response: response('in_progress', []) });
  emit('response.in_progress', { response: response('in_progress', []) });
  emit('response.output_item.added', { output_index: 0, item: { id: itemId, type: 'message', status: 'in_progress', content: [], role: 'assistant' } });
  emit('response.content_part.added', { ...at, part: { type: 'output_text', annotations: [], logprobs: [], text: '' } });
  for (const delta of sent) emit('response.output_text.delta', { ...at, delta, logprobs: [], ...(obfuscation ? { obfuscation: padding() } : {}) });
  if (failed) {
    emit('error', RESPONSES_STREAM_ERROR);
    emit('response.failed', { response: response('failed', [], { error: { code: RESPONSES_STREAM_ERROR.code, message: RESPONSES_STREAM_ERROR.message } }) });
    return { contentType: 'text/event-stream; charset=utf-8', eol: '\n', events };
  }
  const part = { type: 'output_text', annotations: [], logprobs: [], text };
  const item = { id: itemId, type: 'message', status: 'completed', content: [part], role: 'assistant' };
  emit('response.output_text.done', { ...at, text, logprobs: [] });
  emit('response.content_part.done', { ...at, part });
  emit('response.output_item.done', { output_index: 0, item });
  const usage = {
    input_tokens: a.promptTokens,
    input_tokens_details: { cached_tokens: 0 },
    output_tokens: a.completionTokens,
    output_tokens_details: { reasoning_tokens: 0 },
    total_tokens: a.promptTokens + a.completionTokens,
  };
  emit('response.completed', { response: response('completed', [item], { usage }) });
  return { contentType: 'text/event-stream; charset=utf-8', eol: '\n', events };
}
