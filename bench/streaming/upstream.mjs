// The provider of the bench: a plain Node HTTP server that answers every request, once its body
// has arrived, with one of the prepared SSE streams (chosen by the `x-bench-stream` header),
// chunked like the real APIs, with no pause between writes and no work per request beyond the
// writes themselves (the mock provider builds its stream per request and sleeps between writes:
// too slow to stream tens of MB/s). It honours backpressure, so Envoy's flow control paces it.
import http from 'node:http';
import { once } from 'node:events';

export const STREAM_HEADER = 'x-bench-stream';

/** Until the response may be written again (or is gone). @param {http.ServerResponse} res */
function drained(res) {
  return new Promise((resolve) => {
    const done = () => {
      res.off('drain', done);
      res.off('close', done);
      resolve(undefined);
    };
    res.on('drain', done);
    res.on('close', done);
  });
}

/**
 * @param {Map<string, Buffer[]>} streams  id -> the writes of its body
 * @returns {Promise<{port: number, served: () => number, close: () => Promise<void>}>}
 */
export async function startUpstream(streams) {
  let served = 0;
  const server = http.createServer({ keepAliveTimeout: 60_000 }, (req, res) => {
    const id = String(req.headers[STREAM_HEADER] ?? '');
    const writes = streams.get(id);
    req.resume();
    req.on('end', async () => {
      if (!writes) {
        res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { message: `no stream ${id}` } }));
        return;
      }
      res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', 'x-request-id': `req_${++served}` });
      for (const w of writes) {
        if (res.destroyed) return;
        if (!res.write(w)) await drained(res);
      }
      res.end();
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  if (!address || typeof address === 'string') throw new Error('upstream: no port');
  return {
    port: address.port,
    served: () => served,
    close: () => {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve(undefined)));
    },
  };
}
