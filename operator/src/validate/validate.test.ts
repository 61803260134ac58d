// checkPolicy: what the operator renders, the real compiled filter (build/llm_guard.wasm, in the
// in-process host) accepts; what the filter refuses, `llmguard validate` refuses with the filter's
// own message and the policy field it is about.
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import type { LlmGuardPolicy } from '../api/v1alpha1/llm_guard_policy.js';
import { renderPolicy, secretRefs } from '../render/index.js';
import { fullPolicy } from './testdata/invalid_policies.js';
import { checkPolicy, policyWarnings } from './index.js';
import { validatePolicy } from './policy.js';
import { checkPluginConfig } from '../wasm/configure.js';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const SAMPLES = resolve(REPO, 'manifests/samples');

function sampleDocs(): Record<string, any>[] {
  return readdirSync(SAMPLES)
    .filter((f) => f.endsWith('.yaml'))
    .sort()
    .flatMap((f) => parseAllDocuments(readFileSync(resolve(SAMPLES, f), 'utf8'), { version: '1.1' }).map((d) => d.toJS() as Record<string, any>));
}

function sampleSecrets(): Map<string, string> {
  const values = new Map<string, string>();
  for (const d of sampleDocs().filter((d) => d.kind === 'Secret')) {
    for (const [k, v] of Object.entries((d.stringData ?? {}) as Record<string, string>)) values.set(`${d.metadata.name}/${k}`, v);
    for (const [k, v] of Object.entries((d.data ?? {}) as Record<string, string>)) values.set(`${d.metadata.name}/${k}`, Buffer.from(v, 'base64').toString());
  }
  return values;
}

function withPatterns(deny: string[]): Record<string, any> {
  const p = fullPolicy();
  (p.spec as Record<string, any>).denyPatterns = deny;
  return p;
}

describe('the samples against the real filter', () => {
  const policies = sampleDocs().filter((d) => d.kind === 'LlmGuardPolicy');

  it('there are three sample policies and their Secrets hold obviously fake values', () => {
    expect(policies.map((p) => p.metadata.name).sort()).toEqual(['egress-mistral', 'openai-chat', 'research-agent']);
    const secrets = sampleSecrets();
    for (const p of policies) {
      for (const r of secretRefs(p as LlmGuardPolicy)) expect(secrets.get(`${r.name}/${r.key}`), `${r.name}/${r.key}`).toMatch(/FAKE/);
    }
  });

  for (const doc of sampleDocs().filter((d) => d.kind === 'LlmGuardPolicy')) {
    it(`${doc.metadata.name}: the rendered pluginConfig configures the filter`, async () => {
      const v = validatePolicy(doc, { defaultNamespace: 'default' });
      expect(v.issues).toEqual([]);
      const policy = v.policy as unknown as LlmGuardPolicy;
      const [wasm] = renderPolicy(policy);
      const r = checkPluginConfig((wasm!.spec as { pluginConfig: unknown }).pluginConfig);
      expect(r.reason).toBeUndefined();
      expect(r.ok).toBe(true);
      const hosts = policy.spec.providers.length;
      const deny = policy.spec.denyPatterns?.length ?? 0;
      const allow = policy.spec.allowPatterns?.length ?? 0;
      expect(r.logs.map((l) => l.message)).toContain(
        `llm-guard: configured: ${hosts} provider(s), ${hosts} host(s), ${deny} deny and ${allow} allow pattern(s)`,
      );
      if (policy.spec.intelligentGuard) {
        const g = policy.spec.intelligentGuard;
        expect(r.logs.map((l) => l.message).join('\n')).toContain(`via cluster outbound|${g.port}||${g.host},`);
      }
    });
  }
});

describe('refusals carry the filter’s own message', () => {
  it('a lookahead pattern', async () => {
    const c = checkPolicy(withPatterns(['(?i)ignore previous', 'secret(?=key)']), {});
    expect(c.filter?.ok).toBe(false);
    expect(c.filter?.reason).toBe('deny_patterns[1]: lookahead (?=...) is not supported (RE2 syntax has no lookaround) (at offset 6)');
    expect(c.issues).toEqual([
      {
        source: 'filter',
        path: 'deny_patterns[1]',
        message: 'deny_patterns[1]: lookahead (?=...) is not supported (RE2 syntax has no lookaround) (at offset 6) (spec.denyPatterns[1])',
      },
    ]);
  });

  it('a response deny pattern and a redact pattern, named by their policy fields', async () => {
    const p = fullPolicy() as Record<string, any>;
    p.spec.response.denyPatterns = ['ok', 'secret(?=key)'];
    const c = checkPolicy(p, {});
    expect(c.issues).toEqual([
      {
        source: 'filter',
        path: 'response_deny_patterns[1]',
        message:
          'response_deny_patterns[1]: lookahead (?=...) is not supported (RE2 syntax has no lookaround) (at offset 6) (spec.response.denyPatterns[1])',
      },
    ]);
    const q = fullPolicy() as Record<string, any>;
    q.spec.redactPatterns = ['(a)\\1'];
    expect(checkPolicy(q, {}).issues.map((i) => i.message)).toEqual([
      'redact_patterns[0]: backreference `\\1` is not supported (RE2 syntax has no backreferences) (at offset 3) (spec.redactPatterns[0])',
    ]);
    const r = fullPolicy() as Record<string, any>;
    r.spec.response.redactPatterns = ['x', 'y', '(?<=z)w'];
    expect(checkPolicy(r, {}).issues.map((i) => i.path)).toEqual(['response_redact_patterns[2]']);
    expect(checkPolicy(r, {}).issues[0]!.message).toMatch(/\(spec\.response\.redactPatterns\[2\]\)$/);
    // A token one of the patterns matches would be masked again: the filter refuses it, about spec.redactToken.
    const t = fullPolicy() as Record<string, any>;
    t.spec.redactToken = 'sk-abcdefghijklmnopqrstuvwxyz';
    expect(checkPolicy(t, {}).issues.map((i) => i.path)).toEqual(['redact_token']);
    expect(checkPolicy(t, {}).issues[0]!.message).toMatch(/\(spec\.redactToken\)$/);
  });

  it('a backreference in an allow pattern', async () => {
    const p = fullPolicy();
    (p.spec as Record<string, any>).allowPatterns = ['(a)\\1'];
    const c = checkPolicy(p, {});
    expect(c.issues.map((i) => i.message)).toEqual([
      'allow_patterns[0]: backreference `\\1` is not supported (RE2 syntax has no backreferences) (at offset 3) (spec.allowPatterns[0])',
    ]);
  });

  it('given Secret values are checked as the key service would serve them', async () => {
    const p = fullPolicy();
    // A trailing newline (echo | base64) is dropped, as the key service drops it; one inside is not.
    expect(checkPolicy(p, { secrets: new Map([['openai/primary', 'sk-real\n']]) }).issues).toEqual([]);
    const c = checkPolicy(p, { secrets: new Map([['openai/primary', 'sk-real\nx-evil: 1'], ['openai/secondary', '']]) });
    expect(c.issues).toEqual([
      { source: 'secret', path: 'Secret openai/primary', message: 'key "primary" of Secret "openai" has characters an HTTP header can\'t carry' },
      { source: 'secret', path: 'Secret openai/secondary', message: 'key "secondary" of Secret "openai" is empty' },
    ]);
  });

  it('schema problems come first and the filter is not asked', async () => {
    const p = withPatterns(['x(?=y)']);
    (p.spec as Record<string, any>).providers[0].port = 0;
    const c = checkPolicy(p, {});
    expect(c.filter).toBeUndefined();
    expect(c.issues.map((i) => i.source)).toEqual(['schema']);
  });

  it('needs no Secret value: the config the filter checks holds no key and names the key service', async () => {
    const c = checkPolicy(fullPolicy(), {});
    expect(c.issues).toEqual([]);
    expect(c.filter?.ok).toBe(true);
    expect(c.filter?.configText).not.toMatch(/api_key/);
    expect(JSON.parse(c.filter!.configText).key_service.path).toMatch(/^\/v1\/keys\//);
  });

  it('skips the filter with wasmPath: null', async () => {
    const c = checkPolicy(withPatterns(['x(?=y)']), { wasmPath: null });
    expect(c.issues).toEqual([]);
    expect(c.filter).toBeUndefined();
  });
});

describe('warnings', () => {
  it('warns about valid settings that weaken the guard', () => {
    const v = validatePolicy(fullPolicy()).policy as unknown as LlmGuardPolicy;
    expect(policyWarnings(v)).toEqual([]);
    delete v.spec.denyPatterns;
    delete v.spec.allowPatterns;
    delete v.spec.redactPatterns;
    delete v.spec.response;
    delete v.spec.intelligentGuard;
    v.spec.inspection!.onUninspectable = 'allow';
    v.spec.plugin.failStrategy = 'FAIL_OPEN';
    expect(policyWarnings(v)).toEqual([
      'no denyPatterns, allowPatterns or intelligentGuard: the policy only injects keys, nothing is inspected',
      'inspection.onUninspectable is allow: bodies that cannot be inspected pass unchecked',
      'plugin.failStrategy is FAIL_OPEN: traffic passes unguarded (and without keys) when the module cannot load',
    ]);
  });

  it('does not call a policy that redacts, or inspects responses, keys-only', () => {
    const keysOnly = () => {
      const v = validatePolicy(fullPolicy()).policy as unknown as LlmGuardPolicy;
      delete v.spec.denyPatterns;
      delete v.spec.allowPatterns;
      delete v.spec.redactPatterns;
      delete v.spec.response;
      delete v.spec.intelligentGuard;
      return v;
    };
    const KEYS_ONLY = 'no denyPatterns, allowPatterns or intelligentGuard: the policy only injects keys, nothing is inspected';
    expect(policyWarnings(keysOnly())).toEqual([KEYS_ONLY]);
    const redacts = keysOnly();
    redacts.spec.redactPatterns = ['\\bsecret\\b'];
    expect(policyWarnings(redacts)).toEqual([]);
    const deniesAnswers = keysOnly();
    deniesAnswers.spec.response = { denyPatterns: ['leak'] };
    expect(policyWarnings(deniesAnswers)).toEqual([]);
    const redactsAnswers = keysOnly();
    redactsAnswers.spec.response = { redactPatterns: ['leak'] };
    expect(policyWarnings(redactsAnswers)).toEqual([]);
    // Settings without a pattern inspect nothing.
    const tokenOnly = keysOnly();
    tokenOnly.spec.redactToken = '***';
    tokenOnly.spec.response = { maxHoldBack: 128, denyPatterns: [] };
    expect(policyWarnings(tokenOnly)).toEqual([KEYS_ONLY]);
  });

});
