// Requests as many apps' pods send them: plain HTTP to the sidecar's listener, over a pool of
// keep-alive connections, `concurrency` in flight at all times until `total` have been sent.
import http from 'node:http';

export interface Answer {
  /** 0 when the connection dropped before a whole answer arrived. */
  status: number;
  body: string;
  /** Why the answer is incomplete (a reset, a timeout), else null. */
  dropped: string | null;
  startedAt: number;
  ms: number;
}

export interface LoadOptions {
  port: number;
  host: string;
  path: string;
  total: number;
  concurrency: number;
  /** The request body of request i. */
  body(i: number): string;
  /** Called with each answer as it completes. */
  onAnswer(i: number, a: Answer): void;
  /** Per request; the slowest planned request is a guard timeout plus a slow provider. */
  timeoutMs: number;
}

function one(agent: http.Agent, o: LoadOptions, i: number): Promise<Answer> {
  const payload = Buffer.from(o.body(i));
  const startedAt = Date.now();
  return new Promise((resolve) => {
    let settled = false;
    const done = (status: number, body: string, dropped: string | null) => {
      if (settled) return;
      settled = true;
      resolve({ status, body, dropped, startedAt, ms: Date.now() - startedAt });
    };
    const req = http.request(
      {
        agent,
        host: '127.0.0.1',
        port: o.port,
        method: 'POST',
        path: o.path,
        headers: { host: o.host, 'content-type': 'application/json', 'content-length': payload.length },
        timeout: o.timeoutMs,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => done(res.statusCode ?? 0, Buffer.concat(chunks).toString('utf8'), res.complete ? null : 'incomplete'));
        res.on('aborted', () => done(0, Buffer.concat(chunks).toString('utf8'), 'aborted'));
        res.on('error', (e) => done(0, Buffer.concat(chunks).toString('utf8'), (e as NodeJS.ErrnoException).code ?? e.message));
      },
    );
    req.on('timeout', () => {
      req.destroy(new Error('timeout'));
      done(0, '', 'client timeout');
    });
    req.on('error', (e) => done(0, '', (e as NodeJS.ErrnoException).code ?? e.message));
    req.end(payload);
  });
}

/** Runs the load; resolves when every request has an answer. */
export async function runLoad(o: LoadOptions): Promise<void> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: o.concurrency, maxFreeSockets: o.concurrency });
  let next = 0;
  const worker = async () => {
    while (next < o.total) {
      const i = next++;
      o.onAnswer(i, await one(agent, o, i));
    }
  };
  try {
    await Promise.all(Array.from({ length: o.concurrency }, worker));
  } finally {
    agent.destroy();
  }
}
