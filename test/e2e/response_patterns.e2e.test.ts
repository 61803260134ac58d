// End-to-end, redaction and response patterns of the release filter in real Envoy: a request whose
// prompt is redacted reaches the provider without its original length (no stale content-length);
// a JSON reply is redacted, or denied: with the response hold (the Lua filter the operator adds for
// response deny patterns) the app gets the filter's own status and error, without it the upstream's
// status with the error as body; streams are denied with an error event.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startEnvoy, type EnvoyProcess } from '../../operator/src/localmesh/envoy.js';
import { send } from '../../operator/src/localmesh/http_client.js';
import { buildBootstrap } from '../../operator/src/localmesh/sidecar_bootstrap.js';
import { defaultWasmPath } from '../../operator/src/wasm/module_path.js';

vi.setConfig({ testTimeout: 60_000, hookTimeout: 120_000 });

const OPENAI = 'api.openai.com';
const KEY = 'sk-e2e-respond-Zx9Cv8Bn7Mm6Lk5Jh4';
const EMAIL = '[a-z0-9.]+@[a-z0-9]+\\.[a-z]{2,}';
const CONFIG = {
  hosts: [OPENAI], api_key: KEY, require_hold: true,
  redact_patterns: [EMAIL],
  response_deny_patterns: ['(?i)launch codes'],
  response_redact_patterns: [EMAIL],
};

let upstream: Server;
let envoy: EnvoyProcess;
/** What the upstream received, per x-e2e-id. */
const received = new Map<string, { headers: IncomingMessage['headers']; body: string }>();

/** Answers with what the request's x-reply header asks for: a JSON chat reply holding that text. */
async function answer(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  received.set(String(req.headers['x-e2e-id']), { headers: req.headers, body: Buffer.concat(chunks).toString() });
  const text = String(req.headers['x-reply'] ?? 'ok');
  if (req.headers['x-stream']) {
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    for (const piece of text.split('|')) res.write(`data: ${JSON.stringify({ choices: [{ index: 0, delta: { content: piece } }] })}\n\n`);
    res.end('data: [DONE]\n\n');
    return;
  }
  const body = JSON.stringify({ id: 'chatcmpl-e2e', object: 'chat.completion', choices: [{ index: 0, message: { role: 'assistant', content: text }, finish_reason: 'stop' }], usage: { prompt_tokens: 3, completion_tokens: 4, total_tokens: 7 } });
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

beforeAll(async () => {
  upstream = createServer((req, res) => void answer(req, res));
  await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
  const port = (upstream.address() as AddressInfo).port;
  const wasm = { wasmPath: defaultWasmPath(), namespace: 'apps', name: 'llm-guard', pluginConfig: CONFIG };
  envoy = await startEnvoy((run) =>
    buildBootstrap({
      accessLogPath: run.accessLogPath,
      mockPort: port,
      providerHosts: [OPENAI],
      listeners: [
        { name: 'held', wasm, holdResponse: true },
        { name: 'plain', wasm },
      ],
    }),
  );
}, 120_000);

afterAll(async () => {
  await envoy?.stop();
  await new Promise((r) => upstream?.close(r));
});

let seq = 0;
async function ask(listener: 'held' | 'plain', reply: string, prompt = 'hi', extra: Record<string, string> = {}) {
  const id = `resp-${++seq}`;
  const res = await send({
    port: envoy.ports[listener]!,
    host: OPENAI,
    headers: { 'x-e2e-id': id, 'x-reply': reply, ...extra },
    json: { model: 'gpt-4o-mini', messages: [{ role: 'user', content: prompt }] },
  });
  return { res, sent: () => received.get(id) };
}

describe('redact_patterns in real Envoy', () => {
  it('the provider gets the prompt masked, the body\'s own length, and the key', async () => {
    const { res, sent } = await ask('plain', 'ok', 'mail bob.smith@example.com please');
    expect(res.status).toBe(200);
    const got = sent()!;
    expect(JSON.parse(got.body).messages[0].content).toBe('mail [REDACTED] please');
    // Either no length (chunked) or the new one: never the client's.
    if (got.headers['content-length'] !== undefined) expect(Number(got.headers['content-length'])).toBe(Buffer.byteLength(got.body));
    expect(got.headers.authorization).toBe(`Bearer ${KEY}`);
  });
});

describe('response patterns on a JSON reply in real Envoy', () => {
  for (const listener of ['held', 'plain'] as const) {
    it(`${listener}: a redacted reply is valid JSON, the right length, the address masked`, async () => {
      const { res } = await ask(listener, 'write to jane.doe@example.com today');
      expect(res.status).toBe(200);
      const body = JSON.parse(res.body.toString());
      expect(body.choices[0].message.content).toBe('write to [REDACTED] today');
      if (res.headers['content-length'] !== undefined) expect(Number(res.headers['content-length'])).toBe(res.body.length);
    });
  }

  it('held: a denied reply is the filter\'s own reply, its status and error, nothing of the text', async () => {
    const { res } = await ask('held', 'the launch codes are 0000');
    expect(res.status).toBe(403);
    expect(res.headers['content-type']).toBe('application/json');
    expect(JSON.parse(res.body.toString()).error).toMatchObject({ type: 'policy_violation', code: 'response_denied_by_pattern' });
    expect(res.body.toString()).not.toContain('0000');
  });

  it('plain (no response hold): the status stays the upstream\'s, the body is the error', async () => {
    const { res } = await ask('plain', 'the launch codes are 0000');
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body.toString()).error).toMatchObject({ code: 'response_denied_by_pattern' });
    expect(res.body.toString()).not.toContain('0000');
  });

  it('held: streams are not held by the response hold, and a deny ends them with an error event', async () => {
    const ok = await ask('held', 'one |two |three.', 'hi', { 'x-stream': '1' });
    expect(ok.res.status).toBe(200);
    expect(ok.res.body.toString()).toContain('three.');
    const denied = await ask('held', 'fine |the launch| codes| 0000', 'hi', { 'x-stream': '1' });
    expect(denied.res.status).toBe(200);
    const text = denied.res.body.toString();
    expect(text).toContain('"fine "');
    expect(text).not.toMatch(/launch|0000/);
    expect(text).toContain('"code":"response_denied_by_pattern"');
  });
});

describe('Envoy over the whole run', () => {
  it('no VM failed; the audit records say what the response patterns did; no key in the logs', async () => {
    expect(await envoy.vmHealth()).toMatchObject({ ok: true });
    const log = (await envoy.logText()) + (await envoy.accessLogText());
    expect(log).not.toContain(KEY);
    expect(log).toContain('"response":"denied"');
    expect(log).toContain('"response":"redacted"');
    expect(log).toContain('"redacted":true');
    expect(log).not.toContain('jane.doe');
  });
});
