// Fuzzing the filter's configuration (docs/filter-config.md): valid pluginConfig documents of every
// kind, mutated by structure (fields dropped, added, retyped, pushed to and past their bounds,
// patterns scrambled, nesting deepened, keys given with what a header can't carry) and as bytes
// (flips, cuts, stray quotes), each configured in a fresh VM of the real filter. Asserts for every
// input: no trap; accepted, or refused with one documented code, a path and a message; no key given
// in a key field (inline, in a list, the guard's, from the environment) in the refusal or in any log
// line. (A refused value of another field is quoted back only when it is a short word: errors.ts gotValue.)
//
// Seeded: FUZZ_SEED=<n> FUZZ_CONFIGS=<n> reproduces a run (or runs longer), e.g.
//   FUZZ_SEED=7 FUZZ_CONFIGS=250000 LLM_GUARD_SKIP_BUILD=1 npx vitest run --project fast plugin/config/config_fuzz.test.ts
// A failing document is saved whole (the text the filter was given, and the VM's environment) to
// test/fixtures/fuzz/plugin-config/seed<seed>-<index>.json, named in the failure; every saved
// document is replayed first, through the same checks, so a committed one is a regression test.
// `make fuzz` runs 1,000,000 documents over several seeds (tools/fuzz/run.mjs).
import { describe, expect, it } from 'vitest';
import { configureFilter } from '../../operator/src/wasm/configure.js';
import { seededRandom } from '../testing/prng.mjs';
import { pick, spliceBytes } from '../testing/fuzz_bytes.mjs';
import { FuzzFailures, replaySaved, savedFailures } from '../testing/fuzz_fixtures.js';

const KIND = 'plugin-config';
const SEED = Number(process.env.FUZZ_SEED ?? 20261203);
const CONFIGS = Number(process.env.FUZZ_CONFIGS ?? 3_000);

/** The refusal codes docs/filter-config.md documents. */
const CODES = new Set(['empty', 'invalid_json', 'wrong_type', 'unknown_field', 'duplicate_field', 'required', 'out_of_range',
  'invalid_value', 'invalid_pattern', 'env_not_set', 'not_header_safe', 'conflict']);

const SECRETS = ['sk-fuzz-INLINE-9f8e7d6c5b', 'sk-fuzz-LIST-ONE-1a2b3c4d', 'sk-fuzz-LIST-TWO-5e6f7a8b', 'sk-fuzz-GUARD-0c1d2e3f4a', 'sk-fuzz-ENV-7b6a5f4e3d'];
const ENV = { OPENAI_KEY: SECRETS[4]! };

const SEEDS: Record<string, unknown>[] = [
  { hosts: ['api.openai.com'], api_key: SECRETS[0], deny_patterns: ['(?i)ignore (all )?previous instructions', '账号', '\\d{16}'], allow_patterns: [],
    intelligent_guard: { host: 'dashscope.aliyuncs.com', port: 443, path: '/compatible-mode/v1/chat/completions', model: 'qwen-turbo', api_key: SECRETS[3] } },
  { hosts: ['api.openai.com', '*.openai.azure.com'], api_keys: [SECRETS[1], SECRETS[2]], auth_style: 'bearer', inspect_roles: ['user', 'system'], deny_status: 451,
    on_uninspectable: 'scan_raw', normalize: false, binary_content: 'refuse', on_upgrade: 'allow', max_body_bytes: 65536, max_json_depth: 16, log_prompts: true, require_hold: true },
  { providers: [{ hosts: ['api.anthropic.com'], api_key_env: 'OPENAI_KEY', auth_style: 'x-api-key' }, { hosts: ['generativelanguage.googleapis.com:443'], api_key: SECRETS[0], auth_style: 'x-goog-api-key' }],
    redact_patterns: ['[a-z0-9.]+@[a-z0-9]+\\.[a-z]{2,}'], redact_token: '<pii>',
    response_deny_patterns: ['(?i)launch codes'], response_redact_patterns: ['sk-[A-Za-z0-9]{20,}'], response_max_hold_back: 512 },
  { hosts: ['llm.internal:8080'], key_service: { host: 'llmguard-keys.llmguard-system.svc.cluster.local', port: 15443, path: '/v1/keys/apps/chat', refresh_seconds: 10, max_stale_seconds: 60, timeout_ms: 2000 },
    intelligent_guard: { host: 'guard.internal', port: 80, verdict_format: 'llama_guard', fail_mode: 'open', controversial: 'allow', expose_reason: true, timeout_ms: 500,
      cache: { enabled: true, ttl_seconds: 60, max_entries: 128 } } },
];

const FIELD_NAMES = ['hosts', 'api_key', 'api_keys', 'api_key_env', 'auth_style', 'providers', 'deny_patterns', 'allow_patterns', 'intelligent_guard',
  'inspect_roles', 'deny_status', 'on_uninspectable', 'normalize', 'binary_content', 'on_upgrade', 'max_body_bytes', 'max_json_depth', 'log_prompts',
  'require_hold', 'key_service', 'redact_patterns', 'redact_token', 'response_deny_patterns', 'response_redact_patterns', 'response_max_hold_back',
  'host', 'port', 'path', 'model', 'cache', 'ttl_seconds', 'timeout_ms', 'verdict_format', 'Hosts', 'deny_pattern', ''];
const PATTERN_ATOMS = ['a', '.', '*', '+', '?', '(', ')', '[', ']', '^', '$', '|', '\\', '{', '}', '2', ',', '(?i)', '(?=', '(?P<n>', '\\p{', 'L}', '\\b', '\\d', '[^', '-', '\\x{', '110000}', '😀', '\u0000'];

function randomString(rnd: () => number): string {
  const r = rnd();
  if (r < 0.2) return '';
  if (r < 0.35) return 'x'.repeat(1 + Math.floor(rnd() * 5000));
  if (r < 0.5) return pick(rnd, ['api.openai.com', 'bearer', 'x-api-key', 'refuse', 'allow', 'scan_raw', 'user', 'llama_guard', 'open', '/', 'a b', '*.', '*', ':80', 'host:99999', '[::1]']);
  if (r < 0.6) return String.fromCharCode(...Array.from({ length: 1 + Math.floor(rnd() * 8) }, () => Math.floor(rnd() * 0x10000)));
  return randomPattern(rnd);
}

function randomPattern(rnd: () => number): string {
  let p = '';
  for (let n = Math.floor(rnd() * 12); n > 0; n--) p += pick(rnd, PATTERN_ATOMS);
  return p;
}

function randomValue(rnd: () => number, depth = 0): unknown {
  const r = rnd();
  if (r < 0.15) return null;
  if (r < 0.25) return rnd() < 0.5;
  if (r < 0.45) return pick(rnd, [0, -1, 1, 63, 64, 65536, 65537, 2 ** 31, 2 ** 53, 1e308, -1e308, 0.5, 443, 599, 600, 399, 16777217]);
  if (r < 0.7 || depth > 3) return randomString(rnd);
  if (r < 0.85) return Array.from({ length: Math.floor(rnd() * 4) }, () => randomValue(rnd, depth + 1));
  const o: Record<string, unknown> = {};
  for (let n = Math.floor(rnd() * 4); n > 0; n--) o[pick(rnd, FIELD_NAMES)] = randomValue(rnd, depth + 1);
  return o;
}

/** A container inside `doc` (the document itself, a provider, the guard...), to change a field of. */
function someObject(rnd: () => number, doc: Record<string, unknown>): Record<string, unknown> {
  const objects: Record<string, unknown>[] = [doc];
  const walk = (v: unknown, depth: number) => {
    if (depth > 4 || v === null || typeof v !== 'object') return;
    if (!Array.isArray(v)) objects.push(v as Record<string, unknown>);
    for (const x of Object.values(v as object)) walk(x, depth + 1);
  };
  for (const v of Object.values(doc)) walk(v, 1);
  return pick(rnd, objects);
}

/** A key as a field holding keys gets it, now and then with what an HTTP header can't carry. */
function keyValue(rnd: () => number): string {
  return `${pick(rnd, SECRETS.slice(0, 4))}${pick(rnd, ['', '', '\n', '\r\n', '\u0000', ' ', 'é', '\u007f'])}`;
}

const KEY_FIELDS = ['api_key', 'api_keys'];

function mutatedDocument(rnd: () => number): Record<string, unknown> {
  const doc = structuredClone(pick(rnd, SEEDS));
  for (let k = Math.floor(rnd() * 4); k > 0; k--) {
    const target = someObject(rnd, doc);
    const keys = Object.keys(target);
    const m = rnd();
    if (m < 0.1) {
      const field = pick(rnd, KEY_FIELDS);
      target[field] = field === 'api_keys' ? [keyValue(rnd), keyValue(rnd)] : keyValue(rnd);
    } else if (m < 0.25 && keys.length > 0) delete target[pick(rnd, keys)];
    else if (m < 0.55 && keys.length > 0) target[pick(rnd, keys)] = randomValue(rnd);
    else if (m < 0.7) target[pick(rnd, FIELD_NAMES)] = randomValue(rnd);
    else if (m < 0.85) {
      const lists = keys.filter((key) => Array.isArray(target[key]));
      if (lists.length > 0) (target[pick(rnd, lists)] as unknown[]).push(rnd() < 0.7 ? randomPattern(rnd) : randomValue(rnd));
    } else {
      let deep: unknown = randomValue(rnd);
      for (let d = Math.floor(rnd() * 40); d > 0; d--) deep = rnd() < 0.5 ? [deep] : { a: deep };
      target[pick(rnd, FIELD_NAMES)] = deep;
    }
  }
  return doc;
}

const NOISE = ['"', '\\', '{', '}', ',', ':', '\u0000', '\uFFFD', ' ', 'null', '"api_key":"x",', '"hosts":', '1e999'].map((s) => new TextEncoder().encode(s));

function input(rnd: () => number): string | Uint8Array {
  const text = JSON.stringify(mutatedDocument(rnd));
  if (rnd() < 0.75) {
    // Duplicate members can't be written through an object: splice one in as text.
    if (rnd() < 0.1) return text.replace('{', `{"${pick(rnd, FIELD_NAMES)}":${JSON.stringify(randomValue(rnd))},`);
    return text;
  }
  let b: Uint8Array = new TextEncoder().encode(text);
  for (let k = 1 + Math.floor(rnd() * 3); k > 0; k--) {
    const at = Math.floor(rnd() * (b.length + 1));
    const m = rnd();
    if (m < 0.4) b = spliceBytes(b, at, 0, pick(rnd, NOISE));
    else if (m < 0.7) b = spliceBytes(b, at, Math.floor(rnd() * 16), new Uint8Array(0));
    else b = b.subarray(0, at);
  }
  return b;
}

/** A document as saved under test/fixtures/fuzz/plugin-config/: everything its replay needs. */
interface ConfigCase {
  /** The pluginConfig text the filter is given. */
  document: string;
  /** The VM's environment (for api_key_env). */
  env: Record<string, string>;
}

/** One document configured in a fresh VM: the outcome (accepted or the refusal's code), and why it breaks a promise ([] when it doesn't). */
function checkConfig(c: ConfigCase): { outcome: string; reasons: string[] } {
  const reasons: string[] = [];
  const { host, result } = configureFilter(c.document, { env: c.env });
  const said = JSON.stringify(result.refusal ?? '') + result.logs.map((l) => l.message).join('\n');
  if (host?.trapped || result.refusal?.code === 'vm_failed') reasons.push(`trapped: ${result.reason}`);
  else if (!result.ok) {
    const r = result.refusal!;
    if (!CODES.has(r.code)) reasons.push(`undocumented code ${r.code}`);
    if (typeof r.path !== 'string' || r.message.length === 0) reasons.push(`refusal without a path or a message: ${JSON.stringify(r)}`);
    if (!result.logs.some((l) => l.message.includes('config rejected'))) reasons.push('refused without a "config rejected" log line');
  }
  for (const secret of SECRETS) if (said.includes(secret)) reasons.push(`a key in what the filter said: ${said.slice(0, 300)}`);
  return { outcome: result.ok ? 'accepted' : result.refusal!.code, reasons };
}

describe('pluginConfig fuzz', () => {
  it(`saved documents (test/fixtures/fuzz/${KIND}/), then ${CONFIGS} mutated configuration documents (seed ${SEED}): no trap; accepted, or refused with a documented code; no key in a refusal or a log`, () => {
    const failures = new FuzzFailures(KIND, SEED);
    if (replaySaved()) for (const saved of savedFailures<ConfigCase>(KIND)) failures.replay(saved, checkConfig(saved.input).reasons);

    const rnd = seededRandom(SEED);
    const outcomes = new Map<string, number>();
    for (let i = 0; i < CONFIGS; i++) {
      const doc = input(rnd);
      const c: ConfigCase = { document: typeof doc === 'string' ? doc : new TextDecoder().decode(doc), env: ENV };
      const { outcome, reasons } = checkConfig(c);
      failures.random(i, reasons, () => c, () => c.document.slice(0, 300));
      outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
    }
    console.log(`config fuzz seed=${SEED}: ${failures.replayed} saved documents replayed (${failures.replayFailures} failing); ${CONFIGS} documents; ${JSON.stringify(Object.fromEntries([...outcomes].sort((a, b) => b[1] - a[1])))}`);
    failures.report(CONFIGS);
    expect(failures.messages, failures.messages.join('\n')).toEqual([]);
    // The generator reaches both sides and most refusals.
    expect(outcomes.get('accepted') ?? 0).toBeGreaterThan(CONFIGS / 50);
    expect([...outcomes.keys()].filter((k) => CODES.has(k)).length).toBeGreaterThanOrEqual(8);
  }, Math.max(120_000, CONFIGS * 5)); // ~1,300 documents a second on one core; room for slower machines
});
