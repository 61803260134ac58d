// The CRD in manifests/ and its TypeScript twin are one: the YAML must be exactly what
// buildCrd() makes (so every bound, enum, pattern, default and CEL rule text and message is the
// same), every string and list is bounded, and validatePolicy refuses each case with the
// apiserver's lines (cases.ts; the same cases agree with a real kube-apiserver).
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { SCHEMA_CASES, fullPolicy } from './cases.js';
import { CRD_HEADER, RULES_NOT_CHECKED, allRules, buildCrd, policySchema, validatePolicy, type Schema } from './schema.js';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
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

describe('the CRD manifest and schema.ts', () => {
  it('are the same: manifests/crd is `llmguard crd` output (regenerate it after editing schema.ts)', () => {
    expect(crd).toStrictEqual(buildCrd());
    expect(crdText.startsWith(CRD_HEADER)).toBe(true);
  });

  it('have the same CEL rules, each with a TypeScript twin and a message', () => {
    const yamlRules = nodes(openApi).flatMap(({ path, s }) =>
      ((s['x-kubernetes-validations'] ?? []) as { rule: string; message: string }[]).map((r) => `${path}: ${r.rule} => ${r.message}`),
    );
    const tsRules = allRules().map(({ path, rule }) => {
      expect(typeof rule.check).toBe('function');
      expect(rule.message.length).toBeGreaterThan(10);
      return `${path}: ${rule.rule} => ${rule.message}`;
    });
    expect(tsRules).toEqual(yamlRules);
    expect(tsRules.length).toBe(8);
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
      'Hosts=.spec.providers[*].host',
      'Guard=.spec.intelligentGuard.host',
      'Ready=.status.conditions[?(@.type=="Ready")].status',
      'Age=.metadata.creationTimestamp',
    ]);
  });
});

describe('validatePolicy', () => {
  for (const c of SCHEMA_CASES) {
    it(c.name, () => {
      const p = fullPolicy();
      c.change(p);
      expect(validatePolicy(p).issues.map((i) => i.message).sort()).toEqual([...c.expect].sort());
    });
  }

  it('has a case that trips every CEL rule, with its message', () => {
    const messages = SCHEMA_CASES.flatMap((c) => c.expect);
    for (const { rule } of allRules()) {
      expect(messages.some((m) => m.endsWith(`: ${rule.message}`)), `no case for ${rule.rule}`).toBe(true);
    }
  });

  it('has a case past each integer bound', () => {
    const messages = SCHEMA_CASES.flatMap((c) => c.expect).join('\n');
    for (const { path, s } of nodes(openApi.properties.spec, 'spec')) {
      if (s.type !== 'integer' || path.endsWith('.priority')) continue;
      const p = path.replace('[]', '[0]');
      expect(messages, p).toContain(`${p} in body should be greater than or equal to ${s.minimum}`);
      expect(messages, p).toContain(`${p} in body should be less than or equal to ${s.maximum}`);
    }
  });

  describe('refuses a value past every length and size bound of the spec', () => {
    // Every bounded node, reached in a policy that has it (targetRefs and sha256 added on demand).
    type Step = string | number;
    const bounded: { path: Step[]; s: Schema }[] = [];
    const visit = (s: Schema, path: Step[]) => {
      if (s.maxLength !== undefined || s.maxItems !== undefined || s.maxProperties !== undefined || s.minItems !== undefined) bounded.push({ path, s });
      for (const [k, v] of Object.entries(s.properties ?? {})) visit(v, [...path, k]);
      if (s.items) visit(s.items, [...path, 0]);
      if (s.additionalProperties) visit(s.additionalProperties, [...path, 'app']);
    };
    visit(policySchema.properties!.spec!, ['spec']);
    const show = (path: Step[]) => path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${p}`)).join('').slice(1);
    const base = (path: Step[]) => {
      const p = fullPolicy() as Record<string, any>;
      if (path[1] === 'targetRefs') {
        delete p.spec.selector;
        p.spec.targetRefs = [{ group: 'gateway.networking.k8s.io', kind: 'Gateway', name: 'egress' }];
      }
      if (path[2] === 'sha256') p.spec.plugin.sha256 = 'e'.repeat(64);
      return p;
    };
    const setAt = (p: Record<string, any>, path: Step[], value: unknown) => {
      let o = p;
      for (const k of path.slice(0, -1)) o = o[k];
      o[path[path.length - 1]!] = value;
    };
    const getAt = (p: Record<string, any>, path: Step[]) => path.reduce<any>((o, k) => o[k], p);

    it('covers every string, list and map of the spec', () => {
      const all = nodes(openApi.properties.spec, 'spec').filter(({ s }) => s.type === 'string' || s.type === 'array' || s.additionalProperties);
      expect(bounded.length).toBe(all.length);
    });
    for (const { path, s } of bounded) {
      const at = show(path);
      if (s.maxLength !== undefined) {
        it(`${at}: more than ${s.maxLength} characters`, () => {
          const p = base(path);
          setAt(p, path, 'a'.repeat(s.maxLength! + 1));
          expect(validatePolicy(p).issues.map((i) => i.message)).toContain(`${at}: Too long: may not be more than ${s.maxLength} bytes`);
        });
      }
      if (s.maxItems !== undefined) {
        it(`${at}: more than ${s.maxItems} items`, () => {
          const p = base(path);
          const first = getAt(p, path)[0];
          setAt(p, path, Array.from({ length: s.maxItems! + 1 }, () => structuredClone(first)));
          expect(validatePolicy(p).issues.map((i) => i.message)).toContain(`${at}: Too many: ${s.maxItems! + 1}: must have at most ${s.maxItems} items`);
        });
      }
      if (s.minItems !== undefined) {
        it(`${at}: fewer than ${s.minItems} items`, () => {
          const p = base(path);
          setAt(p, path, []);
          expect(validatePolicy(p).issues.map((i) => i.message)).toContain(`${at}: Invalid value: 0: ${at} in body should have at least ${s.minItems} items`);
        });
      }
      if (s.maxProperties !== undefined) {
        it(`${at}: more than ${s.maxProperties} entries`, () => {
          const p = base(path);
          setAt(p, path, Object.fromEntries(Array.from({ length: s.maxProperties! + 1 }, (_, i) => [`k${i}`, 'v'])));
          expect(validatePolicy(p).issues.map((i) => i.message)).toContain(`${at}: Too many: ${s.maxProperties! + 1}: must have at most ${s.maxProperties} items`);
        });
      }
    }
  });

  it('applies the defaults the apiserver applies, and nothing else', () => {
    const p = fullPolicy();
    const spec = p.spec as Record<string, any>;
    spec.providers = [{ host: 'api.openai.com', apiKeys: [{ secretKeyRef: { name: 'k', key: 'v' } }] }];
    spec.intelligentGuard = { host: 'guard.example', apiKeySecretRef: { name: 'g', key: 't' } };
    spec.inspection = {};
    spec.plugin = { url: 'oci://x/y:1' };
    const r = validatePolicy(p);
    expect(r.issues).toEqual([]);
    const out = r.policy.spec as Record<string, any>;
    expect(out.providers[0]).toEqual({ host: 'api.openai.com', port: 80, tlsUpgrade: true, targetPort: 443, authStyle: 'bearer', apiKeys: [{ secretKeyRef: { name: 'k', key: 'v' } }] });
    expect(out.intelligentGuard).toEqual({ host: 'guard.example', port: 80, tlsUpgrade: true, targetPort: 443, apiKeySecretRef: { name: 'g', key: 't' } });
    expect(out.inspection).toEqual({});
    expect(out.plugin).toEqual({ url: 'oci://x/y:1', failStrategy: 'FAIL_CLOSE' });
    expect(p.spec).not.toBe(out); // the input is left as it was
    expect((p.spec as Record<string, any>).plugin).toEqual({ url: 'oci://x/y:1' });
  });

  it('takes the namespace from the caller when the document has none', () => {
    const p = fullPolicy();
    delete (p.metadata as Record<string, unknown>).namespace;
    expect((validatePolicy(p, { defaultNamespace: 'team-a' }).policy.metadata as Record<string, unknown>).namespace).toBe('team-a');
  });

  it('refuses documents that are not LlmGuardPolicies, or have no name or spec', () => {
    expect(validatePolicy([]).issues.map((i) => i.message)).toEqual(['Invalid value: "array": the document must be an object']);
    const messages = validatePolicy({ apiVersion: 'llmguard.io/v2', kind: 'Other', metadata: {}, extra: 1 }).issues.map((i) => i.message);
    expect(messages).toEqual([
      'apiVersion: Invalid value: "llmguard.io/v2": must be llmguard.io/v1alpha1',
      'kind: Invalid value: "Other": must be LlmGuardPolicy',
      'metadata.name: Required value: name is required',
      'unknown field "extra"',
      'spec: Required value',
      RULES_NOT_CHECKED,
    ]);
  });

  it('reports a CEL rule that cannot be evaluated the way the apiserver does', () => {
    // A required field missing blocks the rules, so reach the evaluation error through the rule itself.
    const rule = allRules().find((r) => r.rule.rule.startsWith('!has(self.intelligentGuard)'))!.rule;
    expect(() => rule.check({ intelligentGuard: { host: 'g' } })).toThrow('no such key: providers');
    expect(RULES_NOT_CHECKED).toContain('some validation rules were not checked');
  });
});
