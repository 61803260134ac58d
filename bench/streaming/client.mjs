// The app's side: a streamed chat request to the Envoy listener (Host: the provider, as a pod's
// app reaches its sidecar), read to its end, counting bytes; when it started, when its first body
// byte came and when it ended. Many at once, each on its own connection, for the concurrent phase.
import http from 'node:http';
import { MODEL, STREAM_OPTIONS } from './sse_streams.mjs';
import { STREAM_HEADER } from './upstream.mjs';

export const PROVIDER_HOST = 'api.openai.com';
export const CHAT_PATH = '/v1/chat/completions';

const REQUEST_BODY = Buffer.from(JSON.stringify({
  model: MODEL,
  messages: [{ role: 'user', content: 'Write the release notes for the queue migration, with a table of owners and dates.' }],
  stream: true,
  stream_options: STREAM_OPTIONS,
}));

/**
 * @typedef {object} StreamResult
 * @property {number} status
 * @property {number} bytes       body bytes received
 * @property {number} ttfbMs      request start -> first body byte
 * @property {number} totalMs     request start -> end of the body
 * @property {number} startedAt   performance.now() at the start
 * @property {number} endedAt     performance.now() at the end
 * @property {Buffer | null} body the body, when asked for (`keep`)
 */

/**
 * One stream, read to its end.
 * @param {number} port @param {string} streamId
 * @param {{agent?: http.Agent | false, keep?: boolean, timeoutMs?: number}} [o]
 * @returns {Promise<StreamResult>}
 */
export function readStream(port, streamId, o = {}) {
  return new Promise((resolve, reject) => {
    const startedAt = performance.now();
    let first = NaN;
    let bytes = 0;
    /** @type {Buffer[]} */
    const kept = [];
    const req = http.request({
      host: '127.0.0.1', port, method: 'POST', path: CHAT_PATH, agent: o.agent ?? false, timeout: o.timeoutMs ?? 60_000,
      headers: { host: PROVIDER_HOST, 'content-type': 'application/json', authorization: 'Bearer sk-app-placeholder', 'content-length': REQUEST_BODY.length, [STREAM_HEADER]: streamId },
    }, (res) => {
      res.on('data', (/** @type {Buffer} */ chunk) => {
        if (bytes === 0) first = performance.now();
        bytes += chunk.length;
        if (o.keep) kept.push(chunk);
      });
      res.on('end', () => {
        const endedAt = performance.now();
        resolve({ status: res.statusCode ?? 0, bytes, ttfbMs: first - startedAt, totalMs: endedAt - startedAt, startedAt, endedAt, body: o.keep ? Buffer.concat(kept) : null });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.on('timeout', () => req.destroy(new Error(`stream ${streamId}: no progress for ${o.timeoutMs ?? 60_000} ms`)));
    req.end(REQUEST_BODY);
  });
}

/**
 * `n` streams at once, each on a new connection; total bytes over the time from the first start
 * to the last end.
 * @param {number} port @param {string} streamId @param {number} n
 */
export async function readConcurrent(port, streamId, n) {
  const results = await Promise.all(Array.from({ length: n }, () => readStream(port, streamId)));
  const start = Math.min(...results.map((r) => r.startedAt));
  const end = Math.max(...results.map((r) => r.endedAt));
  return { results, bytes: results.reduce((s, r) => s + r.bytes, 0), seconds: (end - start) / 1000 };
}
