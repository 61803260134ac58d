// The CRD in manifests/ and its TypeScript twin are one: the YAML must be exactly what
// buildCrd() makes (so every bound, enum, pattern, default and CEL rule text and message is the
// same), and every string and list is bounded.
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import type { Schema } from '../openapi.js';
import { validatePolicy } from '../../validate/policy.js';
import { allRules } from '../../validate/structural.js';
import { fullPolicy } from '../../validate/testdata/invalid_policies.js';
import { CRD_HEADER, buildCrd } from './crd.js';
import { policySchema } from './llm_guard_policy_schema.js';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', '..');
const CRD_PATH = resolve(REPO, 'manifests/crd/llmguard.io_llmguardpolicies.yaml');
const crdText = readFileSync(CRD_PATH, 'utf8');
const crd = parse(crdText, { version: '1.1' }) as Record<string, any>;
const version = crd.spec.versions[0];
const openApi = version.schema.openAPIV3Schema;

function nodes(s: Record<string, any>, path = ''): { path: string; s: Record<string, any> }[] {
  const out = [{ path, s }];
  for (const [k, v] of Object.entries(s.properties ?? {})) out.push(...nodes(v as Record<string, any>, path ? `${path}.${k}` : k));
  if (s.items) out.push(...nodes(s.items, `${path}[]`));
  if (s.additionalProperties) out.push(...nodes(s.additionalProperties, `${path}{}`));
  return out;
}

describe('the CRD manifest and the schema', () => {
  it('are the same: manifests/crd is `llmguard crd` output (regenerate it after editing llm_guard_policy_schema.ts)', () => {
    expect(crd).toStrictEqual(buildCrd());
    expect(crdText.startsWith(CRD_HEADER)).toBe(true);
  });

  it('have the same CEL rules, each with a TypeScript twin and a message', () => {
    const yamlRules = nodes(openApi).flatMap(({ path, s }) =>
      ((s['x-kubernetes-validations'] ?? []) as { rule: string; message: string }[]).map((r) => `${path}: ${r.rule} => ${r.message}`),
    );
    const tsRules = allRules(policySchema).map(({ path, rule }) => {
      expect(typeof rule.check).toBe('function');
      expect(rule.message.length).toBeGreaterThan(10);
      return `${path}: ${rule.rule} => ${rule.message}`;
    });
    expect(tsRules).toEqual(yamlRules);
    expect(tsRules.length).toBe(20);
  });

  it('bounds every string (maxLength, or enum) and every list and map (maxItems / maxProperties) of the spec', () => {
    for (const { path, s } of nodes(openApi.properties.spec, 'spec')) {
      if (s.type === 'string') expect(s.maxLength, `${path} has no maxLength`).toBeTypeOf('number');
      if (s.type === 'array') expect(s.maxItems, `${path} has no maxItems`).toBeTypeOf('number');
      if (s.type === 'object' && s.additionalProperties) expect(s.maxProperties, `${path} has no maxProperties`).toBeTypeOf('number');
      if (s.type === 'integer') {
        expect(s.minimum, `${path} has no minimum`).toBeTypeOf('number');
        expect(s.maximum, `${path} has no maximum`).toBeTypeOf('number');
      }
    }
    for (const { path, s } of nodes(openApi.properties.status, 'status')) {
      if (s.type === 'string') expect(s.maxLength, `${path} has no maxLength`).toBeTypeOf('number');
      if (s.type === 'array') expect(s.maxItems, `${path} has no maxItems`).toBeTypeOf('number');
    }
  });

  it('states the bounds the brief and the filter agree on', () => {
    const spec = policySchema.properties!.spec!.properties!;
    const provider = spec.providers!.items!.properties!;
    const guard = spec.intelligentGuard!.properties!;
    const inspection = spec.inspection!.properties!;
    const range = (s: Schema) => [s.minimum, s.maximum];
    expect(range(provider.port!)).toEqual([1, 65535]);
    expect(range(provider.targetPort!)).toEqual([1, 65535]);
    expect(range(guard.port!)).toEqual([1, 65535]);
    expect(range(inspection.denyStatus!)).toEqual([400, 599]);
    expect(range(inspection.maxBodyBytes!)).toEqual([1, 16777216]);
    expect(range(inspection.maxJsonDepth!)).toEqual([1, 512]);
    expect(range(guard.timeoutMs!)).toEqual([1, 60000]);
    expect(range(guard.cache!.properties!.ttlSeconds!)).toEqual([1, 86400]);
    expect(range(guard.cache!.properties!.maxEntries!)).toEqual([1, 65536]);
    expect([provider.apiKeys!.minItems, provider.apiKeys!.maxItems]).toEqual([1, 8]);
    expect(range(spec.response!.properties!.maxHoldBack!)).toEqual([64, 65536]);
    expect(spec.redactToken!.maxLength).toBe(64);
  });

  it('has redaction and response patterns: redactPatterns and redactToken, and a closed response object', () => {
    const spec = openApi.properties.spec.properties;
    const patternList = spec.denyPatterns;
    expect(spec.redactPatterns).toEqual({ ...patternList, description: spec.redactPatterns.description });
    expect(spec.redactToken).toMatchObject({ type: 'string', maxLength: 64 });
    expect(spec.response.type).toBe('object');
    expect(Object.keys(spec.response.properties).sort()).toEqual(['denyPatterns', 'maxHoldBack', 'redactPatterns']);
    expect(spec.response.properties.denyPatterns).toEqual({ ...patternList, description: spec.response.properties.denyPatterns.description });
    expect(spec.response.properties.redactPatterns).toEqual({ ...patternList, description: spec.response.properties.redactPatterns.description });
    expect(spec.response.properties.maxHoldBack).toMatchObject({ type: 'integer', format: 'int32', minimum: 64, maximum: 65536 });
  });

  it('accepts redaction and response settings at their bounds and refuses them past', () => {
    const policy = (spec: Record<string, unknown>) => {
      const p = fullPolicy() as Record<string, any>;
      Object.assign(p.spec, spec);
      return p;
    };
    const messages = (spec: Record<string, unknown>) => validatePolicy(policy(spec)).issues.map((i) => i.message);
    const ok = { redactPatterns: ['\\bsecret\\b'], redactToken: 'x'.repeat(64) };
    expect(messages({ ...ok, response: { denyPatterns: ['a'], redactPatterns: ['b'], maxHoldBack: 64 } })).toEqual([]);
    expect(messages({ ...ok, response: { maxHoldBack: 65536 } })).toEqual([]);
    expect(messages({ redactToken: '' })).toEqual([]);
    expect(messages({ response: { maxHoldBack: 63 } })).toEqual([
      'spec.response.maxHoldBack: Invalid value: 63: spec.response.maxHoldBack in body should be greater than or equal to 64',
    ]);
    expect(messages({ response: { maxHoldBack: 65537 } })).toEqual([
      'spec.response.maxHoldBack: Invalid value: 65537: spec.response.maxHoldBack in body should be less than or equal to 65536',
    ]);
    expect(messages({ redactToken: 'x'.repeat(65) })).toContain('spec.redactToken: Too long: may not be more than 64 bytes');
    expect(messages({ response: { holdBack: 64 } })).toEqual(['unknown field "spec.response.holdBack"']);
  });

  it('names, scope, status subresource and printer columns', () => {
    expect(crd.metadata.name).toBe('llmguardpolicies.llmguard.io');
    expect(crd.spec.names).toEqual({
      kind: 'LlmGuardPolicy',
      listKind: 'LlmGuardPolicyList',
      plural: 'llmguardpolicies',
      singular: 'llmguardpolicy',
      shortNames: ['lgp'],
      categories: ['llmguard'],
    });
    expect(crd.spec.scope).toBe('Namespaced');
    expect(crd.spec.versions).toHaveLength(1);
    expect(version).toMatchObject({ name: 'v1alpha1', served: true, storage: true, subresources: { status: {} } });
    expect(version.additionalPrinterColumns.map((c: { name: string; jsonPath: string }) => `${c.name}=${c.jsonPath}`)).toEqual([
      'Hosts=.status.hosts',
      'Guard=.spec.intelligentGuard.host',
      'Ready=.status.conditions[?(@.type=="Ready")].status',
      'Reason=.status.conditions[?(@.type=="Ready")].reason',
      'Age=.metadata.creationTimestamp',
    ]);
  });
});

