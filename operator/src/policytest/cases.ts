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
}

export class CasesError extends Error {}

const CASE_KEYS = new Set(['name', 'request', 'expect', 'code', 'status', 'pattern', 'guard']);
const REQUEST_KEYS = new Set(['host', 'path', 'method', 'headers', 'body']);
const GUARD_KEYS = new Set(['answer', 'body', 'status', 'fail']);

function isMap(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function unknownKeys(where: string, v: Record<string, unknown>, allowed: Set<string>): void {
  for (const k of Object.keys(v)) if (!allowed.has(k)) throw new CasesError(`${where}: unknown field "${k}" (expected one of ${[...allowed].join(', ')})`);
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
    return out;
  });
}
