// Checks a value against a structural schema the way the apiserver does: defaults, types,
// bounds, enums, patterns, list sets, then the CEL rules (their TypeScript twins) unless a
// blocking error came first, with the apiserver's wording for each problem.
import { CelNoSuchKey, type CelRule, type Schema } from '../api/openapi.js';

type Obj = Record<string, unknown>;

export type IssueKind = 'Required' | 'Invalid' | 'TooLong' | 'TooShort' | 'TooMany' | 'TooFew' | 'Unsupported' | 'Duplicate' | 'Unknown' | 'Type';

export interface SchemaIssue {
  kind: IssueKind;
  /** Field path, apiserver style: `spec.providers[0].host`. */
  path: string;
  /** The line the apiserver would print for it (close to its wording; CEL messages exactly). */
  message: string;
  /** Set for CEL rule failures: the rule's text. */
  rule?: string;
}

export function quote(v: unknown): string {
  return typeof v === 'string' ? JSON.stringify(v) : String(v);
}

export function typeName(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  return typeof v;
}

export function typeMatches(v: unknown, t: Schema['type']): boolean {
  switch (t) {
    case 'object':
      return typeof v === 'object' && v !== null && !Array.isArray(v);
    case 'array':
      return Array.isArray(v);
    case 'string':
      return typeof v === 'string';
    case 'integer':
      return typeof v === 'number' && Number.isInteger(v);
    case 'boolean':
      return typeof v === 'boolean';
  }
}

const regexCache = new Map<string, RegExp>();
function regex(p: string): RegExp {
  let r = regexCache.get(p);
  if (!r) {
    r = new RegExp(p, 'u');
    regexCache.set(p, r);
  }
  return r;
}

export function structuredCopy<T>(v: T): T {
  return v === undefined ? v : (JSON.parse(JSON.stringify(v)) as T);
}

export interface Walk {
  issues: SchemaIssue[];
  /** CEL rules to run once the schema checks are done: the apiserver runs them after. */
  pending: { rule: CelRule; self: unknown; path: string }[];
}

export function child(path: string, name: string): string {
  return path ? `${path}.${name}` : name;
}

/** Applies `default`s the way the apiserver does: to absent fields of objects that are present. */
export function applyDefaults(value: unknown, s: Schema): void {
  if (s.type === 'object' && typeMatches(value, 'object')) {
    const o = value as Obj;
    for (const [name, prop] of Object.entries(s.properties ?? {})) {
      if (o[name] === undefined && prop.default !== undefined) o[name] = structuredCopy(prop.default);
      if (o[name] !== undefined) applyDefaults(o[name], prop);
    }
    if (s.additionalProperties) for (const v of Object.values(o)) applyDefaults(v, s.additionalProperties);
  } else if (s.type === 'array' && Array.isArray(value) && s.items) {
    for (const item of value) applyDefaults(item, s.items);
  }
}

export function walk(value: unknown, s: Schema, path: string, w: Walk): void {
  const issue = (kind: IssueKind, p: string, message: string) => w.issues.push({ kind, path: p, message: `${p}: ${message}` });
  if (!typeMatches(value, s.type)) {
    issue('Type', path, `Invalid value: ${quote(typeName(value))}: ${path} in body must be of type ${s.type}: ${quote(typeName(value))}`);
    return;
  }
  switch (s.type) {
    case 'string': {
      const text = value as string;
      const length = [...text].length;
      if (s.maxLength !== undefined && length > s.maxLength) issue('TooLong', path, `Too long: may not be more than ${s.maxLength} bytes`);
      if (s.minLength !== undefined && length < s.minLength) {
        issue('TooShort', path, `Invalid value: ${quote(text)}: ${path} in body should be at least ${s.minLength} chars long`);
      }
      if (s.enum && !s.enum.includes(text)) {
        issue('Unsupported', path, `Unsupported value: ${quote(text)}: supported values: ${s.enum.map((e) => quote(e)).join(', ')}`);
      } else if (s.pattern && !regex(s.pattern).test(text)) {
        issue('Invalid', path, `Invalid value: ${quote(text)}: ${path} in body should match '${s.pattern}'`);
      }
      if (s.format === 'date-time' && Number.isNaN(Date.parse(text))) {
        issue('Invalid', path, `Invalid value: ${quote(text)}: ${path} in body must be of type date-time: ${quote(text)}`);
      }
      break;
    }
    case 'integer': {
      const n = value as number;
      if (s.minimum !== undefined && n < s.minimum) {
        issue('Invalid', path, `Invalid value: ${n}: ${path} in body should be greater than or equal to ${s.minimum}`);
      }
      if (s.maximum !== undefined && n > s.maximum) {
        issue('Invalid', path, `Invalid value: ${n}: ${path} in body should be less than or equal to ${s.maximum}`);
      }
      break;
    }
    case 'array': {
      const items = value as unknown[];
      if (s.maxItems !== undefined && items.length > s.maxItems) issue('TooMany', path, `Too many: ${items.length}: must have at most ${s.maxItems} items`);
      if (s.minItems !== undefined && items.length < s.minItems) {
        issue('TooFew', path, `Invalid value: ${items.length}: ${path} in body should have at least ${s.minItems} items`);
      }
      if (s.items) items.forEach((item, i) => walk(item, s.items as Schema, `${path}[${i}]`, w));
      if (s['x-kubernetes-list-type'] === 'set') {
        const seen = new Set<string>();
        items.forEach((item, i) => {
          const key = JSON.stringify(item);
          if (seen.has(key)) issue('Duplicate', `${path}[${i}]`, `Duplicate value: ${quote(item)}`);
          seen.add(key);
        });
      }
      break;
    }
    case 'object': {
      const o = value as Obj;
      const keys = Object.keys(o).filter((k) => o[k] !== undefined);
      for (const name of s.required ?? []) if (o[name] === undefined) issue('Required', child(path, name), 'Required value');
      if (s.maxProperties !== undefined && keys.length > s.maxProperties) {
        issue('TooMany', path, `Too many: ${keys.length}: must have at most ${s.maxProperties} items`);
      }
      if (s.minProperties !== undefined && keys.length < s.minProperties) {
        issue('TooFew', path, `Invalid value: ${keys.length}: ${path} in body should have at least ${s.minProperties} properties`);
      }
      for (const name of keys) {
        const prop = s.properties?.[name];
        if (prop) walk(o[name], prop, child(path, name), w);
        else if (s.additionalProperties) walk(o[name], s.additionalProperties, child(path, name), w);
        else w.issues.push({ kind: 'Unknown', path: child(path, name), message: `unknown field ${quote(child(path, name))}` });
      }
      break;
    }
    case 'boolean':
      break;
  }
  for (const rule of s['x-kubernetes-validations'] ?? []) w.pending.push({ rule, self: value, path });
}

export function runRules(w: Walk): void {
  for (const { rule, self, path } of w.pending) {
    let ok: boolean;
    try {
      ok = rule.check(self);
    } catch (e) {
      // CEL fails the rule when it reads an absent field; the apiserver reports that error.
      const why = e instanceof CelNoSuchKey ? e.message : String(e);
      w.issues.push({ kind: 'Invalid', path, rule: rule.rule, message: `${path}: Invalid value: ${why} evaluating rule: ${rule.rule}` });
      continue;
    }
    if (ok) continue;
    const at = rule.fieldPath ? `${path}${rule.fieldPath}` : path;
    const kind: IssueKind = rule.reason === 'FieldValueRequired' ? 'Required' : rule.reason === 'FieldValueDuplicate' ? 'Duplicate' : 'Invalid';
    const prefix = kind === 'Required' ? 'Required value' : kind === 'Duplicate' ? 'Duplicate value' : 'Invalid value';
    // The apiserver shows the value a rule on a string or number refused (not an object's or list's).
    const shown = kind === 'Invalid' && !rule.fieldPath ? scalarShown(self) : '';
    w.issues.push({ kind, path: at, rule: rule.rule, message: `${at}: ${prefix}: ${shown}${rule.message}` });
  }
}

/** `"value": ` for a string, `5: ` for a number or boolean; "" otherwise. */
function scalarShown(v: unknown): string {
  if (typeof v === 'string') return `${quote(v)}: `;
  if (typeof v === 'number' || typeof v === 'boolean') return `${String(v)}: `;
  return '';
}

/** The apiserver skips the CEL rules after these (strategy.go, hasBlockingErr). */
export const BLOCKING: IssueKind[] = ['Unsupported', 'Required', 'TooLong', 'TooMany', 'Type'];
export const RULES_NOT_CHECKED =
  '<nil>: Invalid value: null: some validation rules were not checked because the object was invalid; correct the existing errors to complete validation';

/** Every CEL rule of the schema with the path of the node holding it (`spec.providers[]`). */
export function allRules(s: Schema, path = ''): { path: string; rule: CelRule }[] {
  const out: { path: string; rule: CelRule }[] = [];
  for (const r of s['x-kubernetes-validations'] ?? []) out.push({ path, rule: r });
  for (const [name, p] of Object.entries(s.properties ?? {})) out.push(...allRules(p, child(path, name)));
  if (s.items) out.push(...allRules(s.items, `${path}[]`));
  if (s.additionalProperties) out.push(...allRules(s.additionalProperties, `${path}{}`));
  return out;
}
