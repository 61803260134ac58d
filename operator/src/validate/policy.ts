// An LlmGuardPolicy document checked the way the apiserver checks it against the CRD.
import { API_VERSION, KIND } from '../api/v1alpha1/llm_guard_policy.js';
import { PATTERNS, policySchema, specSchema } from '../api/v1alpha1/llm_guard_policy_schema.js';
import type { Schema } from '../api/openapi.js';
import {
  BLOCKING,
  RULES_NOT_CHECKED,
  applyDefaults,
  quote,
  runRules,
  structuredCopy,
  typeMatches,
  typeName,
  walk,
  type SchemaIssue,
  type Walk,
} from './structural.js';

type Obj = Record<string, unknown>;

export interface ValidationResult {
  /** The policy with the CRD's defaults applied (a copy), as the operator would read it back. */
  policy: Record<string, unknown>;
  issues: SchemaIssue[];
}

/**
 * Checks one LlmGuardPolicy object (as parsed from YAML) like the apiserver with strict field
 * validation: unknown fields are errors, defaults are applied first, the CEL rules run unless a
 * blocking error came first (a wrong type, a missing field, an unknown enum value, a string or a
 * list too long: the apiserver skips them then too, and says so). `status` is not checked: the
 * apiserver ignores it on create and update.
 */
export function validatePolicy(doc: unknown, opts: { defaultNamespace?: string } = {}): ValidationResult {
  const w: Walk = { issues: [], pending: [] };
  if (!typeMatches(doc, 'object')) {
    w.issues.push({ kind: 'Type', path: '', message: `Invalid value: ${quote(typeName(doc))}: the document must be an object` });
    return { policy: {}, issues: w.issues };
  }
  const policy = structuredCopy(doc) as Obj;
  if (policy.apiVersion !== API_VERSION) {
    w.issues.push({ kind: 'Invalid', path: 'apiVersion', message: `apiVersion: Invalid value: ${quote(policy.apiVersion)}: must be ${API_VERSION}` });
  }
  if (policy.kind !== KIND) {
    w.issues.push({ kind: 'Invalid', path: 'kind', message: `kind: Invalid value: ${quote(policy.kind)}: must be ${KIND}` });
  }
  const meta = policy.metadata;
  if (!typeMatches(meta, 'object')) {
    w.issues.push({ kind: 'Required', path: 'metadata.name', message: 'metadata.name: Required value: name is required' });
  } else {
    const m = meta as Obj;
    if (m.name === undefined) w.issues.push({ kind: 'Required', path: 'metadata.name', message: 'metadata.name: Required value: name is required' });
    else walk(m.name, (policySchema.properties!.metadata!.properties as Record<string, Schema>).name!, 'metadata.name', w);
    if (m.namespace === undefined && opts.defaultNamespace) m.namespace = opts.defaultNamespace;
    if (m.namespace !== undefined) walk(m.namespace, { type: 'string', maxLength: 63, pattern: PATTERNS.dnsLabel }, 'metadata.namespace', w);
  }
  for (const key of Object.keys(policy)) {
    if (!['apiVersion', 'kind', 'metadata', 'spec', 'status'].includes(key)) {
      w.issues.push({ kind: 'Unknown', path: key, message: `unknown field ${quote(key)}` });
    }
  }
  const spec = specSchema;
  if (policy.spec === undefined) {
    w.issues.push({ kind: 'Required', path: 'spec', message: 'spec: Required value' });
  } else {
    applyDefaults(policy.spec, spec);
    walk(policy.spec, spec, 'spec', w);
  }
  if (w.issues.some((i) => BLOCKING.includes(i.kind))) {
    w.issues.push({ kind: 'Invalid', path: '', message: RULES_NOT_CHECKED });
  } else {
    runRules(w);
  }
  return { policy, issues: w.issues };
}

