#!/usr/bin/env node
// Latency the filter adds inside a real Envoy: two Envoys in the same run, one without the filter
// and one with it, both in front of the same local mock provider. Sequential chat requests with
// ~2 KB and ~100 KB bodies, interleaved between the two Envoys so drift hits both alike.
// Prints p50/p99 per Envoy and the ratio filter/baseline. No pass/fail.
//
//   node bench/envoy-overhead.mjs [--n 2000] [--warmup 100]
//
// Needs build/llm_guard.wasm, Envoy and the compiled local-mesh kit (make build-operator).
import http from 'node:http';
import { buildBootstrap, defaultWasmPath, envoyBin, send, startEnvoy, startMockProvider } from '../build/operator/localmesh/index.js';

const args = process.argv.slice(2);
/** @param {string} name @param {number} def */
const opt = (name, def) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : def;
};
const N = opt('n', Number(process.env.BENCH_N ?? 2000));
const WARMUP = opt('warmup', 100);

const HOST = 'api.openai.com';
const KEY = 'sk-bench-0000000000000000000000000000';
const pluginConfig = {
  hosts: [HOST],
  api_key: KEY,
  deny_patterns: ['\\b(?:\\d{4}[ -]?){3}\\d{4}\\b', '(?i)password', '账号', '(?i)\\b(?:ssn|social security)\\b'],
};

/** A chat body of about `bytes` bytes: a system prompt and alternating turns of plain prose. @param {number} bytes */
function chatOfSize(bytes) {
  const sentence = 'The quick brown fox jumps over the lazy dog while the model thinks about the answer. ';
  /** @type {{role: string, content: string}[]} */
  const messages = [{ role: 'system', content: 'You are a helpful assistant. Answer briefly.' }];
  let size = 100;
  let i = 0;
  while (size < bytes) {
    const content = sentence.repeat(Math.min(12, Math.ceil((bytes - size) / sentence.length)));
    messages.push({ role: i % 2 ? 'assistant' : 'user', content });
    size += content.length + 32;
    i++;
  }
  if (messages.at(-1)?.role !== 'user') messages.push({ role: 'user', content: 'And then?' });
  return Buffer.from(JSON.stringify({ model: 'gpt-4o-mini', messages, temperature: 0.2 }));
}

/** @param {number[]} xs @param {number} q */
function quantile(xs, q) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))];
}

/** @type {string} */
let WASM_PATH;
try {
  WASM_PATH = defaultWasmPath();
} catch (e) {
  console.error(String(/** @type {Error} */ (e).message));
  process.exit(1);
}
const ENVOY_BIN = envoyBin();

const mock = await startMockProvider({ keys: { [HOST]: KEY } });
const common = { mockPort: mock.port, providerHosts: [HOST] };
const quiet = { componentLogLevel: '' };
const baseline = await startEnvoy(buildBootstrap({ ...common, listeners: [{ name: 'outbound', wasm: null }] }), quiet);
const guarded = await startEnvoy(
  buildBootstrap({
    ...common,
    listeners: [{ name: 'outbound', wasm: { wasmPath: WASM_PATH, namespace: 'bench', name: 'llm-guard', pluginConfig } }],
  }),
  quiet,
);

/** @type {{name: string, port: number, headers: Record<string, string>, agent: http.Agent}[]} */
const targets = [
  // the baseline has no filter to add the key, so its requests carry it themselves
  { name: 'baseline', port: baseline.ports.outbound, headers: { authorization: `Bearer ${KEY}` }, agent: new http.Agent({ keepAlive: true, maxSockets: 1 }) },
  { name: 'filter', port: guarded.ports.outbound, headers: {}, agent: new http.Agent({ keepAlive: true, maxSockets: 1 }) },
];

/** @type {{size: string, base: number[], filt: number[], errors: number}[]} */
const results = [];
try {
  for (const [label, bytes] of /** @type {[string, number][]} */ ([['~2 KB', 2 * 1024], ['~100 KB', 100 * 1024]])) {
    const body = chatOfSize(bytes);
    /** @type {Record<string, number[]>} */
    const lat = { baseline: [], filter: [] };
    let errors = 0;
    for (let i = 0; i < WARMUP + N; i++) {
      // alternate which Envoy goes first
      const order = i % 2 ? targets : [...targets].reverse();
      for (const t of order) {
        const t0 = performance.now();
        const res = await send({
          port: t.port,
          host: HOST,
          body,
          headers: { 'content-type': 'application/json', ...t.headers },
          agent: t.agent,
        });
        const ms = performance.now() - t0;
        if (res.status !== 200) errors++;
        if (i >= WARMUP) lat[t.name].push(ms);
      }
    }
    results.push({ size: `${label} (${body.length} B)`, base: lat.baseline, filt: lat.filter, errors });
  }
} finally {
  for (const t of targets) t.agent.destroy();
  await baseline.stop();
  await guarded.stop();
  await mock.close();
}

const f = (/** @type {number} */ x) => x.toFixed(3);
console.log(`Envoy ${ENVOY_BIN}`);
console.log(`filter ${WASM_PATH}`);
console.log(`${N} sequential requests per body size and Envoy (after ${WARMUP} warm-up), keep-alive, latency in ms\n`);
const rows = [['body', 'baseline p50', 'baseline p99', 'filter p50', 'filter p99', 'ratio p50', 'ratio p99', 'non-200']];
for (const r of results) {
  const [b50, b99, f50, f99] = [quantile(r.base, 0.5), quantile(r.base, 0.99), quantile(r.filt, 0.5), quantile(r.filt, 0.99)];
  rows.push([r.size, f(b50), f(b99), f(f50), f(f99), `${(f50 / b50).toFixed(2)}x`, `${(f99 / b99).toFixed(2)}x`, String(r.errors)]);
}
const w = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
for (const r of rows) console.log(r.map((c, i) => (i ? c.padStart(w[i]) : c.padEnd(w[i]))).join('  '));
