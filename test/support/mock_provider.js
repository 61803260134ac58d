// @ts-check
/**
 * A local stand-in for OpenAI-compatible providers (and Anthropic's /v1/messages, Gemini's
 * generateContent). It records everything it receives — including requests whose body never
 * completed and connections on which bytes arrived — so a test can prove what did NOT reach it.
 */
import { randomBytes } from 'node:crypto';
import http from 'node:http';

/**
 * @typedef {object} RecordedRequest
 * @property {number} seq           order of arrival (1-based)
 * @property {number} connection    id of the TCP connection it came on
 * @property {string} method
 * @property {string} path          path and query as received
 * @property {string} host          the Host header ('' if none)
 * @property {http.IncomingHttpHeaders} headers   lower-cased, as node parsed them
 * @property {string[]} rawHeaders  [name, value, name, value, ...] exactly as received
 * @property {Buffer} body          the body bytes (set when the request completes or is aborted)
 * @property {boolean} complete     the whole request (headers and body) arrived
 * @property {boolean} aborted      the connection closed before the body ended
 * @property {number} status        status the mock answered (0 if it never answered)
 * @property {Buffer} responseBody  the exact bytes the mock wrote as the response body
 */

/**
 * @typedef {object} RecordedConnection
 * @property {number} id
 * @property {number} bytesRead     bytes received on it (updated on each request and at close)
 * @property {number} requests      requests whose headers were parsed on it
 * @property {boolean} closed
 */

/**
 * @typedef {object} MockOptions
 * @property {Record<string, string | string[]>} [keys]  host -> accepted key(s); hosts not listed need none
 * @property {number} [sseDelayMs]  pause between SSE events (default 5)
 * @property {string | ((rec: RecordedRequest, body: Record<string, any>) => string)} [reply]
 *   assistant text (default "Hello from the mock provider."); a function lets the mock play a guard
 *   model whose verdict depends on the prompt
 * @property {(rec: RecordedRequest) => void} [onRecord]  called when a request completes or is aborted
 */

const B62 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
/** @param {string} prefix @param {number} n */
function makeId(prefix, n = 24) {
  const bytes = randomBytes(n);
  let s = '';
  for (const b of bytes) s += B62[b % 62];
  return prefix + s;
}

/** Roughly OpenAI's count: ~4 characters a token. @param {string} text */
const tokens = (text) => Math.max(1, Math.ceil(text.length / 4));

/** @param {number} ms */
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** @param {http.IncomingHttpHeaders} h @returns {string[]} every credential value the request carries */
export function credentialsOf(h) {
  /** @type {string[]} */
  const out = [];
  const auth = h.authorization;
  if (typeof auth === 'string') {
    const m = /^Bearer\s+(.+)$/i.exec(auth);
    out.push(m ? m[1] : auth);
  }
  for (const k of ['x-api-key', 'api-key', 'x-goog-api-key']) {
    const v = h[k];
    if (typeof v === 'string') out.push(v);
    else if (Array.isArray(v)) out.push(...v);
  }
  return out;
}

export class MockProvider {
  /** @param {MockOptions} opts */
  constructor(opts = {}) {
    this.opts = opts;
    /** @type {RecordedRequest[]} */
    this.requests = [];
    /** @type {RecordedConnection[]} */
    this.connections = [];
    this.port = 0;
    this.connectionCount = 0;
    this.server = http.createServer((req, res) => this.handle(req, res));
    this.server.keepAliveTimeout = 60_000;
    /** @type {Map<import('node:net').Socket, RecordedConnection>} */
    this.bySocket = new Map();
    this.server.on('connection', (socket) => {
      const conn = { id: ++this.connectionCount, bytesRead: 0, requests: 0, closed: false };
      this.connections.push(conn);
      this.bySocket.set(socket, conn);
      socket.on('close', () => {
        conn.bytesRead = Math.max(conn.bytesRead, socket.bytesRead);
        conn.closed = true;
        this.bySocket.delete(socket);
      });
    });
  }

  /** @returns {Promise<this>} */
  async listen() {
    await new Promise((resolve) => this.server.listen(0, '127.0.0.1', () => resolve(undefined)));
    const addr = this.server.address();
    if (!addr || typeof addr === 'string') throw new Error('mock provider has no port');
    this.port = addr.port;
    return this;
  }

  async close() {
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(() => resolve(undefined)));
  }

  /** Forget what was recorded (connections already open stay open). */
  reset() {
    this.requests = [];
    this.connections = this.connections.filter((c) => !c.closed);
  }

  /** @param {string} host */
  requestsTo(host) {
    return this.requests.filter((r) => r.host.split(':')[0].toLowerCase() === host.toLowerCase());
  }

  /** Total bytes that arrived on all recorded connections. */
  bytesReceived() {
    for (const [socket, conn] of this.bySocket) conn.bytesRead = Math.max(conn.bytesRead, socket.bytesRead);
    return this.connections.reduce((n, c) => n + c.bytesRead, 0);
  }

  /**
   * Waits until the requests recorded so far have finished (completed or aborted), for at most ms.
   * @param {number} [ms]
   */
  async settle(ms = 2000) {
    const deadline = Date.now() + ms;
    while (Date.now() < deadline && this.requests.some((r) => !r.complete && !r.aborted)) await sleep(10);
    await sleep(20);
  }

  /**
   * @param {http.IncomingMessage} req
   * @param {http.ServerResponse} res
   */
  handle(req, res) {
    const conn = this.bySocket.get(req.socket);
    if (conn) {
      conn.requests += 1;
      conn.bytesRead = Math.max(conn.bytesRead, req.socket.bytesRead);
    }
    /** @type {RecordedRequest} */
    const rec = {
      seq: this.requests.length + 1,
      connection: conn?.id ?? 0,
      method: req.method ?? '',
      path: req.url ?? '',
      host: req.headers.host ?? '',
      headers: req.headers,
      rawHeaders: req.rawHeaders,
      body: Buffer.alloc(0),
      complete: false,
      aborted: false,
      status: 0,
      responseBody: Buffer.alloc(0),
    };
    this.requests.push(rec);
    /** @type {Buffer[]} */
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('close', () => {
      if (!rec.complete) {
        rec.body = Buffer.concat(chunks);
        rec.aborted = true;
        this.opts.onRecord?.(rec);
      }
      if (conn) conn.bytesRead = Math.max(conn.bytesRead, req.socket?.bytesRead ?? 0);
    });
    req.on('end', () => {
      rec.complete = true;
      rec.body = Buffer.concat(chunks);
      this.opts.onRecord?.(rec);
      this.respond(rec, res).catch((e) => {
        if (!res.headersSent) this.json(rec, res, 500, { error: { message: String(e), type: 'server_error' } });
        else res.destroy();
      });
    });
  }

  /**
   * @param {RecordedRequest} rec
   * @param {http.ServerResponse} res
   * @param {number} status
   * @param {unknown} obj
   */
  json(rec, res, status, obj) {
    const body = Buffer.from(JSON.stringify(obj));
    rec.status = status;
    rec.responseBody = body;
    res.writeHead(status, {
      'content-type': 'application/json',
      'content-length': body.length,
      'x-request-id': makeId('req_', 16),
      'openai-processing-ms': '1',
    });
    res.end(body);
  }

  /**
   * @param {RecordedRequest} rec
   * @param {http.ServerResponse} res
   */
  async respond(rec, res) {
    const url = new URL(rec.path, 'http://mock');
    const p = url.pathname;
    const anthropic = p === '/v1/messages';
    const accepted = this.opts.keys?.[rec.host.split(':')[0].toLowerCase()];
    if (accepted !== undefined) {
      const want = Array.isArray(accepted) ? accepted : [accepted];
      const got = credentialsOf(rec.headers);
      if (!got.some((k) => want.includes(k))) {
        if (anthropic) {
          return this.json(rec, res, 401, {
            type: 'error',
            error: { type: 'authentication_error', message: 'invalid x-api-key' },
          });
        }
        return this.json(rec, res, 401, {
          error: {
            message: got.length ? 'Incorrect API key provided.' : "You didn't provide an API key.",
            type: 'invalid_request_error',
            param: null,
            code: got.length ? 'invalid_api_key' : null,
          },
        });
      }
    }
    // Test hook: answer with the given status in OpenAI's error shape.
    const forced = /^\/mock\/status\/(\d{3})$/.exec(p);
    if (forced) {
      const status = Number(forced[1]);
      return this.json(rec, res, status, {
        error: {
          message: `Mock error ${status}.`,
          type: status === 429 ? 'rate_limit_exceeded' : status >= 500 ? 'server_error' : 'invalid_request_error',
          param: null,
          code: status === 429 ? 'rate_limit_exceeded' : null,
        },
      });
    }
    if (rec.method === 'GET' && p === '/v1/models') {
      return this.json(rec, res, 200, {
        object: 'list',
        data: ['gpt-4o-mini', 'gpt-4o', 'text-embedding-3-small'].map((id) => ({
          id,
          object: 'model',
          created: 1715367049,
          owned_by: 'system',
        })),
      });
    }
    if (rec.method !== 'POST') {
      return this.json(rec, res, 404, {
        error: { message: `Unknown request URL: ${rec.method} ${p}.`, type: 'invalid_request_error', param: null, code: 'unknown_url' },
      });
    }
    /** @type {Record<string, any>} */
    let body;
    try {
      body = JSON.parse(rec.body.toString('utf8'));
      if (!body || typeof body !== 'object' || Array.isArray(body)) throw new Error('not an object');
    } catch {
      return this.json(rec, res, 400, {
        error: {
          message: 'We could not parse the JSON body of your request.',
          type: 'invalid_request_error',
          param: null,
          code: null,
        },
      });
    }
    const r = this.opts.reply ?? 'Hello from the mock provider.';
    const reply = typeof r === 'function' ? r(rec, body) : r;
    const model = typeof body.model === 'string' ? body.model : 'gpt-4o-mini';
    const created = Math.floor(Date.now() / 1000);
    const promptTokens = tokens(rec.body.toString('utf8'));
    const usage = {
      prompt_tokens: promptTokens,
      completion_tokens: tokens(reply),
      total_tokens: promptTokens + tokens(reply),
    };
    // OpenAI, and Azure OpenAI's deployment path.
    if (p === '/v1/chat/completions' || /^\/openai\/deployments\/[^/]+\/chat\/completions$/.test(p)) {
      const id = makeId('chatcmpl-');
      if (body.stream === true) return this.sse(rec, res, id, model, created, reply, usage, !!body.stream_options?.include_usage);
      return this.json(rec, res, 200, {
        id,
        object: 'chat.completion',
        created,
        model,
        choices: [
          { index: 0, message: { role: 'assistant', content: reply, refusal: null }, logprobs: null, finish_reason: 'stop' },
        ],
        usage,
        system_fingerprint: 'fp_mock',
      });
    }
    if (p === '/v1/completions') {
      return this.json(rec, res, 200, {
        id: makeId('cmpl-'),
        object: 'text_completion',
        created,
        model,
        choices: [{ text: reply, index: 0, logprobs: null, finish_reason: 'stop' }],
        usage,
      });
    }
    if (p === '/v1/embeddings') {
      const inputs = Array.isArray(body.input) ? body.input : [body.input];
      return this.json(rec, res, 200, {
        object: 'list',
        data: inputs.map((_, index) => ({ object: 'embedding', index, embedding: [0.0023, -0.0093, 0.0159] })),
        model,
        usage: { prompt_tokens: promptTokens, total_tokens: promptTokens },
      });
    }
    if (p === '/v1/responses') {
      return this.json(rec, res, 200, {
        id: makeId('resp_'),
        object: 'response',
        created_at: created,
        status: 'completed',
        model,
        output: [
          {
            type: 'message',
            id: makeId('msg_'),
            status: 'completed',
            role: 'assistant',
            content: [{ type: 'output_text', text: reply, annotations: [] }],
          },
        ],
        usage: { input_tokens: promptTokens, output_tokens: tokens(reply), total_tokens: usage.total_tokens },
      });
    }
    if (anthropic) {
      return this.json(rec, res, 200, {
        id: makeId('msg_'),
        type: 'message',
        role: 'assistant',
        model,
        content: [{ type: 'text', text: reply }],
        stop_reason: 'end_turn',
        stop_sequence: null,
        usage: { input_tokens: promptTokens, output_tokens: tokens(reply) },
      });
    }
    if (/^\/v1(beta)?\/models\/[^/]+:generateContent$/.test(p)) {
      return this.json(rec, res, 200, {
        candidates: [{ content: { role: 'model', parts: [{ text: reply }] }, finishReason: 'STOP', index: 0 }],
        usageMetadata: { promptTokenCount: promptTokens, candidatesTokenCount: tokens(reply), totalTokenCount: usage.total_tokens },
        modelVersion: model,
      });
    }
    return this.json(rec, res, 404, {
      error: { message: `Unknown request URL: POST ${p}.`, type: 'invalid_request_error', param: null, code: 'unknown_url' },
    });
  }

  /**
   * OpenAI's chat streaming: chunked text/event-stream, `data: {...}\n\n` events, `data: [DONE]`.
   * @param {RecordedRequest} rec
   * @param {http.ServerResponse} res
   * @param {string} id
   * @param {string} model
   * @param {number} created
   * @param {string} reply
   * @param {{prompt_tokens: number, completion_tokens: number, total_tokens: number}} usage
   * @param {boolean} includeUsage
   */
  async sse(rec, res, id, model, created, reply, usage, includeUsage) {
    rec.status = 200;
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache',
      'x-request-id': makeId('req_', 16),
    });
    /** @type {Buffer[]} */
    const sent = [];
    /** @param {string} text */
    const send = async (text) => {
      const b = Buffer.from(text);
      sent.push(b);
      rec.responseBody = Buffer.concat(sent);
      res.write(b);
      await sleep(this.opts.sseDelayMs ?? 5);
    };
    /** @param {Record<string, unknown>} delta @param {string | null} finish */
    const chunk = (delta, finish) => ({
      id,
      object: 'chat.completion.chunk',
      created,
      model,
      system_fingerprint: 'fp_mock',
      choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }],
      ...(includeUsage ? { usage: null } : {}),
    });
    await send(`data: ${JSON.stringify(chunk({ role: 'assistant', content: '', refusal: null }, null))}\n\n`);
    for (const piece of reply.match(/\S+\s*/g) ?? [reply]) {
      await send(`data: ${JSON.stringify(chunk({ content: piece }, null))}\n\n`);
    }
    await send(`data: ${JSON.stringify(chunk({}, 'stop'))}\n\n`);
    if (includeUsage) {
      await send(
        `data: ${JSON.stringify({ id, object: 'chat.completion.chunk', created, model, system_fingerprint: 'fp_mock', choices: [], usage })}\n\n`,
      );
    }
    await send('data: [DONE]\n\n');
    res.end();
  }
}

/**
 * Starts a mock provider on 127.0.0.1 and a free port.
 * @param {MockOptions} [opts]
 */
export function startMockProvider(opts = {}) {
  return new MockProvider(opts).listen();
}
