// A local stand-in for the key service the filter fetches keys from (docs/filter-config.md, "The
// key service"): a server on loopback, plain HTTP or HTTPS, that answers GET <path> with what the
// test set for that path (the JSON answer, another status, garbage, or nothing at all until the
// test lets it go) and records every request it gets, so a test can show what reached it and what
// did not. The real service authorises callers by their mTLS identity; this one trusts everyone.
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import { closeServer, createMockServer, listenOnLoopback, type MockHttpServer, type ServerTls } from './mock_server.js';

export interface KeyServiceRequest {
  /** Order of arrival (1-based). */
  seq: number;
  method: string;
  /** The path without its query: what answers are set for. */
  path: string;
  /** The query (`hosts=...&guard=1`: what the filter's config needs keys for), '' when none. */
  query: string;
  /** The Host / :authority header. */
  host: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
  /** Date.now() when it arrived. */
  at: number;
  /** Status sent (0 while held, or if never answered). */
  status: number;
}

/** The answer format: `{providers: {<host>: {api_keys} | {error}}, intelligent_guard?: {api_key} | {error}}`. */
export interface KeyServiceDocument {
  providers?: Record<string, { api_keys: string[] } | { error: string } | unknown>;
  intelligent_guard?: { api_key: string } | { error: string } | unknown;
  [field: string]: unknown;
}

/** A raw answer: any status and body. */
export interface KeyServiceAnswer {
  status: number;
  /** An object is sent as JSON; a string or Buffer as is. */
  body?: KeyServiceDocument | string | Buffer;
}

export interface MockKeyServiceOptions {
  /** Serve HTTPS with this certificate (default: plain HTTP). */
  tls?: ServerTls;
  /** The loopback address to listen on (default 127.0.0.1). */
  address?: string;
}

export class MockKeyService {
  requests: KeyServiceRequest[] = [];
  port = 0;
  readonly server: MockHttpServer;
  private readonly answers = new Map<string, KeyServiceAnswer>();
  private readonly holds = new Map<string, Promise<void>>();

  constructor(readonly opts: MockKeyServiceOptions = {}) {
    this.server = createMockServer((req, res) => this.handle(req, res), opts.tls, () => {});
  }

  async listen(): Promise<this> {
    this.port = await listenOnLoopback(this.server, 0, this.opts.address);
    return this;
  }

  close(): Promise<void> {
    return closeServer(this.server);
  }

  /** `path` answers 200 with this document (as JSON) from now on. Paths never set answer 404. */
  set(path: string, doc: KeyServiceDocument): void {
    this.answers.set(path, { status: 200, body: doc });
  }

  /** `path` answers this status and body from now on. */
  setRaw(path: string, answer: KeyServiceAnswer): void {
    this.answers.set(path, answer);
  }

  /**
   * Holds every answer to `path` (those in flight and later ones) until the returned function is
   * called; they then answer what is set at that time. Never called: the fetch hangs.
   */
  hold(path: string): () => void {
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    this.holds.set(path, held);
    return () => {
      if (this.holds.get(path) === held) this.holds.delete(path);
      release();
    };
  }

  requestsTo(path: string): KeyServiceRequest[] {
    return this.requests.filter((r) => r.path === path);
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const rec: KeyServiceRequest = {
      seq: this.requests.length + 1,
      method: req.method ?? '',
      path: (req.url ?? '').split('?')[0]!,
      query: (req.url ?? '').includes('?') ? (req.url ?? '').slice((req.url ?? '').indexOf('?') + 1) : '',
      host: req.headers.host ?? '',
      headers: req.headers,
      body: Buffer.alloc(0),
      at: Date.now(),
      status: 0,
    };
    this.requests.push(rec);
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      rec.body = Buffer.concat(chunks);
      void this.respond(rec, res);
    });
  }

  private async respond(rec: KeyServiceRequest, res: ServerResponse): Promise<void> {
    const held = this.holds.get(rec.path);
    if (held) await held;
    if (res.destroyed) return;
    const answer = this.answers.get(rec.path) ?? { status: 404, body: 'no such path' };
    const b = answer.body;
    const isJson = b !== undefined && typeof b === 'object' && !Buffer.isBuffer(b);
    const body = b === undefined ? Buffer.alloc(0) : Buffer.isBuffer(b) ? b : Buffer.from(typeof b === 'string' ? b : JSON.stringify(b));
    rec.status = answer.status;
    res.writeHead(answer.status, { 'content-type': isJson ? 'application/json' : 'text/plain', 'content-length': body.length });
    res.end(body);
  }
}

/** Starts a mock key service on 127.0.0.1 and a free port. */
export function startMockKeyService(opts: MockKeyServiceOptions = {}): Promise<MockKeyService> {
  return new MockKeyService(opts).listen();
}
