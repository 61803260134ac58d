// A local stand-in for OpenAI-compatible providers (and Anthropic's /v1/messages, Gemini's
// generateContent, Azure OpenAI's deployment path), over HTTP or HTTPS. It records everything it
// receives, including requests whose body never completed and the bytes that arrived on each
// connection, so a test can prove what did NOT reach it. Streamed replies follow each provider's
// documented event sequence and arrive like real ones (streams/).
import { createHash } from 'node:crypto';
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Socket } from 'node:net';
import { closeServer, createMockServer, listenOnLoopback, sniOf, type MockHttpServer, type ServerTls } from './mock_server.js';
import { makeId } from './streams/ids.js';
import { buildStream, DEFAULT_DELTAS, planWrites, sendWrites, splitText, type StreamKind, type StreamKnobs } from './streams/index.js';

export type { StreamKind, StreamKnobs } from './streams/index.js';

export interface RecordedRequest {
  /** Order of arrival (1-based). */
  seq: number;
  /** Id of the connection it came on. */
  connection: number;
  method: string;
  /** Path and query as received. */
  path: string;
  /** The Host header ('' if none). */
  host: string;
  /** The TLS server name (null over plain HTTP or when none was sent). */
  sni: string | null;
  /** Lower-cased, as node parsed them. */
  headers: IncomingHttpHeaders;
  /** [name, value, name, value, ...] exactly as received. */
  rawHeaders: string[];
  /** The body bytes (set when the request completes or is aborted). */
  body: Buffer;
  /** The whole request (headers and body) arrived. */
  complete: boolean;
  /** The connection closed before the body ended. */
  aborted: boolean;
  /** Status the mock answered (0 if it never answered). */
  status: number;
  /** The exact bytes the mock wrote as the response body. */
  responseBody: Buffer;
  /** The same bytes, one entry per socket write (a JSON reply is one write). */
  responseWrites: Buffer[];
}

export interface RecordedConnection {
  id: number;
  /** Bytes received on it (updated on each request and at close). */
  bytesRead: number;
  /** Requests whose headers were parsed on it. */
  requests: number;
  closed: boolean;
}

export interface MockOptions {
  /** Host -> accepted key(s); hosts not listed need none. */
  keys?: Record<string, string | string[]>;
  /** Pause between SSE writes (default 5 ms). */
  sseDelayMs?: number;
  /**
   * How streamed replies are played (delta sizes, socket writes, keep-alives, a mid-stream error);
   * a function lets one mock stream differently per request.
   */
  stream?: StreamKnobs | ((rec: RecordedRequest, body: Record<string, unknown>) => StreamKnobs);
  /**
   * The assistant's text (default "Hello from the mock provider."); a function lets the mock play a
   * model whose answer depends on the prompt.
   */
  reply?: string | ((rec: RecordedRequest, body: Record<string, unknown>) => string);
  /** Called when a request completes or is aborted. */
  onRecord?: (rec: RecordedRequest) => void;
  /**
   * A fault to play on a request's JSON reply (default: none): `reset` sends the headers and half
   * the body, then drops the connection, as a provider or its load balancer dying mid-answer does;
   * `slow` sends the body in `pieces` writes `delayMs` apart.
   */
  fault?: (rec: RecordedRequest) => ProviderFault | undefined;
  /** Serve HTTPS with this certificate (default: plain HTTP). */
  tls?: ServerTls;
  /** The loopback address to listen on (default 127.0.0.1). */
  address?: string;
}

export type ProviderFault = { kind: 'reset' } | { kind: 'slow'; pieces: number; delayMs: number };

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
interface Usage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
}

/** Roughly OpenAI's count: ~4 characters a token. */
const tokens = (text: string) => Math.max(1, Math.ceil(text.length / 4));

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Every credential value the request carries (Bearer token, x-api-key, api-key, x-goog-api-key). */
export function credentialsOf(h: IncomingHttpHeaders): string[] {
  const out: string[] = [];
  const auth = h.authorization;
  if (typeof auth === 'string') out.push(/^Bearer\s+(.+)$/i.exec(auth)?.[1] ?? auth);
  for (const k of ['x-api-key', 'api-key', 'x-goog-api-key']) {
    const v = h[k];
    if (typeof v === 'string') out.push(v);
    else if (Array.isArray(v)) out.push(...v);
  }
  return out;
}

export class MockProvider {
  requests: RecordedRequest[] = [];
  connections: RecordedConnection[] = [];
  port = 0;
  connectionCount = 0;
  readonly server: MockHttpServer;
  private readonly bySocket = new Map<Socket, RecordedConnection>();
  /** Upgraded (WebSocket) connections: no longer the HTTP server's, closed by close(). */
  private readonly upgraded = new Set<Duplex>();

  constructor(readonly opts: MockOptions = {}) {
    this.server = createMockServer((req, res) => this.handle(req, res), opts.tls, (socket) => this.track(socket));
    this.server.on('upgrade', (req: IncomingMessage, socket: Duplex) => this.upgrade(req, socket));
  }

  async listen(): Promise<this> {
    this.port = await listenOnLoopback(this.server, 0, this.opts.address);
    return this;
  }

  close(): Promise<void> {
    for (const socket of this.upgraded) socket.destroy();
    return closeServer(this.server);
  }

  /** Forget what was recorded (connections already open stay open). */
  reset(): void {
    this.requests = [];
    this.connections = this.connections.filter((c) => !c.closed);
  }

  requestsTo(host: string): RecordedRequest[] {
    return this.requests.filter((r) => r.host.split(':')[0]!.toLowerCase() === host.toLowerCase());
  }

  /** Total bytes that arrived on all recorded connections. */
  bytesReceived(): number {
    for (const [socket, conn] of this.bySocket) conn.bytesRead = Math.max(conn.bytesRead, socket.bytesRead);
    return this.connections.reduce((n, c) => n + c.bytesRead, 0);
  }

  /** Waits until the requests recorded so far have finished (completed or aborted), for at most ms. */
  async settle(ms = 2000): Promise<void> {
    const deadline = Date.now() + ms;
    while (Date.now() < deadline && this.requests.some((r) => !r.complete && !r.aborted)) await sleep(10);
    await sleep(20);
  }

  private track(socket: Socket): void {
    const conn: RecordedConnection = { id: ++this.connectionCount, bytesRead: 0, requests: 0, closed: false };
    this.connections.push(conn);
    this.bySocket.set(socket, conn);
    socket.on('close', () => {
      conn.bytesRead = Math.max(conn.bytesRead, socket.bytesRead);
      conn.closed = true;
      this.bySocket.delete(socket);
    });
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const conn = this.bySocket.get(req.socket);
    if (conn) {
      conn.requests += 1;
      conn.bytesRead = Math.max(conn.bytesRead, req.socket.bytesRead);
    }
    const rec = this.record(req, conn?.id ?? 0);
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
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
      this.respond(rec, res).catch((e: unknown) => {
        if (!res.headersSent) this.json(rec, res, 500, { error: { message: String(e), type: 'server_error' } });
        else res.destroy();
      });
    });
  }

  /** A new record of a request whose headers arrived, in arrival order. */
  private record(req: IncomingMessage, connection: number): RecordedRequest {
    const rec: RecordedRequest = {
      seq: this.requests.length + 1,
      connection,
      method: req.method ?? '',
      path: req.url ?? '',
      host: req.headers.host ?? '',
      sni: sniOf(req),
      headers: req.headers,
      rawHeaders: req.rawHeaders,
      body: Buffer.alloc(0),
      complete: false,
      aborted: false,
      status: 0,
      responseBody: Buffer.alloc(0),
      responseWrites: [],
    };
    this.requests.push(rec);
    return rec;
  }

  /**
   * A WebSocket upgrade, as OpenAI's Realtime API answers one: 101 with the RFC 6455 accept value,
   * then a `session.created` event in a text frame. Recorded like a request (no body).
   */
  private upgrade(req: IncomingMessage, socket: Duplex): void {
    const rec = this.record(req, this.bySocket.get(req.socket)?.id ?? 0);
    rec.complete = true;
    rec.status = 101;
    this.opts.onRecord?.(rec);
    const key = req.headers['sec-websocket-key'];
    if (req.headers.upgrade?.toLowerCase() !== 'websocket' || typeof key !== 'string') {
      rec.status = 400;
      socket.end('HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\nconnection: close\r\n\r\n');
      return;
    }
    const accept = createHash('sha1').update(key + '258EAFA5-E914-47DA-95CA-C5AB0DC85B11').digest('base64');
    const event = Buffer.from(JSON.stringify({ type: 'session.created', event_id: makeId('event_', 16) }));
    // One unmasked text frame (FIN + opcode 1); events here are short (< 126 bytes).
    const frame = Buffer.concat([Buffer.from([0x81, event.length]), event]);
    socket.write(`HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\nconnection: Upgrade\r\nsec-websocket-accept: ${accept}\r\n\r\n`);
    socket.write(frame);
    this.upgraded.add(socket);
    socket.on('close', () => this.upgraded.delete(socket));
    socket.on('error', () => socket.destroy());
  }

  private json(rec: RecordedRequest, res: ServerResponse, status: number, obj: unknown): void {
    const body = Buffer.from(JSON.stringify(obj));
    rec.status = status;
    rec.responseBody = body;
    rec.responseWrites = [body];
    res.writeHead(status, {
      'content-type': 'application/json',
      'content-length': body.length,
      'x-request-id': makeId('req_', 16),
      'openai-processing-ms': '1',
    });
    const fault = this.opts.fault?.(rec);
    if (fault) void playFault(res, body, fault);
    else res.end(body);
  }

  /** Refuses a request without an accepted key, in the provider's own error shape; true if it did. */
  private refusedKey(rec: RecordedRequest, res: ServerResponse, anthropic: boolean): boolean {
    const accepted = this.opts.keys?.[rec.host.split(':')[0]!.toLowerCase()];
    if (accepted === undefined) return false;
    const want = Array.isArray(accepted) ? accepted : [accepted];
    const got = credentialsOf(rec.headers);
    if (got.some((k) => want.includes(k))) return false;
    if (anthropic) {
      this.json(rec, res, 401, { type: 'error', error: { type: 'authentication_error', message: 'invalid x-api-key' } });
    } else {
      this.json(rec, res, 401, {
        error: {
          message: got.length ? 'Incorrect API key provided.' : "You didn't provide an API key.",
          type: 'invalid_request_error',
          param: null,
          code: got.length ? 'invalid_api_key' : null,
        },
      });
    }
    return true;
  }

  private async respond(rec: RecordedRequest, res: ServerResponse): Promise<void> {
    const p = new URL(rec.path, 'http://mock').pathname;
    const anthropic = p === '/v1/messages';
    if (this.refusedKey(rec, res, anthropic)) return;
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
        data: ['gpt-4o-mini', 'gpt-4o', 'text-embedding-3-small'].map((id) => ({ id, object: 'model', created: 1715367049, owned_by: 'system' })),
      });
    }
    if (rec.method !== 'POST') {
      return this.json(rec, res, 404, {
        error: { message: `Unknown request URL: ${rec.method} ${p}.`, type: 'invalid_request_error', param: null, code: 'unknown_url' },
      });
    }
    let body: Json;
    try {
      body = JSON.parse(rec.body.toString('utf8')) as Json;
      if (!body || typeof body !== 'object' || Array.isArray(body)) throw new Error('not an object');
    } catch {
      return this.json(rec, res, 400, {
        error: { message: 'We could not parse the JSON body of your request.', type: 'invalid_request_error', param: null, code: null },
      });
    }
    const r = this.opts.reply ?? 'Hello from the mock provider.';
    const reply = typeof r === 'function' ? r(rec, body) : r;
    const model = typeof body.model === 'string' ? body.model : 'gpt-4o-mini';
    const created = Math.floor(Date.now() / 1000);
    const promptTokens = tokens(rec.body.toString('utf8'));
    const usage: Usage = { prompt_tokens: promptTokens, completion_tokens: tokens(reply), total_tokens: promptTokens + tokens(reply) };
    // OpenAI, and Azure OpenAI's deployment path.
    if (p === '/v1/chat/completions' || /^\/openai\/deployments\/[^/]+\/chat\/completions$/.test(p)) {
      if (body.stream === true) return this.stream(rec, res, body, 'openai-chat', { reply, model, created, promptTokens });
      return this.json(rec, res, 200, {
        id: makeId('chatcmpl-'),
        object: 'chat.completion',
        created,
        model,
        choices: [{ index: 0, message: { role: 'assistant', content: reply, refusal: null }, logprobs: null, finish_reason: 'stop' }],
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
      const inputs: unknown[] = Array.isArray(body.input) ? body.input : [body.input];
      return this.json(rec, res, 200, {
        object: 'list',
        data: inputs.map((_, index) => ({ object: 'embedding', index, embedding: [0.0023, -0.0093, 0.0159] })),
        model,
        usage: { prompt_tokens: promptTokens, total_tokens: promptTokens },
      });
    }
    if (p === '/v1/responses') {
      if (body.stream === true) return this.stream(rec, res, body, 'openai-responses', { reply, model, created, promptTokens });
      return this.json(rec, res, 200, {
        id: makeId('resp_'),
        object: 'response',
        created_at: created,
        status: 'completed',
        model,
        output: [
          { type: 'message', id: makeId('msg_'), status: 'completed', role: 'assistant', content: [{ type: 'output_text', text: reply, annotations: [] }] },
        ],
        usage: { input_tokens: promptTokens, output_tokens: tokens(reply), total_tokens: usage.total_tokens },
      });
    }
    if (anthropic) {
      if (body.stream === true) return this.stream(rec, res, body, 'anthropic', { reply, model, created, promptTokens });
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
    const gemini = /^\/v1(?:beta)?\/models\/([^/:]+):streamGenerateContent$/.exec(p);
    if (gemini && new URL(rec.path, 'http://mock').searchParams.get('alt') === 'sse') {
      return this.stream(rec, res, body, 'gemini', { reply, model: gemini[1]!, created, promptTokens });
    }
    if (/^\/v1(beta)?\/models\/[^/]+:generateContent$/.test(p)) {
      return this.json(rec, res, 200, {
        candidates: [{ content: { role: 'model', parts: [{ text: reply }] }, finishReason: 'STOP', index: 0 }],
        usageMetadata: { promptTokenCount: promptTokens, candidatesTokenCount: tokens(reply), totalTokenCount: usage.total_tokens },
        modelVersion: model,
      });
    }
    // Assistants runs (create run, create thread and run): a queued Run object.
    const run = /^\/v1\/threads(?:\/([^/]+))?\/runs$/.exec(p);
    if (run) {
      const assistant = typeof body.assistant_id === 'string' ? body.assistant_id : null;
      return this.json(rec, res, 200, {
        id: makeId('run_'),
        object: 'thread.run',
        created_at: created,
        assistant_id: assistant,
        thread_id: run[1] ?? makeId('thread_'),
        status: 'queued',
        model,
        instructions: null,
        tools: [],
        metadata: {},
      });
    }
    return this.json(rec, res, 404, {
      error: { message: `Unknown request URL: POST ${p}.`, type: 'invalid_request_error', param: null, code: 'unknown_url' },
    });
  }

  /** A streamed reply in the provider's own event sequence, played as the stream knobs say. */
  private async stream(
    rec: RecordedRequest,
    res: ServerResponse,
    body: Json,
    kind: StreamKind,
    a: { reply: string; model: string; created: number; promptTokens: number },
  ): Promise<void> {
    const knobs = typeof this.opts.stream === 'function' ? this.opts.stream(rec, body) : (this.opts.stream ?? {});
    const built = buildStream(kind, {
      deltas: splitText(a.reply, knobs.deltas ?? DEFAULT_DELTAS[kind]),
      model: a.model,
      created: a.created,
      promptTokens: a.promptTokens,
      completionTokens: tokens(a.reply),
      body,
      errorAfterDeltas: knobs.errorAfterDeltas,
    });
    const writes = planWrites(built.events.map((e) => Buffer.from(e)), knobs.writes ?? 'event');
    rec.status = 200;
    res.writeHead(200, { 'content-type': built.contentType, 'cache-control': 'no-cache', 'x-request-id': makeId('req_', 16) });
    const pacing = { delayMs: knobs.delayMs ?? this.opts.sseDelayMs ?? 5, keepAliveMs: knobs.keepAliveMs, keepAliveComment: knobs.keepAliveComment ?? 'keep-alive' };
    await sendWrites(res, writes, built.eol, pacing, (bytes) => {
      rec.responseWrites.push(bytes);
      rec.responseBody = Buffer.concat(rec.responseWrites);
    });
  }
}

async function playFault(res: ServerResponse, body: Buffer, fault: ProviderFault): Promise<void> {
  if (fault.kind === 'reset') {
    res.write(body.subarray(0, body.length >> 1));
    await sleep(5);
    // Over TLS Node can't send a TCP RST (resetAndDestroy refuses TLS handles): the connection is
    // dropped without close_notify, which Envoy reports the same way, a reset after the response began.
    res.socket?.destroy();
    return;
  }
  const size = Math.ceil(body.length / fault.pieces);
  for (let at = 0; at < body.length && !res.destroyed; at += size) {
    if (at > 0) await sleep(fault.delayMs);
    res.write(body.subarray(at, at + size));
  }
  res.end();
}

/** Starts a mock provider on 127.0.0.1 and a free port. */
export function startMockProvider(opts: MockOptions = {}): Promise<MockProvider> {
  return new MockProvider(opts).listen();
}
