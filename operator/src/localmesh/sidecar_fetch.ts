// A fetch for SDKs (the official `openai` package takes one) that sends every request to a local
// Envoy listener with the URL's host as the Host header: what an app in a pod does when the mesh
// redirects its outbound traffic to the sidecar. fetch itself can't set Host, hence node:http.
import http from 'node:http';
import { Readable } from 'node:stream';

const NULL_BODY_STATUS = new Set([101, 204, 205, 304]);

async function bodyBytes(body: BodyInit | null | undefined): Promise<Buffer | undefined> {
  if (body === null || body === undefined) return undefined;
  if (typeof body === 'string') return Buffer.from(body);
  if (ArrayBuffer.isView(body)) return Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  return Buffer.from(await new Response(body).arrayBuffer());
}

function abortError(signal: AbortSignal): Error {
  return signal.reason instanceof Error ? signal.reason : new DOMException('This operation was aborted', 'AbortError');
}

/** `fetch(url, init)` answered by the listener on `port`: the URL's scheme, host and port only name the Host. */
export function sidecarFetch(port: number, address = '127.0.0.1'): typeof fetch {
  return async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const request = input instanceof Request ? input : undefined;
    const url = new URL(request ? request.url : String(input));
    const headers = new Headers(request?.headers);
    new Headers(init?.headers).forEach((value, name) => headers.set(name, value));
    const body = await bodyBytes(init?.body ?? (request?.body ? await request.arrayBuffer() : undefined));
    const signal = init?.signal ?? request?.signal ?? undefined;
    if (signal?.aborted) throw abortError(signal);
    const outgoing: Record<string, string> = { host: url.host };
    headers.forEach((value, name) => (outgoing[name] = value));
    if (body) outgoing['content-length'] = String(body.length);
    return new Promise<Response>((resolve, reject) => {
      const req = http.request({ host: address, port, method: init?.method ?? request?.method ?? 'GET', path: url.pathname + url.search, headers: outgoing, agent: false }, (res) => {
        const responseHeaders = new Headers();
        for (let i = 0; i + 1 < res.rawHeaders.length; i += 2) responseHeaders.append(res.rawHeaders[i]!, res.rawHeaders[i + 1]!);
        const status = res.statusCode ?? 0;
        const stream = NULL_BODY_STATUS.has(status) ? null : (Readable.toWeb(res) as ReadableStream<Uint8Array>);
        if (!stream) res.resume();
        resolve(new Response(stream, { status, statusText: res.statusMessage ?? '', headers: responseHeaders }));
      });
      req.on('error', reject);
      signal?.addEventListener('abort', () => req.destroy(abortError(signal)), { once: true });
      req.end(body);
    });
  };
}
