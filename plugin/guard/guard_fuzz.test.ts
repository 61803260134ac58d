// Fuzzing the intelligent guard's replies, the untrusted input the filter reads from its guard model
// (an OpenAI-compatible API), through the real filter in the in-process host. Seeded,
// structure-aware and mutational:
//   replies  status 200, other 2xx, 3xx, 4xx, 5xx, 1xx and odd values, a repeated :status;
//            content types, gzip / br bodies the filter cannot read, mislabelled encodings,
//            repeated, empty, huge and many headers; chat completions in every verdict format
//            (asm-labs JSON, Llama Guard, Qwen3Guard) and moderation answers saying allow / deny /
//            controversial / nothing, written with escapes and odd whitespace, the verdict in odd
//            places, extra choices, duplicate keys, wrong types, deep nesting, many values, sizes
//            around and over 1 MiB, SSE- and NDJSON-shaped bodies, then byte flips, truncation,
//            invalid UTF-8, deletions and random bytes;
//   delivery at once or later on the host's clock, after the timeout (Envoy's 504), timed out or
//            reset by the host, or the client gone before the answer; prompts asked again on hosts
//            with the verdict cache (an answer cannot come in chunks: Envoy hands the filter the
//            whole body of an http call at once);
//   config   seven hosts, each loaded once for the random cases: verdict_format, fail_mode, cache,
//            timeout_ms, controversial, expose_reason, deny_status, a moderations path.
// Asserts for every case: no trap; the request is held until the verdict and ends forwarded or
// with a documented reply; forwarded as allowed only when the reference reading of the answer
// (plugin/testing/guard_reference.ts, written from verdict.ts's rules) is allow and no reading is
// deny; refused with denied_by_guard only when a reading is deny; with no verdict, 503
// guard_unavailable under fail_mode closed, or forwarded and counted in guard_fail_open under
// open; a cache hit repeats the verdict the filter last gave for that prompt; for answers left
// unmutated, the reference reads what the generator meant; the provider key, the guard keys and
// the prompt never in a reply or a log line (some answers carry the prompt and the guard key
// where no verdict is read), the provider key never in the guard call; no case over 2 s of CPU;
// the VM's memory stays within MEMORY_CEILING or twice its size after the first 10% of cases; and
// then a plain allowed request still goes through.
//
// Seeded: FUZZ_SEED=<n> FUZZ_GUARD_REPLIES=<n> reproduces a run (or runs longer), e.g.
//   FUZZ_SEED=7 FUZZ_GUARD_REPLIES=250000 LLM_GUARD_SKIP_BUILD=1 npx vitest run --project fast plugin/guard/guard_fuzz.test.ts
// A failing case is saved whole (host, prompt, reply headers and bytes, delivery, and the answer
// that filled the cache when the prompt was asked again) to test/fixtures/fuzz/guard-replies/
// seed<seed>-<index>.json, named in the failure (plugin/testing/fuzz_fixtures.ts: 20 a run at
// most); every saved case is replayed first, each in a host of its own, through the same checks
// (FUZZ_REPLAY=0 skips them), so a committed one is a regression test. `make fuzz` runs 1,000,000
// cases over several seeds (tools/fuzz/run.mjs).
import { brotliCompressSync, constants as zlib, gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { HeaderMap, type FilterHost, type HttpCallRecord, type HttpStream } from '../../operator/src/wasm/index.js';
import { ERROR_CODES, KEY, OPENAI, chat, errorOf, loadGuard, outcome, post, user } from '../../test/harness/llm.js';
import { allow, llamaGuard, moderation, qwenGuard, type Answer } from '../../operator/src/localmesh/guard_answers.js';
import { playAnswer } from '../../test/support/play_answer.js';
import { seededRandom } from '../testing/prng.mjs';
import { pick, spliceBytes } from '../testing/fuzz_bytes.mjs';
import { FuzzFailures, replaySaved, savedFailures } from '../testing/fuzz_fixtures.js';
import { MAX_ANSWER_BYTES, readingsOfAnswer, type Reading, type ReadingRules, type VerdictFormatName } from '../testing/guard_reference.js';

const SEED = Number(process.env.FUZZ_SEED ?? 20261207);
const CASES = Number(process.env.FUZZ_GUARD_REPLIES ?? 3_000);
const KIND = 'guard-replies';
/**
 * CPU time one case may take: generous, not a benchmark. The process's CPU time, not wall time: on
 * a machine busy with other work a case can wait a second or more without running at all (seen: 815
 * ms of wall time, 1 ms of CPU), which is no slowness of the filter's.
 */
const SLOW_CASE_MS = 2_000;
/**
 * The VM's linear memory at the end may be at most twice what it was after the first 10% of the
 * cases, or MEMORY_CEILING, whichever is more. The runtime grows memory by doubling it, the largest
 * answers (up to 1 MiB read whole, 100,000-value documents) take a few MiB at once, and
 * fragmentation adds a doubling now and then: over 200,000 cases every host levelled off between 8
 * and 26 MiB, most of them before 30% of the run. A leak of a kilobyte a case would pass 32 MiB.
 */
const MEMORY_CEILING = 32 * 1024 * 1024;

const CLUSTER = 'outbound|80||guard.internal';
const PROMPT_MARK = 'zqprompt';
const enc = new TextEncoder();

// ---------------------------------------------------------------- hosts

interface HostSpec {
  guard: Record<string, unknown>;
  extra?: Record<string, unknown>;
}

const CACHED = (max_entries: number) => ({ enabled: true, ttl_seconds: 86_400, max_entries });
const MODERATIONS = { path: '/v1/moderations', model: 'omni-moderation-latest' };

const HOSTS = {
  auto_closed: { guard: { timeout_ms: 1000, cache: CACHED(256) } },
  auto_open: { guard: { fail_mode: 'open', timeout_ms: 250, expose_reason: true, cache: { enabled: false } } },
  json_closed: { guard: { verdict_format: 'json', cache: { enabled: false } }, extra: { deny_status: 451 } },
  llama_open: { guard: { verdict_format: 'llama_guard', fail_mode: 'open', cache: CACHED(8) } },
  qwen_closed: { guard: { verdict_format: 'qwen_guard', controversial: 'allow', timeout_ms: 500, cache: CACHED(64) } },
  moderation_open: { guard: { ...MODERATIONS, verdict_format: 'openai_moderation', fail_mode: 'open', cache: { enabled: false } } },
  auto_moderations_closed: { guard: { ...MODERATIONS, expose_reason: true, cache: CACHED(1024) } },
} satisfies Record<string, HostSpec>;
type HostName = keyof typeof HOSTS;
const HOST_NAMES = Object.keys(HOSTS) as HostName[];

const guardKeyOf = (name: string) => `sk-guard-FUZZ-${name}-5eed7a11`;
const SECRETS = [KEY, ...HOST_NAMES.map(guardKeyOf), PROMPT_MARK];

interface Remembered {
  verdict: 'allow' | 'deny';
  reply: Reply;
}

/** Prompts a host may be asked again: the last ones it was asked. */
const RECENT_PROMPTS = 32;

interface Loaded {
  name: HostName;
  host: FilterHost;
  rules: ReadingRules;
  guardKey: string;
  timeoutMs: number;
  cache: boolean;
  failOpen: boolean;
  denyStatus: number;
  /** The verdict the filter last read for a prompt (what its cache may hold). */
  remembered: Map<string, Remembered>;
  /** Recent prompts, to ask again (RECENT_PROMPTS at most: only theirs are remembered). */
  recent: string[];
}

async function loadHost(name: HostName): Promise<Loaded> {
  const spec: HostSpec = HOSTS[name];
  const g = spec.guard;
  const guard = { host: 'guard.internal', port: 80, path: '/v1/chat/completions', model: 'guard-model', api_key: guardKeyOf(name), ...g };
  const host = await loadGuard(
    { hosts: [OPENAI], api_key: KEY, ...spec.extra, intelligent_guard: guard },
    { clusters: [CLUSTER], clock: 'manual', logLevel: 'debug' },
  );
  return {
    name,
    host,
    rules: { format: (g.verdict_format ?? 'auto') as VerdictFormatName, controversialDenies: g.controversial !== 'allow' },
    guardKey: guardKeyOf(name),
    timeoutMs: (g.timeout_ms as number | undefined) ?? 3000,
    cache: (g.cache as { enabled: boolean }).enabled,
    failOpen: g.fail_mode === 'open',
    denyStatus: (spec.extra?.deny_status as number | undefined) ?? 403,
    remembered: new Map(),
    recent: [],
  };
}

async function loadHosts(): Promise<Record<HostName, Loaded>> {
  const out = {} as Record<HostName, Loaded>;
  for (const name of HOST_NAMES) out[name] = await loadHost(name);
  return out;
}

// ---------------------------------------------------------------- the cases

type Header = [string, string];

interface Reply {
  headers: Header[];
  body: Uint8Array;
}

type Delivery =
  /** The reply, once the host's clock has moved `afterMs` (less than the timeout). */
  | { kind: 'answer'; afterMs: number }
  /** The clock passes the timeout (+ afterMs) first: the host's async client answers 504 itself. */
  | { kind: 'late'; afterMs: number }
  /** Envoy's timeout (504 "upstream request timeout"). */
  | { kind: 'timeout' }
  /** The call fails: reset or refused (0 headers). */
  | { kind: 'reset' }
  /** The client goes away while the guard judges; then the call ends as `then` says. */
  | { kind: 'client_gone'; then: 'answer' | 'reset' | 'timeout' };

interface GuardCase {
  host: HostName;
  prompt: string;
  reply: Reply;
  delivery: Delivery;
  /** What the generator meant the filter to read; null when mutations leave it to the reference. */
  intent: Reading | null;
  /** How the reply was made. */
  label: string;
  /** The earlier answer for the same prompt, when it is asked again (a replay plays it first). */
  primer?: Reply;
}

const PROMPT_TEXTS = ['Plan a trip to Lisbon', 'Summarise the quarterly report', 'quotes " and \\ and\nnewline', 'emoji 😀 and 账号信息', 'Is {"result":"allow"} a verdict?'];

function generateCase(rnd: () => number, i: number, h: Loaded): GuardCase {
  const again = h.cache && h.recent.length > 0 && rnd() < 0.2 ? pick(rnd, h.recent) : undefined;
  const prompt = again ?? `${PROMPT_MARK}-${SEED}-${i}: ${pick(rnd, PROMPT_TEXTS)}`;
  const answer = generateReply(rnd, h);
  const delivery = generateDelivery(rnd, h);
  const intent = delivery.kind === 'answer' ? answer.intent : delivery.kind === 'client_gone' ? null : 'error';
  const c: GuardCase = { host: h.name, prompt, reply: answer.reply, delivery, intent, label: answer.label.join(' ') };
  const primer = again !== undefined ? h.remembered.get(again)?.reply : undefined;
  if (primer) c.primer = primer;
  return c;
}

function generateDelivery(rnd: () => number, h: Loaded): Delivery {
  const r = rnd();
  if (r < 0.74) return { kind: 'answer', afterMs: 0 };
  if (r < 0.82) return { kind: 'answer', afterMs: 1 + Math.floor(rnd() * (h.timeoutMs - 2)) };
  if (r < 0.87) return { kind: 'late', afterMs: Math.floor(rnd() * 500) };
  if (r < 0.91) return { kind: 'timeout' };
  if (r < 0.97) return { kind: 'reset' };
  return { kind: 'client_gone', then: pick(rnd, ['answer', 'reset', 'timeout'] as const) };
}

// ---------------------------------------------------------------- what the guard says

type Family = 'json' | 'llama' | 'qwen' | 'moderation' | 'free';
type Meaning = 'allow' | 'deny' | 'controversial' | 'none';

/** The verdict formats that read a family's answers (verdict.ts: auto tries them all). */
const READ_BY: Record<Family, VerdictFormatName[]> = {
  json: ['auto', 'json'],
  llama: ['auto', 'llama_guard'],
  qwen: ['auto', 'qwen_guard'],
  moderation: ['auto', 'openai_moderation'],
  free: [],
};
const FAMILY_OF: Record<VerdictFormatName, Family[]> = {
  auto: ['json', 'llama', 'qwen', 'moderation'],
  json: ['json'],
  llama_guard: ['llama'],
  qwen_guard: ['qwen'],
  openai_moderation: ['moderation'],
};

function intentOf(family: Family, meaning: Meaning, rules: ReadingRules): Reading {
  if (!READ_BY[family].includes(rules.format) || meaning === 'none') return 'error';
  if (meaning === 'controversial') return rules.controversialDenies ? 'deny' : 'allow';
  return meaning;
}

interface Said {
  family: Family;
  meaning: Meaning;
  /** The message content (chat families) or the results (moderation). */
  content: string;
  results: unknown[];
  label: string;
}

const ALLOW_WORDS = ['allow', 'ALLOW', 'Allow', ' allow ', 'safe', 'allowed', 'Allowed', '\tallow\n', '\u00a0allow'];
const DENY_WORDS = ['deny', 'DENY', 'Deny', 'unsafe', 'denied', 'block', ' deny ', 'UNSAFE'];
const OTHER_WORDS = ['maybe', 'unknown', 'pass', 'ok', 'yes', 'no', 'flagged', '', 'al low', 'allow!', 'de ny'];
const RESULT_KEYS = ['result', 'RESULT', 'Result', 'verdict', 'decision', 'Decision'];
const REASONS = ['harmless', 'contains credentials', 'quotes " and \\ inside', 'emoji 😀 and 账号', 'r'.repeat(300), '', 'multi\nline', '{braces}'];
const PROSE = ['Having looked at the conversation, my verdict is', 'Analysis complete.\n', 'Here is my assessment:\n\n'];

function word(rnd: () => number): [string, Meaning] {
  const r = rnd();
  if (r < 0.42) return [pick(rnd, ALLOW_WORDS), 'allow'];
  if (r < 0.84) return [pick(rnd, DENY_WORDS), 'deny'];
  return [pick(rnd, OTHER_WORDS), 'none'];
}

function verdictObject(rnd: () => number, w: string): string {
  const o: Record<string, unknown> = { [pick(rnd, RESULT_KEYS)]: w, reason: pick(rnd, REASONS) };
  if (rnd() < 0.2) o.confidence = 0.93;
  if (rnd() < 0.1) o.details = { categories: ['S1'], nested: { a: 1 } };
  return rnd() < 0.2 ? JSON.stringify(o, null, 2) : JSON.stringify(o);
}

function saysJson(rnd: () => number): Said {
  if (rnd() < 0.15) {
    // Two verdicts (a model quoting one before giving its own): disagreeing ones read as deny.
    const [a, b] = [pick(rnd, [...ALLOW_WORDS, ...DENY_WORDS]), pick(rnd, [...ALLOW_WORDS, ...DENY_WORDS])];
    const mean = (x: string): Meaning => (ALLOW_WORDS.includes(x) ? 'allow' : 'deny');
    const content = `The user wrote ${verdictObject(rnd, a)}, which I ignore. My verdict: ${verdictObject(rnd, b)}`;
    return { family: 'json', meaning: mean(a) === mean(b) ? mean(a) : 'deny', content, results: [], label: 'json pair' };
  }
  const [w, meaning] = word(rnd);
  const obj = verdictObject(rnd, w);
  const style = pick(rnd, ['plain', 'plain', 'fenced', 'prose', 'fenced_prose'] as const);
  let content = obj;
  if (style === 'fenced') content = '```json\n' + obj + '\n```';
  else if (style === 'prose') content = `${pick(rnd, PROSE)} ${obj} and that is final.`;
  else if (style === 'fenced_prose') content = `${pick(rnd, PROSE)}\`\`\`json\n${obj}\n\`\`\`\n\nLet me know if you need more.`;
  return { family: 'json', meaning, content, results: [], label: `json ${style} ${JSON.stringify(w)}` };
}

function saysLlama(rnd: () => number): Said {
  const [content, meaning] = pick(rnd, [
    ['safe', 'allow'], ['Safe', 'allow'], ['SAFE', 'allow'], ['\n\nsafe\n', 'allow'], ['safe\n', 'allow'], ['  safe  ', 'allow'],
    ['unsafe', 'deny'], ['unsafe\nS1', 'deny'], ['unsafe\nS1,S7', 'deny'], ['\nunsafe\nS14\n', 'deny'], ['Unsafe\nS2', 'deny'],
    ['sa fe', 'none'], ['safe.', 'none'], ['maybe safe', 'none'],
  ] as [string, Meaning][]);
  return { family: 'llama', meaning, content, results: [], label: `llama ${JSON.stringify(content)}` };
}

const SAFETY: [string, Meaning][] = [['Safe', 'allow'], ['safe', 'allow'], ['Unsafe', 'deny'], ['UNSAFE', 'deny'], ['Controversial', 'controversial'], ['Unknown', 'none']];

function saysQwen(rnd: () => number): Said {
  const lines: string[] = [];
  const n = rnd() < 0.85 ? 1 : 2;
  const values: Meaning[] = [];
  for (let k = 0; k < n; k++) {
    const [v, m] = pick(rnd, SAFETY);
    values.push(m);
    lines.push(`${pick(rnd, ['Safety: ', 'safety:', '  Safety:  ', 'SAFETY: '])}${v}`);
  }
  if (rnd() < 0.8) lines.push(`Categories: ${pick(rnd, ['None', 'Violent', 'PII', 'Politically Sensitive Topics', 'Jailbreak'])}`);
  if (rnd() < 0.3) lines.push(`Refusal: ${pick(rnd, ['Yes', 'No'])}`);
  // verdict.ts: any Unsafe line wins; otherwise the last Safety line.
  const meaning = values.includes('deny') ? 'deny' : values[values.length - 1]!;
  const content = lines.join(pick(rnd, ['\n', '\n', '\r\n']));
  return { family: 'qwen', meaning, content, results: [], label: `qwen ${JSON.stringify(content).slice(0, 40)}` };
}

const MODERATION_CATEGORIES = ['harassment', 'hate', 'illicit', 'self-harm', 'sexual', 'violence', 'violence/graphic'];

function saysModeration(rnd: () => number): Said {
  const n = rnd() < 0.05 ? 0 : 1 + Math.floor(rnd() * 3);
  const flaggedAt = rnd() < 0.5 ? Math.floor(rnd() * n) : -1;
  const results = Array.from({ length: n }, (_, k) => {
    const categories = Object.fromEntries(MODERATION_CATEGORIES.map((c) => [c, k === flaggedAt && c === 'violence']));
    const scores = Object.fromEntries(MODERATION_CATEGORIES.map((c) => [c, categories[c] ? 0.93 : 0.0004]));
    return { flagged: k === flaggedAt, categories, category_scores: scores };
  });
  const meaning: Meaning = n === 0 ? 'none' : flaggedAt >= 0 ? 'deny' : 'allow';
  return { family: 'moderation', meaning, content: '', results, label: `moderation ${n} results, flagged ${flaggedAt}` };
}

const FREE_TEXTS = [
  'I think it is probably fine.', 'The request looks safe', 'Verdict: allow', 'ALLOW', '{}', '{"reason":"no result"}', 'null',
  '{"results":[{"flagged":true}]}', '   ', '```json\n```', 'Safety:', '{"result":', 'S1,S7',
];

function saysFree(rnd: () => number): Said {
  const content = pick(rnd, FREE_TEXTS);
  return { family: 'free', meaning: 'none', content, results: [], label: `free ${JSON.stringify(content)}` };
}

const SAYS: Record<Family, (rnd: () => number) => Said> = { json: saysJson, llama: saysLlama, qwen: saysQwen, moderation: saysModeration, free: saysFree };

function says(rnd: () => number, rules: ReadingRules): Said {
  const r = rnd();
  if (r < 0.6) return SAYS[pick(rnd, FAMILY_OF[rules.format])](rnd);
  if (r < 0.92) return SAYS[pick(rnd, ['json', 'llama', 'qwen', 'moderation'] as const)](rnd);
  return saysFree(rnd);
}

// ---------------------------------------------------------------- the body: envelope and writing

/** An object whose members are written in this order, duplicates included. */
class Members {
  constructor(readonly list: [string, unknown][]) {}
}

type Obj = Record<string, unknown>;

function envelope(rnd: () => number, s: Said): Obj {
  if (s.family === 'moderation') return { id: 'modr-guard-0001', model: 'omni-moderation-latest', results: s.results };
  const where = rnd();
  const choice: Obj =
    where < 0.85
      ? { index: 0, message: { role: 'assistant', content: s.content }, logprobs: null, finish_reason: 'stop' }
      : where < 0.95
        ? { index: 0, text: s.content, finish_reason: 'stop' }
        : { index: 0, message: { role: 'assistant', content: '' }, text: s.content, finish_reason: 'stop' };
  return {
    id: 'chatcmpl-guard-0001', object: 'chat.completion', created: 1735689600, model: 'guard-model',
    choices: [choice], usage: { prompt_tokens: 42, completion_tokens: 7, total_tokens: 49 },
  };
}

interface Style {
  /** Probability of writing a string's character as a \u escape (or '/' as '\/'). */
  escape: number;
  /** What goes after ',' and ':'. */
  space: string;
}

const PLAIN: Style = { escape: 0, space: '' };

function writeString(s: string, style: Style, rnd: () => number): string {
  if (style.escape === 0) return JSON.stringify(s);
  let out = '"';
  for (const ch of s) {
    const plain = isPlainChar(ch) ? ch : JSON.stringify(ch).slice(1, -1);
    if (plain !== ch || rnd() >= style.escape) out += plain;
    else if (ch === '/') out += '\\/';
    else for (let k = 0; k < ch.length; k++) out += `\\u${ch.charCodeAt(k).toString(16).padStart(4, '0')}`;
  }
  return `${out}"`;
}

/** A character JSON.stringify writes as it is (one code unit, not '"', '\\', a control or a surrogate): most of them, told without it. */
function isPlainChar(ch: string): boolean {
  if (ch.length !== 1) return false;
  const c = ch.charCodeAt(0);
  return c >= 0x20 && c !== 0x22 && c !== 0x5c && (c < 0xd800 || c > 0xdfff);
}

function writeJson(v: unknown, style: Style, rnd: () => number): string {
  // Without escapes or spaces, JSON.stringify writes the same text (and draws nothing from rnd), faster.
  if (style.escape === 0 && style.space === '' && stringifies(v)) return JSON.stringify(v);
  return writeValue(v, style, rnd);
}

function writeValue(v: unknown, style: Style, rnd: () => number): string {
  if (v instanceof Members) return `{${v.list.map(([k, x]) => `${writeString(k, style, rnd)}:${style.space}${writeValue(x, style, rnd)}`).join(`,${style.space}`)}}`;
  if (Array.isArray(v)) return `[${v.map((x) => writeValue(x, style, rnd)).join(`,${style.space}`)}]`;
  if (typeof v === 'string') return writeString(v, style, rnd);
  if (v !== null && typeof v === 'object') return writeValue(new Members(Object.entries(v)), style, rnd);
  return JSON.stringify(v) ?? 'null';
}

/** JSON.stringify writes `v` as writeValue does in PLAIN: no Members (duplicates) and no undefined member (left out there, null here). */
function stringifies(v: unknown): boolean {
  if (v === undefined || v instanceof Members) return false;
  if (v === null || typeof v !== 'object') return true;
  for (const x of Array.isArray(v) ? v : Object.values(v)) if (!stringifies(x)) return false;
  return true;
}

// ---------------------------------------------------------------- structural mutations (meaning left to the reference)

const WRONG_VALUES: unknown[] = [null, true, false, 0, -1.5, 'allow', 'safe', '', [], {}, ['{"result":"allow"}'], { content: 'safe' }, [{ type: 'text', text: '{"result":"allow"}' }]];

const isObj = (v: unknown): v is Obj => v !== null && typeof v === 'object' && !Array.isArray(v) && !(v instanceof Members);

function at(v: unknown, path: (string | number)[]): unknown {
  let x = v;
  for (const k of path) x = Array.isArray(x) ? x[k as number] : isObj(x) ? x[k] : undefined;
  return x;
}

function setAt(root: Obj, path: (string | number)[], value: unknown): void {
  const parent = at(root, path.slice(0, -1));
  const k = path[path.length - 1]!;
  if (Array.isArray(parent)) parent[k as number] = value;
  else if (isObj(parent)) parent[k] = value;
}

const VERDICT_PATHS: (string | number)[][] = [
  ['choices'], ['choices', 0], ['choices', 0, 'message'], ['choices', 0, 'message', 'content'], ['choices', 0, 'text'],
  ['results'], ['results', 0], ['results', 0, 'flagged'], ['results', 1, 'flagged'],
];

/** Changes `env` (or returns a new root, for a duplicate member at the top) and says what it did; null when it does not apply. */
type Mutation = (rnd: () => number, env: Obj, alt: Obj) => { root: unknown; did: string } | null;

const wrongType: Mutation = (rnd, env) => {
  const paths = VERDICT_PATHS.filter((p) => at(env, p) !== undefined);
  if (paths.length === 0) return null;
  const p = pick(rnd, paths);
  const v = pick(rnd, WRONG_VALUES);
  setAt(env, p, structuredClone(v));
  return { root: env, did: `wrong_type ${p.join('.')}=${JSON.stringify(v)}` };
};

/** A second member of the same name at one level of the verdict's path, from another answer. */
const duplicateKey: Mutation = (rnd, env, alt) => {
  const levels = [[], ['choices', 0], ['choices', 0, 'message'], ['results', 0]].filter((p) => isObj(at(env, p)));
  const path = pick(rnd, levels);
  const obj = at(env, path) as Obj;
  const altObj = at(alt, path);
  const names = Object.keys(obj).filter((k) => ['choices', 'message', 'content', 'text', 'results', 'flagged'].includes(k));
  if (names.length === 0) return null;
  const name = pick(rnd, names);
  const other = isObj(altObj) && name in altObj ? altObj[name] : rnd() < 0.5 && typeof obj[name] === 'boolean' ? !obj[name] : pick(rnd, WRONG_VALUES);
  const list: [string, unknown][] = Object.entries(obj);
  const i = list.findIndex(([k]) => k === name);
  const after = rnd() < 0.5;
  list.splice(after ? list.length : i, 0, [name, structuredClone(other)]);
  const members = new Members(list);
  if (path.length > 0) setAt(env, path, members);
  return { root: path.length === 0 ? members : env, did: `duplicate_key ${[...path, name].join('.')} (${after ? 'last' : 'first'})` };
};

const extraChoice: Mutation = (rnd, env, alt) => {
  const choices = env.choices;
  const other = at(alt, ['choices', 0]) ?? { message: { content: pick(rnd, FREE_TEXTS) } };
  if (!Array.isArray(choices)) return null;
  const first = rnd() < 0.3;
  if (first) choices.unshift(structuredClone(other));
  else choices.push(structuredClone(other));
  return { root: env, did: `extra_choice ${first ? 'first' : 'last'}` };
};

const ODD_PLACES = ['delta', 'refusal', 'reasoning_content', 'top', 'tool_call', 'second_choice', 'text'] as const;

const oddPlace: Mutation = (rnd, env) => {
  const choice = at(env, ['choices', 0]);
  const message = at(env, ['choices', 0, 'message']);
  if (!isObj(choice) || !isObj(message) || typeof message.content !== 'string') return null;
  const text = message.content;
  const left = pick(rnd, ['delete', null, '', '   '] as const);
  if (left === 'delete') delete message.content;
  else message.content = left;
  const place = pick(rnd, ODD_PLACES);
  if (place === 'delta') choice.delta = { content: text };
  else if (place === 'refusal' || place === 'reasoning_content') message[place] = text;
  else if (place === 'top') env.content = text;
  else if (place === 'tool_call') message.tool_calls = [{ id: 'call_1', type: 'function', function: { name: 'verdict', arguments: text } }];
  else if (place === 'second_choice') (env.choices as unknown[]).push({ index: 1, message: { role: 'assistant', content: text } });
  else choice.text = text;
  return { root: env, did: `odd_place ${place} (content ${JSON.stringify(left)})` };
};

const doubleEncoded: Mutation = (_rnd, env) => {
  const message = at(env, ['choices', 0, 'message']);
  if (!isObj(message) || typeof message.content !== 'string') return null;
  message.content = JSON.stringify(message.content);
  return { root: env, did: 'double_encoded' };
};

const CONTENT_TOKENS = [
  '{', '}', '"', '\\', '{"result":"deny"}', '{"result":"allow"}', '{"result":"allow","result":"deny"}', '\nSafety: Unsafe', '\nSafety: Safe',
  '\nsafe', 'unsafe\n', 'safe\n', '\ud800', '\udc00', '\u0000', '\ufeff', '\u00a0', '```', '\n', '\r', '{"verdict":"allow","decision":"deny"}',
];

const contentEdit: Mutation = (rnd, env, alt) => {
  const path = isObj(at(env, ['choices', 0, 'message'])) ? ['choices', 0, 'message', 'content'] : ['choices', 0, 'text'];
  const text = at(env, path);
  if (typeof text !== 'string') return null;
  const altText = at(alt, ['choices', 0, 'message', 'content']) ?? at(alt, ['choices', 0, 'text']) ?? '';
  const i = Math.floor(rnd() * (text.length + 1));
  const m = rnd();
  let out: string;
  let what: string;
  if (m < 0.4) [out, what] = [text.slice(0, i) + pick(rnd, CONTENT_TOKENS) + text.slice(i), 'insert'];
  else if (m < 0.55) [out, what] = [text.slice(0, i) + text.slice(i + 1 + Math.floor(rnd() * 8)), 'delete'];
  else if (m < 0.65) [out, what] = [text.slice(0, i), 'truncate'];
  else if (m < 0.75) [out, what] = [text.slice(0, i) + text.slice(i, i + 12).toUpperCase() + text.slice(i + 12), 'upper'];
  else if (m < 0.85) [out, what] = [`${String(altText)}\n${text}`, 'prepend_other'];
  else if (m < 0.95) [out, what] = [`${text}\n${String(altText)}`, 'append_other'];
  else {
    const n = pick(rnd, [20, 31, 32, 33, 40]);
    [out, what] = [`{"result":"deny","x":${'['.repeat(n)}${']'.repeat(n)}}`, `deep_verdict ${n}`];
  }
  setAt(env, path, out);
  return { root: env, did: `content_${what}` };
};

const manyResults: Mutation = (rnd, env) => {
  const results = env.results;
  if (!Array.isArray(results) || results.length === 0) return null;
  const n = 20 + Math.floor(rnd() * 200);
  const flagged = rnd() < 0.5 ? Math.floor(rnd() * n) : -1;
  env.results = Array.from({ length: n }, (_, k) => ({ ...(results[0] as Obj), flagged: k === flagged }));
  return { root: env, did: `many_results ${n} flagged ${flagged}` };
};

const MUTATIONS: Mutation[] = [wrongType, duplicateKey, duplicateKey, extraChoice, oddPlace, doubleEncoded, contentEdit, contentEdit, manyResults];

// ---------------------------------------------------------------- byte mutations

const BYTE_INSERTS = ['"', '\\', '\\u', '\\ud83d', '{', '}', '[', ']', ',', ':', 'null', '\u0000', '\r\n', ',"result":"deny"', '{"result":"allow"}']
  .map((s) => enc.encode(s));
const BAD_UTF8 = [[0xff], [0xfe], [0xc3], [0xc0, 0xaf], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80], [0xe2, 0x82], [0x80]].map((b) => Uint8Array.from(b));

/** One change of the bytes at `i`, and its name. */
function byteEdit(rnd: () => number, b: Uint8Array, i: number): [Uint8Array, string] {
  const m = rnd();
  if (m < 0.2 && b.length > 0) {
    const out = b.slice();
    const j = Math.min(i, b.length - 1);
    out[j] = out[j]! ^ (1 << Math.floor(rnd() * 8));
    return [out, 'flip'];
  }
  if (m < 0.32) return [b.subarray(0, i), 'truncate'];
  if (m < 0.52) return [spliceBytes(b, i, 0, pick(rnd, BYTE_INSERTS)), 'insert'];
  if (m < 0.65) return [spliceBytes(b, i, 0, pick(rnd, BAD_UTF8)), 'bad_utf8'];
  if (m < 0.75) return [spliceBytes(b, i, 1 + Math.floor(rnd() * 16), new Uint8Array(0)), 'delete'];
  if (m < 0.82) return [spliceBytes(b, 0, 0, Uint8Array.from([0xef, 0xbb, 0xbf])), 'bom'];
  if (m < 0.9) return [spliceBytes(b, b.length, 0, enc.encode(pick(rnd, ['\n', ' x', '}', ',', '\u0000']))), 'trailing'];
  const random = Uint8Array.from({ length: 1 + Math.floor(rnd() * 4) }, () => Math.floor(rnd() * 256));
  return [spliceBytes(b, i, 0, random), 'random'];
}

function mutateBytes(rnd: () => number, body: Uint8Array): [Uint8Array, string] {
  let b = body;
  const done: string[] = [];
  for (let k = 1 + Math.floor(rnd() * 3); k > 0; k--) {
    const [next, what] = byteEdit(rnd, b, Math.floor(rnd() * (b.length + 1)));
    b = next;
    done.push(what);
  }
  return [b, `bytes(${done.join(',')})`];
}

// ---------------------------------------------------------------- sizes, shapes and the whole reply

/** The envelope written with a last member `extra` whose value is left out: the bytes before it and after. */
function around(env: Obj): [Uint8Array, Uint8Array] {
  const text = writeJson({ ...env, extra: RAW_MARK }, PLAIN, () => 0);
  const at = text.indexOf(JSON.stringify(RAW_MARK));
  return [enc.encode(text.slice(0, at)), enc.encode(text.slice(at + RAW_MARK.length + 2))];
}

const RAW_MARK = '@@RAW@@';

/**
 * The body with `length` bytes of raw JSON as the value of `extra`, which `write` puts at `at`:
 * made as bytes, not as text to encode (these bodies are up to 1.2 MB, and 3% of all cases).
 */
function withRaw([before, after]: [Uint8Array, Uint8Array], length: number, write: (out: Uint8Array, at: number) => void): Uint8Array {
  const out = new Uint8Array(before.length + length + after.length);
  out.set(before);
  write(out, before.length);
  out.set(after, before.length + length);
  return out;
}

/** `[0,0,...,0]` with n zeros, made once for each n. */
const wideArrays = new Map<number, Uint8Array>();
function wideArray(n: number): Uint8Array {
  let b = wideArrays.get(n);
  if (!b) {
    b = enc.encode(`[${'0,'.repeat(n - 1)}0]`);
    wideArrays.set(n, b);
  }
  return b;
}

/** Big bodies, deep and wide documents, with what the limits make of the meaning. */
function sized(rnd: () => number, env: Obj, intent: Reading): [Uint8Array, Reading | null, string] {
  const m = rnd();
  const parts = around(env);
  if (m < 0.45) {
    const target = pick(rnd, [MAX_ANSWER_BYTES - 1, MAX_ANSWER_BYTES, MAX_ANSWER_BYTES + 1, 1_200_000, 600_000]);
    // A string of x's filling the body up to `target` bytes.
    const pad = Math.max(0, target - (parts[0].length + 2 + parts[1].length));
    const body = withRaw(parts, pad + 2, (out, at) => {
      out[at] = QUOTE;
      out.fill(0x78, at + 1, at + 1 + pad);
      out[at + 1 + pad] = QUOTE;
    });
    return [body, target > MAX_ANSWER_BYTES ? 'error' : intent, `huge ${target}`];
  }
  if (m < 0.8) {
    const n = pick(rnd, [5, 28, 30, 31, 32, 33, 40, 200, 5000]);
    const depth = 1 + n;
    const body = withRaw(parts, 2 * n, (out, at) => {
      out.fill(0x5b, at, at + n); // [
      out.fill(0x5d, at + n, at + 2 * n); // ]
    });
    return [body, depth <= 30 ? intent : depth >= 34 ? 'error' : null, `deep ${n}`];
  }
  const n = pick(rnd, [1000, 98_500, 100_500, 150_000]);
  const wide = wideArray(n);
  return [withRaw(parts, wide.length, (out, at) => out.set(wide, at)), n < 98_000 ? intent : n > 102_000 ? 'error' : null, `wide ${n}`];
}

const QUOTE = 0x22;

/** Bodies no JSON reading takes: an event stream, NDJSON, an array. */
function shaped(rnd: () => number, env: Obj, s: Said): [string, string] {
  const kind = pick(rnd, ['sse', 'sse_whole', 'ndjson', 'array'] as const);
  const doc = writeJson(env, PLAIN, () => 0);
  if (kind === 'sse') {
    const chunk = { id: 'chatcmpl-guard', object: 'chat.completion.chunk', choices: [{ index: 0, delta: { content: s.content } }] };
    return [`data: ${JSON.stringify(chunk)}\n\ndata: [DONE]\n\n`, kind];
  }
  if (kind === 'sse_whole') return [`data: ${doc}\n\n`, kind];
  if (kind === 'ndjson') return [`${doc}\n${doc}\n`, kind];
  return [`[${doc}]`, kind];
}

/** Puts the prompt marker and the guard key where no verdict is read (a well-formed answer only). */
function plantSecrets(rnd: () => number, env: Obj, h: Loaded): void {
  const where = pick(rnd, ['id', 'model', 'system_fingerprint', 'service_tier'] as const);
  env[where] = `${pick(rnd, [PROMPT_MARK, h.guardKey])}-echo`;
}

interface Generated {
  reply: Reply;
  intent: Reading | null;
  label: string[];
}

function generateReply(rnd: () => number, h: Loaded): Generated {
  const s = says(rnd, h.rules);
  const label = [s.label];
  const env = envelope(rnd, s);
  let intent: Reading | null = intentOf(s.family, s.meaning, h.rules);
  let text = '';
  let sizedBody: Uint8Array | undefined;
  let planted = false;
  const r = rnd();
  if (r < 0.08) {
    const [bytes, meant, did] = sized(rnd, env, intent);
    [sizedBody, intent] = [bytes, meant];
    label.push(did);
  } else if (r < 0.11) {
    const [body, did] = shaped(rnd, env, s);
    [text, intent] = [body, 'error'];
    label.push(did);
  } else if (r < 0.35) {
    const alt = envelope(rnd, says(rnd, h.rules));
    const applied = pick(rnd, MUTATIONS)(rnd, env, alt);
    if (applied !== null) {
      intent = null;
      label.push(applied.did);
    }
    text = writeJson(applied?.root ?? env, PLAIN, rnd);
  } else {
    // Unmutated: written plainly, with escapes or with odd whitespace; sometimes carrying secrets.
    if (s.family !== 'free' && rnd() < 0.2) {
      plantSecrets(rnd, env, h);
      label.push('planted');
      planted = true;
    }
    const style = rnd() < 0.75 ? PLAIN : { escape: pick(rnd, [0, 0.1, 0.5, 1]), space: pick(rnd, ['', ' ', '\n  ', '\t', '\r\n ']) };
    if (style !== PLAIN) label.push(`style(escape ${style.escape}, space ${JSON.stringify(style.space)})`);
    text = writeJson(env, style, rnd);
  }
  let body: Uint8Array = sizedBody ?? enc.encode(text);
  if (rnd() < 0.12 && !planted) {
    const [b, applied] = mutateBytes(rnd, body);
    [body, intent] = [b, null];
    label.push(applied);
  }
  return withHeaders(rnd, h, { body, intent, label });
}

const ODD_STATUSES = [
  '201', '202', '204', '206', '299', '301', '302', '304', '307', '400', '401', '403', '404', '408', '413', '422', '429', '500', '502', '503', '504',
  '100', '101', '103', '199', '0', '000', '099', '999', '2000', '20', '-200', 'abc', '', ' 200', '200 ', '200.0', '0200', '+200', '2OO',
];
const BROTLI_FAST = { params: { [zlib.BROTLI_PARAM_QUALITY]: 1 } };
const CONTENT_TYPES = ['application/json', 'application/json; charset=utf-8', 'APPLICATION/JSON', 'text/plain', 'text/html', 'text/event-stream', 'application/octet-stream', '', 'application/problem+json'];

function errorBody(rnd: () => number, h: Loaded, status: string): string {
  return pick(rnd, [
    JSON.stringify({ error: { message: `guard error ${status}`, type: 'server_error', param: null, code: null } }),
    JSON.stringify({ error: { message: `Incorrect API key provided: ${h.guardKey}.`, type: 'invalid_request_error', code: 'invalid_api_key' } }),
    'upstream request timeout',
    'upstream connect error or disconnect/reset before headers. reset reason: remote connection failure',
    'no healthy upstream',
    '<html><body>Bad gateway</body></html>',
    '',
  ]);
}

/** Status, headers and encodings around a body. */
function withHeaders(rnd: () => number, h: Loaded, g: { body: Uint8Array; intent: Reading | null; label: string[] }): Generated {
  let { body, intent } = g;
  const { label } = g;
  const status = rnd() < 0.85 ? '200' : pick(rnd, ODD_STATUSES);
  const headers: Header[] = [[':status', status]];
  if (status !== '200') {
    label.push(`status ${JSON.stringify(status)}`);
    if (rnd() < 0.5) body = enc.encode(errorBody(rnd, h, status));
  }
  if (rnd() < 0.02) {
    headers.push([':status', pick(rnd, ['200', ...ODD_STATUSES])]);
    label.push('second :status');
  }
  if (rnd() < 0.85) headers.push(['content-type', pick(rnd, CONTENT_TYPES)]);
  if (rnd() < 0.08) headers.push(['content-type', pick(rnd, CONTENT_TYPES)]);
  const e = rnd();
  if (e < 0.04) {
    [body, intent] = [rnd() < 0.5 ? gzipSync(body, { level: 1 }) : brotliCompressSync(body, BROTLI_FAST), 'error'];
    const name = body[0] === 0x1f && body[1] === 0x8b ? 'gzip' : 'br';
    headers.push(['content-encoding', name]);
    label.push(`compressed ${name}`);
  } else if (e < 0.07) {
    const name = pick(rnd, ['gzip', 'br', 'deflate', 'identity', 'GZIP', 'x-unknown']);
    headers.push(['content-encoding', name]);
    label.push(`labelled ${name}`);
  }
  addOtherHeaders(rnd, headers, body, label);
  // A status other than exactly "200" is no verdict, whatever the body says (guard_client.ts).
  if (new HeaderMap(headers).get(':status') !== '200') intent = 'error';
  // Compressed bodies are Buffers: a plain Uint8Array like the others (the others are new already).
  return { reply: { headers, body: Buffer.isBuffer(body) ? new Uint8Array(body) : body }, intent, label };
}

function addOtherHeaders(rnd: () => number, headers: Header[], body: Uint8Array, label: string[]): void {
  const n = Math.floor(rnd() * 4);
  for (let k = 0; k < n; k++) {
    headers.push(pick(rnd, [
      ['content-length', String(body.length)], ['content-length', '7'], ['x-empty', ''], ['server', 'envoy'], ['Set-Cookie', 'a=1'],
      ['set-cookie', 'b=2'], ['openai-processing-ms', '12'], ['x-request-id', 'r'.repeat(200)], ['date', 'Mon, 01 Jan 2024 00:00:00 GMT'],
    ] as Header[]));
  }
  const r = rnd();
  if (r < 0.02) {
    const size = pick(rnd, [16 * 1024, 64 * 1024, 300 * 1024]);
    headers.push(['x-huge', 'h'.repeat(size)]);
    label.push(`huge_header ${size}`);
  } else if (r < 0.03) {
    const count = pick(rnd, [200, 1023, 1100]);
    for (let k = 0; k < count; k++) headers.push([`x-many-${k}`, 'v']);
    label.push(`many_headers ${count}`);
  }
}

// ---------------------------------------------------------------- running a case

type Outcome = 'allow' | 'fail_open' | 'deny' | 'unavailable';

/** The outcomes the readings allow: forwarding as allowed only when no reading is deny. */
function acceptable(readings: Set<Reading>, failOpen: boolean): Set<Outcome> {
  const out = new Set<Outcome>();
  if (readings.has('allow') && !readings.has('deny')) out.add('allow');
  if (readings.has('deny')) out.add('deny');
  if (readings.has('error')) out.add(failOpen ? 'fail_open' : 'unavailable');
  return out;
}

const metric = (host: FilterHost, name: string) => host.metric(`llm_guard.${name}`) ?? 0;

/** How the request ended, or a description of an undocumented ending. */
function outcomeOf(h: Loaded, r: HttpStream, failOpenCounted: number): Outcome | string {
  if (r.pending) return `still pending: ${outcome(r)}`;
  if (r.forwarded) return failOpenCounted === 0 ? 'allow' : failOpenCounted === 1 ? 'fail_open' : `forwarded, guard_fail_open +${failOpenCounted}`;
  const lr = r.localReply;
  const e = errorOf(r);
  if (!lr || !e || lr.source !== 'plugin') return outcome(r);
  if (e.code === 'denied_by_guard' && e.type === 'policy_violation' && lr.status === h.denyStatus && lr.header('x-llm-guard') === e.code) return 'deny';
  if (e.code === 'guard_unavailable' && e.type === 'service_unavailable' && lr.status === 503 && lr.header('x-llm-guard') === e.code) return 'unavailable';
  const documented: Record<string, { type: string }> = { ...ERROR_CODES, denied_by_guard: { type: 'policy_violation' }, guard_unavailable: { type: 'service_unavailable' } };
  const known = documented[e.code];
  if (known && known.type === e.type) return `${e.code} ${lr.status} (a documented reply, not this case's)`;
  return `undocumented reply ${lr.status} ${lr.body.slice(0, 200)}`;
}

function checkCall(h: Loaded, call: HttpCallRecord, fail: (why: string) => void): void {
  if (call.cluster !== CLUSTER) fail(`guard call to ${call.cluster}`);
  if (call.header('authorization') !== `Bearer ${h.guardKey}`) fail(`guard call authorization ${call.header('authorization')}`);
  if (call.headers.some(([, v]) => v.includes(KEY)) || call.bodyText.includes(KEY)) fail('the provider key in the guard call');
}

/** Plays the case's delivery of the pending call. */
function deliver(h: Loaded, r: HttpStream, call: HttpCallRecord, c: GuardCase, fail: (why: string) => void): void {
  const host = h.host;
  const d = c.delivery;
  const answer = () => host.respondToHttpCall(call.token, c.reply.headers, c.reply.body);
  if (d.kind === 'answer') {
    if (d.afterMs > 0) host.advanceTime(d.afterMs);
    if (call.state !== 'pending') fail(`the call ended before its timeout (${call.state})`);
    else answer();
  } else if (d.kind === 'late') {
    host.advanceTime(h.timeoutMs + d.afterMs);
    if (call.state !== 'timeout') fail(`the clock passed timeout_ms and the call is ${call.state}`);
  } else if (d.kind === 'timeout') host.timeoutHttpCall(call.token);
  else if (d.kind === 'reset') host.failHttpCall(call.token);
  else {
    r.finish();
    if (d.then === 'answer') answer();
    else if (d.then === 'reset') host.failHttpCall(call.token);
    else host.timeoutHttpCall(call.token);
  }
}

function checkLeaks(h: Loaded, r: HttpStream, fail: (why: string) => void): void {
  const lr = r.localReply;
  const replyText = lr ? [lr.body, lr.details, ...lr.headers.flat()].join('\n') : '';
  for (const secret of SECRETS) {
    if (replyText.includes(secret)) fail(`${secret} in the reply`);
    const line = h.host.logs.find(([, m]) => m.includes(secret));
    if (line) fail(`${secret} in a log line: ${line[1].slice(0, 300)}`);
  }
}

function checkForwarded(r: HttpStream, prompt: string, fail: (why: string) => void): void {
  const auth = r.upstreamHeaderAll('authorization');
  if (auth.length !== 1 || auth[0] !== `Bearer ${KEY}`) fail(`forwarded with authorization ${JSON.stringify(auth)}`);
  if (r.upstreamBodyText !== JSON.stringify(chat(user(prompt)))) fail('forwarded a body other than the request\'s');
}

interface CaseResult {
  /** Why the case breaks a promise ([] when it doesn't). */
  reasons: string[];
  /** allow / deny / unavailable / fail_open, cache_hit, client_gone, or what went wrong. */
  outcome: string;
  ms: number;
  /** The process's CPU time in the case (user and system, its other threads too). */
  cpuMs: number;
  /** The reference read the answer more than one way. */
  ambiguous: boolean;
}

/**
 * One case through its host (saved and random cases alike): what happened, for the tally, and why
 * it breaks a promise. The host's state matters: a prompt asked again may be answered from its cache.
 */
function checkCase(h: Loaded, c: GuardCase): CaseResult {
  const reasons: string[] = [];
  const fail = (why: string) => void reasons.push(why);
  const host = h.host;
  const readings = c.delivery.kind === 'answer' ? readingsOfAnswer(new HeaderMap(c.reply.headers).get(':status'), c.reply.body, h.rules) : new Set<Reading>(['error']);
  const failOpenBefore = metric(host, 'guard_fail_open');
  const hitsBefore = metric(host, 'guard_cache_hits');
  const started = performance.now();
  const cpuStarted = process.cpuUsage();
  const { r, call } = ask(h, c.prompt, fail);
  const allowed = call ? judged(h, r, call, c, readings, fail) : cacheHit(h, c.prompt, fail);
  const gone = call !== undefined && c.delivery.kind === 'client_gone';
  const got = gone ? 'client_gone' : outcomeOf(h, r, metric(host, 'guard_fail_open') - failOpenBefore);
  const ms = performance.now() - started;
  const cpu = process.cpuUsage(cpuStarted);
  const cpuMs = (cpu.user + cpu.system) / 1000;
  if (!call && metric(host, 'guard_cache_hits') !== hitsBefore + 1) fail('answered without a guard call, and no cache hit counted');
  if (gone && (r.localReply || r.forwarded || r.upstreamBody !== null)) fail(`the client was gone and still: ${outcome(r)}`);
  if (!gone && !allowed.has(got as Outcome)) fail(`${got} where the answer allows ${[...allowed].join(' or ') || 'nothing'}`);
  if (r.forwarded) checkForwarded(r, c.prompt, fail);
  checkLeaks(h, r, fail);
  if (host.violations.length > 0) fail(`ABI misuse: ${JSON.stringify(host.violations.slice(0, 3))}`);
  if (host.trapped) fail(`VM trapped: ${host.traps[0]!.message}`);
  if (cpuMs > SLOW_CASE_MS) fail(`took ${Math.round(cpuMs)} ms of CPU (${Math.round(ms)} ms)`);
  remember(h, c, call !== undefined, got);
  host.clearRecords();
  host.httpCalls.length = 0; // the host keeps a record of every call: bounded here
  const short = got.length > 16 ? got.split(' ')[0]! : got;
  return { reasons, outcome: call ? short : `cache_hit ${short}`, ms, cpuMs, ambiguous: call !== undefined && readings.size > 1 };
}

/** Sends the prompt; the guard call it made (none on a cache hit), checked. */
function ask(h: Loaded, prompt: string, fail: (why: string) => void): { r: HttpStream; call: HttpCallRecord | undefined } {
  const before = h.host.httpCalls.length;
  const r = post(h.host, chat(user(prompt)));
  const calls = h.host.httpCalls.slice(before);
  if (calls.length > 1) fail(`${calls.length} guard calls for one request`);
  const call = calls[0];
  if (call) {
    checkCall(h, call, fail);
    if (!r.pending || r.forwarded || r.localReply || r.upstreamBody !== null) fail(`not held while the guard judged: ${outcome(r)}`);
  }
  return { r, call };
}

/** Plays the case's delivery; the endings the reference's readings allow. */
function judged(h: Loaded, r: HttpStream, call: HttpCallRecord, c: GuardCase, readings: Set<Reading>, fail: (why: string) => void): Set<Outcome> {
  deliver(h, r, call, c, fail);
  if (c.intent !== null && (readings.size !== 1 || !readings.has(c.intent))) {
    fail(`the reference reads ${[...readings].join('/')} where the generator meant ${c.intent}`);
  }
  return acceptable(readings, h.failOpen);
}

/** No call was made: only right when the cache may hold a verdict for the prompt; then it is the ending. */
function cacheHit(h: Loaded, prompt: string, fail: (why: string) => void): Set<Outcome> {
  const known = h.remembered.get(prompt);
  if (!h.cache || !known) fail(`no guard call (cache ${h.cache ? 'on' : 'off'}, ${known ? `${known.verdict} given before` : 'no verdict before'})`);
  return new Set(known ? [known.verdict] : []);
}

/**
 * What the filter's cache may now hold for the prompt: a verdict read from an answer, never an error.
 * Only recent prompts are asked again: an older one's verdict (and its reply, up to 1 MiB) is let go.
 */
function remember(h: Loaded, c: GuardCase, called: boolean, got: string): void {
  if (!h.recent.includes(c.prompt)) {
    h.recent.push(c.prompt);
    if (h.recent.length > RECENT_PROMPTS) h.remembered.delete(h.recent.shift()!);
  }
  if (!called) return;
  if ((got === 'allow' || got === 'deny') && c.delivery.kind !== 'client_gone') h.remembered.set(c.prompt, { verdict: got, reply: c.reply });
  else h.remembered.delete(c.prompt);
}

/**
 * A saved case, in a host of its own (its log lines are its own): its primer first when it has one
 * (the answer that filled the cache for a prompt asked again), then the case; why it fails.
 */
async function replayCase(c: GuardCase): Promise<string[]> {
  if (!Object.hasOwn(HOSTS, c.host)) return [`unknown host ${c.host}`];
  const h = await loadHost(c.host);
  const reasons: string[] = [];
  if (c.primer) {
    const primer: GuardCase = { host: c.host, prompt: c.prompt, reply: c.primer, delivery: { kind: 'answer', afterMs: 0 }, intent: null, label: 'primer' };
    reasons.push(...checkCase(h, primer).reasons.map((f) => `primer: ${f}`));
  }
  reasons.push(...checkCase(h, c).reasons);
  return reasons;
}

/** A plain request the guard allows in the host's own format goes through. */
function expectPlainAllowed(h: Loaded, i: number): void {
  const answers: Record<VerdictFormatName, Answer> = {
    auto: allow(), json: allow(), llama_guard: llamaGuard('safe'), qwen_guard: qwenGuard('Safe'), openai_moderation: moderation(false),
  };
  const r = post(h.host, chat(user(`a plain question ${i}`)));
  const call = h.host.pendingHttpCalls()[0];
  expect(call, outcome(r)).toBeDefined();
  playAnswer(h.host, call!.token, answers[h.rules.format]);
  expect(r.forwarded, `${h.name}: ${outcome(r)}`).toBe(true);
  expect(r.upstreamHeaderAll('authorization')).toEqual([`Bearer ${KEY}`]);
  h.host.assertHealthy();
}

// ---------------------------------------------------------------- the test

describe('guard reply fuzz', () => {
  it(`saved replies (test/fixtures/fuzz/${KIND}/), then ${CASES} guard replies (seed ${SEED}): no trap, forwarded only on a clear allow or fail_mode open, documented replies, no secret in replies or logs, bounded time and memory`, async () => {
    const failures = new FuzzFailures(KIND, SEED);
    if (replaySaved()) {
      for (const saved of savedFailures<GuardCase>(KIND)) failures.replay(saved, await replayCase(saved.input));
    }

    const hosts = await loadHosts();
    const rnd = seededRandom(SEED);
    const outcomes = new Map<string, number>();
    /** Failing cases by kind of failure, for the summary. */
    const kinds = new Map<string, number>();
    const slowest: { ms: number; cpuMs: number; i: number; label: string }[] = [];
    const count = (m: Map<string, number>, k: string) => m.set(k, (m.get(k) ?? 0) + 1);
    const memory = new Map<HostName, (number | undefined)[]>(HOST_NAMES.map((n) => [n, []]));
    const checkpoints = new Set(Array.from({ length: 9 }, (_, k) => Math.floor((CASES * (k + 1)) / 10)));
    let inFilterMs = 0;
    let generatingMs = 0;
    let inputs = 0;
    const started = performance.now();
    const cpuStarted = process.cpuUsage();
    for (let i = 0; i < CASES; i++) {
      const h = hosts[pick(rnd, HOST_NAMES)];
      const generating = performance.now();
      const c = generateCase(rnd, i, h);
      generatingMs += performance.now() - generating;
      const result = checkCase(h, c);
      inputs++;
      inFilterMs += result.ms;
      count(outcomes, result.outcome);
      if (result.ambiguous) count(outcomes, 'ambiguous');
      count(outcomes, c.intent === null ? 'mutated' : 'unmutated');
      if (slowest.length < 5 || result.ms > slowest[slowest.length - 1]!.ms) {
        slowest.push({ ms: result.ms, cpuMs: result.cpuMs, i, label: `${c.host} ${c.delivery.kind} ${c.label}`.slice(0, 160) });
        slowest.sort((a, b) => b.ms - a.ms).splice(5);
      }
      if (result.reasons.length > 0) count(kinds, kindOf(c, result.reasons));
      failures.random(i, result.reasons, () => c, () => `${c.host} ${c.delivery.kind} [${c.label.slice(0, 200)}]`);
      if (h.host.trapped) hosts[h.name] = await loadHost(h.name); // a trapped VM is failed for good: a new one goes on
      if (checkpoints.has(i)) for (const x of Object.values(hosts)) memory.get(x.name)!.push(x.host.memoryBytes);
    }
    for (const x of Object.values(hosts)) memory.get(x.name)!.push(x.host.memoryBytes);
    const seconds = (performance.now() - started) / 1000;
    const cpu = process.cpuUsage(cpuStarted);
    console.log(
      `guard reply fuzz seed=${SEED}: ${failures.replayed} saved replies replayed (${failures.replayFailures} failing); ` +
        `${inputs} cases in ${seconds.toFixed(1)} s, ${Math.round(inputs / seconds)}/s (${((cpu.user + cpu.system) / 1e6).toFixed(1)} s of CPU; ${(inFilterMs / 1000).toFixed(1)} s in the filter, ${(generatingMs / 1000).toFixed(1)} s generating); ` +
        `${JSON.stringify(Object.fromEntries([...outcomes].sort((a, b) => b[1] - a[1])))}\n` +
        `  slowest: ${slowest.map((s) => `#${s.i} ${s.ms.toFixed(0)} ms, ${s.cpuMs.toFixed(0)} ms of CPU (${s.label})`).join('; ')}\n` +
        `  wasm memory, MiB after each 10%: ${[...memory].map(([n, m]) => `${n} ${m.map(mib).join(' / ')}`).join(', ')}` +
        (kinds.size > 0 ? `\n  failing cases by kind: ${[...kinds].map(([k, n]) => `${n} x ${k}`).join('; ')}` : ''),
    );
    failures.report(inputs);
    // Soft: the memory and the plain request below are checked even when cases failed.
    expect.soft(failures.messages, `${failures.count} failure(s):\n${failures.messages.join('\n')}`).toEqual([]);
    for (const [name, m] of memory) {
      const [atTenth, atEnd] = [m[0], m[m.length - 1]];
      if (atTenth === undefined || atEnd === undefined) continue; // the host no longer shows its memory
      expect.soft(atEnd, `${name}: wasm memory grew from ${mib(atTenth)} MiB after the first 10% to ${mib(atEnd)} MiB`).toBeLessThanOrEqual(Math.max(2 * atTenth, MEMORY_CEILING));
    }
    for (const h of Object.values(hosts)) expectPlainAllowed(h, CASES);
    for (const k of ['allow', 'deny']) expect(outcomes.get(k) ?? 0, `some cases end ${k}`).toBeGreaterThan(0);
  }, Math.max(120_000, CASES * 10));
});

const GENERATION_STEPS = /\b(wrong_type|duplicate_key|extra_choice|odd_place|double_encoded|content_[a-z_]+|many_results|huge|deep|wide|sse_whole|sse|ndjson|array|bytes|compressed|labelled|status|style|planted|huge_header|many_headers)\b/;

/** A failure's kind: what failed (numbers left out) and the first step that made the reply unusual. */
function kindOf(c: GuardCase, reasons: string[]): string {
  const what = reasons[0]!.replace(/[0-9]+/g, 'N').slice(0, 80);
  return `${what} (${c.label.match(GENERATION_STEPS)?.[1] ?? c.delivery.kind})`;
}

function mib(bytes: number | undefined): string {
  return bytes === undefined ? '?' : (bytes / (1024 * 1024)).toFixed(1);
}
