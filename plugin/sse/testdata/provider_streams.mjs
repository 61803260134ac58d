// Streamed responses as providers send them (shapes from their API references, content made up),
// for the SSE parser's tests and fuzz. `text` is what the stream's deltas add up to.

const TEXT_PIECES = ['Hel', 'lo', ', wor', 'ld: ', '账号', ' naïve 😀', '\n- "quoted"'];

/** @param {unknown} v */
const j = (v) => JSON.stringify(v);

function openaiChat() {
  const base = { id: 'chatcmpl-9x1', object: 'chat.completion.chunk', created: 1718000000, model: 'gpt-4o-mini', system_fingerprint: 'fp_1' };
  const lines = [j({ ...base, choices: [{ index: 0, delta: { role: 'assistant', content: '' }, logprobs: null, finish_reason: null }] })];
  for (const t of TEXT_PIECES) lines.push(j({ ...base, choices: [{ index: 0, delta: { content: t }, logprobs: null, finish_reason: null }] }));
  lines.push(j({ ...base, choices: [{ index: 0, delta: {}, logprobs: null, finish_reason: 'stop' }] }));
  lines.push(j({ ...base, choices: [], usage: { prompt_tokens: 9, completion_tokens: 12, total_tokens: 21 } }));
  lines.push('[DONE]');
  return lines.map((l) => `data: ${l}\n\n`).join('');
}

function openaiResponses() {
  /** @type {[string, unknown][]} */
  const events = [
    ['response.created', { type: 'response.created', sequence_number: 0, response: { id: 'resp_1', object: 'response', status: 'in_progress', model: 'gpt-4.1', output: [] } }],
    ['response.in_progress', { type: 'response.in_progress', sequence_number: 1, response: { id: 'resp_1', status: 'in_progress' } }],
    ['response.output_item.added', { type: 'response.output_item.added', sequence_number: 2, output_index: 0, item: { id: 'msg_1', type: 'message', status: 'in_progress', role: 'assistant', content: [] } }],
    ['response.content_part.added', { type: 'response.content_part.added', sequence_number: 3, item_id: 'msg_1', output_index: 0, content_index: 0, part: { type: 'output_text', text: '', annotations: [] } }],
  ];
  let seq = 4;
  for (const t of TEXT_PIECES) {
    events.push(['response.output_text.delta', { type: 'response.output_text.delta', sequence_number: seq++, item_id: 'msg_1', output_index: 0, content_index: 0, delta: t }]);
  }
  const text = TEXT_PIECES.join('');
  events.push(['response.output_text.done', { type: 'response.output_text.done', sequence_number: seq++, item_id: 'msg_1', output_index: 0, content_index: 0, text }]);
  events.push(['response.completed', { type: 'response.completed', sequence_number: seq++, response: { id: 'resp_1', status: 'completed', output: [{ id: 'msg_1', type: 'message', role: 'assistant', content: [{ type: 'output_text', text }] }] } }]);
  return events.map(([name, data]) => `event: ${name}\ndata: ${j(data)}\n\n`).join('');
}

function anthropic() {
  /** @type {[string, unknown][]} */
  const events = [
    ['message_start', { type: 'message_start', message: { id: 'msg_01', type: 'message', role: 'assistant', content: [], model: 'claude-sonnet-4-5', stop_reason: null, stop_sequence: null, usage: { input_tokens: 25, output_tokens: 1 } } }],
    ['content_block_start', { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } }],
    ['ping', { type: 'ping' }],
  ];
  for (const t of TEXT_PIECES) events.push(['content_block_delta', { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: t } }]);
  events.push(['content_block_stop', { type: 'content_block_stop', index: 0 }]);
  events.push(['message_delta', { type: 'message_delta', delta: { stop_reason: 'end_turn', stop_sequence: null }, usage: { output_tokens: 15 } }]);
  events.push(['message_stop', { type: 'message_stop' }]);
  return events.map(([name, data]) => `event: ${name}\ndata: ${j(data)}\n\n`).join('');
}

function geminiAltSse() {
  const chunks = TEXT_PIECES.map((t, i) => ({
    candidates: [{ content: { parts: [{ text: t }], role: 'model' }, index: 0, ...(i === TEXT_PIECES.length - 1 ? { finishReason: 'STOP' } : {}) }],
    usageMetadata: { promptTokenCount: 8, candidatesTokenCount: i + 1, totalTokenCount: 9 + i },
    modelVersion: 'gemini-2.0-flash',
  }));
  return chunks.map((c) => `data: ${j(c)}\r\n\r\n`).join('');
}

/** OpenAI-compatible gateways (OpenRouter and the like) keep idle streams open with comments. */
function keepAlives() {
  const base = { id: 'gen-1', object: 'chat.completion.chunk', model: 'openai/gpt-4o', choices: [] };
  const parts = [': OPENROUTER PROCESSING\n\n', ': ping\n\n'];
  for (const t of TEXT_PIECES) parts.push(`data: ${j({ ...base, choices: [{ index: 0, delta: { content: t } }] })}\n\n`, ': ping\n\n');
  parts.push('data: [DONE]\n\n');
  return parts.join('');
}

/** @typedef {{name: string, stream: string, text: string, textOf: (event: string, data: string) => string}} ProviderStream */

/** @type {ProviderStream[]} */
export const PROVIDER_STREAMS = [
  {
    name: 'openai chat completions',
    stream: openaiChat(),
    text: TEXT_PIECES.join(''),
    textOf: (_e, d) => (d === '[DONE]' ? '' : JSON.parse(d).choices.map((/** @type {any} */ c) => c.delta.content ?? '').join('')),
  },
  {
    name: 'openai responses',
    stream: openaiResponses(),
    text: TEXT_PIECES.join(''),
    textOf: (e, d) => (e === 'response.output_text.delta' ? JSON.parse(d).delta : ''),
  },
  {
    name: 'anthropic messages',
    stream: anthropic(),
    text: TEXT_PIECES.join(''),
    textOf: (e, d) => (e === 'content_block_delta' ? JSON.parse(d).delta.text : ''),
  },
  {
    name: 'gemini streamGenerateContent alt=sse',
    stream: geminiAltSse(),
    text: TEXT_PIECES.join(''),
    textOf: (_e, d) => JSON.parse(d).candidates[0].content.parts.map((/** @type {any} */ p) => p.text).join(''),
  },
  {
    name: 'gateway with keep-alive comments',
    stream: keepAlives(),
    text: TEXT_PIECES.join(''),
    textOf: (_e, d) => (d === '[DONE]' ? '' : JSON.parse(d).choices.map((/** @type {any} */ c) => c.delta.content ?? '').join('')),
  },
];
