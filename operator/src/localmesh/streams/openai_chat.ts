// OpenAI Chat Completions streaming (API reference: "The chat completion chunk object";
// `stream_options`): `data: <chunk>` events, no event names. A first chunk with the role, one chunk
// per content delta, a chunk with finish_reason, then with `include_usage` a chunk whose `choices`
// is [] and `usage` is set (every other chunk then has `usage: null`), then `data: [DONE]`.
// `obfuscation` (random padding) is on every chunk unless `include_obfuscation` is false.
// A mid-stream failure is a `data: {"error": {...}}` event (what the official SDKs raise as
// APIError), and the stream ends without [DONE].
import { makeId, padding } from './ids.js';
import { sseEvent } from './sse.js';
import { deltasBeforeError, type ProviderStream, type StreamInput } from './stream_types.js';

export const OPENAI_STREAM_ERROR = {
  error: { message: 'The server had an error while processing your request. Sorry about that!', type: 'server_error', param: null, code: null },
};

function streamOptions(body: Record<string, unknown>): { includeUsage: boolean; obfuscation: boolean } {
  const o = body.stream_options;
  const opts = o && typeof o === 'object' ? (o as Record<string, unknown>) : {};
  return { includeUsage: opts.include_usage === true, obfuscation: opts.include_obfuscation !== false };
}

export function openaiChatStream(a: StreamInput): ProviderStream {
  const { includeUsage, obfuscation } = streamOptions(a.body);
  const head = { id: makeId('chatcmpl-'), object: 'chat.completion.chunk', created: a.created, model: a.model, service_tier: 'default', system_fingerprint: 'fp_mock' };
  const tail = () => ({ ...(includeUsage ? { usage: null } : {}), ...(obfuscation ? { obfuscation: padding() } : {}) });
  const chunk = (delta: Record<string, unknown>, finish: string | null) => ({
    ...head,
    choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }],
    ...tail(),
  });
  const data = (v: unknown) => sseEvent(JSON.stringify(v), '\n');
  const { sent, failed } = deltasBeforeError(a);
  const events = [data(chunk({ role: 'assistant', content: '', refusal: null }, null)), ...sent.map((d) => data(chunk({ content: d }, null)))];
  if (failed) return { contentType: 'text/event-stream; charset=utf-8', eol: '\n', events: [...events, data(OPENAI_STREAM_ERROR)] };
  events.push(data(chunk({}, 'stop')));
  if (includeUsage) {
    const usage = {
      prompt_tokens: a.promptTokens,
      completion_tokens: a.completionTokens,
      total_tokens: a.promptTokens + a.completionTokens,
      prompt_tokens_details: { cached_tokens: 0, audio_tokens: 0 },
      completion_tokens_details: { reasoning_tokens: 0, audio_tokens: 0, accepted_prediction_tokens: 0, rejected_prediction_tokens: 0 },
    };
    events.push(data({ ...head, choices: [], usage, ...(obfuscation ? { obfuscation: padding() } : {}) }));
  }
  events.push(sseEvent('[DONE]', '\n'));
  return { contentType: 'text/event-stream; charset=utf-8', eol: '\n', events };
}
