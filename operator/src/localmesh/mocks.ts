// Small HTTPS stand-ins for `llmguard dev`: a provider that answers every request with an
// OpenAI-style chat completion, and a guard model that flags any conversation containing the word
// "unsafe" (answering in the policy's verdict format). Both log what they receive, keys masked.
import https from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TLSSocket } from 'node:tls';

export interface Received {
  server: 'provider' | 'guard';
  sni: string;
  host: string;
  method: string;
  path: string;
  /** Credential headers, values masked (first 7 and last 4 characters). */
  credentials: string[];
  /** Unmasked credential values (for tests; never logged). */
  rawCredentials: string[];
  /** The last user message (or the moderation input), up to 200 characters. */
  prompt: string;
  /** For the guard: its verdict. */
  verdict?: 'safe' | 'unsafe';
}

export interface MockServer {
  port: number;
  received: Received[];
  close(): Promise<void>;
}

export const UNSAFE_WORD = 'unsafe';

export function mask(v: string): string {
  return v.length <= 14 ? `${v.slice(0, 3)}…` : `${v.slice(0, 7)}…${v.slice(-4)}`;
}

function credentialsOf(req: IncomingMessage): string[] {
  const out: string[] = [];
  const auth = req.headers.authorization;
  if (auth) out.push(/^Bearer\s+(.+)$/i.exec(auth)?.[1] ?? auth);
  for (const h of ['x-api-key', 'api-key', 'x-goog-api-key']) {
    const v = req.headers[h];
    if (typeof v === 'string') out.push(v);
  }
  return out;
}

function textOf(body: unknown): string {
  const b = (body ?? {}) as { messages?: { role?: string; content?: unknown }[]; input?: unknown };
  const parts: string[] = [];
  for (const m of b.messages ?? []) {
    if (m.role === 'system') continue;
    if (typeof m.content === 'string') parts.push(m.content);
    else if (Array.isArray(m.content)) for (const c of m.content) if (typeof (c as { text?: unknown }).text === 'string') parts.push((c as { text: string }).text);
  }
  if (typeof b.input === 'string') parts.push(b.input);
  else if (Array.isArray(b.input)) for (const s of b.input) if (typeof s === 'string') parts.push(s);
  return parts.join('\n\n');
}

function verdictContent(format: string, unsafe: boolean): string {
  switch (format) {
    case 'llama_guard':
      return unsafe ? 'unsafe\nS1' : 'safe';
    case 'qwen_guard':
      return unsafe ? 'Safety: Unsafe\nCategories: Violent' : 'Safety: Safe\nCategories: None';
    default:
      return JSON.stringify({ result: unsafe ? 'deny' : 'allow', reason: unsafe ? `the mock guard flags "${UNSAFE_WORD}"` : 'harmless' });
  }
}

function chatCompletion(model: string, content: string): string {
  return JSON.stringify({
    id: `chatcmpl-dev${Date.now()}`,
    object: 'chat.completion',
    created: Math.floor(Date.now() / 1000),
    model,
    choices: [{ index: 0, message: { role: 'assistant', content }, finish_reason: 'stop' }],
    usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 },
  });
}

async function serve(
  kind: 'provider' | 'guard',
  cert: { certPem: string; keyPem: string },
  answer: (body: unknown, rec: Received) => { status: number; body: string },
  onReceive: (r: Received) => void,
): Promise<MockServer> {
  const received: Received[] = [];
  const handler = (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      let body: unknown;
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      } catch {
        body = undefined;
      }
      const raw = credentialsOf(req);
      const rec: Received = {
        server: kind,
        sni: (req.socket as TLSSocket).servername || '',
        host: req.headers.host ?? '',
        method: req.method ?? '',
        path: req.url ?? '',
        credentials: raw.map(mask),
        rawCredentials: raw,
        prompt: textOf(body).slice(-200),
      };
      const a = answer(body, rec);
      received.push(rec);
      onReceive(rec);
      res.writeHead(a.status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(a.body) });
      res.end(a.body);
    });
  };
  const server = https.createServer({ cert: cert.certPem, key: cert.keyPem }, handler);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  return {
    port,
    received,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export function startMockProvider(cert: { certPem: string; keyPem: string }, onReceive: (r: Received) => void = () => {}): Promise<MockServer> {
  return serve('provider', cert, (body) => {
    const model = typeof (body as { model?: unknown })?.model === 'string' ? (body as { model: string }).model : 'mock-model';
    return { status: 200, body: chatCompletion(model, 'Hello from the llmguard dev mock provider.') };
  }, onReceive);
}

export function startMockGuard(
  cert: { certPem: string; keyPem: string },
  verdictFormat: string,
  onReceive: (r: Received) => void = () => {},
): Promise<MockServer> {
  return serve('guard', cert, (body, rec) => {
    const unsafe = textOf(body).toLowerCase().includes(UNSAFE_WORD);
    rec.verdict = unsafe ? 'unsafe' : 'safe';
    if (verdictFormat === 'openai_moderation' || (body as { input?: unknown })?.input !== undefined) {
      return { status: 200, body: JSON.stringify({ id: 'modr-dev', model: 'omni-moderation-latest', results: [{ flagged: unsafe, categories: { violence: unsafe }, category_scores: { violence: unsafe ? 0.93 : 0.0004 } }] }) };
    }
    return { status: 200, body: chatCompletion('mock-guard', verdictContent(verdictFormat, unsafe)) };
  }, onReceive);
}
