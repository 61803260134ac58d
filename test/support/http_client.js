// @ts-check
/**
 * A small HTTP/1.1 client for talking to Envoy's listener as an app in the pod would: normal
 * requests, chunked bodies in many delayed writes, and raw bytes for malformed requests.
 */
import http from 'node:http';
import net from 'node:net';

/**
 * @typedef {object} SendOptions
 * @property {number} port
 * @property {string} [host]        Host header (default api.openai.com)
 * @property {string} [method]      default POST when there's a body, else GET
 * @property {string} [path]        default /v1/chat/completions
 * @property {Record<string, string | string[] | number>} [headers]
 * @property {unknown} [json]       body = JSON.stringify(json), content-type application/json
 * @property {string | Buffer} [body]  sent with content-length
 * @property {(string | Buffer)[]} [chunks]  sent with transfer-encoding: chunked, one write each
 * @property {number} [chunkDelayMs]  pause between chunk writes (default 2)
 * @property {number} [timeoutMs]   default 15 s
 * @property {http.Agent | false} [agent]  default: a new connection per request
 */

/**
 * @typedef {object} Reply
 * @property {number} status
 * @property {http.IncomingHttpHeaders} headers
 * @property {string[]} rawHeaders
 * @property {Buffer} body
 * @property {string} text
 * @property {() => any} json       parses text (throws with the text if it isn't JSON)
 * @property {number} durationMs    from the first byte written to the end of the response
 * @property {number} firstByteMs   from the first byte written to the first body bytes (or the headers)
 * @property {string | null} writeError  an error writing the request after the reply began (EPIPE...)
 */

/** @param {number} ms */
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** A minimal chat completion request body. @param {string} text @param {Record<string, unknown>} [extra] */
export function chatBody(text, extra = {}) {
  return { model: 'gpt-4o-mini', messages: [{ role: 'user', content: text }], ...extra };
}

/** @param {Buffer} body @param {number} status @param {http.IncomingHttpHeaders} headers @param {string[]} rawHeaders @param {number} t0 @param {number} t1 @param {string | null} writeError @returns {Reply} */
function reply(body, status, headers, rawHeaders, t0, t1, writeError) {
  const text = body.toString('utf8');
  return {
    status,
    headers,
    rawHeaders,
    body,
    text,
    json() {
      try {
        return JSON.parse(text);
      } catch {
        throw new Error(`response (status ${status}, content-type ${headers['content-type']}) is not JSON: ${text.slice(0, 300)}`);
      }
    },
    durationMs: performance.now() - t0,
    firstByteMs: t1 - t0,
    writeError,
  };
}

/**
 * Sends one request and reads the whole response.
 * @param {SendOptions} opts
 * @returns {Promise<Reply>}
 */
export function send(opts) {
  /** @type {Record<string, string | string[] | number>} */
  const headers = { host: opts.host ?? 'api.openai.com', ...(opts.headers ?? {}) };
  /** @type {Buffer | null} */
  let body = null;
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
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    /** @type {string | null} */
    let writeError = null;
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
    const timer = setTimeout(() => {
      req.destroy(new Error(`timed out after ${opts.timeoutMs ?? 15000} ms`));
    }, opts.timeoutMs ?? 15000);
    req.on('error', (e) => {
      if (responded) {
        writeError = String(/** @type {NodeJS.ErrnoException} */ (e).code ?? e);
        return;
      }
      clearTimeout(timer);
      reject(e);
    });
    req.on('response', (res) => {
      responded = true;
      /** @type {Buffer[]} */
      const parts = [];
      let t1 = performance.now();
      res.on('data', (c) => {
        if (!parts.length) t1 = performance.now();
        parts.push(c);
      });
      res.on('end', () => {
        clearTimeout(timer);
        resolve(reply(Buffer.concat(parts), res.statusCode ?? 0, res.headers, res.rawHeaders, t0, t1, writeError));
      });
      res.on('error', (e) => {
        clearTimeout(timer);
        reject(e);
      });
    });
    const write = async () => {
      if (chunks) {
        for (let i = 0; i < chunks.length; i++) {
          if (responded || req.destroyed) return;
          req.write(chunks[i]);
          if (i < chunks.length - 1) await sleep(opts.chunkDelayMs ?? 2);
        }
        if (!req.destroyed) req.end();
      } else {
        req.end(body ?? undefined);
      }
    };
    write().catch((e) => {
      if (!responded) reject(e);
    });
  });
}

/**
 * Splits a string into pieces of at most `size` bytes (on UTF-8 byte boundaries: a multi-byte
 * character may be cut across two pieces, which is the point).
 * @param {string | Buffer} text
 * @param {number} size
 */
export function splitBytes(text, size) {
  const b = Buffer.isBuffer(text) ? text : Buffer.from(text);
  /** @type {Buffer[]} */
  const out = [];
  for (let i = 0; i < b.length; i += size) out.push(b.subarray(i, i + size));
  return out;
}

/**
 * @typedef {object} RawReply
 * @property {string} raw           everything the server sent until it closed (or the timeout)
 * @property {number | null} status status code of the first response line, if any
 * @property {string} body          what follows the first blank line
 */

/**
 * Writes raw bytes on a new connection (each piece a separate write, delayed) and collects the
 * server's bytes until it closes the connection or `timeoutMs` passes. Ask for
 * `connection: close` in your bytes to make the server close after answering.
 * @param {number} port
 * @param {(string | Buffer)[] | string | Buffer} pieces
 * @param {{delayMs?: number, timeoutMs?: number}} [opts]
 * @returns {Promise<RawReply>}
 */
export function sendRaw(port, pieces, opts = {}) {
  const list = Array.isArray(pieces) ? pieces : [pieces];
  return new Promise((resolve) => {
    const sock = net.connect({ host: '127.0.0.1', port });
    /** @type {Buffer[]} */
    const got = [];
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
    sock.on('data', (c) => got.push(c));
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
