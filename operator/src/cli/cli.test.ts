// The llmguard CLI as a user runs it: compiled by tsc (as `tsc -p operator/tsconfig.json` does,
// into a private outDir so a concurrent build is not disturbed), run with node in a child process.
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import type { LlmGuardPolicy } from '../api/v1alpha1/llm_guard_policy.js';
import { renderPolicy } from '../render/index.js';
import { validatePolicy } from '../validate/policy.js';
import { checkPluginConfig } from '../wasm/configure.js';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const OUT = resolve(REPO, 'build', 'llmguard-cli-test');
const MAIN = join(OUT, 'cli', 'main.js');
const SAMPLES = 'manifests/samples';
const S = (f: string) => `${SAMPLES}/${f}`;
let tmp = '';

function llmguard(args: string[], input?: string): SpawnSyncReturns<string> {
  return spawnSync(process.execPath, [MAIN, ...args], { cwd: REPO, encoding: 'utf8', input, timeout: 60_000, env: { ...process.env, LLMGUARD_WASM: '' } });
}

function temp(name: string, text: string): string {
  const path = join(tmp, name);
  writeFileSync(path, text);
  return path;
}

const POLICY = (deny: string[], extra = '') => `apiVersion: llmguard.io/v1alpha1
kind: LlmGuardPolicy
metadata:
  name: ci-check
  namespace: team-a
spec:
  selector:
    matchLabels: { app: bot }
  providers:
    - host: api.openai.com
      apiKeys: [{ secretKeyRef: { name: openai, key: key } }]
  denyPatterns: ${JSON.stringify(deny)}
  plugin:
    url: oci://ghcr.io/llm-egress-guard/llm-guard:0.1.0
${extra}`;

beforeAll(() => {
  const tsc = resolve(REPO, 'node_modules', 'typescript', 'bin', 'tsc');
  const r = spawnSync(process.execPath, [tsc, '-p', 'operator/tsconfig.json', '--outDir', OUT], { cwd: REPO, encoding: 'utf8', timeout: 170_000 });
  // The build emits even when a file elsewhere has type errors; the CLI must be there.
  if (!existsSync(MAIN)) throw new Error(`tsc did not produce ${MAIN}:\n${r.stdout}${r.stderr}`);
  tmp = mkdtempSync(join(tmpdir(), 'llmguard-cli-'));
}, 180_000);

afterAll(() => {
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

describe('llmguard', () => {
  it('--help lists the commands and exits 0; no command is a usage error (2)', () => {
    const help = llmguard(['--help']);
    expect(help.status).toBe(0);
    for (const c of ['render', 'validate', 'crd', 'run']) expect(help.stdout).toContain(`  ${c} `);
    expect(llmguard([]).status).toBe(2);
    expect(llmguard(['version']).stdout).toBe('0.1.0\n');
    for (const c of ['render', 'validate', 'run']) {
      const r = llmguard([c, '--help']);
      expect(r.status, c).toBe(0);
      expect(r.stdout, c).toContain(`Usage: llmguard ${c}`);
    }
  });

  it('usage errors exit 2 and say what is wrong', () => {
    const cases: [string[], string][] = [
      [['frobnicate'], 'unknown command "frobnicate"'],
      [['render', '--bogus'], "Unknown option '--bogus'"],
      [['render'], 'render needs at least one -f FILE'],
      [['validate', '-f', 'nope.yaml'], 'cannot read nope.yaml'],
      [['render', '-f', S('secrets.yaml'), '--secret', 'no-equals-sign'], 'expected [namespace/]name/key=value'],
      [['validate', '-f', SAMPLES, '-o', 'xml'], '--output xml: expected text or json'],
      [['run', '--metrics-port', '0'], '--metrics-port 0: expected a port number 1..65535'],
    ];
    for (const [args, message] of cases) {
      const r = llmguard(args);
      expect(r.status, args.join(' ')).toBe(2);
      expect(r.stderr, args.join(' ')).toContain(message);
    }
  });

  it('crd prints manifests/crd byte for byte', () => {
    const r = llmguard(['crd']);
    expect(r.status).toBe(0);
    expect(r.stdout).toBe(readFileSync(resolve(REPO, 'manifests/crd/llmguard.io_llmguardpolicies.yaml'), 'utf8'));
  });
});

describe('llmguard render', () => {
  it('renders the samples: every object the operator would make, policies in namespace/name order', () => {
    const r = llmguard(['render', '-f', SAMPLES]);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const docs = parseAllDocuments(r.stdout, { version: '1.1' }).map((d) => d.toJS() as Record<string, any>);
    expect(docs.map((d) => `${d.kind}/${d.metadata.name}`)).toEqual([
      'WasmPlugin/egress-mistral',
      'EnvoyFilter/egress-mistral-hold',
      'ServiceEntry/egress-mistral-api-mistral-ai',
      'DestinationRule/egress-mistral-api-mistral-ai',
      'ServiceEntry/egress-mistral-moderation-llm-example-internal',
      'DestinationRule/egress-mistral-moderation-llm-example-internal',
      'WasmPlugin/openai-chat',
      'EnvoyFilter/openai-chat-hold',
      'ServiceEntry/openai-chat-api-openai-com',
      'DestinationRule/openai-chat-api-openai-com',
      'ServiceEntry/openai-chat-llama-guard-llm-example-internal',
      'DestinationRule/openai-chat-llama-guard-llm-example-internal',
      'WasmPlugin/research-agent',
      'EnvoyFilter/research-agent-hold',
      'ServiceEntry/research-agent-api-anthropic-com',
      'DestinationRule/research-agent-api-anthropic-com',
      'ServiceEntry/research-agent-generativelanguage-googleapis-com',
      'DestinationRule/research-agent-generativelanguage-googleapis-com',
    ]);
    // The same objects renderPolicy makes for the defaulted policy (what the operator sees in-cluster).
    const openai = validatePolicy(parse(readFileSync(resolve(REPO, S('openai-policy.yaml')), 'utf8')), { defaultNamespace: 'default' });
    const secrets = new Map([
      ['openai-keys/primary', 'sk-FAKE-openai-primary-0000000000000000'],
      ['openai-keys/secondary', 'sk-FAKE-openai-secondary-000000000000000'],
      ['guard-key/token', 'FAKE-guard-token-00000000'],
    ]);
    expect(docs.slice(6, 12)).toEqual(renderPolicy(openai.policy as unknown as LlmGuardPolicy, secrets));
    expect(docs[12]!.spec.pluginConfig.providers[1].api_keys).toEqual(['FAKE-gemini-key-00000000']); // from base64 data
  });

  it('is byte-stable: same bytes across runs, file orders and key orders', () => {
    const first = llmguard(['render', '-f', SAMPLES]).stdout;
    expect(llmguard(['render', '-f', SAMPLES]).stdout).toBe(first);
    const files = ['secrets.yaml', 'openai-policy.yaml', 'gateway-policy.yaml', 'anthropic-gemini-policy.yaml'];
    expect(llmguard(['render', ...files.flatMap((f) => ['-f', S(f)])]).stdout).toBe(first);
    // Every map of every document with its keys reversed, all in one file, documents reversed.
    const reverse = (v: unknown): unknown =>
      Array.isArray(v) ? v.map(reverse) : v && typeof v === 'object' ? Object.fromEntries(Object.entries(v).reverse().map(([k, x]) => [k, reverse(x)])) : v;
    const docs = files.flatMap((f) => parseAllDocuments(readFileSync(resolve(REPO, S(f)), 'utf8')).map((d) => JSON.stringify(reverse(d.toJS()))));
    const shuffled = temp('shuffled.yaml', docs.reverse().join('\n---\n'));
    expect(llmguard(['render', '-f', shuffled]).stdout).toBe(first);
  });

  it('reads stdin with -f -', () => {
    const text = ['openai-policy.yaml', 'secrets.yaml'].map((f) => readFileSync(resolve(REPO, S(f)), 'utf8')).join('\n---\n');
    const r = llmguard(['render', '-f', '-'], text);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('name: openai-chat-hold');
  });

  it('refuses to render without Secret values (exit 1), naming each one; prints nothing', () => {
    const r = llmguard(['render', '-f', S('openai-policy.yaml')]);
    expect(r.status).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('default/openai-chat: missing Secret values: openai-keys/primary, openai-keys/secondary, guard-key/token');
  });

  it('takes values from --secret and from --secrets files, by namespace', () => {
    const r = llmguard([
      'render', '-f', S('openai-policy.yaml'), '-n', 'team-a',
      '--secret', 'team-a/openai-keys/primary=sk-one',
      '--secret', 'other/openai-keys/secondary=sk-wrong-namespace',
      '--secret', 'openai-keys/secondary=sk-two',
      '--secrets', S('secrets.yaml'),
    ]);
    expect(r.stderr).toBe('');
    const wasm = parseAllDocuments(r.stdout)[0]!.toJS() as Record<string, any>;
    expect(wasm.metadata.namespace).toBe('team-a');
    // Flags override Secret documents (which, without a namespace, land in -n's); a flag for another
    // namespace is not seen.
    expect(wasm.spec.pluginConfig.providers[0].api_keys).toEqual(['sk-one', 'sk-two']);
    expect(wasm.spec.pluginConfig.intelligent_guard.api_key).toBe('FAKE-guard-token-00000000');
  });

  it('--placeholder-secrets renders ${SECRET:name/key} for references without a value, and the filter accepts it', async () => {
    const r = llmguard(['render', '-f', S('openai-policy.yaml'), '--placeholder-secrets', '--secret', 'openai-keys/primary=sk-given']);
    expect(r.status).toBe(0);
    expect(r.stderr).toContain('rendered 2 Secret reference(s) as ${SECRET:name/key} placeholders: default/openai-keys/secondary, default/guard-key/token');
    const wasm = parseAllDocuments(r.stdout)[0]!.toJS() as Record<string, any>;
    expect(wasm.spec.pluginConfig.providers[0].api_keys).toEqual(['sk-given', '${SECRET:openai-keys/secondary}']);
    expect(wasm.spec.pluginConfig.intelligent_guard.api_key).toBe('${SECRET:guard-key/token}');
    expect((await checkPluginConfig(wasm.spec.pluginConfig)).ok).toBe(true);
  });

  it('refuses an invalid policy with the CRD’s messages (exit 1)', () => {
    const path = temp('both.yaml', POLICY(['x']).replace('  plugin:', '  targetRefs: [{ group: gateway.networking.k8s.io, kind: Gateway, name: gw }]\n  plugin:'));
    const r = llmguard(['render', '-f', path, '--secret', 'openai/key=k']);
    expect(r.status).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('error: team-a/ci-check');
    expect(r.stderr).toContain('spec: Invalid value: exactly one of selector or targetRefs must be set');
  });

  it('bad YAML and files without policies exit 1; other kinds are skipped with a warning', () => {
    const bad = llmguard(['render', '-f', temp('bad.yaml', 'kind: [unclosed\n')]);
    expect(bad.status).toBe(1);
    expect(bad.stderr).toContain('not valid YAML');
    const none = llmguard(['render', '-f', S('secrets.yaml')]);
    expect(none.status).toBe(1);
    expect(none.stderr).toContain('no LlmGuardPolicy (llmguard.io/v1alpha1)');
    const cm = temp('cm.yaml', `${POLICY(['x'])}---\napiVersion: v1\nkind: ConfigMap\nmetadata: { name: cfg }\n`);
    const r = llmguard(['render', '-f', cm, '--secret', 'openai/key=k']);
    expect(r.status).toBe(0);
    expect(r.stderr).toContain('warning: skipping ConfigMap cfg');
  });
});

describe('llmguard validate', () => {
  it('accepts the samples (exit 0), against the CRD and the real filter', () => {
    const r = llmguard(['validate', '-f', SAMPLES]);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('ok      default/openai-chat (manifests/samples/openai-policy.yaml#1)');
    expect(r.stdout).toContain('3 policies checked (CRD schema and filter): 3 valid, 0 invalid');
  });

  it('refuses a pattern the filter would refuse, with the filter’s exact message (exit 1)', () => {
    const path = temp('lookahead.yaml', POLICY(['(?i)ignore previous instructions', 'password', 'secret(?=key)']));
    const r = llmguard(['validate', '-f', path]);
    expect(r.status).toBe(1);
    expect(r.stdout).toContain(`INVALID team-a/ci-check (${path}#1)`);
    expect(r.stdout).toContain(
      '  filter refused the config: deny_patterns[2]: lookahead (?=...) is not supported (RE2 syntax has no lookaround) (at offset 6) (spec.denyPatterns[2])',
    );
    expect(r.stdout).toContain('1 policy checked (CRD schema and filter): 0 valid, 1 invalid');
    // Without the filter the CRD alone accepts it.
    expect(llmguard(['validate', '-f', path, '--skip-filter-check']).status).toBe(0);
  });

  it('refuses what the CRD refuses, every problem listed (exit 1)', () => {
    const path = temp('crd.yaml', POLICY(['x']).replace('host: api.openai.com', 'host: "*.openai.com"\n      port: 0'));
    const r = llmguard(['validate', '-f', path]);
    expect(r.status).toBe(1);
    expect(r.stdout).toContain(`spec.providers[0].host: Invalid value: "*.openai.com": spec.providers[0].host in body should match`);
    expect(r.stdout).toContain('spec.providers[0].port: Invalid value: 0: spec.providers[0].port in body should be greater than or equal to 1');
  });

  it('checks given Secret values too (a key with a trailing newline)', () => {
    const path = temp('newline.yaml', POLICY(['x']));
    const secret = temp('secret.yaml', 'apiVersion: v1\nkind: Secret\nmetadata: { name: openai, namespace: team-a }\ndata: { key: c2stcmVhbAo= }\n');
    const r = llmguard(['validate', '-f', path, '--secrets', secret]);
    expect(r.status).toBe(1);
    expect(r.stdout).toContain('filter refused the config: providers[0].api_key: contains characters not allowed in an HTTP header');
  });

  it('warns (exit 0) about a policy that only injects keys', () => {
    const path = temp('keys-only.yaml', POLICY([]).replace('  denyPatterns: []\n', ''));
    const r = llmguard(['validate', '-f', path]);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('warning: no denyPatterns, allowPatterns or intelligentGuard: the policy only injects keys');
  });

  it('finds a policy defined twice', () => {
    const r = llmguard(['validate', '-f', S('openai-policy.yaml'), '-f', S('openai-policy.yaml')]);
    expect(r.status).toBe(1);
    expect(r.stdout).toContain('metadata.name: Duplicate value: default/openai-chat is also defined in manifests/samples/openai-policy.yaml#1');
  });

  it('-o json for CI tools', () => {
    const path = temp('json.yaml', POLICY(['a(?!b)']));
    const r = llmguard(['validate', '-f', path, '-f', S('openai-policy.yaml'), '-o', 'json']);
    expect(r.status).toBe(1);
    const report = JSON.parse(r.stdout) as { valid: boolean; policies: { policy: string; valid: boolean; issues: { source: string; path: string }[] }[] };
    expect(report.valid).toBe(false);
    expect(report.policies.map((p) => [p.policy, p.valid])).toEqual([
      ['team-a/ci-check', false],
      ['default/openai-chat', true],
    ]);
    expect(report.policies[0]!.issues).toMatchObject([{ source: 'filter', path: 'deny_patterns[0]' }]);
  });

  it('exits 3 when the filter module cannot be loaded', () => {
    const r = llmguard(['validate', '-f', SAMPLES, '--wasm', join(tmp, 'missing.wasm')]);
    expect(r.status).toBe(3);
    expect(r.stderr).toContain('filter module not found');
  });
});
