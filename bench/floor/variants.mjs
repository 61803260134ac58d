// The Envoys of the bench: the variants under test (no filter, the request hold alone, our filter
// with 10 / 50 / 1,000 deny patterns, any other .wasm with the same config), each a sidecar
// bootstrap from the local-mesh kit, and the upstream: a second Envoy answering every request with
// a canned chat completion (direct_response), so no Node sits in the data path.
//
// Starting an Envoy under test also measures its time to LIVE: a launcher script records when the
// process starts (bash $EPOCHREALTIME, then exec, so the pid is Envoy's), and a poller asks the
// admin /ready every 2 ms; then the first request until it is answered 200.
import http from 'node:http';
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import {
  buildBootstrap,
  envoyBin,
  freePort,
  httpListener,
  outboundConnectionManager,
  staticBootstrap,
} from '../../build/operator/localmesh/index.js';
import { startEnvoy } from '../../build/operator/localmesh/index.js';

export const PROVIDER_HOST = 'api.openai.com';
export const CHAT_PATH = '/v1/chat/completions';
export const API_KEY = 'sk-bench-0000000000000000000000000000';

/**
 * @typedef {object} Variant
 * @property {string} id            short name, used in the JSON and the plot
 * @property {string} label         what the table shows
 * @property {'none' | 'hold' | 'wasm'} kind
 * @property {string} [wasmPath]
 * @property {number} [patterns]    how many deny patterns (wasm variants)
 * @property {boolean} [ours]       build/llm_guard.wasm (has the llm_guard.* counters)
 * @property {Record<string, unknown>} [config]  a stage variant's own plugin config (see STAGES)
 * @property {boolean} [readsBody]  false for a filter variant that doesn't read the body (no inspection rate)
 */

/**
 * Where our filter's cost goes, one stage at a time (`--stages`): each adds one part of the work to
 * the one before, so the differences between them (and to `hold`) attribute the added CPU.
 */
export const STAGES = [
  // The filter loaded, no provider configured: a context per request and one header read.
  { id: 'stage-idle', label: 'stage: idle', readsBody: false, config: { hosts: ['idle.example.invalid'], api_key: API_KEY } },
  // Key injection, no patterns: the body is not read.
  { id: 'stage-inject', label: 'stage: inject', readsBody: false, config: { hosts: [PROVIDER_HOST], api_key: API_KEY } },
  // The body read, parsed, normalized and matched against one pattern that never matches.
  { id: 'stage-inspect-1', label: 'stage: inspect 1', config: { hosts: [PROVIDER_HOST], api_key: API_KEY, deny_patterns: ['zq-never-in-a-bench-body-qz'] } },
];

/**
 * The variants of one run, in table order.
 * @param {{ourWasm: string, extraWasm: string[], extraPatterns: number[], stages?: boolean}} opts
 * @returns {Variant[]}
 */
export function variantList(opts) {
  /** @type {Variant[]} */
  const list = [
    { id: 'no-filter', label: 'no filter', kind: 'none' },
    { id: 'hold', label: 'hold only', kind: 'hold' },
  ];
  if (opts.stages) for (const st of STAGES) list.push({ id: st.id, label: st.label, kind: 'wasm', wasmPath: opts.ourWasm, config: st.config, readsBody: st.readsBody });
  for (const n of [10, 50, 1000]) list.push({ id: `llm-guard-${n}`, label: `llm_guard ${n}`, kind: 'wasm', wasmPath: opts.ourWasm, patterns: n, ours: true });
  const seen = new Map();
  for (const w of opts.extraWasm) {
    const base = path.basename(w, '.wasm');
    const k = (seen.get(base) ?? 0) + 1;
    seen.set(base, k);
    const name = k > 1 ? `${base}#${k}` : base;
    for (const n of opts.extraPatterns) list.push({ id: `${name}-${n}`, label: `${name} ${n}`, kind: 'wasm', wasmPath: path.resolve(w), patterns: n });
  }
  return list;
}

/** The asm-labs schema the filter reads, with `patterns` as deny_patterns. @param {string[]} patterns */
export function pluginConfig(patterns) {
  return { hosts: [PROVIDER_HOST], api_key: API_KEY, deny_patterns: patterns };
}

/**
 * The sidecar bootstrap of a variant: one outbound listener, the provider's cluster on the upstream.
 * @param {Variant} v @param {{upstreamPort: number, adminPort: number, listenerPort: number, patterns: string[]}} o
 */
export function variantBootstrap(v, o) {
  const wasm = v.kind === 'wasm' ? { wasmPath: /** @type {string} */ (v.wasmPath), namespace: 'bench', name: 'llm-guard', pluginConfig: v.config ?? pluginConfig(o.patterns) } : null;
  return buildBootstrap({
    adminPort: o.adminPort,
    mockPort: o.upstreamPort,
    providerHosts: [PROVIDER_HOST],
    // The hold: the operator's buffer filter before the router, on the provider virtual host (with
    // our filter it is there by default, as the operator installs it).
    listeners: [{ name: 'outbound', port: o.listenerPort, wasm, holdRequest: v.kind !== 'none' }],
  });
}

const CANNED_COMPLETION = JSON.stringify({
  id: 'chatcmpl-bench',
  object: 'chat.completion',
  created: 1700000000,
  model: 'gpt-4o-mini',
  choices: [{ index: 0, message: { role: 'assistant', content: 'Here is a short answer.' }, finish_reason: 'stop' }],
  usage: { prompt_tokens: 1000, completion_tokens: 6, total_tokens: 1006 },
});

/**
 * The upstream Envoy: every request answered 200 with a canned completion, after its body is read
 * whole (a buffer filter: Envoy would otherwise close an HTTP/1.1 connection it answered early).
 * @param {number} adminPort
 */
export function upstreamBootstrap(adminPort) {
  const vhost = {
    name: 'provider',
    domains: ['*'],
    routes: [{ match: { prefix: '/' }, direct_response: { status: 200, body: { inline_string: CANNED_COMPLETION } } }],
    response_headers_to_add: [{ header: { key: 'content-type', value: 'application/json' } }],
  };
  const buffer = {
    name: 'envoy.filters.http.buffer',
    typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.buffer.v3.Buffer', max_request_bytes: 4 * 1024 * 1024 },
  };
  const router = { name: 'envoy.filters.http.router', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router' } };
  const listener = httpListener({
    name: 'upstream',
    port: 0,
    perConnectionBufferLimitBytes: 4 * 1024 * 1024,
    connectionManager: outboundConnectionManager({ statPrefix: 'upstream', routeConfigName: 'upstream', virtualHosts: [vhost], httpFilters: [buffer, router] }),
  });
  return staticBootstrap([listener], [], adminPort);
}

/**
 * Writes the launcher: records the start time in $BENCH_START_FILE, then execs Envoy (pinned to
 * `cpu` with taskset when given), so the process startEnvoy watches is Envoy itself.
 * @param {string} dir @param {string} name @param {number | null} cpu
 */
export function writeLauncher(dir, name, cpu) {
  const file = path.join(dir, name);
  const envoy = envoyBin();
  const exec = cpu === null ? `exec ${JSON.stringify(envoy)} "$@"` : `exec taskset -c ${cpu} ${JSON.stringify(envoy)} "$@"`;
  writeFileSync(file, `#!/usr/bin/env bash\n[[ -n "\${BENCH_START_FILE:-}" ]] && printf '%s' "$EPOCHREALTIME" >"$BENCH_START_FILE"\n${exec}\n`);
  chmodSync(file, 0o755);
  return file;
}

const sleep = (/** @type {number} */ ms) => new Promise((r) => setTimeout(r, ms));

/** One HTTP request; resolves to its status (0 on a connection error). @param {http.RequestOptions} opts @param {Buffer} [body] */
export function request(opts, body) {
  return new Promise((resolve) => {
    const req = http.request({ host: '127.0.0.1', agent: false, timeout: 5000, ...opts }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
      res.on('error', () => resolve(0));
    });
    req.on('error', () => resolve(0));
    req.on('timeout', () => req.destroy());
    req.end(body);
  });
}

/** POSTs a chat body to the listener as the load does; resolves to the status. @param {number} port @param {Buffer} body */
export function postChat(port, body) {
  return request({
    port,
    method: 'POST',
    path: CHAT_PATH,
    headers: { host: PROVIDER_HOST, 'content-type': 'application/json', authorization: `Bearer ${API_KEY}`, 'content-length': body.length },
  }, body);
}

/**
 * Starts an Envoy and measures its time to LIVE and to its first 200.
 * @param {import('../../build/operator/localmesh/index.js').Bootstrap} bootstrap
 * @param {{launcher: string, startFile: string, adminPort: number, listenerPort: number | null, probeBody: Buffer | null}} o
 */
export async function startMeasured(bootstrap, o) {
  writeFileSync(o.startFile, '');
  let settled = false;
  const started = startEnvoy(bootstrap, { bin: o.launcher, env: { BENCH_START_FILE: o.startFile }, componentLogLevel: 'wasm:warning', timeoutMs: 120_000 });
  started.then(() => undefined, () => undefined).finally(() => (settled = true));
  let liveAt = NaN;
  let firstAt = NaN;
  for (;;) {
    const status = await request({ port: o.adminPort, path: '/ready', timeout: 500 });
    if (status === 200) {
      liveAt = performance.timeOrigin + performance.now();
      break;
    }
    if (settled) break;
    await sleep(2);
  }
  if (Number.isFinite(liveAt) && o.listenerPort !== null && o.probeBody) {
    for (let i = 0; i < 2000 && !settled; i++) {
      if ((await postChat(o.listenerPort, o.probeBody)) === 200) {
        firstAt = performance.timeOrigin + performance.now();
        break;
      }
      await sleep(2);
    }
    if (!Number.isFinite(firstAt) && settled) {
      const envoy = await started; // rethrows a start failure
      if ((await postChat(o.listenerPort, o.probeBody)) === 200) firstAt = performance.timeOrigin + performance.now();
      else {
        await envoy.stop();
        throw new Error('the Envoy under test never answered the clean request with 200');
      }
    }
  }
  const envoy = await started;
  const startedAt = Number(readFileSync(o.startFile, 'utf8')) * 1000;
  return { envoy, liveMs: liveAt - startedAt, firstResponseMs: firstAt - startedAt };
}

/** A free port pair for an Envoy under test. */
export async function portsForEnvoy() {
  return { adminPort: await freePort(), listenerPort: await freePort() };
}
