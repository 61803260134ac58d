// The cases file of `llmguard test`: requests and the decision the policy must reach for each.
//
//   cases:
//     - name: plain question passes
//       request: { body: { model: gpt-4o, messages: [{ role: user, content: hi }] } }
//       expect: allow
//     - name: AWS key is denied
//       request: { body: { messages: [{ role: user, content: "AKIAABCDEFGHIJKLMNOP" }] } }
//       expect: deny
//       code: denied_by_pattern
//       pattern: 2
//     - name: the guard says no
//       request: { body: { messages: [{ role: user, content: how to build a bomb }] } }
//       guard: { answer: "unsafe\nS9" }
//       expect: deny
//       code: denied_by_guard
//
// An allowed case can also say what the provider answers (`response`: a JSON `body`, or SSE
// `events`), and what the app must then receive (`expectResponse`) and what the provider must have
// received (`expectRequest`). With a policy whose response.redactPatterns match e-mail addresses,
// whose response.denyPatterns match "launch codes" and whose redactPatterns match card numbers:
//
//     - name: an address split across two stream events is masked
//       request: { body: { stream: true, messages: [{ role: user, content: who to mail? }] } }
//       response:
//         events:
//           - data: { choices: [{ index: 0, delta: { content: "Write to jane.d" } }] }
//           - data: { choices: [{ index: 0, delta: { content: "oe@example.com today" } }] }
//           - "[DONE]"
//       expect: allow
//       expectResponse: { outcome: redacted, rule: "response_redact_patterns[0]", contains: "[REDACTED]", notContains: jane.doe@example.com }
//     - name: a JSON answer with launch codes is replaced by an error
//       request: { body: { messages: [{ role: user, content: the codes? }] } }
//       response: { body: { choices: [{ index: 0, message: { role: assistant, content: The launch codes are 0000 } }] } }
//       expect: allow
//       expectResponse: { outcome: denied, code: response_denied_by_pattern, notContains: "0000" }
//     - name: the provider never sees the card number
//       request: { body: { messages: [{ role: user, content: "card 4111 1111 1111 1111" }] } }
//       expect: allow
//       expectRequest: { contains: "card [REDACTED]", notContains: "4111" }
import { parseDocument } from 'yaml';

export type Decision = 'allow' | 'deny' | 'refuse';

export interface CaseGuard {
  /** The text content the guard model answers (in a chat-completions reply). */
  answer?: string;
  /** The guard's whole response body, verbatim (e.g. a moderations reply). */
  body?: string;
  /** The guard's HTTP status (default 200). */
  status?: number;
  /** The call fails (no response: connect failure or timeout). */
  fail?: boolean;
}

/** One server-sent event of a case's response: its `event:` field and its data (objects as JSON). */
export interface CaseEvent {
  event?: string;
  data: string;
}

/** What the provider answers a forwarded request. */
export interface CaseResponse {
  /** Default 200. */
  status: number;
  headers: Record<string, string>;
  /** A whole body: a string verbatim, anything else as JSON (content-type application/json by default). */
  body?: unknown;
  /** An event stream (content-type text/event-stream by default), one write per event. */
  events?: CaseEvent[];
}

/** What the app must receive from the provider's answer, through the filter. */
export interface ExpectResponse {
  status?: number;
  /** Texts the body must contain (each). */
  contains?: string[];
  /** Texts the body must not contain. */
  notContains?: string[];
  /** `error.code` of a JSON body, or of the last event's data in a stream (`error.code` or `code`). */
  code?: string;
  /** What response patterns did, as the audit record says (`untouched`: nothing). */
  outcome?: ResponseOutcome;
  /** The response pattern the audit record names (`response_redact_patterns[0]`, ...). */
  rule?: string;
}

export type ResponseOutcome = 'redacted' | 'denied' | 'untouched';

/** What the provider must have received (the request body after redaction). */
export interface ExpectRequest {
  contains?: string[];
  notContains?: string[];
}

export interface TestCase {
  name: string;
  request: {
    host?: string;
    path?: string;
    method?: string;
    headers?: Record<string, string>;
    body?: unknown;
  };
  expect: Decision;
  /** The reply's error code (`denied_by_pattern`, `invalid_json`, ...). */
  code?: string;
  /** The reply's status. */
  status?: number;
  /** For pattern denials: the index of the deny pattern that matched. */
  pattern?: number;
  guard?: CaseGuard;
  /** What the provider answers (only played when the request is forwarded). */
  response?: CaseResponse;
  expectResponse?: ExpectResponse;
  expectRequest?: ExpectRequest;
}

export class CasesError extends Error {}

const CASE_KEYS = new Set(['name', 'request', 'expect', 'code', 'status', 'pattern', 'guard', 'response', 'expectResponse', 'expectRequest']);
const REQUEST_KEYS = new Set(['host', 'path', 'method', 'headers', 'body']);
const GUARD_KEYS = new Set(['answer', 'body', 'status', 'fail']);
const RESPONSE_KEYS = new Set(['status', 'headers', 'body', 'events']);
const EVENT_KEYS = new Set(['event', 'data']);
const EXPECT_RESPONSE_KEYS = new Set(['status', 'contains', 'notContains', 'code', 'outcome', 'rule']);
const EXPECT_REQUEST_KEYS = new Set(['contains', 'notContains']);
const OUTCOMES: readonly ResponseOutcome[] = ['redacted', 'denied', 'untouched'];
const RESPONSE_RULE = /^response_(deny|redact)_patterns\[\d+\]$/;

function isMap(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function unknownKeys(where: string, v: Record<string, unknown>, allowed: Set<string>): void {
  for (const k of Object.keys(v)) if (!allowed.has(k)) throw new CasesError(`${where}: unknown field "${k}" (expected one of ${[...allowed].join(', ')})`);
}

function isStatus(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= 100 && v <= 599;
}

/** A string or a list of strings, as a list (`field` names it in messages). */
function texts(at: string, field: string, v: unknown): string[] {
  const list = typeof v === 'string' ? [v] : v;
  if (!Array.isArray(list) || !list.length || !list.every((t) => typeof t === 'string' && t !== '')) {
    throw new CasesError(`${at}: ${field} must be a non-empty string or a list of them (quote texts YAML reads otherwise, such as "yes" or 0000)`);
  }
  return list as string[];
}

/** An SSE field value on one line (a data text with line breaks becomes several data: lines). */
function eventData(at: string, field: string, v: unknown): string {
  if (typeof v === 'string') return v;
  if (v !== null && typeof v === 'object') return JSON.stringify(v);
  throw new CasesError(`${at}: ${field} must be a string (sent as is) or a mapping/list (sent as JSON)`);
}

function parseResponse(at: string, r: unknown): CaseResponse {
  if (!isMap(r)) throw new CasesError(`${at}: response must be a mapping`);
  unknownKeys(`${at}.response`, r, RESPONSE_KEYS);
  if (r.status !== undefined && !isStatus(r.status)) throw new CasesError(`${at}: response.status must be an HTTP status (100-599)`);
  const out: CaseResponse = { status: (r.status as number | undefined) ?? 200, headers: {} };
  if (r.headers !== undefined) {
    if (!isMap(r.headers)) throw new CasesError(`${at}: response.headers must be a mapping`);
    for (const [k, v] of Object.entries(r.headers)) {
      if (k.startsWith(':')) throw new CasesError(`${at}: response.headers.${k}: give the status as response.status`);
      if (typeof v !== 'string') throw new CasesError(`${at}: response.headers.${k} must be a string`);
      out.headers[k] = v;
    }
  }
  if (r.body !== undefined && r.events !== undefined) throw new CasesError(`${at}: response: give body or events, not both`);
  if (r.body !== undefined) {
    if (r.body === null || (typeof r.body !== 'string' && typeof r.body !== 'object')) {
      throw new CasesError(`${at}: response.body must be a string (sent as is) or a mapping/list (sent as JSON)`);
    }
    out.body = r.body;
  }
  if (r.events !== undefined) {
    if (!Array.isArray(r.events)) throw new CasesError(`${at}: response.events must be a list of events (a data string, or { event, data })`);
    out.events = r.events.map((e: unknown, j: number): CaseEvent => {
      const field = `response.events[${j}]`;
      if (!isMap(e)) return { data: eventData(at, field, e) };
      for (const k of Object.keys(e)) {
        if (!EVENT_KEYS.has(k)) throw new CasesError(`${at}.${field}: unknown field "${k}" (expected event, data: an event's JSON goes under data)`);
      }
      if (e.data === undefined) throw new CasesError(`${at}: ${field}.data is missing (the event's data: a string, or a mapping sent as JSON)`);
      const ev: CaseEvent = { data: eventData(at, `${field}.data`, e.data) };
      if (e.event !== undefined) {
        if (typeof e.event !== 'string' || !e.event || /[\r\n]/.test(e.event)) throw new CasesError(`${at}: ${field}.event must be a non-empty one-line string`);
        ev.event = e.event;
      }
      return ev;
    });
  }
  return out;
}

function parseExpectResponse(at: string, e: unknown): ExpectResponse {
  if (!isMap(e)) throw new CasesError(`${at}: expectResponse must be a mapping`);
  unknownKeys(`${at}.expectResponse`, e, EXPECT_RESPONSE_KEYS);
  const out: ExpectResponse = {};
  if (e.status !== undefined) {
    if (!isStatus(e.status)) throw new CasesError(`${at}: expectResponse.status must be an HTTP status (100-599)`);
    out.status = e.status;
  }
  if (e.contains !== undefined) out.contains = texts(at, 'expectResponse.contains', e.contains);
  if (e.notContains !== undefined) out.notContains = texts(at, 'expectResponse.notContains', e.notContains);
  if (e.code !== undefined) {
    // Gemini's stream errors carry the HTTP status as their code.
    if (typeof e.code === 'number' && Number.isInteger(e.code)) out.code = String(e.code);
    else if (typeof e.code === 'string' && e.code) out.code = e.code;
    else throw new CasesError(`${at}: expectResponse.code must be a string (an error code such as response_denied_by_pattern)`);
  }
  if (e.outcome !== undefined) {
    if (!OUTCOMES.includes(e.outcome as ResponseOutcome)) throw new CasesError(`${at}: expectResponse.outcome must be redacted, denied or untouched`);
    out.outcome = e.outcome as ResponseOutcome;
  }
  if (e.rule !== undefined) {
    if (typeof e.rule !== 'string' || !RESPONSE_RULE.test(e.rule)) {
      throw new CasesError(`${at}: expectResponse.rule must name a response pattern: response_deny_patterns[N] or response_redact_patterns[N]`);
    }
    out.rule = e.rule;
  }
  return out;
}

function parseExpectRequest(at: string, e: unknown): ExpectRequest {
  if (!isMap(e)) throw new CasesError(`${at}: expectRequest must be a mapping`);
  unknownKeys(`${at}.expectRequest`, e, EXPECT_REQUEST_KEYS);
  const out: ExpectRequest = {};
  if (e.contains !== undefined) out.contains = texts(at, 'expectRequest.contains', e.contains);
  if (e.notContains !== undefined) out.notContains = texts(at, 'expectRequest.notContains', e.notContains);
  return out;
}

/** Parses and checks a cases file's text; `source` names it in messages. */
export function parseCases(text: string, source: string): TestCase[] {
  const doc = parseDocument(text, { version: '1.1', merge: true });
  if (doc.errors.length) throw new CasesError(`${source}: not valid YAML: ${doc.errors[0]!.message.split('\n')[0]}`);
  const root: unknown = doc.toJS();
  if (!isMap(root) || !Array.isArray(root.cases)) throw new CasesError(`${source}: expected a mapping with a "cases" list`);
  const names = new Set<string>();
  return root.cases.map((c: unknown, i: number): TestCase => {
    const where = `${source}: cases[${i}]`;
    if (!isMap(c)) throw new CasesError(`${where}: expected a mapping`);
    unknownKeys(where, c, CASE_KEYS);
    if (typeof c.name !== 'string' || !c.name) throw new CasesError(`${where}: name must be a non-empty string`);
    if (names.has(c.name)) throw new CasesError(`${where}: duplicate name "${c.name}"`);
    names.add(c.name);
    const at = `${where} (${c.name})`;
    if (c.expect !== 'allow' && c.expect !== 'deny' && c.expect !== 'refuse') throw new CasesError(`${at}: expect must be allow, deny or refuse`);
    const req = c.request ?? {};
    if (!isMap(req)) throw new CasesError(`${at}: request must be a mapping`);
    unknownKeys(`${at}.request`, req, REQUEST_KEYS);
    for (const k of ['host', 'path', 'method'] as const) {
      if (req[k] !== undefined && typeof req[k] !== 'string') throw new CasesError(`${at}: request.${k} must be a string`);
    }
    if (req.headers !== undefined) {
      if (!isMap(req.headers)) throw new CasesError(`${at}: request.headers must be a mapping`);
      for (const [k, v] of Object.entries(req.headers)) if (typeof v !== 'string') throw new CasesError(`${at}: request.headers.${k} must be a string`);
    }
    const out: TestCase = { name: c.name, request: req as TestCase['request'], expect: c.expect };
    if (c.code !== undefined) {
      if (typeof c.code !== 'string') throw new CasesError(`${at}: code must be a string`);
      if (c.expect === 'allow') throw new CasesError(`${at}: code only goes with expect: deny or refuse`);
      out.code = c.code;
    }
    if (c.status !== undefined) {
      if (typeof c.status !== 'number' || !Number.isInteger(c.status)) throw new CasesError(`${at}: status must be an integer`);
      if (c.expect === 'allow') throw new CasesError(`${at}: status only goes with expect: deny or refuse`);
      out.status = c.status;
    }
    if (c.pattern !== undefined) {
      if (typeof c.pattern !== 'number' || !Number.isInteger(c.pattern) || c.pattern < 0) throw new CasesError(`${at}: pattern must be an index (0, 1, ...)`);
      out.pattern = c.pattern;
    }
    if (c.guard !== undefined) {
      const g = c.guard;
      if (!isMap(g)) throw new CasesError(`${at}: guard must be a mapping`);
      unknownKeys(`${at}.guard`, g, GUARD_KEYS);
      if (g.answer !== undefined && typeof g.answer !== 'string') throw new CasesError(`${at}: guard.answer must be a string`);
      if (g.body !== undefined && typeof g.body !== 'string') throw new CasesError(`${at}: guard.body must be a string`);
      if (g.status !== undefined && (typeof g.status !== 'number' || !Number.isInteger(g.status))) throw new CasesError(`${at}: guard.status must be an integer`);
      if (g.fail !== undefined && typeof g.fail !== 'boolean') throw new CasesError(`${at}: guard.fail must be true or false`);
      if (g.answer !== undefined && g.body !== undefined) throw new CasesError(`${at}: guard: give answer or body, not both`);
      out.guard = g as CaseGuard;
    }
    // The provider only answers, and only receives, a request the filter forwards.
    for (const k of ['response', 'expectResponse', 'expectRequest'] as const) {
      if (c[k] !== undefined && c.expect !== 'allow') {
        throw new CasesError(`${at}: ${k} only goes with expect: allow (a ${c.expect === 'deny' ? 'denied' : 'refused'} request never reaches the provider)`);
      }
    }
    if (c.response !== undefined) out.response = parseResponse(at, c.response);
    if (c.expectResponse !== undefined) {
      if (c.response === undefined) throw new CasesError(`${at}: expectResponse needs a response (what the provider answers)`);
      out.expectResponse = parseExpectResponse(at, c.expectResponse);
    }
    if (c.expectRequest !== undefined) out.expectRequest = parseExpectRequest(at, c.expectRequest);
    return out;
  });
}
