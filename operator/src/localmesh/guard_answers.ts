// What a guard model answers, as plain values: the way real guard models answer (asm-labs JSON
// verdicts in any spelling, Llama Guard, Qwen3Guard, OpenAI moderation) and the way real guard
// deployments fail (errors, garbage, empty choices, resets, hangs, slowness). The mock guard
// (mock_guard.ts) serves them over HTTP(S); tests also play them into the in-process host.

export type AnswerKind = 'chat' | 'moderation' | 'http' | 'reset' | 'reset_before_headers' | 'hang';

/** What the guard does with one request. */
export interface Answer {
  /**
   * chat: a 200 chat completion whose choices[0].message.content is `content`;
   * moderation: a 200 /v1/moderations answer with `results`;
   * http: `status` with `body` verbatim (errors, garbage, odd JSON);
   * reset: 200 headers and part of the body, then the socket is destroyed (reset mid-answer);
   * reset_before_headers: the socket is destroyed before anything is written;
   * hang: never answers (until the server closes).
   */
  kind: AnswerKind;
  /** chat: the message content; null sends `"content": null`. */
  content?: string | null;
  /** chat: the message has no content member at all. */
  omitContent?: boolean;
  /** moderation: the results array. */
  results?: unknown[];
  /** http: the status (default 200). */
  status?: number;
  /** http: the body, sent as is. */
  body?: string | Buffer;
  /** Extra response headers. */
  headers?: Record<string, string>;
  /** Answer only after this many ms (a slow guard). */
  delayMs?: number;
  /** reset: body bytes written before the reset (default 10). */
  partialBytes?: number;
  /** A name for logs and test output. */
  label?: string;
}

export type VerdictStyle = 'plain' | 'fenced' | 'prose' | 'fenced_prose';

export function chatContent(content: string, extra: Partial<Answer> = {}): Answer {
  return { kind: 'chat', content, label: `chat ${JSON.stringify(content).slice(0, 40)}`, ...extra };
}

/**
 * The asm-labs JSON verdict `{"result": ..., "reason": ...}` as message content, in any spelling
 * of result ("allow", "ALLOW", "Deny", ...). plain: the JSON alone; fenced: in a ```json fence;
 * prose: sentences around it; fenced_prose: both.
 */
export function jsonVerdict(result: string, reason = '', style: VerdictStyle = 'plain'): Answer {
  const obj = JSON.stringify({ result, reason });
  let content = obj;
  if (style === 'fenced') content = '```json\n' + JSON.stringify({ result, reason }, null, 2) + '\n```';
  else if (style === 'prose') content = `Having looked at the conversation, my verdict is ${obj} and that is final.`;
  else if (style === 'fenced_prose') content = 'Here is my assessment:\n\n```json\n' + obj + '\n```\n\nLet me know if you need more.';
  return { kind: 'chat', content, label: `json ${result} (${style})` };
}

export const allow = (reason = 'harmless', style: VerdictStyle = 'plain'): Answer => jsonVerdict('allow', reason, style);
export const deny = (reason = 'not allowed', style: VerdictStyle = 'plain'): Answer => jsonVerdict('deny', reason, style);

/** Llama Guard 3: `safe`, or `unsafe` and a line of hazard codes (e.g. "S1,S7"). */
export function llamaGuard(verdict: 'safe' | 'unsafe', categories = ''): Answer {
  const content = verdict === 'safe' ? 'safe' : `unsafe${categories ? `\n${categories}` : ''}`;
  return { kind: 'chat', content, label: `llama_guard ${verdict}` };
}

/** Qwen3Guard: `Safety: Safe|Unsafe|Controversial` and `Categories: ...` (default None). */
export function qwenGuard(safety: 'Safe' | 'Unsafe' | 'Controversial', categories = 'None'): Answer {
  return { kind: 'chat', content: `Safety: ${safety}\nCategories: ${categories}`, label: `qwen_guard ${safety}` };
}

const MODERATION_CATEGORIES = [
  'harassment', 'harassment/threatening', 'hate', 'hate/threatening', 'illicit', 'illicit/violent',
  'self-harm', 'self-harm/instructions', 'self-harm/intent', 'sexual', 'sexual/minors', 'violence', 'violence/graphic',
];

/** An OpenAI /v1/moderations answer: `inputs` results (default one), the first flagged with `flaggedCategories`. */
export function moderation(flagged: boolean, flaggedCategories: string[] = flagged ? ['violence'] : [], inputs = 1): Answer {
  const categories: Record<string, boolean> = {};
  const scores: Record<string, number> = {};
  for (const c of MODERATION_CATEGORIES) {
    categories[c] = flaggedCategories.includes(c);
    scores[c] = flaggedCategories.includes(c) ? 0.93 : 0.0004;
  }
  const results = [];
  for (let i = 0; i < inputs; i++) {
    results.push({ flagged: i === 0 ? flagged : false, categories: i === 0 ? categories : {}, category_scores: scores });
  }
  return { kind: 'moderation', results, label: `moderation flagged=${flagged}` };
}

/** Any status and body (default: an OpenAI-shaped error), sent verbatim. */
export function status(code: number, body?: string | Buffer, contentType = 'application/json'): Answer {
  const b = body ?? JSON.stringify({ error: { message: `guard error ${code}`, type: 'server_error', param: null, code: null } });
  return { kind: 'http', status: code, body: b, headers: { 'content-type': contentType }, label: `status ${code}` };
}

/** A 200 whose body is not JSON. */
export const garbage = (): Answer => status(200, '<html><body>Bad gateway</body></html> definitely {not json', 'text/html');
/** 200 JSON without `choices`. */
export const noChoices = (): Answer => status(200, JSON.stringify({ id: 'chatcmpl-guard', object: 'chat.completion', model: 'guard' }));
/** 200 JSON with `choices: []` (the asm-labs plugin panics on this). */
export const emptyChoices = (): Answer => status(200, JSON.stringify({ id: 'chatcmpl-guard', object: 'chat.completion', choices: [] }));
/** 200 JSON whose first choice's message has no content. */
export const choicesWithoutContent = (): Answer => ({ kind: 'chat', content: '', omitContent: true, label: 'choices without content' });
/** 200 JSON whose first choice's message has `content: null`. */
export const nullContent = (): Answer => ({ kind: 'chat', content: null, label: 'content null' });
/** Headers, part of the body, then the socket is destroyed. */
export const reset = (partialBytes = 10): Answer => ({ kind: 'reset', partialBytes, label: 'reset mid-answer' });
/** The socket is destroyed before any byte of the answer. */
export const resetBeforeHeaders = (): Answer => ({ kind: 'reset_before_headers', label: 'reset before headers' });
/** Never answers. */
export const hang = (): Answer => ({ kind: 'hang', label: 'hang' });
/** `answer`, after `ms` milliseconds. */
export const slow = (answer: Answer, ms: number): Answer => ({ ...answer, delayMs: ms, label: `${answer.label ?? answer.kind} after ${ms} ms` });

export interface RenderedAnswer {
  status: number;
  headers: Record<string, string>;
  body: string | Buffer;
}

/**
 * The HTTP answer for the kinds that send one (chat, moderation, http); null for reset,
 * reset_before_headers and hang. The request's model is echoed back, like a real server.
 */
export function renderAnswer(a: Answer, req: { model?: string } = {}): RenderedAnswer | null {
  const model = req.model ?? 'guard-model';
  if (a.kind === 'chat') {
    const message: Record<string, unknown> = { role: 'assistant' };
    if (!a.omitContent) message.content = a.content ?? null;
    const body = JSON.stringify({
      id: 'chatcmpl-guard-0001',
      object: 'chat.completion',
      created: 1735689600,
      model,
      choices: [{ index: 0, message, logprobs: null, finish_reason: 'stop' }],
      usage: { prompt_tokens: 42, completion_tokens: 7, total_tokens: 49 },
    });
    return { status: 200, headers: { 'content-type': 'application/json', ...(a.headers ?? {}) }, body };
  }
  if (a.kind === 'moderation') {
    const body = JSON.stringify({ id: 'modr-guard-0001', model: model || 'omni-moderation-latest', results: a.results ?? [] });
    return { status: 200, headers: { 'content-type': 'application/json', ...(a.headers ?? {}) }, body };
  }
  if (a.kind === 'http') return { status: a.status ?? 200, headers: { ...(a.headers ?? {}) }, body: a.body ?? '' };
  return null;
}
