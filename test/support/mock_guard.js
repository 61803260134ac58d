// @ts-check
/**
 * Local stand-ins for the guard model of `intelligent_guard` (docs/filter-config.md, "The
 * intelligent guard"): an OpenAI-compatible server on loopback that records every request it gets
 * (headers, raw headers, body) and answers the way real guard models do, or fails the way real
 * guard deployments fail.
 *
 * An answer is a plain object (see the builders below: allow(), deny(), llamaGuard(), qwenGuard(),
 * moderation(), status(), garbage(), emptyChoices(), reset(), slow(), hang(), ...). A server's
 * behaviour is an answer or a function of the request returning one (sync or async), so one
 * server can play a whole test file (e.g. deny when the conversation contains a word), and an
 * async behaviour can hold a request until another one has been answered (out-of-order answers:
 * see whenAnswered()).
 *
 * The same answers drive the Node harness (test/harness) without a server: playAnswer() turns an
 * answer into respondToHttpCall / failHttpCall / timeoutHttpCall on a FilterHost.
 *
 * "Down" (connection refused) is a port nobody listens on: closedPort().
 */
import http from 'node:http';
import net from 'node:net';

// ------------------------------------------------------------------------------------------------
// answers

/**
 * What the guard does with one request.
 * @typedef {object} Answer
 * @property {'chat' | 'moderation' | 'http' | 'reset' | 'reset_before_headers' | 'hang'} kind
 *   chat: a 200 chat completion whose choices[0].message.content is `content`;
 *   moderation: a 200 /v1/moderations answer with `results`;
 *   http: `status` with `body` verbatim (errors, garbage, odd JSON);
 *   reset: 200 headers and part of the body, then the socket is destroyed (reset mid-answer);
 *   reset_before_headers: the socket is destroyed before anything is written;
 *   hang: never answers (until the server closes).
 * @property {string | null} [content]     chat: the message content; null sends `"content": null`
 * @property {boolean} [omitContent]       chat: the message has no content member at all
 * @property {unknown[]} [results]         moderation: the results array
 * @property {number} [status]             http: the status (default 200)
 * @property {string | Buffer} [body]      http: the body, sent as is
 * @property {Record<string, string>} [headers]  extra response headers
 * @property {number} [delayMs]            answer only after this many ms (a slow guard)
 * @property {number} [partialBytes]       reset: body bytes written before the reset (default 10)
 * @property {string} [label]              a name for logs and test output
 */

/** @param {string} content @param {Partial<Answer>} [extra] @returns {Answer} */
export function chatContent(content, extra = {}) {
  return { kind: 'chat', content, label: `chat ${JSON.stringify(content).slice(0, 40)}`, ...extra };
}

/**
 * The asm-labs JSON verdict `{"result": ..., "reason": ...}` as message content.
 * @param {string} result  "allow", "deny", or any spelling ("ALLOW", "Deny", ...)
 * @param {string} [reason]
 * @param {'plain' | 'fenced' | 'prose' | 'fenced_prose'} [style]
 *   plain: the JSON alone; fenced: in a ```json fence; prose: sentences around it; fenced_prose: both
 * @returns {Answer}
 */
export function jsonVerdict(result, reason = '', style = 'plain') {
  const obj = JSON.stringify({ result, reason });
  let content = obj;
  if (style === 'fenced') content = '```json\n' + JSON.stringify({ result, reason }, null, 2) + '\n```';
  else if (style === 'prose') content = `Having looked at the conversation, my verdict is ${obj} and that is final.`;
  else if (style === 'fenced_prose') content = 'Here is my assessment:\n\n```json\n' + obj + '\n```\n\nLet me know if you need more.';
  return { kind: 'chat', content, label: `json ${result} (${style})` };
}

/** @param {string} [reason] @param {'plain' | 'fenced' | 'prose' | 'fenced_prose'} [style] */
export const allow = (reason = 'harmless', style = /** @type {'plain'} */ ('plain')) => jsonVerdict('allow', reason, style);
/** @param {string} [reason] @param {'plain' | 'fenced' | 'prose' | 'fenced_prose'} [style] */
export const deny = (reason = 'not allowed', style = /** @type {'plain'} */ ('plain')) => jsonVerdict('deny', reason, style);

/**
 * Llama Guard 3: `safe`, or `unsafe` and a line of hazard codes.
 * @param {'safe' | 'unsafe'} verdict
 * @param {string} [categories]  e.g. "S1,S7"
 * @returns {Answer}
 */
export function llamaGuard(verdict, categories = '') {
  const content = verdict === 'safe' ? 'safe' : `unsafe${categories ? `\n${categories}` : ''}`;
  return { kind: 'chat', content, label: `llama_guard ${verdict}` };
}

/**
 * Qwen3Guard: `Safety: Safe|Unsafe|Controversial` and `Categories: ...`.
 * @param {'Safe' | 'Unsafe' | 'Controversial'} safety
 * @param {string} [categories]  e.g. "Violent" (default None)
 * @returns {Answer}
 */
export function qwenGuard(safety, categories = 'None') {
  return { kind: 'chat', content: `Safety: ${safety}\nCategories: ${categories}`, label: `qwen_guard ${safety}` };
}

const MODERATION_CATEGORIES = [
  'harassment', 'harassment/threatening', 'hate', 'hate/threatening', 'illicit', 'illicit/violent',
  'self-harm', 'self-harm/instructions', 'self-harm/intent', 'sexual', 'sexual/minors', 'violence', 'violence/graphic',
];

/**
 * An OpenAI /v1/moderations answer: one result per input (default one), flagged with `flaggedCategories`.
 * @param {boolean} flagged
 * @param {string[]} [flaggedCategories]  e.g. ["violence"]
 * @param {number} [inputs]  number of results
 * @returns {Answer}
 */
export function moderation(flagged, flaggedCategories = flagged ? ['violence'] : [], inputs = 1) {
  /** @type {Record<string, boolean>} */
  const categories = {};
  /** @type {Record<string, number>} */
  const scores = {};
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

/**
 * Any status and body, sent verbatim.
 * @param {number} code
 * @param {string | Buffer} [body]  default: an OpenAI-shaped error
 * @param {string} [contentType]
 * @returns {Answer}
 */
export function status(code, body, contentType = 'application/json') {
  const b = body ?? JSON.stringify({ error: { message: `guard error ${code}`, type: 'server_error', param: null, code: null } });
  return { kind: 'http', status: code, body: b, headers: { 'content-type': contentType }, label: `status ${code}` };
}

/** A 200 whose body is not JSON. @returns {Answer} */
export const garbage = () => status(200, '<html><body>Bad gateway</body></html> definitely {not json', 'text/html');
/** 200 JSON without `choices`. @returns {Answer} */
export const noChoices = () => status(200, JSON.stringify({ id: 'chatcmpl-guard', object: 'chat.completion', model: 'guard' }));
/** 200 JSON with `choices: []` (the asm-labs plugin panics on this). @returns {Answer} */
export const emptyChoices = () => status(200, JSON.stringify({ id: 'chatcmpl-guard', object: 'chat.completion', choices: [] }));
/** 200 JSON whose first choice's message has no content. @returns {Answer} */
export const choicesWithoutContent = () => ({ kind: 'chat', content: '', omitContent: true, label: 'choices without content' });
/** 200 JSON whose first choice's message has `content: null`. @returns {Answer} */
export const nullContent = () => ({ kind: 'chat', content: null, label: 'content null' });
/** Headers, part of the body, then the socket is destroyed. @param {number} [partialBytes] @returns {Answer} */
export const reset = (partialBytes = 10) => ({ kind: 'reset', partialBytes, label: 'reset mid-answer' });
/** The socket is destroyed before any byte of the answer. @returns {Answer} */
export const resetBeforeHeaders = () => ({ kind: 'reset_before_headers', label: 'reset before headers' });
/** Never answers. @returns {Answer} */
export const hang = () => ({ kind: 'hang', label: 'hang' });
/** `answer`, after `ms` milliseconds. @param {Answer} answer @param {number} ms @returns {Answer} */
export const slow = (answer, ms) => ({ ...answer, delayMs: ms, label: `${answer.label ?? answer.kind} after ${ms} ms` });

/**
 * The HTTP answer (status, headers, body) for the kinds that send one (chat, moderation, http);
 * null for reset / reset_before_headers / hang.
 * @param {Answer} a
 * @param {{model?: string}} [req]  the guard request (its model is echoed back, like a real server)
 * @returns {{status: number, headers: Record<string, string>, body: string | Buffer} | null}
 */
export function renderAnswer(a, req = {}) {
  const model = req.model ?? 'guard-model';
  if (a.kind === 'chat') {
    /** @type {Record<string, unknown>} */
    const message = { role: 'assistant' };
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
  if (a.kind === 'http') {
    return { status: a.status ?? 200, headers: { ...(a.headers ?? {}) }, body: a.body ?? '' };
  }
  return null;
}

// ------------------------------------------------------------------------------------------------
// what the guard was asked

/**
 * @typedef {object} GuardRequest
 * @property {number} seq                order of arrival (1-based)
 * @property {string} method
 * @property {string} path
 * @property {string} host               the Host / :authority header
 * @property {http.IncomingHttpHeaders} headers
 * @property {string[]} rawHeaders       [name, value, ...] exactly as received
 * @property {Buffer} body
 * @property {string} text               the body as UTF-8
 * @property {any} json                  the body parsed, or undefined if it isn't JSON
 * @property {string | null} jsonError   why JSON.parse refused it (null if it parsed)
 * @property {string} model              body.model ('' if none)
 * @property {string | null} system      the system message's content (null: no system message)
 * @property {string} conversation       what the guard judges: the non-system messages' contents
 *   (chat) or the inputs (moderation), joined by a blank line
 * @property {boolean} complete          the whole request arrived
 * @property {boolean} aborted           the connection closed before the request was answered (e.g. the
 *   caller timed out while a slow answer was pending); the answer is then never sent
 * @property {'receiving' | 'waiting' | 'answered' | 'reset' | 'hung'} state
 * @property {string} answer             label of the answer given ('' until decided)
 * @property {number} status             status sent (0 if none)
 * @property {number} answeredAs         1 for the first request answered (or reset) by this server, 2 for
 *   the next, ...; 0 until then: compare with seq to see answers given out of order
 */

/**
 * @param {any} json
 * @returns {{model: string, system: string | null, conversation: string}}
 */
function readGuardBody(json) {
  /** @param {unknown} c */
  const textOf = (c) => (typeof c === 'string' ? c : JSON.stringify(c));
  if (!json || typeof json !== 'object') return { model: '', system: null, conversation: '' };
  const model = typeof json.model === 'string' ? json.model : '';
  if (Array.isArray(json.messages)) {
    /** @type {string | null} */
    let system = null;
    /** @type {string[]} */
    const parts = [];
    for (const m of json.messages) {
      if (m && m.role === 'system' && system === null) system = textOf(m.content);
      else if (m) parts.push(textOf(m.content));
    }
    return { model, system, conversation: parts.join('\n\n') };
  }
  if (json.input !== undefined) {
    const inputs = Array.isArray(json.input) ? json.input : [json.input];
    return { model, system: null, conversation: inputs.map(textOf).join('\n\n') };
  }
  return { model, system: null, conversation: '' };
}

/**
 * @typedef {Answer | ((req: GuardRequest) => Answer | Promise<Answer>)} Behaviour
 */

/**
 * A behaviour from rules: the first rule whose needle the conversation contains (a string) or
 * matches (a RegExp) gives the answer; otherwise `fallback`.
 * @param {[string | RegExp, Answer | ((req: GuardRequest) => Answer | Promise<Answer>)][]} rules
 * @param {Answer} [fallback]
 * @returns {(req: GuardRequest) => Answer | Promise<Answer>}
 */
export function byConversation(rules, fallback = allow()) {
  return (req) => {
    for (const [needle, answer] of rules) {
      const hit = typeof needle === 'string' ? req.conversation.includes(needle) : needle.test(req.conversation);
      if (hit) return typeof answer === 'function' ? answer(req) : answer;
    }
    return fallback;
  };
}

/** @param {number} ms */
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * @typedef {object} MockGuardOptions
 * @property {Behaviour} [behaviour]  default: allow every request
 */

export class MockGuard {
  /** @param {MockGuardOptions} [opts] */
  constructor(opts = {}) {
    /** @type {Behaviour} */
    this.behaviour = opts.behaviour ?? allow();
    /** @type {GuardRequest[]} */
    this.requests = [];
    this.port = 0;
    /** @type {Set<import('node:net').Socket>} */
    this.sockets = new Set();
    /** @type {{pred: (r: GuardRequest) => boolean, resolve: (r: GuardRequest) => void}[]} */
    this.answerWaiters = [];
    /** Errors thrown by a behaviour (the request got a 500); a test can assert there were none. @type {string[]} */
    this.behaviourErrors = [];
    this.answerCount = 0;
    this.server = http.createServer((req, res) => this.handle(req, res));
    this.server.keepAliveTimeout = 60_000;
    this.server.on('connection', (socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
  }

  /** @param {number} [port] @returns {Promise<this>} */
  async listen(port = 0) {
    await new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, '127.0.0.1', () => resolve(undefined));
    });
    const addr = this.server.address();
    if (!addr || typeof addr === 'string') throw new Error('mock guard has no port');
    this.port = addr.port;
    return this;
  }

  async close() {
    for (const s of this.sockets) s.destroy();
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(() => resolve(undefined)));
  }

  /** @param {Behaviour} b */
  setBehaviour(b) {
    this.behaviour = b;
  }

  /** Forget what was recorded. */
  reset() {
    this.requests = [];
    this.answerCount = 0;
  }

  /**
   * Resolves with the first request (already answered or answered later) that `pred` accepts.
   * @param {(r: GuardRequest) => boolean} pred
   * @returns {Promise<GuardRequest>}
   */
  whenAnswered(pred) {
    const done = this.requests.find((r) => pred(r) && (r.state === 'answered' || r.state === 'reset'));
    if (done) return Promise.resolve(done);
    return new Promise((resolve) => this.answerWaiters.push({ pred, resolve }));
  }

  /**
   * Waits until `count` requests accepted by `pred` have arrived completely; rejects after `ms`.
   * @param {(r: GuardRequest) => boolean} pred
   * @param {number} count
   * @param {number} [ms]
   * @returns {Promise<GuardRequest[]>}
   */
  async waitForRequests(pred, count, ms = 20_000) {
    const deadline = Date.now() + ms;
    for (;;) {
      const got = this.requests.filter((r) => r.complete && pred(r));
      if (got.length >= count) return got;
      if (Date.now() > deadline) throw new Error(`mock guard: ${got.length} of ${count} expected requests arrived within ${ms} ms`);
      await sleep(5);
    }
  }

  /**
   * Waits until every recorded request is answered, reset, aborted or hung, for at most ms.
   * @param {number} [ms]
   */
  async settle(ms = 2000) {
    const deadline = Date.now() + ms;
    while (Date.now() < deadline && this.requests.some((r) => (r.state === 'receiving' || r.state === 'waiting') && !r.aborted)) {
      await sleep(10);
    }
    await sleep(20);
  }

  /** @param {GuardRequest} rec */
  notifyAnswered(rec) {
    if (!rec.answeredAs) rec.answeredAs = ++this.answerCount;
    const keep = [];
    for (const w of this.answerWaiters) {
      if (w.pred(rec)) w.resolve(rec);
      else keep.push(w);
    }
    this.answerWaiters = keep;
  }

  /**
   * @param {http.IncomingMessage} req
   * @param {http.ServerResponse} res
   */
  handle(req, res) {
    /** @type {GuardRequest} */
    const rec = {
      seq: this.requests.length + 1,
      method: req.method ?? '',
      path: req.url ?? '',
      host: req.headers.host ?? '',
      headers: req.headers,
      rawHeaders: req.rawHeaders,
      body: Buffer.alloc(0),
      text: '',
      json: undefined,
      jsonError: null,
      model: '',
      system: null,
      conversation: '',
      complete: false,
      aborted: false,
      state: 'receiving',
      answer: '',
      status: 0,
      answeredAs: 0,
    };
    this.requests.push(rec);
    /** @type {Buffer[]} */
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    res.on('close', () => {
      if (!res.writableFinished && rec.state !== 'reset') rec.aborted = true;
    });
    // Writing to a connection the client (Envoy, after its timeout) already closed is not an error here.
    res.on('error', () => {});
    req.on('end', () => {
      rec.complete = true;
      rec.body = Buffer.concat(chunks);
      rec.text = rec.body.toString('utf8');
      try {
        rec.json = JSON.parse(rec.text);
      } catch (e) {
        rec.jsonError = String(/** @type {Error} */ (e).message);
      }
      Object.assign(rec, readGuardBody(rec.json));
      rec.state = 'waiting';
      this.answer(rec, res).catch((e) => {
        this.behaviourErrors.push(String(e?.stack ?? e));
        if (!res.headersSent) {
          rec.status = 500;
          res.writeHead(500, { 'content-type': 'text/plain' });
          res.end(`mock guard behaviour failed: ${e}`);
        } else res.destroy();
        rec.state = 'answered';
        this.notifyAnswered(rec);
      });
    });
  }

  /**
   * @param {GuardRequest} rec
   * @param {http.ServerResponse} res
   */
  async answer(rec, res) {
    const b = this.behaviour;
    const a = typeof b === 'function' ? await b(rec) : b;
    rec.answer = a.label ?? a.kind;
    if (a.delayMs) await sleep(a.delayMs);
    if (res.destroyed || res.socket?.destroyed) {
      // The client gave up (e.g. Envoy timed the call out) before this answer was ready.
      rec.aborted = true;
      return;
    }
    if (a.kind === 'hang') {
      rec.state = 'hung';
      return;
    }
    if (a.kind === 'reset_before_headers') {
      rec.state = 'reset';
      res.socket?.destroy();
      this.notifyAnswered(rec);
      return;
    }
    if (a.kind === 'reset') {
      const full = renderAnswer(allow('this answer is cut short by a reset'), rec);
      const body = Buffer.from(/** @type {string} */ (full?.body ?? ''));
      rec.status = 200;
      rec.state = 'reset';
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': body.length });
      res.write(body.subarray(0, Math.min(body.length - 1, a.partialBytes ?? 10)));
      // Let the headers and the first bytes leave before the socket goes.
      await sleep(30);
      res.socket?.destroy();
      this.notifyAnswered(rec);
      return;
    }
    const r = renderAnswer(a, rec);
    if (!r) throw new Error(`mock guard: unknown answer kind ${a.kind}`);
    const body = Buffer.isBuffer(r.body) ? r.body : Buffer.from(r.body);
    rec.status = r.status;
    res.writeHead(r.status, { ...r.headers, 'content-length': body.length });
    res.end(body);
    rec.state = 'answered';
    this.notifyAnswered(rec);
  }
}

/**
 * Starts a mock guard on 127.0.0.1 and a free port.
 * @param {MockGuardOptions} [opts]
 */
export function startMockGuard(opts = {}) {
  return new MockGuard(opts).listen();
}

/**
 * A loopback port nothing listens on (connections to it are refused): a guard that is down.
 * @returns {Promise<number>}
 */
export async function closedPort() {
  const srv = net.createServer();
  await new Promise((resolve) => srv.listen(0, '127.0.0.1', () => resolve(undefined)));
  const addr = srv.address();
  const port = addr && typeof addr !== 'string' ? addr.port : 0;
  await new Promise((resolve) => srv.close(() => resolve(undefined)));
  return port;
}

// ------------------------------------------------------------------------------------------------
// the same answers in the Node harness (test/harness): no server, the test plays Envoy's answer

/**
 * The part of the harness's FilterHost playAnswer needs.
 * @typedef {object} HarnessCalls
 * @property {(token: number, headers?: [string, string][], body?: string | Uint8Array) => void} respondToHttpCall
 * @property {(token: number) => void} failHttpCall
 * @property {(token: number) => void} timeoutHttpCall
 */

/**
 * Plays `answer` as the upstream of the harness's pending http call `token`, the way Envoy would
 * deliver it: an HTTP answer through respondToHttpCall; a reset after the headers as a failed call
 * (on_http_call_response with 0 headers); `'timeout'` as Envoy's async client timing out (a 504
 * "upstream request timeout" it makes itself); a hang as nothing at all. A delay is ignored (the
 * harness has its own clock: advance it or wait before calling this).
 * @param {HarnessCalls} host
 * @param {number} token
 * @param {Answer | 'timeout' | 'fail'} answer  'fail': the call fails without an answer (reset/refused)
 */
export function playAnswer(host, token, answer) {
  if (answer === 'timeout') return host.timeoutHttpCall(token);
  if (answer === 'fail') return host.failHttpCall(token);
  if (answer.kind === 'hang') return undefined;
  if (answer.kind === 'reset' || answer.kind === 'reset_before_headers') return host.failHttpCall(token);
  const r = renderAnswer(answer);
  if (!r) throw new Error(`playAnswer: unknown answer kind ${answer.kind}`);
  /** @type {[string, string][]} */
  const headers = [[':status', String(r.status)], ...Object.entries(r.headers)];
  return host.respondToHttpCall(token, headers, typeof r.body === 'string' ? r.body : new Uint8Array(r.body));
}
