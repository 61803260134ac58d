// validatePolicy refuses each invalid policy (testdata/invalid_policies.ts) with the apiserver's
// lines, applies the apiserver's defaults, and refuses a value past every bound of the schema.
import { describe, expect, it } from 'vitest';
import type { Schema } from '../api/openapi.js';
import { policySchema } from '../api/v1alpha1/llm_guard_policy_schema.js';
import { validatePolicy } from './policy.js';
import { RULES_NOT_CHECKED, allRules } from './structural.js';
import { SCHEMA_CASES, fullPolicy } from './testdata/invalid_policies.js';

/** Every node of a schema with its path (`spec.providers[].port`). */
function nodes(s: Schema, path = ''): { path: string; s: Schema }[] {
  const out = [{ path, s }];
  for (const [k, v] of Object.entries(s.properties ?? {})) out.push(...nodes(v, path ? `${path}.${k}` : k));
  if (s.items) out.push(...nodes(s.items, `${path}[]`));
  if (s.additionalProperties) out.push(...nodes(s.additionalProperties, `${path}{}`));
  return out;
}

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
    for (const { rule } of allRules(policySchema)) {
      expect(messages.some((m) => m.endsWith(`: ${rule.message}`)), `no case for ${rule.rule}`).toBe(true);
    }
  });

  it('has a case past each integer bound', () => {
    const messages = SCHEMA_CASES.flatMap((c) => c.expect).join('\n');
    for (const { path, s } of nodes(policySchema.properties!.spec!, 'spec')) {
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
      const all = nodes(policySchema.properties!.spec!, 'spec').filter(({ s }) => s.type === 'string' || s.type === 'array' || s.additionalProperties);
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
    const rule = allRules(policySchema).find((r) => r.rule.rule.startsWith('!has(self.intelligentGuard)'))!.rule;
    expect(() => rule.check({ intelligentGuard: { host: 'g' } })).toThrow('no such key: providers');
    expect(RULES_NOT_CHECKED).toContain('some validation rules were not checked');
  });
});
