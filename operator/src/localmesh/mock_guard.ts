// A local stand-in for the guard model of `intelligent_guard` (docs/filter-config.md, "The
// intelligent guard"): an OpenAI-compatible server on loopback, over HTTP or HTTPS, that records
// every request it gets and answers with guard_answers.ts values. Its behaviour is an answer or a
// function of the request returning one (sync or async), so one server can play a whole test file,
// and an async behaviour can hold a request until another one has been answered (out-of-order
// answers: see whenAnswered()). "Down" (connection refused) is a port nobody listens on: closedPort().
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { allow, renderAnswer, type Answer } from './guard_answers.js';
import { closeServer, createMockServer, listenOnLoopback, sniOf, type MockHttpServer, type ServerTls } from './mock_server.js';

export interface GuardRequest {
  /** Order of arrival (1-based). */
  seq: number;
  method: string;
  path: string;
  /** The Host / :authority header. */
  host: string;
  /** The TLS server name (null over plain HTTP or when none was sent). */
  sni: string | null;
  headers: IncomingHttpHeaders;
  /** [name, value, ...] exactly as received. */
  rawHeaders: string[];
  body: Buffer;
  /** The body as UTF-8. */
  text: string;
  /** The body parsed, or undefined if it isn't JSON. */
  json: any; // eslint-disable-line @typescript-eslint/no-explicit-any
  /** Why JSON.parse refused it (null if it parsed). */
  jsonError: string | null;
  /** body.model ('' if none). */
  model: string;
  /** The system message's content (null: no system message). */
  system: string | null;
  /** What the guard judges: the non-system messages' contents (chat) or the inputs (moderation), joined by a blank line. */
  conversation: string;
  /** The whole request arrived. */
  complete: boolean;
  /**
   * The connection closed before the request was answered (e.g. the caller timed out while a slow
   * answer was pending); the answer is then never sent.
   */
  aborted: boolean;
  state: 'receiving' | 'waiting' | 'answered' | 'reset' | 'hung';
  /** Label of the answer given ('' until decided). */
  answer: string;
  /** Status sent (0 if none). */
  status: number;
  /**
   * 1 for the first request answered (or reset) by this server, 2 for the next, ...; 0 until then:
   * compare with seq to see answers given out of order.
   */
  answeredAs: number;
}

/** What a guard request asks about: its model, system prompt and the conversation judged. */
export function conversationOf(json: unknown): { model: string; system: string | null; conversation: string } {
  const textOf = (c: unknown) => (typeof c === 'string' ? c : JSON.stringify(c));
  if (!json || typeof json !== 'object') return { model: '', system: null, conversation: '' };
  const body = json as { model?: unknown; messages?: unknown; input?: unknown };
  const model = typeof body.model === 'string' ? body.model : '';
  if (Array.isArray(body.messages)) {
    let system: string | null = null;
    const parts: string[] = [];
    for (const m of body.messages as ({ role?: unknown; content?: unknown } | null)[]) {
      if (m && m.role === 'system' && system === null) system = textOf(m.content);
      else if (m) parts.push(textOf(m.content));
    }
    return { model, system, conversation: parts.join('\n\n') };
  }
  if (body.input !== undefined) {
    const inputs: unknown[] = Array.isArray(body.input) ? body.input : [body.input];
    return { model, system: null, conversation: inputs.map(textOf).join('\n\n') };
  }
  return { model, system: null, conversation: '' };
}

export type Behaviour = Answer | ((req: GuardRequest) => Answer | Promise<Answer>);

/**
 * A behaviour from rules: the first rule whose needle the conversation contains (a string) or
 * matches (a RegExp) gives the answer; otherwise `fallback`.
 */
export function byConversation(
  rules: [string | RegExp, Answer | ((req: GuardRequest) => Answer | Promise<Answer>)][],
  fallback: Answer = allow(),
): (req: GuardRequest) => Answer | Promise<Answer> {
  return (req) => {
    for (const [needle, answer] of rules) {
      const hit = typeof needle === 'string' ? req.conversation.includes(needle) : needle.test(req.conversation);
      if (hit) return typeof answer === 'function' ? answer(req) : answer;
    }
    return fallback;
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface MockGuardOptions {
  /** Default: allow every request. */
  behaviour?: Behaviour;
  /** Serve HTTPS with this certificate (default: plain HTTP). */
  tls?: ServerTls;
  /** The loopback address to listen on (default 127.0.0.1). */
  address?: string;
}

export class MockGuard {
  behaviour: Behaviour;
  requests: GuardRequest[] = [];
  port = 0;
  /** Errors thrown by a behaviour (the request got a 500); a test can assert there were none. */
  behaviourErrors: string[] = [];
  readonly server: MockHttpServer;
  private readonly sockets = new Set<Socket>();
  private answerWaiters: { pred: (r: GuardRequest) => boolean; resolve: (r: GuardRequest) => void }[] = [];
  private answerCount = 0;

  constructor(private readonly opts: MockGuardOptions = {}) {
    this.behaviour = opts.behaviour ?? allow();
    this.server = createMockServer((req, res) => this.handle(req, res), opts.tls, (socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
  }

  async listen(port = 0): Promise<this> {
    this.port = await listenOnLoopback(this.server, port, this.opts.address);
    return this;
  }

  close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    return closeServer(this.server);
  }

  setBehaviour(b: Behaviour): void {
    this.behaviour = b;
  }

  /** Forget what was recorded. */
  reset(): void {
    this.requests = [];
    this.answerCount = 0;
  }

  /** Resolves with the first request (already answered or answered later) that `pred` accepts. */
  whenAnswered(pred: (r: GuardRequest) => boolean): Promise<GuardRequest> {
    const done = this.requests.find((r) => pred(r) && (r.state === 'answered' || r.state === 'reset'));
    if (done) return Promise.resolve(done);
    return new Promise((resolve) => this.answerWaiters.push({ pred, resolve }));
  }

  /** Waits until `count` requests accepted by `pred` have arrived completely; rejects after `ms`. */
  async waitForRequests(pred: (r: GuardRequest) => boolean, count: number, ms = 20_000): Promise<GuardRequest[]> {
    const deadline = Date.now() + ms;
    for (;;) {
      const got = this.requests.filter((r) => r.complete && pred(r));
      if (got.length >= count) return got;
      if (Date.now() > deadline) throw new Error(`mock guard: ${got.length} of ${count} expected requests arrived within ${ms} ms`);
      await sleep(5);
    }
  }

  /** Waits until every recorded request is answered, reset, aborted or hung, for at most ms. */
  async settle(ms = 2000): Promise<void> {
    const deadline = Date.now() + ms;
    while (Date.now() < deadline && this.requests.some((r) => (r.state === 'receiving' || r.state === 'waiting') && !r.aborted)) {
      await sleep(10);
    }
    await sleep(20);
  }

  private notifyAnswered(rec: GuardRequest): void {
    if (!rec.answeredAs) rec.answeredAs = ++this.answerCount;
    const keep = [];
    for (const w of this.answerWaiters) {
      if (w.pred(rec)) w.resolve(rec);
      else keep.push(w);
    }
    this.answerWaiters = keep;
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const rec: GuardRequest = {
      seq: this.requests.length + 1,
      method: req.method ?? '',
      path: req.url ?? '',
      host: req.headers.host ?? '',
      sni: sniOf(req),
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
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
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
        rec.jsonError = (e as Error).message;
      }
      Object.assign(rec, conversationOf(rec.json));
      rec.state = 'waiting';
      this.answer(rec, res).catch((e: unknown) => {
        this.behaviourErrors.push(String((e as Error)?.stack ?? e));
        if (!res.headersSent) {
          rec.status = 500;
          res.writeHead(500, { 'content-type': 'text/plain' });
          res.end(`mock guard behaviour failed: ${String(e)}`);
        } else res.destroy();
        rec.state = 'answered';
        this.notifyAnswered(rec);
      });
    });
  }

  private async answer(rec: GuardRequest, res: ServerResponse): Promise<void> {
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
      const body = Buffer.from(full?.body ?? '');
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

/** Starts a mock guard on 127.0.0.1 and a free port. */
export function startMockGuard(opts: MockGuardOptions = {}): Promise<MockGuard> {
  return new MockGuard(opts).listen();
}
