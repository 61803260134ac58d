// Runs a policy's test cases through the real compiled filter: the policy is rendered with the
// operator's own code (the WasmPlugin's pluginConfig, exactly as the cluster gets it), the filter is
// configured with it in an in-process proxy-wasm host, and each case's request goes through it.
import type { LlmGuardPolicy } from '../api/v1alpha1/llm_guard_policy.js';
import { renderPolicy, secretRefKey, secretRefs, type SecretValues } from '../render/index.js';
import type { CaseGuard, Decision, TestCase } from './cases.js';
import { FilterHost, type CallAnswer, type Header, type HostLog, type HttpCallRecord, type RequestOutcome } from './wasm_host.js';

export { FilterConfigError } from './wasm_host.js';

export type CaseOutcome = 'pass' | 'fail' | 'error';

/** What the filter did with a request, in the terms the cases use. */
export interface Observed {
  decision: Decision | 'held';
  status?: number;
  code?: string;
  /** Index of the deny pattern that matched, when the log says. */
  pattern?: number;
  /** The filter asked the guard. */
  guardAsked: boolean;
  /** The provider key header went upstream (allow). */
  keyHeader?: string;
}

export interface CaseResult {
  name: string;
  outcome: CaseOutcome;
  /** Why it failed or errored (one line each). */
  problems: string[];
  expected: string;
  actual?: string;
  observed?: Observed;
  logs: HostLog[];
  durationMs: number;
}

export interface PolicyTestResult {
  policy: string;
  results: CaseResult[];
  passed: number;
  failed: number;
  errors: number;
  durationMs: number;
}

export interface RunOptions {
  module: WebAssembly.Module;
  /** Given Secret values; every other reference gets a fake key. */
  secrets?: SecretValues;
}

/** A well-formed stand-in key for a Secret reference nobody gave a value for. */
export function fakeKey(name: string, key: string): string {
  return `llmguard-test-${name}-${key}`.replace(/[^A-Za-z0-9._-]/g, '_');
}

/** The policy's Secret values: given ones, fake ones for the rest. */
export function secretValuesFor(policy: LlmGuardPolicy, given?: SecretValues): Map<string, string> {
  const values = new Map<string, string>();
  for (const r of secretRefs(policy)) {
    const k = secretRefKey(r.name, r.key);
    const v = given?.get(k);
    values.set(k, v !== undefined && v !== '' ? v : fakeKey(r.name, r.key));
  }
  return values;
}

/** The pluginConfig the operator renders into the policy's WasmPlugin. */
export function renderedPluginConfig(policy: LlmGuardPolicy, secrets: SecretValues): Record<string, unknown> {
  const wasmPlugin = renderPolicy(policy, secrets).find((o) => o.kind === 'WasmPlugin');
  const spec = wasmPlugin?.spec as { pluginConfig?: Record<string, unknown> } | undefined;
  if (!spec?.pluginConfig) throw new Error('the rendered WasmPlugin has no pluginConfig');
  return spec.pluginConfig;
}

/** The JSON text Envoy hands the filter: protojson sorts object keys. */
export function configText(pluginConfig: unknown): string {
  const sort = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(sort);
    if (v !== null && typeof v === 'object') {
      const out: Record<string, unknown> = {};
      for (const k of Object.keys(v as object).sort()) out[k] = sort((v as Record<string, unknown>)[k]);
      return out;
    }
    return v;
  };
  return JSON.stringify(sort(pluginConfig));
}

const AUTH_HEADERS: Record<string, { name: string; value: (key: string) => string }> = {
  bearer: { name: 'authorization', value: (k) => `Bearer ${k}` },
  'x-api-key': { name: 'x-api-key', value: (k) => k },
  'api-key': { name: 'api-key', value: (k) => k },
  'x-goog-api-key': { name: 'x-goog-api-key', value: (k) => k },
};

function hostMatches(pattern: string, authority: string): boolean {
  const host = authority.toLowerCase();
  const p = pattern.toLowerCase();
  const bare = p.includes(':') ? host : host.replace(/:\d+$/, '');
  if (p.startsWith('*.')) return bare.endsWith(p.slice(1)) && bare.length > p.length - 1;
  return bare === p;
}

function describeExpected(c: TestCase): string {
  const parts: string[] = [c.expect];
  if (c.status !== undefined) parts.push(`status ${c.status}`);
  if (c.code) parts.push(`code ${c.code}`);
  if (c.pattern !== undefined) parts.push(`deny_patterns[${c.pattern}]`);
  return parts.join(', ');
}

export function describeObserved(o: Observed): string {
  const parts: string[] = [o.decision === 'held' ? 'held (neither forwarded nor answered)' : o.decision];
  if (o.status !== undefined) parts.push(`status ${o.status}`);
  if (o.code) parts.push(`code ${o.code}`);
  if (o.pattern !== undefined) parts.push(`deny_patterns[${o.pattern}]`);
  if (o.guardAsked) parts.push('guard asked');
  return parts.join(', ');
}

const DEFAULTS = { path: '/v1/chat/completions', method: 'POST' };

export class PolicyTester {
  private host: FilterHost | null = null;
  readonly secrets: Map<string, string>;
  readonly config: string;

  constructor(
    readonly policy: LlmGuardPolicy,
    private readonly opts: RunOptions,
  ) {
    this.secrets = secretValuesFor(policy, opts.secrets);
    this.config = configText(renderedPluginConfig(policy, this.secrets));
  }

  /** Configures a VM now (throws FilterConfigError when the filter refuses the config). */
  start(): void {
    this.host ??= FilterHost.start(this.opts.module, this.config);
  }

  run(cases: TestCase[]): PolicyTestResult {
    const t0 = performance.now();
    const results = cases.map((c) => this.runCase(c));
    const count = (o: CaseOutcome) => results.filter((r) => r.outcome === o).length;
    const meta = this.policy.metadata as { name?: string; namespace?: string };
    return {
      policy: `${meta.namespace ?? 'default'}/${meta.name ?? '(no name)'}`,
      results,
      passed: count('pass'),
      failed: count('fail'),
      errors: count('error'),
      durationMs: performance.now() - t0,
    };
  }

  runCase(c: TestCase): CaseResult {
    const t0 = performance.now();
    const expected = describeExpected(c);
    let outcome: RequestOutcome;
    try {
      this.start();
      outcome = this.host!.runRequest(this.request(c), (call) => this.guardAnswer(c.guard, call));
    } catch (e) {
      this.host = null; // a fresh VM for the next case
      const msg = e instanceof Error ? `${e.name === 'RuntimeError' ? 'the filter trapped: ' : ''}${e.message}` : String(e);
      return { name: c.name, outcome: 'error', problems: [msg], expected, logs: [], durationMs: performance.now() - t0 };
    }
    const observed = this.observe(outcome);
    const problems = this.compare(c, observed, outcome);
    return {
      name: c.name,
      outcome: problems.length ? 'fail' : 'pass',
      problems,
      expected,
      actual: describeObserved(observed),
      observed,
      logs: outcome.logs,
      durationMs: performance.now() - t0,
    };
  }

  private request(c: TestCase): { headers: Header[]; body: Uint8Array } {
    const r = c.request;
    const host = r.host ?? this.policy.spec.providers[0]!.host;
    const headers: Header[] = [
      [':authority', host],
      [':path', r.path ?? DEFAULTS.path],
      [':method', r.method ?? DEFAULTS.method],
      [':scheme', 'http'],
    ];
    const given = Object.entries(r.headers ?? {}).map(([k, v]) => [k.toLowerCase(), v] as Header);
    if (!given.some(([k]) => k === 'content-type')) headers.push(['content-type', 'application/json']);
    headers.push(...given);
    const text = r.body === undefined || r.body === null ? '' : typeof r.body === 'string' ? r.body : JSON.stringify(r.body);
    const body = new TextEncoder().encode(text);
    if (!given.some(([k]) => k === 'content-length')) headers.push(['content-length', String(body.length)]);
    return { headers, body };
  }

  private guardAnswer(g: CaseGuard | undefined, call: HttpCallRecord): CallAnswer {
    if (g?.fail) return { fail: true };
    const status = g?.status ?? 200;
    if (g?.body !== undefined) return { status, body: g.body };
    const guard = this.policy.spec.intelligentGuard;
    const format = guard?.verdictFormat ?? 'auto';
    const path = call.headers.find(([k]) => k === ':path')?.[1] ?? guard?.path ?? '';
    const moderation = format === 'openai_moderation' || path.includes('moderations');
    if (g?.answer !== undefined && moderation) return { status, body: g.answer };
    if (g?.answer === undefined && g?.status !== undefined && status !== 200) return { status, body: '{"error":{"message":"guard error"}}' };
    let content = g?.answer;
    if (content === undefined) {
      if (moderation) return { status, body: JSON.stringify({ id: 'modr-llmguard-test', results: [{ flagged: false, categories: {}, category_scores: {} }] }) };
      content = format === 'llama_guard' ? 'safe' : format === 'qwen_guard' ? 'Safety: Safe\nCategories: None' : '{"result": "allow", "reason": "llmguard test default"}';
    }
    return {
      status,
      body: JSON.stringify({
        id: 'chatcmpl-llmguard-test',
        object: 'chat.completion',
        model: guard?.model ?? 'guard',
        choices: [{ index: 0, message: { role: 'assistant', content }, finish_reason: 'stop' }],
      }),
    };
  }

  private observe(o: RequestOutcome): Observed {
    const guardAsked = o.calls.length > 0;
    const patternLog = o.logs.map((l) => /deny_patterns\[(\d+)\]/.exec(l.message)).find((m) => m);
    const pattern = patternLog ? Number(patternLog[1]) : undefined;
    if (o.reply) {
      let type: string | undefined;
      let code: string | undefined;
      try {
        const err = (JSON.parse(o.reply.body) as { error?: { type?: string; code?: string } }).error;
        type = err?.type;
        code = err?.code;
      } catch {
        /* not the filter's JSON */
      }
      code ??= o.reply.headers.find(([k]) => k === 'x-llm-guard')?.[1];
      const out: Observed = { decision: type === 'policy_violation' ? 'deny' : 'refuse', status: o.reply.status, guardAsked };
      if (code) out.code = code;
      if (pattern !== undefined) out.pattern = pattern;
      return out;
    }
    const forwarded = o.headersAction === 0 && (o.bodyAction === undefined || o.bodyAction === 0 || o.continued);
    const out: Observed = { decision: forwarded ? 'allow' : 'held', guardAsked };
    return out;
  }

  private compare(c: TestCase, o: Observed, outcome: RequestOutcome): string[] {
    const problems: string[] = [];
    if (o.decision !== c.expect) problems.push(`decision: expected ${c.expect}, got ${o.decision}`);
    if (c.expect === 'allow') {
      if (outcome.reply) problems.push(`a local reply was sent (status ${outcome.reply.status})`);
      const authority = outcome.upstreamHeaders.find(([k]) => k === ':authority')?.[1] ?? '';
      const provider = this.policy.spec.providers.find((p) => hostMatches(p.host, authority));
      if (provider) {
        const style = AUTH_HEADERS[provider.authStyle ?? 'bearer'] ?? AUTH_HEADERS.bearer!;
        const keys = provider.apiKeys.map((k) => this.secrets.get(secretRefKey(k.secretKeyRef.name, k.secretKeyRef.key)) ?? '');
        const sent = outcome.upstreamHeaders.filter(([k]) => k === style.name).map(([, v]) => v);
        if (sent.length !== 1 || !keys.some((k) => style.value(k) === sent[0])) {
          problems.push(`the upstream request did not get the provider key in ${style.name} (${sent.length} such header(s))`);
        }
      }
    }
    if (c.status !== undefined && o.status !== c.status) problems.push(`status: expected ${c.status}, got ${o.status ?? 'none'}`);
    if (c.code !== undefined && o.code !== c.code) problems.push(`code: expected ${c.code}, got ${o.code ?? 'none'}`);
    if (c.pattern !== undefined && o.pattern !== c.pattern) {
      problems.push(`pattern: expected deny_patterns[${c.pattern}], got ${o.pattern === undefined ? 'none' : `deny_patterns[${o.pattern}]`}`);
    }
    return problems;
  }
}

/** One line per case, then `N passed, N failed`. */
export function formatReport(results: PolicyTestResult[]): string {
  const lines: string[] = [];
  for (const r of results) {
    lines.push(`policy ${r.policy}`);
    for (const c of r.results) {
      lines.push(`${c.outcome.toUpperCase().padEnd(5)} ${c.name}`);
      if (c.outcome === 'fail') {
        lines.push(`      expected: ${c.expected}`);
        lines.push(`      actual:   ${c.actual ?? '?'}`);
        for (const p of c.problems) lines.push(`      - ${p}`);
      } else if (c.outcome === 'error') {
        for (const p of c.problems) lines.push(`      error: ${p}`);
      }
    }
  }
  const passed = results.reduce((n, r) => n + r.passed, 0);
  const failed = results.reduce((n, r) => n + r.failed + r.errors, 0);
  const errors = results.reduce((n, r) => n + r.errors, 0);
  if (errors) lines.push(`(${errors} ${errors === 1 ? 'case' : 'cases'} could not run: ERROR)`);
  lines.push(`${passed} passed, ${failed} failed`);
  return `${lines.join('\n')}\n`;
}
