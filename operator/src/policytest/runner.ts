// Runs a policy's test cases through the real compiled filter: the policy is rendered with the
// operator's own code (the WasmPlugin's pluginConfig, exactly as the cluster gets it), the filter is
// configured with it in the in-process proxy-wasm host that plays Envoy (operator/src/wasm), and
// each case's request goes through it; guard calls are answered per case, and a forwarded request
// gets the case's response (if it gives one) from the upstream, through the filter to the app.
import type { LlmGuardPolicy } from '../api/v1alpha1/llm_guard_policy.js';
import { AUTH_HEADERS, describeRefusal } from '../api/pluginconfig/index.js';
import { renderPolicy, secretRefKey, secretRefs, type SecretValues } from '../render/index.js';
import type { FilterHost, HttpCallRecord } from '../wasm/filter_host.js';
import { configureFilter, LOG_LEVEL_NAMES, type FilterLogLine } from '../wasm/configure.js';
import type { HttpStream } from '../wasm/stream.js';
import type { HeaderPair } from '../wasm/header_map.js';
import { clusterName, serviceEntryClusters } from '../localmesh/istio_names.js';
import { buildAnswer, secretsFromValues } from '../keyservice/answer.js';
import { HOLD_FILTER_NAME, RESPONSE_HOLD_FILTER_NAME, holdMarkFields, holdsResponses } from '../render/hold_filter.js';
import { encodeMetadata } from '../wasm/metadata.js';
import type { CaseGuard, Decision, TestCase } from './cases.js';
import { readReceived, upstreamResponse } from './response.js';

/** The filter refused the policy's rendered configuration. */
export class FilterConfigError extends Error {}

/** How the guard answers a call: a response, or a failed call (no headers, as Envoy reports it). */
export type CallAnswer = { status: number; body: string } | { fail: true };

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
  /** What the app received from the provider's answer (cases with a response, when it was forwarded). */
  response?: ObservedResponse;
}

export interface ObservedResponse {
  status: number;
  /** The audit record's `response` (redacted, denied, response_not_inspectable), else untouched. */
  outcome: string;
  /** The audit record's `response_rule`. */
  rule?: string;
  /** The error code the app received (JSON body, or the stream's last event). */
  code?: string;
}

export interface CaseResult {
  name: string;
  outcome: CaseOutcome;
  /** Why it failed or errored (one line each). */
  problems: string[];
  expected: string;
  actual?: string;
  observed?: Observed;
  logs: FilterLogLine[];
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
  /** The compiled filter (default: defaultWasmPath()). */
  wasmPath?: string;
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

/**
 * What the operator renders for the policy: the WasmPlugin's pluginConfig, the clusters its
 * ServiceEntries make, and the key service's cluster (the filter fetches its keys there).
 */
export function renderedForTest(policy: LlmGuardPolicy): { pluginConfig: Record<string, unknown>; clusters: string[]; keyCluster: string } {
  const objects = renderPolicy(policy);
  const spec = objects.find((o) => o.kind === 'WasmPlugin')?.spec as { pluginConfig?: Record<string, unknown> } | undefined;
  if (!spec?.pluginConfig) throw new Error('the rendered WasmPlugin has no pluginConfig');
  const ks = spec.pluginConfig.key_service as { host: string; port: number };
  const keyCluster = clusterName(ks.host, ks.port);
  return { pluginConfig: spec.pluginConfig, clusters: [...serviceEntryClusters(objects), keyCluster], keyCluster };
}

/** The policy host a request's :authority names (lower case, port left out). */
function hostOf(authority: string): string {
  return authority.toLowerCase().replace(/:\d+$/, '');
}

function describeExpected(c: TestCase): string {
  const parts: string[] = [c.expect];
  if (c.status !== undefined) parts.push(`status ${c.status}`);
  if (c.code) parts.push(`code ${c.code}`);
  if (c.pattern !== undefined) parts.push(`deny_patterns[${c.pattern}]`);
  const e = c.expectResponse;
  if (e) {
    if (e.status !== undefined) parts.push(`response status ${e.status}`);
    if (e.outcome) parts.push(`response ${e.outcome}${e.rule ? ` (${e.rule})` : ''}`);
    else if (e.rule) parts.push(`response rule ${e.rule}`);
    if (e.code) parts.push(`response code ${e.code}`);
  }
  return parts.join(', ');
}

export function describeObserved(o: Observed): string {
  const parts: string[] = [o.decision === 'held' ? 'held (neither forwarded nor answered)' : o.decision];
  if (o.status !== undefined) parts.push(`status ${o.status}`);
  if (o.code) parts.push(`code ${o.code}`);
  if (o.pattern !== undefined) parts.push(`deny_patterns[${o.pattern}]`);
  if (o.guardAsked) parts.push('guard asked');
  const r = o.response;
  if (r) {
    parts.push(`response status ${r.status}`, `response ${r.outcome}${r.rule ? ` (${r.rule})` : ''}`);
    if (r.code) parts.push(`response code ${r.code}`);
  }
  return parts.join(', ');
}

const DEFAULTS = { path: '/v1/chat/completions', method: 'POST' };

/** The filter state the filter sets on a pattern deny (plugin/filter/stream.ts). */
const RULE_PROPERTY = 'llm_guard.rule';
/** The filter's audit record (plugin/filter/audit.ts): what response patterns did. */
const AUDIT_PROPERTY = 'llm_guard.audit';

export class PolicyTester {
  private host: FilterHost | null = null;
  readonly secrets: Map<string, string>;
  readonly pluginConfig: Record<string, unknown>;
  private readonly clusters: string[];
  private readonly holdsResponses: boolean;
  private readonly keyCluster: string;

  constructor(
    readonly policy: LlmGuardPolicy,
    private readonly opts: RunOptions = {},
  ) {
    this.secrets = secretValuesFor(policy, opts.secrets);
    ({ pluginConfig: this.pluginConfig, clusters: this.clusters, keyCluster: this.keyCluster } = renderedForTest(policy));
    this.holdsResponses = holdsResponses(policy);
  }

  /** Configures a VM now (throws FilterConfigError when the filter refuses the config). */
  start(): FilterHost {
    if (this.host) return this.host;
    const { host, result } = configureFilter(this.pluginConfig, {
      wasmPath: this.opts.wasmPath,
      clusters: this.clusters,
      // The provider virtual hosts carry the holds' marks, as the operator's EnvoyFilter leaves them,
      // and a policy with response deny patterns gets the response hold, as in the cluster.
      properties: { 'xds.virtual_host_metadata': encodeMetadata(this.holdsResponses
        ? { [HOLD_FILTER_NAME]: holdMarkFields(), [RESPONSE_HOLD_FILTER_NAME]: holdMarkFields() }
        : { [HOLD_FILTER_NAME]: holdMarkFields() }) },
      holdJsonReplies: this.holdsResponses,
    });
    if (!host) throw new FilterConfigError(result.refusal ? describeRefusal(result.refusal) : 'refused');
    // The key service answers the filter's first fetch (at configure) with the policy's keys.
    const answer = JSON.stringify(buildAnswer(this.policy, secretsFromValues(this.secrets)));
    for (const call of host.pendingHttpCalls().filter((c) => c.cluster === this.keyCluster)) {
      host.respondToHttpCall(call.token, [[':status', '200'], ['content-type', 'application/json']], answer);
    }
    this.host = host;
    return host;
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
    const fail = (msg: string): CaseResult => {
      this.host = null; // a fresh VM for the next case
      return { name: c.name, outcome: 'error', problems: [msg], expected, logs: [], durationMs: performance.now() - t0 };
    };
    let stream: HttpStream;
    let host: FilterHost;
    try {
      host = this.start();
      host.clearRecords();
      host.shared.clear(); // the verdict cache: every case is judged on its own
      const request = this.request(c);
      stream = host.request(c.response ? { ...request, response: upstreamResponse(c.response) } : request);
      for (let calls = stream.pendingHttpCalls; calls.length > 0; calls = stream.pendingHttpCalls) {
        for (const call of calls) this.answer(host, call, this.guardAnswer(c.guard, call));
      }
    } catch (e) {
      return fail(e instanceof Error ? `${e.name === 'RuntimeError' ? 'the filter trapped: ' : ''}${e.message}` : String(e));
    }
    if (host.trapped) return fail(`the filter trapped: ${host.traps[0]!.message}`);
    const observed = this.observe(stream, c);
    const problems = this.compare(c, observed, stream);
    return {
      name: c.name,
      outcome: problems.length ? 'fail' : 'pass',
      problems,
      expected,
      actual: describeObserved(observed),
      observed,
      logs: host.logRecords.map((r) => ({ level: LOG_LEVEL_NAMES[Math.min(Math.max(r.level, 0), 5)]!, message: r.message })),
      durationMs: performance.now() - t0,
    };
  }

  private request(c: TestCase): { headers: HeaderPair[]; body: Uint8Array } {
    const r = c.request;
    const host = r.host ?? this.policy.spec.providers[0]!.host;
    const headers: HeaderPair[] = [
      [':authority', host],
      [':path', r.path ?? DEFAULTS.path],
      [':method', r.method ?? DEFAULTS.method],
      [':scheme', 'http'],
    ];
    const given = Object.entries(r.headers ?? {}).map(([k, v]) => [k.toLowerCase(), v] as HeaderPair);
    if (!given.some(([k]) => k === 'content-type')) headers.push(['content-type', 'application/json']);
    headers.push(...given);
    const text = r.body === undefined || r.body === null ? '' : typeof r.body === 'string' ? r.body : JSON.stringify(r.body);
    const body = new TextEncoder().encode(text);
    if (!given.some(([k]) => k === 'content-length')) headers.push(['content-length', String(body.length)]);
    return { headers, body };
  }

  private answer(host: FilterHost, call: HttpCallRecord, a: CallAnswer): void {
    if ('fail' in a) host.failHttpCall(call.token);
    else host.respondToHttpCall(call.token, [[':status', String(a.status)], ['content-type', 'application/json']], a.body);
  }

  private guardAnswer(g: CaseGuard | undefined, call: HttpCallRecord): CallAnswer {
    if (g?.fail) return { fail: true };
    const status = g?.status ?? 200;
    if (g?.body !== undefined) return { status, body: g.body };
    const guard = this.policy.spec.intelligentGuard;
    const format = guard?.verdictFormat ?? 'auto';
    const path = call.header(':path') ?? guard?.path ?? '';
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

  private observe(s: HttpStream, c: TestCase): Observed {
    const guardAsked = s.httpCalls.length > 0;
    const rule = s.filterState.get(RULE_PROPERTY);
    const m = rule ? /^deny_patterns\[(\d+)\]$/.exec(new TextDecoder().decode(rule)) : null;
    // A local reply after the request was forwarded is the filter answering for the provider (response patterns).
    const reply = s.forwarded ? null : s.localReply;
    if (reply) {
      let type: string | undefined;
      let code: string | undefined;
      try {
        const err = (reply.json() as { error?: { type?: string; code?: string } }).error;
        type = err?.type;
        code = err?.code;
      } catch {
        /* not the filter's JSON */
      }
      code ??= reply.header('x-llm-guard');
      const out: Observed = { decision: type === 'policy_violation' ? 'deny' : 'refuse', status: reply.status, guardAsked };
      if (code) out.code = code;
      if (m) out.pattern = Number(m[1]);
      return out;
    }
    const out: Observed = { decision: s.forwarded ? 'allow' : 'held', guardAsked };
    const received = c.response && s.forwarded ? s.response : null;
    if (received) {
      let audit: { response?: unknown; response_rule?: unknown } = {};
      const raw = s.filterState.get(AUDIT_PROPERTY);
      try {
        if (raw) audit = JSON.parse(new TextDecoder().decode(raw)) as typeof audit;
      } catch {
        /* no record to read */
      }
      const r: ObservedResponse = { status: received.status, outcome: typeof audit.response === 'string' && audit.response ? audit.response : 'untouched' };
      if (typeof audit.response_rule === 'string' && audit.response_rule) r.rule = audit.response_rule;
      const code = readReceived(received).code;
      if (code !== undefined) r.code = code;
      out.response = r;
    }
    return out;
  }

  private compare(c: TestCase, o: Observed, s: HttpStream): string[] {
    const problems: string[] = [];
    if (o.decision !== c.expect) problems.push(`decision: expected ${c.expect}, got ${o.decision}`);
    if (c.expect === 'allow') {
      if (s.localReply && !s.forwarded) problems.push(`a local reply was sent (status ${s.localReply.status})`);
      const upstream = s.upstreamHeaders ?? [];
      const authority = upstream.find(([k]) => k === ':authority')?.[1] ?? '';
      const provider = this.policy.spec.providers.find((p) => p.host === hostOf(authority));
      if (provider) {
        const style = AUTH_HEADERS[provider.authStyle ?? 'bearer'];
        const keys = provider.apiKeys.map((k) => this.secrets.get(secretRefKey(k.secretKeyRef.name, k.secretKeyRef.key)) ?? '');
        const sent = upstream.filter(([k]) => k === style.name).map(([, v]) => v);
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
    if (c.expectRequest || c.expectResponse) {
      if (!s.forwarded) {
        const what = [c.expectRequest && 'expectRequest', c.expectResponse && 'expectResponse'].filter(Boolean).join(' and ');
        problems.push(`${what}: not checked: the request was not forwarded to the provider (${describeObserved(o)})`);
      } else {
        this.compareRequest(c, s, problems);
        this.compareResponse(c, o, s, problems);
      }
    }
    return problems;
  }

  /** expectRequest: the body the provider received (after redaction). */
  private compareRequest(c: TestCase, s: HttpStream, problems: string[]): void {
    const e = c.expectRequest;
    if (!e) return;
    const sent = s.upstreamBodyText ?? '';
    for (const t of e.contains ?? []) if (!sent.includes(t)) problems.push(`upstream request body: expected to contain ${JSON.stringify(t)}`);
    for (const t of e.notContains ?? []) if (sent.includes(t)) problems.push(`upstream request body: expected not to contain ${JSON.stringify(t)}`);
  }

  /** expectResponse: what the app received of the provider's answer, and what the audit record says. */
  private compareResponse(c: TestCase, o: Observed, s: HttpStream, problems: string[]): void {
    const e = c.expectResponse;
    if (!e) return;
    const received = s.response;
    const r = o.response;
    if (!received || !r) {
      problems.push(`response: the app received none${s.reset ? ` (the stream was reset: ${s.resetReason ?? '?'})` : ''}`);
      return;
    }
    if (s.reset) problems.push(`response: the stream was reset (${s.resetReason ?? '?'}) after the app got part of it`);
    if (e.status !== undefined && r.status !== e.status) problems.push(`response status: expected ${e.status}, got ${r.status}`);
    const view = readReceived(received);
    // A stream is also read as the text it carries: a text split across events is in no one event.
    const found = (t: string) => view.body.includes(t) || view.streamTexts.some((x) => x.includes(t));
    for (const t of e.contains ?? []) if (!found(t)) problems.push(`response body: expected to contain ${JSON.stringify(t)}`);
    for (const t of e.notContains ?? []) {
      if (view.body.includes(t)) problems.push(`response body: expected not to contain ${JSON.stringify(t)}`);
      else if (found(t)) problems.push(`response body: expected not to contain ${JSON.stringify(t)} (found in the text the stream's events carry)`);
    }
    if (e.code !== undefined && r.code !== e.code) problems.push(`response code: expected ${e.code}, got ${r.code ?? 'none'}`);
    if (e.outcome !== undefined && r.outcome !== e.outcome) problems.push(`response outcome: expected ${e.outcome}, got ${r.outcome}`);
    if (e.rule !== undefined && r.rule !== e.rule) problems.push(`response rule: expected ${e.rule}, got ${r.rule ?? 'none'}`);
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
