// A small HTTP/1.1 client that talks to Envoy's listener as an app in the pod would: normal
// requests (any Host header, which fetch can't set), chunked bodies in many delayed writes, and raw
// bytes for malformed requests.
import http, { type IncomingHttpHeaders } from 'node:http';
import net from 'node:net';

export interface SendOptions {
  port: number;
  /** Host header (default api.openai.com). */
  host?: string;
  /** Default POST when there's a body, else GET. */
  method?: string;
  /** Default /v1/chat/completions. */
  path?: string;
  headers?: Record<string, string | string[] | number>;
  /** body = JSON.stringify(json), content-type application/json. */
  json?: unknown;
  /** Sent with content-length. */
  body?: string | Buffer;
  /** Sent with transfer-encoding: chunked, one write each. */
  chunks?: (string | Buffer)[];
  /** Pause between chunk writes (default 2 ms). */
  chunkDelayMs?: number;
  /** Default 15 s. */
  timeoutMs?: number;
  /** Default: a new connection per request. */
  agent?: http.Agent | false;
}

export interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  rawHeaders: string[];
  body: Buffer;
  text: string;
  /** Parses text (throws with the text if it isn't JSON). */
  json(): any; // eslint-disable-line @typescript-eslint/no-explicit-any
  /** From the first byte written to the end of the response. */
  durationMs: number;
  /** From the first byte written to the first body bytes (or the headers). */
  firstByteMs: number;
  /** An error writing the request after the reply began (EPIPE...). */
  writeError: string | null;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface ChatBody {
  model: string;
  messages: { role: string; content: string }[];
  [field: string]: unknown;
}

/** A minimal chat completion request body. */
export function chatBody(text: string, extra: Record<string, unknown> = {}): ChatBody {
  return { model: 'gpt-4o-mini', messages: [{ role: 'user', content: text }], ...extra };
}

function reply(body: Buffer, res: http.IncomingMessage, t0: number, t1: number, writeError: string | null): Reply {
  const text = body.toString('utf8');
  const status = res.statusCode ?? 0;
  return {
    status,
    headers: res.headers,
    rawHeaders: res.rawHeaders,
    body,
    text,
    json() {
      try {
        return JSON.parse(text);
      } catch {
        throw new Error(`response (status ${status}, content-type ${res.headers['content-type']}) is not JSON: ${text.slice(0, 300)}`);
      }
    },
    durationMs: performance.now() - t0,
    firstByteMs: t1 - t0,
    writeError,
  };
}

/** Sends one request and reads the whole response. */
export function send(opts: SendOptions): Promise<Reply> {
  const headers: Record<string, string | string[] | number> = { host: opts.host ?? 'api.openai.com', ...(opts.headers ?? {}) };
  let body: Buffer | null = null;
  if (opts.json !== undefined) {
    body = Buffer.from(JSON.stringify(opts.json));
    if (!Object.keys(headers).some((k) => k.toLowerCase() === 'content-type')) headers['content-type'] = 'application/json';
  } else if (opts.body !== undefined) {
    body = Buffer.isBuffer(opts.body) ? opts.body : Buffer.from(opts.body);
  }
  const chunks = opts.chunks?.map((c) => (Buffer.isBuffer(c) ? c : Buffer.from(c)));
  if (chunks) headers['transfer-encoding'] = 'chunked';
  else if (body) headers['content-length'] = body.length;
  const method = opts.method ?? (body || chunks ? 'POST' : 'GET');
  const timeoutMs = opts.timeoutMs ?? 15_000;
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    let writeError: string | null = null;
    let responded = false;
    const req = http.request({
      host: '127.0.0.1',
      port: opts.port,
      method,
      path: opts.path ?? '/v1/chat/completions',
      headers,
      agent: opts.agent ?? false,
      setHost: false,
    });
    const timer = setTimeout(() => req.destroy(new Error(`timed out after ${timeoutMs} ms`)), timeoutMs);
    req.on('error', (e: NodeJS.ErrnoException) => {
      if (responded) {
        writeError = String(e.code ?? e);
        return;
      }
      clearTimeout(timer);
      reject(e);
    });
    req.on('response', (res) => {
      responded = true;
      const parts: Buffer[] = [];
      let t1 = performance.now();
      res.on('data', (c: Buffer) => {
        if (!parts.length) t1 = performance.now();
        parts.push(c);
      });
      res.on('end', () => {
        clearTimeout(timer);
        resolve(reply(Buffer.concat(parts), res, t0, t1, writeError));
      });
      res.on('error', (e) => {
        clearTimeout(timer);
        reject(e);
      });
    });
    const write = async () => {
      if (!chunks) {
        req.end(body ?? undefined);
        return;
      }
      for (let i = 0; i < chunks.length; i++) {
        if (responded || req.destroyed) return;
        req.write(chunks[i]);
        if (i < chunks.length - 1) await sleep(opts.chunkDelayMs ?? 2);
      }
      if (!req.destroyed) req.end();
    };
    write().catch((e: unknown) => {
      if (!responded) reject(e);
    });
  });
}

/**
 * Splits text into pieces of at most `size` bytes, on byte boundaries: a multi-byte character may
 * be cut across two pieces, which is the point.
 */
export function splitBytes(text: string | Buffer, size: number): Buffer[] {
  const b = Buffer.isBuffer(text) ? text : Buffer.from(text);
  const out: Buffer[] = [];
  for (let i = 0; i < b.length; i += size) out.push(b.subarray(i, i + size));
  return out;
}

export interface RawReply {
  /** Everything the server sent until it closed (or the timeout). */
  raw: string;
  /** Status code of the first response line, if any. */
  status: number | null;
  /** What follows the first blank line. */
  body: string;
}

/**
 * Writes raw bytes on a new connection (each piece a separate write, delayed) and collects the
 * server's bytes until it closes the connection or `timeoutMs` passes. Ask for
 * `connection: close` in your bytes to make the server close after answering.
 */
export function sendRaw(port: number, pieces: (string | Buffer)[] | string | Buffer, opts: { delayMs?: number; timeoutMs?: number } = {}): Promise<RawReply> {
  const list = Array.isArray(pieces) ? pieces : [pieces];
  return new Promise((resolve) => {
    const sock = net.connect({ host: '127.0.0.1', port });
    const got: Buffer[] = [];
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sock.destroy();
      const raw = Buffer.concat(got).toString('utf8');
      const m = /^HTTP\/1\.[01] (\d{3})/.exec(raw);
      const sep = raw.indexOf('\r\n\r\n');
      resolve({ raw, status: m ? Number(m[1]) : null, body: sep >= 0 ? raw.slice(sep + 4) : '' });
    };
    const timer = setTimeout(finish, opts.timeoutMs ?? 5000);
    sock.on('data', (c: Buffer) => got.push(c));
    sock.on('end', finish);
    sock.on('close', finish);
    sock.on('error', finish);
    sock.on('connect', async () => {
      for (const p of list) {
        if (done || sock.destroyed) return;
        sock.write(p);
        await sleep(opts.delayMs ?? 2);
      }
    });
  });
}
