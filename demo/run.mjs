#!/usr/bin/env node
// The LLM egress guard in a real Envoy, in front of a local mock of OpenAI.
//
//   node demo/run.mjs            run a few requests, print what happened, exit
//   node demo/run.mjs --serve    same, then keep running and print curl commands to try
//   options: --port N (Envoy's listener port, default: a free one)
//
// A local mock guard model plays the intelligent_guard (an OpenAI-compatible model that answers
// {"result": "allow"|"deny", "reason": ...}), reached through the cluster outbound|80||guard.internal
// as in the mesh.
//
// Needs build/llm_guard.wasm (npx asc plugin/index.ts --target release, or LLMGUARD_WASM),
// .venv/bin/envoy (or ENVOY_BIN) and the compiled local-mesh kit (make build-operator). Uses only
// that kit and Node's standard library.
import {
  OTHER_HOST,
  allow,
  buildBootstrap,
  byConversation,
  chatBody,
  credentialsOf,
  defaultWasmPath,
  deny,
  send,
  startEnvoy,
  startMockGuard,
  startMockProvider,
} from '../build/operator/localmesh/index.js';

const args = process.argv.slice(2);
const serve = args.includes('--serve');
const portArg = args.indexOf('--port');
const fixedPort = portArg >= 0 ? Number(args[portArg + 1]) : 0;

const PROVIDER = 'api.openai.com';
const PROVIDER_KEY = 'sk-demo-4f1c9e27b8d35a60e1f2c3d4ab12abcd';
const GUARD_HOST = 'guard.internal';
const GUARD_KEY = 'sk-guard-demo-0a9b8c7d6e5f4a3b2c1d9e8f';
/** What the mock guard model denies, and the reason it gives. */
const GUARD_DENIES = /customer list|customer database/i;
const GUARD_REASON = 'asks to export customer personal data';

// What an operator would put in the WasmPlugin's pluginConfig.
const pluginConfig = {
  hosts: [PROVIDER],
  api_key: PROVIDER_KEY,
  deny_patterns: [
    '\\b(?:\\d{4}[ -]?){3}\\d{4}\\b', // credit card numbers
    '(?i)password',
    '账号', // "account number"
  ],
  // The guard model: the operator renders host + port as Istio's cluster outbound|80||guard.internal.
  intelligent_guard: {
    host: GUARD_HOST,
    port: 80,
    path: '/v1/chat/completions',
    model: 'qwen-turbo',
    api_key: GUARD_KEY,
    timeout_ms: 3000,
  },
};

/** `sk-…abcd`: enough to recognise a key, not enough to use it. @param {string} key */
function mask(key) {
  const bearer = /^Bearer\s+/i.exec(key);
  const k = bearer ? key.slice(bearer[0].length) : key;
  const shown = k.length > 10 ? `${k.slice(0, 3)}…${k.slice(-4)}` : '…';
  return bearer ? `Bearer ${shown}` : shown;
}

/** Columns a string takes in a terminal (CJK and other wide characters take two). @param {string} s */
function width(s) {
  let w = 0;
  for (const ch of s) {
    const c = /** @type {number} */ (ch.codePointAt(0));
    const wide =
      (c >= 0x1100 && c <= 0x115f) || (c >= 0x2e80 && c <= 0xa4cf) || (c >= 0xac00 && c <= 0xd7a3) ||
      (c >= 0xf900 && c <= 0xfaff) || (c >= 0xfe30 && c <= 0xfe4f) || (c >= 0xff00 && c <= 0xff60) ||
      (c >= 0xffe0 && c <= 0xffe6) || (c >= 0x1f300 && c <= 0x1faff);
    w += wide ? 2 : 1;
  }
  return w;
}

/** Cut to n columns and pad to exactly n. @param {string} s @param {number} n */
function fit(s, n) {
  let out = '';
  for (const ch of s) {
    if (width(out + ch) > n - (width(s) > n ? 1 : 0)) break;
    out += ch;
  }
  if (width(s) > n) out += '…';
  return out + ' '.repeat(Math.max(0, n - width(out)));
}

/** @type {string} */
let WASM_PATH;
try {
  WASM_PATH = defaultWasmPath();
} catch (e) {
  console.error(String(/** @type {Error} */ (e).message));
  process.exit(1);
}

/** @type {((rec: import('../build/operator/localmesh/index.js').RecordedRequest) => void) | undefined} */
let liveLog;
const mock = await startMockProvider({
  keys: { [PROVIDER]: PROVIDER_KEY },
  onRecord: (rec) => liveLog?.(rec),
});
// The guard model: denies requests to export the customer list, allows everything else.
const guard = await startMockGuard({
  behaviour: byConversation([[GUARD_DENIES, deny(GUARD_REASON)]], allow('harmless request')),
});
let envoy;
try {
  envoy = await startEnvoy(
    (run) =>
      buildBootstrap({
        accessLogPath: run.accessLogPath,
        mockPort: mock.port,
        providerHosts: [PROVIDER],
        extraClusters: [{ name: `outbound|80||${GUARD_HOST}`, port: guard.port }],
        listeners: [
          {
            name: 'outbound',
            port: fixedPort,
            wasm: { wasmPath: WASM_PATH, namespace: 'demo', name: 'llm-guard', pluginConfig },
          },
        ],
      }),
    { componentLogLevel: '' },
  );
} catch (e) {
  await mock.close();
  await guard.close();
  console.error(String(/** @type {Error} */ (e).message));
  process.exit(1);
}
const port = envoy.ports.outbound;

const shutdown = async () => {
  await envoy.stop();
  await mock.close();
  await guard.close();
};

console.log(`Envoy listening on 127.0.0.1:${port} (the app's outbound port), mock provider on 127.0.0.1:${mock.port}`);
console.log(`Mock guard model on 127.0.0.1:${guard.port} (cluster outbound|80||${GUARD_HOST})`);
console.log(`Filter: ${WASM_PATH}`);
const shownConfig = {
  ...pluginConfig,
  api_key: mask(PROVIDER_KEY),
  intelligent_guard: { ...pluginConfig.intelligent_guard, api_key: mask(GUARD_KEY) },
};
console.log(`pluginConfig: ${JSON.stringify(shownConfig)}\n`);

/**
 * @typedef {object} Step
 * @property {string} label
 * @property {string} [host]
 * @property {string} [method]
 * @property {string} [path]
 * @property {unknown} [json]
 * @property {Record<string, string>} [headers]
 */
/** @type {Step[]} */
const steps = [
  { label: 'chat: "What is the capital of France?"', json: chatBody('What is the capital of France?') },
  { label: 'chat: "my card is 4111 1111 1111 1111"', json: chatBody('Book it, my card is 4111 1111 1111 1111') },
  { label: 'chat: "the admin PASSWORD is hunter2"', json: chatBody('Remember: the admin PASSWORD is hunter2') },
  { label: 'chat: "我的账号是 12345"', json: chatBody('我的账号是 12345') },
  { label: 'chat: "Draft a friendly reply to a customer"', json: chatBody('Draft a friendly reply to a customer who asked about delivery times') },
  { label: 'chat: "Export our customer list with emails"', json: chatBody('Export our customer list with names and emails as CSV') },
  {
    label: 'chat with the client\'s own key (sk-…wxyz)',
    json: chatBody('Say hello'),
    headers: { authorization: 'Bearer sk-client-own-key-000wxyz' },
  },
  { label: 'GET /v1/models', method: 'GET', path: '/v1/models' },
  {
    label: `chat to ${OTHER_HOST} (not a provider)`,
    host: OTHER_HOST,
    json: chatBody('my password is hunter2'),
    headers: { authorization: 'Bearer app-token-for-other-host' },
  },
];

/** @type {string[][]} */
const rows = [];
for (const step of steps) {
  const before = mock.requests.length;
  const guardBefore = guard.requests.length;
  const logMark = await envoy.logMark();
  const res = await send({
    port,
    host: step.host ?? PROVIDER,
    method: step.method,
    path: step.path ?? '/v1/chat/completions',
    json: step.json,
    headers: step.headers,
  });
  await mock.settle(500);
  const recs = mock.requests.slice(before);
  const askedGuard = guard.requests.length > guardBefore;
  const complete = recs.filter((r) => r.complete);
  /** @param {import('../build/operator/localmesh/index.js').RecordedRequest} r */
  const keysOf = (r) =>
    Object.entries(r.headers)
      .filter(([k]) => ['authorization', 'x-api-key', 'api-key', 'x-goog-api-key'].includes(k))
      .map(([k, v]) => `${k}: ${mask(String(v))}`)
      .join(', ') || 'no key';
  let received;
  if (complete.length) {
    received = `${keysOf(complete[0])}; body ${complete[0].body.length} B`;
  } else if (recs.length) {
    // Envoy had already sent the request headers when the filter saw the body and said no.
    received = `headers only (${keysOf(recs[0])}), no body, reset`;
  } else {
    received = 'nothing';
  }
  let decision;
  /** @type {any} */
  let body = null;
  try {
    body = res.json();
  } catch {
    body = null;
  }
  if (body?.error?.code === 'denied_by_guard' && !complete.length) {
    // The client's reply doesn't carry the guard's reason (expose_reason is off); Envoy's log does.
    await new Promise((r) => setTimeout(r, 100)); // Envoy flushes its log every 20 ms
    const logged = /the guard denied a request to \S+: (.*)$/m.exec(await envoy.logSince(logMark));
    decision = `DENIED by the guard (denied_by_guard), log: "${logged ? logged[1] : '?'}"`;
  } else if (body?.error?.code && !complete.length) decision = `DENIED by the filter (${body.error.code})`;
  else if ((step.host ?? PROVIDER) !== PROVIDER) decision = 'passed untouched (not a provider host)';
  else if (res.status < 400 && askedGuard) decision = 'allowed by the guard, provider key injected';
  else if (res.status < 400) decision = 'allowed, provider key injected';
  else decision = `provider answered ${res.status}`;
  rows.push([step.label, String(res.status), received, decision]);
}

const header = ['request', 'status', 'what the provider received', 'decision'];
const widths = header.map((h, i) => Math.min([44, 6, 64, 90][i], Math.max(width(h), ...rows.map((r) => width(r[i])))));
const line = (/** @type {string[]} */ cells) => `| ${cells.map((c, i) => fit(c, widths[i])).join(' | ')} |`;
console.log(line(header));
console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
for (const r of rows) console.log(line(r));

const log = (await envoy.logText()) + (await envoy.accessLogText());
console.log(`\nThe provider key appears in Envoy's logs: ${log.includes(PROVIDER_KEY) ? 'YES (bug!)' : 'no'}`);
const leakedToGuard = guard.requests.some((r) => r.rawHeaders.join('\n').includes(PROVIDER_KEY) || r.text.includes(PROVIDER_KEY));
const guardKeys = [...new Set(guard.requests.map((r) => mask(String(r.headers.authorization ?? 'none'))))].join(', ');
console.log(`The guard model got ${guard.requests.length} calls, with key ${guardKeys}; the provider key reached it: ${leakedToGuard ? 'YES (bug!)' : 'no'}`);
const stats = await envoy.stats('llm_guard');
/** @param {string} name */
const stat = (name) => stats.get(`wasmcustom.llm_guard.${name}`) ?? stats.get(`llm_guard.${name}`) ?? 0;
console.log(
  `Envoy /stats: llm_guard.guard_calls ${stat('guard_calls')}, requests_allowed ${stat('requests_allowed')}, ` +
    `requests_denied_by_pattern ${stat('requests_denied_by_pattern')}, requests_denied_by_guard ${stat('requests_denied_by_guard')}`,
);

if (!serve) {
  await shutdown();
  process.exit(0);
}

const base = `http://127.0.0.1:${port}`;
console.log(`
Serving. Try these in another terminal (the Host header picks the provider, as in the mesh):

  curl -s ${base}/v1/chat/completions -H 'Host: ${PROVIDER}' -H 'content-type: application/json' \\
    -d '{"model":"gpt-4o-mini","messages":[{"role":"user","content":"Hello there"}]}'

  curl -s ${base}/v1/chat/completions -H 'Host: ${PROVIDER}' -H 'content-type: application/json' \\
    -d '{"model":"gpt-4o-mini","messages":[{"role":"user","content":"my password is hunter2"}]}'

  curl -s ${base}/v1/chat/completions -H 'Host: ${PROVIDER}' -H 'content-type: application/json' \\
    -H 'authorization: Bearer my-own-key' -d '{"model":"gpt-4o-mini","stream":true,"messages":[{"role":"user","content":"Stream please"}]}'

  curl -s ${base}/v1/chat/completions -H 'Host: ${PROVIDER}' -H 'content-type: application/json' \\
    -d '{"model":"gpt-4o-mini","messages":[{"role":"user","content":"Export our customer list"}]}'   # the guard model denies it

  curl -s ${base}/v1/models -H 'Host: ${PROVIDER}'

  curl -s ${base}/v1/chat/completions -H 'Host: ${OTHER_HOST}' -H 'content-type: application/json' -d '{"anything":"goes"}'

Each request the mock provider receives is printed below. Ctrl-C to stop.
`);
liveLog = (rec) => {
  const creds = credentialsOf(rec.headers).map(mask).join(', ') || 'no key';
  const state = rec.complete ? `body ${rec.body.length} B` : 'aborted before the body';
  console.log(`provider got: ${rec.method} ${rec.host}${rec.path}  key: ${creds}  ${state}`);
};
const stop = async () => {
  console.log('\nstopping');
  await shutdown();
  process.exit(0);
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
