// The benchmark's own Kubernetes client: JSON over one keep-alive HTTPS agent, as the cluster
// admin (static token). Requests, server-side applies, and a watch that reconnects.
import https from 'node:https';

export class Kube {
  /** @param {{ server: string, token: string, caPem: string, maxSockets?: number }} o */
  constructor(o) {
    this.server = o.server.replace(/\/+$/, '');
    this.token = o.token;
    this.agent = new https.Agent({ keepAlive: true, maxSockets: o.maxSockets ?? 16, ca: o.caPem });
    /** @type {Set<() => void>} stop functions of open watches */
    this.watches = new Set();
  }

  /**
   * @param {string} method
   * @param {string} path
   * @param {{ body?: unknown, contentType?: string, accept?: string, timeoutMs?: number }} [opts]
   * @returns {Promise<{ status: number, body: any }>}
   */
  request(method, path, opts = {}) {
    const payload = opts.body === undefined ? undefined : Buffer.from(typeof opts.body === 'string' ? opts.body : JSON.stringify(opts.body));
    /** @type {Record<string, string>} */
    const headers = { authorization: `Bearer ${this.token}`, accept: opts.accept ?? 'application/json', 'user-agent': 'llmguard-bench' };
    if (payload) {
      headers['content-type'] = opts.contentType ?? 'application/json';
      headers['content-length'] = String(payload.length);
    }
    return new Promise((resolve, reject) => {
      const req = https.request(`${this.server}${path}`, { method, headers, agent: this.agent, timeout: opts.timeoutMs ?? 60_000 }, (res) => {
        /** @type {Buffer[]} */
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let body;
          try {
            body = text ? JSON.parse(text) : undefined;
          } catch {
            body = text;
          }
          resolve({ status: res.statusCode ?? 0, body });
        });
      });
      req.on('timeout', () => req.destroy(new Error(`timeout: ${method} ${path}`)));
      req.on('error', reject);
      req.end(payload);
    });
  }

  /** Like request(), but rejects unless the status is 2xx (or in `ok`). @param {string} method @param {string} path @param {Parameters<Kube['request']>[2] & { ok?: number[] }} [opts] */
  async must(method, path, opts = {}) {
    const r = await this.request(method, path, opts);
    if ((r.status < 200 || r.status >= 300) && !(opts.ok ?? []).includes(r.status)) {
      throw new Error(`${method} ${path} answered ${r.status}: ${typeof r.body === 'string' ? r.body : r.body?.message ?? JSON.stringify(r.body)}`);
    }
    return r.body;
  }

  /**
   * Server-side apply (force), as a GitOps tool does it.
   * @param {string} path the object's path
   * @param {object} obj
   * @param {string} fieldManager
   */
  apply(path, obj, fieldManager) {
    return this.must('PATCH', `${path}?fieldManager=${encodeURIComponent(fieldManager)}&force=true`, {
      body: obj,
      contentType: 'application/apply-patch+yaml',
    });
  }

  /**
   * Watches a collection from `resourceVersion`, calling onEvent per event, reconnecting from the
   * last resourceVersion seen when the server ends the watch. Returns a stop function.
   * @param {string} path collection path
   * @param {string} resourceVersion
   * @param {(type: string, obj: any) => void} onEvent
   */
  watch(path, resourceVersion, onEvent) {
    let rv = resourceVersion;
    let stopped = false;
    /** @type {import('node:http').ClientRequest | undefined} */
    let current;
    const open = () => {
      if (stopped) return;
      const url = `${this.server}${path}?watch=1&allowWatchBookmarks=true&resourceVersion=${encodeURIComponent(rv)}`;
      current = https.get(url, { headers: { authorization: `Bearer ${this.token}`, accept: 'application/json' }, agent: false, ca: this.agent.options.ca }, (res) => {
        let buf = '';
        res.setEncoding('utf8');
        res.on('data', (chunk) => {
          buf += chunk;
          let nl;
          while ((nl = buf.indexOf('\n')) >= 0) {
            const line = buf.slice(0, nl);
            buf = buf.slice(nl + 1);
            if (!line.trim()) continue;
            let ev;
            try {
              ev = JSON.parse(line);
            } catch {
              continue;
            }
            if (ev.type === 'ERROR') {
              rv = '0'; // expired: start over from the cache
              continue;
            }
            if (ev.object?.metadata?.resourceVersion) rv = ev.object.metadata.resourceVersion;
            if (ev.type !== 'BOOKMARK') onEvent(ev.type, ev.object);
          }
        });
        res.on('end', () => setTimeout(open, 100));
        res.on('error', () => setTimeout(open, 500));
      });
      current.on('error', () => {
        if (!stopped) setTimeout(open, 500);
      });
    };
    open();
    const stop = () => {
      stopped = true;
      current?.destroy();
      this.watches.delete(stop);
    };
    this.watches.add(stop);
    return stop;
  }

  /** Ends open watches and idle connections (kube-apiserver waits for open requests when it stops). */
  close() {
    for (const stop of [...this.watches]) stop();
    this.agent.destroy();
  }
}

/**
 * Runs `fn` over `items` with at most `concurrency` in flight; returns when all are done.
 * @template T
 * @param {T[]} items
 * @param {number} concurrency
 * @param {(item: T, i: number) => Promise<void>} fn
 */
export async function pool(items, concurrency, fn) {
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      await fn(/** @type {T} */ (items[i]), i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
}
