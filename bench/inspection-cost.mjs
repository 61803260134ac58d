#!/usr/bin/env node
// What reading every byte costs (issue 11): the same requests through today's filter and through a
// baseline build of the filter from an earlier commit (default: the last one before issue 11), both
// in the in-process proxy-wasm host (operator/src/wasm, the host llmguard test uses), alternated so
// drift hits both alike. Prints ms per request for each and the ratio today/baseline, with
// normalization on (the default) and off. No pass/fail.
//
//   node bench/inspection-cost.mjs [--baseline REF] [--rounds 5]
//
// Needs build/llm_guard.wasm and the compiled kit (make build build-operator); builds the baseline
// with the repository's AssemblyScript into build/bench/ (a git worktree, removed afterwards).
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { FilterHost, defaultWasmPath } from '../build/operator/wasm/index.js';

const args = process.argv.slice(2);
/** @param {string} name @param {string} def */
const opt = (name, def) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? String(args[i + 1]) : def;
};
// The last commit before issue 11: JSON shapes read by a fixed list of fields, no normalization.
const BASELINE_REF = opt('baseline', 'f97341a');
const ROUNDS = Number(opt('rounds', '5'));
const ROOT = resolve(import.meta.dirname, '..');

/** Compiles the filter as it was at `ref`; returns the .wasm path (cached by commit). @param {string} ref */
function buildBaseline(ref) {
  const commit = execFileSync('git', ['rev-parse', '--short', ref], { cwd: ROOT, encoding: 'utf8' }).trim();
  const out = join(ROOT, 'build', 'bench', `llm_guard-${commit}.wasm`);
  if (existsSync(out)) return { commit, path: out };
  mkdirSync(join(ROOT, 'build', 'bench'), { recursive: true });
  const tree = mkdtempSync(join(tmpdir(), 'llmguard-baseline-'));
  try {
    execFileSync('git', ['worktree', 'add', '--detach', tree, commit], { cwd: ROOT, stdio: 'ignore' });
    symlinkSync(join(ROOT, 'node_modules'), join(tree, 'node_modules'));
    execFileSync(join(ROOT, 'node_modules', '.bin', 'asc'), ['plugin/index.ts', '--target', 'release', '--outFile', out, '--textFile', join(tree, 'ignored.wat')], { cwd: tree, stdio: 'inherit' });
  } finally {
    execFileSync('git', ['worktree', 'remove', '--force', tree], { cwd: ROOT, stdio: 'ignore' });
    rmSync(tree, { recursive: true, force: true });
  }
  return { commit, path: out };
}

const KEY = 'sk-bench-0000000000000000000000000000';
const DENY = ['\\b(?:\\d{4}[ -]?){3}\\d{4}\\b', '(?i)password', '账号', '(?i)\\b(?:ssn|social security)\\b', '(?i)ignore (?:all )?previous instructions'];
/** @param {Record<string, unknown>} extra */
const config = (extra) => ({ hosts: ['api.openai.com', 'api.anthropic.com', 'generativelanguage.googleapis.com'], api_key: KEY, deny_patterns: DENY, ...extra });

const prose = 'The quick brown fox jumps over the lazy dog while the model thinks about the answer. ';
const russian = 'Быстрая коричневая лиса перепрыгивает через ленивую собаку, пока модель думает. ';
/** @param {string} text @param {number} bytes */
const fill = (text, bytes) => text.repeat(Math.ceil(bytes / Buffer.byteLength(text))).slice(0, bytes);
/** @param {number} bytes @param {string} sentence */
function chat(bytes, sentence = prose) {
  const messages = [{ role: 'system', content: 'You are a helpful assistant.' }];
  for (let i = 0; Buffer.byteLength(JSON.stringify(messages)) < bytes; i++) {
    messages.push({ role: i % 2 ? 'assistant' : 'user', content: fill(sentence, 2000) });
  }
  return { model: 'gpt-4o-mini', messages, temperature: 0.2, metadata: { team: 'bench' } };
}
const tools = Array.from({ length: 20 }, (_, i) => ({
  type: 'function',
  function: { name: `tool_${i}`, description: fill(prose, 300), parameters: { type: 'object', properties: { q: { type: 'string', description: 'the query' }, n: { type: 'integer' } }, required: ['q'] } },
}));
const image = Buffer.alloc(150_000, 7).toString('base64');

/** @type {[name: string, path: string, authority: string, body: unknown][]} */
const CASES = [
  ['chat 2 KB', '/v1/chat/completions', 'api.openai.com', chat(2_000)],
  ['chat 100 KB', '/v1/chat/completions', 'api.openai.com', chat(100_000)],
  ['chat 100 KB, Russian', '/v1/chat/completions', 'api.openai.com', chat(100_000, russian)],
  ['chat with 20 tools and tool calls', '/v1/chat/completions', 'api.openai.com', {
    ...chat(4_000), tools,
    messages: [...chat(4_000).messages, { role: 'assistant', tool_calls: [{ id: 'c1', type: 'function', function: { name: 'tool_1', arguments: JSON.stringify({ q: fill(prose, 500), n: 3 }) } }] }, { role: 'tool', tool_call_id: 'c1', content: fill(prose, 3000) }],
  }],
  ['chat with a 200 KB image', '/v1/chat/completions', 'api.openai.com', {
    model: 'gpt-4o', messages: [{ role: 'user', content: [{ type: 'text', text: 'What is in this image?' }, { type: 'image_url', image_url: { url: `data:image/png;base64,${image}` } }] }],
  }],
  ['anthropic 50 KB with content blocks', '/v1/messages', 'api.anthropic.com', {
    model: 'claude-sonnet-4-5', max_tokens: 512, system: 'Be brief.',
    messages: Array.from({ length: 20 }, (_, i) => ({ role: i % 2 ? 'assistant' : 'user', content: [{ type: 'text', text: fill(prose, 1200) }, { type: 'text', text: fill(prose, 1200) }] })),
  }],
];

/**
 * ms per request through `host`, best of a few batches.
 * @param {FilterHost} host @param {string} path @param {string} authority @param {string} body
 */
function perRequest(host, path, authority, body) {
  /** @type {import('../build/operator/wasm/index.js').RequestSpec} */
  const spec = { headers: [[':method', 'POST'], [':scheme', 'http'], [':path', path], [':authority', authority], ['content-type', 'application/json']], body };
  const check = host.request(spec);
  if (!check.forwarded) throw new Error(`${path}: not forwarded: ${check.localReply?.body}`);
  let reps = 1;
  for (;;) {
    const t0 = performance.now();
    for (let i = 0; i < reps; i++) host.request(spec);
    if (performance.now() - t0 >= 50 || reps >= 4096) break;
    reps *= 2;
  }
  const t0 = performance.now();
  for (let i = 0; i < reps; i++) host.request(spec);
  return (performance.now() - t0) / reps;
}

/** @param {string} path @param {Record<string, unknown>} extra */
async function load(path, extra) {
  const host = await FilterHost.load({ wasmPath: path, pluginConfig: config(extra) });
  if (!host.configure()) throw new Error(`${path} refused the configuration`);
  return host;
}

const baseline = buildBaseline(BASELINE_REF);
const hosts = {
  base: await load(baseline.path, {}),
  now: await load(defaultWasmPath(), {}),
  nowPlain: await load(defaultWasmPath(), { normalize: false }),
};
console.log(`\nInspection cost: build/llm_guard.wasm against the filter at ${baseline.commit}, in-process host, best of ${ROUNDS} alternated rounds\n`);
console.log('| request | baseline ms | today ms | ratio | today, normalize: false ms | ratio |');
console.log('| --- | ---: | ---: | ---: | ---: | ---: |');
for (const [name, path, authority, body] of CASES) {
  const raw = JSON.stringify(body);
  const best = { base: Infinity, now: Infinity, nowPlain: Infinity };
  for (let r = 0; r < ROUNDS; r++) {
    for (const k of /** @type {const} */ (['base', 'now', 'nowPlain'])) best[k] = Math.min(best[k], perRequest(hosts[k], path, authority, raw));
  }
  /** @param {number} x */
  const f = (x) => x.toFixed(3);
  console.log(`| ${name} (${(Buffer.byteLength(raw) / 1000).toFixed(0)} KB) | ${f(best.base)} | ${f(best.now)} | ${(best.now / best.base).toFixed(2)} | ${f(best.nowPlain)} | ${(best.nowPlain / best.base).toFixed(2)} |`);
}
