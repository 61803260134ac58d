// What `llmguard dev` puts behind Envoy with `--upstream mock`: the local-mesh kit's HTTPS mock
// provider, answering as a chat model would, and its mock guard, which flags any conversation
// containing "unsafe" and answers in the policy's verdict format. Each request they get is printed
// as one line, keys masked.
import { jsonVerdict, llamaGuard, moderation, qwenGuard, type Answer } from '../localmesh/guard_answers.js';
import { conversationOf, startMockGuard, type GuardRequest, type MockGuard } from '../localmesh/mock_guard.js';
import { credentialsOf, startMockProvider, type MockProvider, type RecordedRequest } from '../localmesh/mock_provider.js';
import type { ServerTls } from '../localmesh/mock_server.js';

export const UNSAFE_WORD = 'unsafe';
export const DEV_PROVIDER_REPLY = 'Hello from the llmguard dev mock provider.';

/** Enough of a key to recognise it, not enough to use it. */
export function mask(value: string): string {
  return value.length <= 14 ? `${value.slice(0, 3)}…` : `${value.slice(0, 7)}…${value.slice(-4)}`;
}

/** The dev guard's verdict in the policy's verdict format (auto and json_verdict: the asm-labs JSON). */
export function devVerdict(format: string, unsafe: boolean, req: Pick<GuardRequest, 'json'>): Answer {
  const verdict = unsafe ? 'unsafe' : 'safe';
  let answer: Answer;
  if (format === 'openai_moderation' || req.json?.input !== undefined) answer = moderation(unsafe);
  else if (format === 'llama_guard') answer = unsafe ? llamaGuard('unsafe', 'S1') : llamaGuard('safe');
  else if (format === 'qwen_guard') answer = unsafe ? qwenGuard('Unsafe', 'Violent') : qwenGuard('Safe');
  else answer = jsonVerdict(unsafe ? 'deny' : 'allow', unsafe ? `the mock guard flags "${UNSAFE_WORD}"` : 'harmless');
  return { ...answer, label: verdict };
}

interface LineFields {
  server: 'provider' | 'guard';
  method: string;
  host: string;
  path: string;
  sni: string | null;
  credentials: string[];
  prompt: string;
  verdict?: string;
}

export function requestLine(f: LineFields): string {
  const keys = f.credentials.length ? f.credentials.map(mask).join(', ') : 'none';
  const verdict = f.verdict ? ` -> ${f.verdict}` : '';
  return `[${f.server}] ${f.method} https://${f.host}${f.path} (SNI ${f.sni || '-'}) key: ${keys} prompt: ${JSON.stringify(f.prompt.slice(-200).slice(0, 80))}${verdict}`;
}

function jsonOf(body: Buffer): unknown {
  try {
    return JSON.parse(body.toString('utf8'));
  } catch {
    return undefined;
  }
}

export function startDevProvider(tls: ServerTls, print: (line: string) => void): Promise<MockProvider> {
  return startMockProvider({
    tls,
    reply: DEV_PROVIDER_REPLY,
    onRecord: (rec: RecordedRequest) => {
      const { conversation } = conversationOf(jsonOf(rec.body));
      const line = requestLine({ server: 'provider', ...rec, credentials: credentialsOf(rec.headers), prompt: conversation });
      print(rec.complete ? line : `${line} (aborted before the body ended)`);
    },
  });
}

export function startDevGuard(tls: ServerTls, verdictFormat: string, print: (line: string) => void): Promise<MockGuard> {
  return startMockGuard({
    tls,
    behaviour: (req) => {
      const answer = devVerdict(verdictFormat, req.conversation.toLowerCase().includes(UNSAFE_WORD), req);
      print(requestLine({ server: 'guard', ...req, credentials: credentialsOf(req.headers), prompt: req.conversation, verdict: answer.label }));
      return answer;
    },
  });
}
