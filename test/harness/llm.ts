// Helpers for tests of the LLM guard through the harness: load+configure, send provider-shaped
// requests, read the filter's JSON error replies.

import { FilterHost, type FilterHostOptions, type RequestSpec } from '../../operator/src/wasm/filter_host.js';
import type { HeaderPair, HeadersInit } from '../../operator/src/wasm/header_map.js';
import { toPairs } from '../../operator/src/wasm/header_map.js';
import type { HttpStream } from '../../operator/src/wasm/stream.js';

export const OPENAI = 'api.openai.com';
export const ANTHROPIC = 'api.anthropic.com';
export const GEMINI = 'generativelanguage.googleapis.com';
export const AZURE = 'myco.openai.azure.com';

/** Provider keys used by the tests: distinctive so leaks are easy to spot. */
export const KEY = 'sk-test-PROVIDER-KEY-7f3a9c1e5b';
export const KEY2 = 'sk-test-SECOND-KEY-2b8d4f6a0c';
export const KEY3 = 'sk-test-THIRD-KEY-9e1c3a5b7d';
export const CLIENT_KEY = 'sk-client-SHOULD-NOT-PASS-1234';

export const CREDENTIAL_HEADERS = ['authorization', 'x-api-key', 'api-key', 'x-goog-api-key'];

export const ERROR_CODES: Record<string, { status: number | 'deny'; type: string }> = {
  denied_by_pattern: { status: 'deny', type: 'policy_violation' },
  not_allowed_by_pattern: { status: 'deny', type: 'policy_violation' },
  invalid_json: { status: 400, type: 'invalid_request_error' },
  invalid_body: { status: 400, type: 'invalid_request_error' },
  json_too_deep: { status: 400, type: 'invalid_request_error' },
  body_too_large: { status: 413, type: 'invalid_request_error' },
  unsupported_content_encoding: { status: 415, type: 'invalid_request_error' },
  unsupported_body: { status: 415, type: 'invalid_request_error' },
  binary_content_refused: { status: 400, type: 'invalid_request_error' },
  upgrade_not_inspectable: { status: 403, type: 'policy_violation' },
};

/** Load the real filter and configure it; `expectConfigured` false lets a test look at refusals. */
export async function loadGuard(
  pluginConfig: unknown,
  opts: Omit<FilterHostOptions, 'pluginConfig'> & { expectConfigured?: boolean } = {},
): Promise<FilterHost> {
  const host = await FilterHost.load({ ...opts, pluginConfig });
  const ok = host.configure();
  if ((opts.expectConfigured ?? true) && !ok) {
    const why = host.logs.map(([l, m]) => `  [${l}] ${m}`).join('\n');
    throw new Error(`filter refused the configuration ${JSON.stringify(pluginConfig)}\nlogs:\n${why}`);
  }
  return host;
}

export interface PostOptions {
  authority?: string;
  path?: string;
  method?: string;
  headers?: HeadersInit;
  contentType?: string | null;
  chunkSize?: number;
  chunks?: (string | Uint8Array)[];
  response?: RequestSpec['response'];
}

export function requestHeaders(o: PostOptions = {}): HeaderPair[] {
  const h: HeaderPair[] = [
    [':method', o.method ?? 'POST'],
    [':scheme', 'http'],
    [':path', o.path ?? '/v1/chat/completions'],
    [':authority', o.authority ?? OPENAI],
  ];
  if (o.contentType !== null) h.push(['content-type', o.contentType ?? 'application/json']);
  return [...h, ...toPairs(o.headers)];
}

/** POST a body (object -> JSON) to a provider through the filter. */
export function post(host: FilterHost, body: unknown, o: PostOptions = {}): HttpStream {
  const raw = typeof body === 'string' || body instanceof Uint8Array ? body : JSON.stringify(body);
  const spec: RequestSpec = { headers: requestHeaders(o), response: o.response };
  if (o.chunks) spec.chunks = o.chunks;
  else {
    spec.body = raw;
    if (o.chunkSize) spec.chunkSize = o.chunkSize;
  }
  return host.request(spec);
}

export function get(host: FilterHost, path: string, o: PostOptions = {}): HttpStream {
  return host.request({ headers: requestHeaders({ ...o, method: 'GET', path, contentType: null }) });
}

export const chat = (...messages: { role: string; content: unknown; [k: string]: unknown }[]) => ({
  model: 'gpt-4o-mini',
  messages,
});
export const user = (content: unknown) => ({ role: 'user', content });

export interface ErrorReply {
  status: number;
  type: string;
  code: string;
  message: string;
  raw: string;
}

/** The filter's own JSON error reply, or null if the stream got no local reply. */
export function errorOf(r: HttpStream): ErrorReply | null {
  const lr = r.localReply;
  if (!lr) return null;
  let parsed: unknown;
  try {
    parsed = JSON.parse(lr.body);
  } catch {
    return { status: lr.status, type: '', code: '', message: '', raw: lr.body };
  }
  const e = (parsed as { error?: { type?: unknown; code?: unknown; message?: unknown } })?.error ?? {};
  return {
    status: lr.status,
    type: typeof e.type === 'string' ? e.type : '',
    code: typeof e.code === 'string' ? e.code : '',
    message: typeof e.message === 'string' ? e.message : '',
    raw: lr.body,
  };
}

/** One-line description of a stream's outcome for assertion messages. */
export function outcome(r: HttpStream): string {
  if (r.localReply) return `local reply ${r.localReply.status} ${r.localReply.body} (${r.localReply.details})`;
  if (r.forwarded) return 'forwarded';
  if (r.reset) return `reset (${r.resetReason})`;
  return `pending: ${JSON.stringify(r.summary().events)}`;
}

/** Values of the credential headers that reached the upstream. */
export function upstreamCredentials(r: HttpStream): HeaderPair[] {
  return (r.upstreamHeaders ?? []).filter(([k]) => CREDENTIAL_HEADERS.includes(k));
}
