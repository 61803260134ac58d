// A small JSON client for the Kubernetes REST API. Authentication and TLS come from client-node's
// KubeConfig (tokens, client certificates, exec/file token providers, CA), applied per request so
// rotated tokens are picked up; requests go through Node's own http/https over one keep-alive
// agent with the kubeconfig's TLS settings (the kubeconfig's own agent when it names a proxy). It speaks only JSON and exposes what the operator needs that client-node's generic object
// API does not: subresources (status), server-side apply and precondition deletes.
import http from 'node:http';
import https from 'node:https';
import type { KubeConfig } from '@kubernetes/client-node';
import { ApiError, type StatusBody } from './errors.js';

export type Query = Record<string, string | number | boolean | undefined>;

export interface RequestOptions {
  query?: Query;
  body?: unknown;
  /** Content-Type of the body; JSON by default. */
  contentType?: string;
  signal?: AbortSignal;
  /** Per-request timeout, default the client's. */
  timeoutMs?: number;
  /** Accept header, default application/json (e.g. a PartialObjectMetadata list). */
  accept?: string;
}

export interface ResponseInfo {
  method: string;
  path: string;
  statusCode: number;
  durationMs: number;
}

export interface KubeClientOptions {
  timeoutMs?: number;
  userAgent?: string;
  /** Called after every response (or failure, statusCode 0), e.g. for metrics. */
  onResponse?: (info: ResponseInfo) => void;
}

export class KubeClient {
  readonly kubeConfig: KubeConfig;
  private readonly timeoutMs: number;
  private readonly userAgent: string;
  private readonly onResponse: ((info: ResponseInfo) => void) | undefined;
  private agent: http.Agent | undefined;

  constructor(kc: KubeConfig, opts: KubeClientOptions = {}) {
    this.kubeConfig = kc;
    this.timeoutMs = opts.timeoutMs ?? 30_000;
    this.userAgent = opts.userAgent ?? 'llmguard-operator';
    this.onResponse = opts.onResponse;
  }

  /** The current context's namespace, if the kubeconfig names one. */
  contextNamespace(): string | undefined {
    const ctx = this.kubeConfig.getContextObject(this.kubeConfig.getCurrentContext());
    return ctx?.namespace || undefined;
  }

  async request<T = unknown>(method: string, path: string, opts: RequestOptions = {}): Promise<T> {
    const cluster = this.kubeConfig.getCurrentCluster();
    if (!cluster) throw new Error('kubeconfig has no current cluster');
    const url = new URL(cluster.server.replace(/\/+$/, '') + path);
    for (const [k, v] of Object.entries(opts.query ?? {})) if (v !== undefined) url.searchParams.set(k, String(v));

    const reqOpts: https.RequestOptions = {};
    await this.kubeConfig.applyToHTTPSOptions(reqOpts);
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(reqOpts.headers ?? {})) if (v !== undefined) headers[k] = String(v);
    headers['Accept'] = opts.accept ?? 'application/json';
    headers['User-Agent'] = this.userAgent;
    let payload: Buffer | undefined;
    if (opts.body !== undefined) {
      payload = Buffer.from(typeof opts.body === 'string' ? opts.body : JSON.stringify(opts.body));
      headers['Content-Type'] = opts.contentType ?? 'application/json';
      headers['Content-Length'] = String(payload.length);
    }

    // Abort on the caller's signal or the timeout (by hand: AbortSignal.any needs Node >= 20.3).
    const ac = new AbortController();
    const timer = setTimeout(() => ac.abort(new Error(`${method} ${url.pathname}: timed out`)), opts.timeoutMs ?? this.timeoutMs);
    const onAbort = () => ac.abort(opts.signal?.reason);
    if (opts.signal?.aborted) onAbort();
    else opts.signal?.addEventListener('abort', onAbort, { once: true });
    const signal = ac.signal;
    const transport = url.protocol === 'http:' ? http : https;
    reqOpts.agent = cluster.proxyUrl ? reqOpts.agent : this.keepAliveAgent(url.protocol, reqOpts);
    const started = performance.now();
    let statusCode = 0;
    try {
      const { status, text } = await new Promise<{ status: number; text: string }>((resolve, reject) => {
        const req = transport.request(url, { ...reqOpts, method, headers, signal }, (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('error', reject);
          res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
        });
        req.on('error', reject);
        req.end(payload);
      });
      statusCode = status;
      const parsed = parseJson(text);
      if (status < 200 || status >= 300) {
        throw new ApiError(method, url.pathname, status, isObject(parsed) ? (parsed as StatusBody) : undefined, text);
      }
      return parsed as T;
    } finally {
      clearTimeout(timer);
      opts.signal?.removeEventListener('abort', onAbort);
      this.onResponse?.({ method, path: url.pathname, statusCode, durationMs: performance.now() - started });
    }
  }

  /** Close idle connections (in-flight requests finish). */
  close(): void {
    this.agent?.destroy();
    this.agent = undefined;
  }

  private keepAliveAgent(protocol: string, tls: https.RequestOptions): http.Agent {
    if (this.agent) return this.agent;
    const common = { keepAlive: true, keepAliveMsecs: 30_000, maxSockets: 16 };
    this.agent =
      protocol === 'http:'
        ? new http.Agent(common)
        : new https.Agent({
            ...common,
            ca: tls.ca,
            cert: tls.cert,
            key: tls.key,
            pfx: tls.pfx,
            passphrase: tls.passphrase,
            servername: tls.servername,
            ...(tls.rejectUnauthorized !== undefined ? { rejectUnauthorized: tls.rejectUnauthorized } : {}),
          });
    return this.agent;
  }
}

function parseJson(text: string): unknown {
  if (!text) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
