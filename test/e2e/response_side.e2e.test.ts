// End-to-end, the response side of the release filter in real Envoy: an upstream that sends the
// injected key back (an error page quoting Authorization, an echo endpoint, a stream) is masked
// before the app sees it, whole bodies keep their content-length and streamed chunks still flow
// one by one; and the audit record the access log prints.
import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startEnvoy, type EnvoyProcess } from '../../operator/src/localmesh/envoy.js';
import { chatBody, send } from '../../operator/src/localmesh/http_client.js';
import { buildBootstrap } from '../../operator/src/localmesh/sidecar_bootstrap.js';
import { defaultWasmPath } from '../../operator/src/wasm/module_path.js';

vi.setConfig({ testTimeout: 60_000, hookTimeout: 120_000 });

const OPENAI = 'api.openai.com';
const KEY = 'sk-e2e-echoed-Wq8Er7Ty6Ui5Op4As3Df2';
const MASKED = '*'.repeat(KEY.length);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let upstream: Server;
let envoy: EnvoyProcess;
/** What the upstream saw of accept-encoding, per request. */
const acceptEncodings: (string | undefined)[] = [];

/** Echoes what it was sent, the way real upstreams leak a key: in a header, a JSON body, a stream. */
async function answer(req: IncomingMessage, res: ServerResponse): Promise<void> {
  for await (const _ of req); // the request body
  acceptEncodings.push(req.headers['accept-encoding']);
  const auth = String(req.headers.authorization ?? '');
  const key = auth.replace(/^Bearer /, '');
  if (req.url?.startsWith('/echo-json')) {
    const body = JSON.stringify({ error: { message: `Incorrect API key provided: ${key}`, header: auth } });
    res.writeHead(401, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), 'x-echo-authorization': auth });
    res.end(body);
    return;
  }
  // A stream whose second event carries the key split across two writes, 50 ms apart.
  res.writeHead(200, { 'content-type': 'text/event-stream' });
  res.write('data: {"delta":"one"}\n\n');
  await sleep(50);
  const event = `data: {"delta":"${key}"}\n\n`;
  const cut = 20;
  res.write(event.slice(0, cut));
  await sleep(50);
  res.write(event.slice(cut));
  await sleep(50);
  res.end('data: [DONE]\n\n');
}

beforeAll(async () => {
  upstream = createServer((req, res) => void answer(req, res));
  await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
  const port = (upstream.address() as AddressInfo).port;
  envoy = await startEnvoy((run) =>
    buildBootstrap({
      accessLogPath: run.accessLogPath,
      mockPort: port,
      providerHosts: [OPENAI],
      listeners: [{ name: 'guard', wasm: { wasmPath: defaultWasmPath(), namespace: 'apps', name: 'llm-guard', pluginConfig: { hosts: [OPENAI], api_key: KEY, deny_patterns: ['(?i)password'] } } }],
    }),
  );
}, 60_000);

afterAll(async () => {
  await envoy?.stop();
  await new Promise((r) => upstream?.close(r));
});

describe('an injected key the upstream sends back, in real Envoy', () => {
  it('is masked in headers and in a JSON body, which keeps its content-length', async () => {
    const res = await send({ port: envoy.ports.guard!, path: '/echo-json', json: chatBody('hi'), headers: { authorization: 'Bearer app-key', 'accept-encoding': 'gzip' } });
    expect(res.status).toBe(401);
    expect(res.text).not.toContain(KEY);
    expect(res.json()).toEqual({ error: { message: `Incorrect API key provided: ${MASKED}`, header: `Bearer ${MASKED}` } });
    expect(res.headers['x-echo-authorization']).toBe(`Bearer ${MASKED}`);
    expect(Number(res.headers['content-length'])).toBe(res.body.length);
    expect(acceptEncodings.at(-1)).toBe('identity');
  });

  it('is masked in a stream where it is split across writes; events arrive as they are sent', async () => {
    const chunks: string[] = [];
    const body = JSON.stringify(chatBody('hi'));
    const status = await new Promise<number>((resolve, reject) => {
      const req = request(
        { host: '127.0.0.1', port: envoy.ports.guard!, method: 'POST', path: '/stream', headers: { host: OPENAI, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } },
        (res) => {
          res.on('data', (c: Buffer) => chunks.push(c.toString()));
          res.on('end', () => resolve(res.statusCode ?? 0));
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end(body);
    });
    expect(status).toBe(200);
    expect(chunks.join('')).toBe(`data: {"delta":"one"}\n\ndata: {"delta":"${MASKED}"}\n\ndata: [DONE]\n\n`);
    // The first event came on its own, not held back behind the ones after it.
    expect(chunks[0]).toBe('data: {"delta":"one"}\n\n');
  });
});

describe('the audit record in real Envoy', () => {
  it('the access log prints it: provider, model, decision, status and the usage the stream reported', async () => {
    const before = (await envoy.accessLogText()).length;
    const res = await send({ port: envoy.ports.guard!, path: '/stream', json: { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }], stream: true } });
    expect(res.status).toBe(200);
    await sleep(100); // the access log is flushed every 20 ms
    const line = (await envoy.accessLogText()).slice(before).split('\n').find((l) => l.includes('/stream'));
    const record = JSON.parse(/audit=(\{.*\})$/.exec(line ?? '')?.[1] ?? 'null');
    expect(record).toMatchObject({ provider: OPENAI, model: 'gpt-4o-mini', decision: 'allowed', status: 200 });
    expect(JSON.stringify(record)).not.toContain(KEY);
  });
});
