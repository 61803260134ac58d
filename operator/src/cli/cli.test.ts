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
import { hostObjectName } from '../render/names.js';

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
      [['run', '--workers', '0'], '--workers must be a whole number from 1 to 64, not "0"'],
      [['run', '--workers', 'many'], '--workers must be a whole number from 1 to 64, not "many"'],
      [['run', '--retire-after', 'soon'], '--retire-after must be a whole number of seconds from 0 to 3600, not "soon"'],
      [['run', '--retire-after', '1.5'], '--retire-after must be a whole number of seconds from 0 to 3600, not "1.5"'],
    ];
    for (const [args, message] of cases) {
      const r = llmguard(args);
      expect(r.status, args.join(' ')).toBe(2);
      expect(r.stderr, args.join(' ')).toContain(message);
    }
  });

  it('run does not start without the filter module that checks every policy', () => {
    const kubeconfig = temp(
      'unreachable.kubeconfig',
      'apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: "https://127.0.0.1:1"}}]\nusers: [{name: u, user: {token: t}}]\ncontexts: [{name: x, context: {cluster: c, user: u}}]\ncurrent-context: x\n',
    );
    const r = llmguard(['run', '--kubeconfig', kubeconfig, '--wasm', join(tmp, 'missing.wasm'), '--metrics-port', '1', '--health-port', '1']);
    expect(r.status).toBe(3);
    expect(r.stderr).toContain(`filter module not found (build it with`);
    expect(r.stderr).toContain(join(tmp, 'missing.wasm'));
    expect(r.stderr).not.toContain('--skip-filter-check');
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
      `ServiceEntry/${hostObjectName('egress-mistral', 'api.mistral.ai')}`,
      `DestinationRule/${hostObjectName('egress-mistral', 'api.mistral.ai')}`,
      `ServiceEntry/${hostObjectName('egress-mistral', 'moderation.llm.example.internal')}`,
      `DestinationRule/${hostObjectName('egress-mistral', 'moderation.llm.example.internal')}`,
      'WasmPlugin/openai-chat',
      'EnvoyFilter/openai-chat-hold',
      `ServiceEntry/${hostObjectName('openai-chat', 'api.openai.com')}`,
      `DestinationRule/${hostObjectName('openai-chat', 'api.openai.com')}`,
      `ServiceEntry/${hostObjectName('openai-chat', 'llama-guard.llm.example.internal')}`,
      `DestinationRule/${hostObjectName('openai-chat', 'llama-guard.llm.example.internal')}`,
      'WasmPlugin/research-agent',
      'EnvoyFilter/research-agent-hold',
      `ServiceEntry/${hostObjectName('research-agent', 'api.anthropic.com')}`,
      `DestinationRule/${hostObjectName('research-agent', 'api.anthropic.com')}`,
      `ServiceEntry/${hostObjectName('research-agent', 'generativelanguage.googleapis.com')}`,
      `DestinationRule/${hostObjectName('research-agent', 'generativelanguage.googleapis.com')}`,
    ]);
    // The same objects renderPolicy makes for the defaulted policy (what the operator sees in-cluster).
    const openai = validatePolicy(parse(readFileSync(resolve(REPO, S('openai-policy.yaml')), 'utf8')), { defaultNamespace: 'default' });
    expect(docs.slice(6, 12)).toEqual(renderPolicy(openai.policy as unknown as LlmGuardPolicy));
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

  it('needs no Secret: the output holds no key, only where the filter fetches them', () => {
    const alone = llmguard(['render', '-f', S('openai-policy.yaml')]);
    expect(alone.status).toBe(0);
    expect(alone.stderr).toBe('');
    const wasm = parseAllDocuments(alone.stdout)[0]!.toJS() as Record<string, any>;
    expect(wasm.spec.pluginConfig.key_service).toEqual({ host: 'llmguard-keys.llmguard-system.svc.cluster.local', port: 15443, path: '/v1/keys/default/openai-chat' });
    expect(alone.stdout).not.toMatch(/api_key/);
    // Secret documents among the inputs change nothing, and none of their values appear.
    const withSecrets = llmguard(['render', '-f', S('openai-policy.yaml'), '-f', S('secrets.yaml')]);
    expect(withSecrets.stdout).toBe(alone.stdout);
    expect(llmguard(['render', '-f', SAMPLES]).stdout).not.toMatch(/FAKE/);
  });

  it('--key-service names another location; Secret flags are accepted, ignored, and said to be', () => {
    const r = llmguard(['render', '-f', S('openai-policy.yaml'), '--key-service', 'keys.platform.svc.cluster.local:8443', '--placeholder-secrets', '--secret', 'openai-keys/primary=sk-given']);
    expect(r.status).toBe(0);
    expect(r.stderr).toBe('note: render needs no Secret values and ignores them: the output holds no key (docs/key-custody.md)\n');
    const wasm = parseAllDocuments(r.stdout)[0]!.toJS() as Record<string, any>;
    expect(wasm.spec.pluginConfig.key_service).toEqual({ host: 'keys.platform.svc.cluster.local', port: 8443, path: '/v1/keys/default/openai-chat' });
    expect(r.stdout).not.toContain('sk-given');
    expect(llmguard(['render', '-f', S('openai-policy.yaml'), '--key-service', 'keys:0']).status).toBe(2);
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
    expect(r.stdout).toContain('3 documents checked (CRD schema and filter): 3 valid, 0 invalid');
  });

  it('refuses a pattern the filter would refuse, with the filter’s exact message (exit 1)', () => {
    const path = temp('lookahead.yaml', POLICY(['(?i)ignore previous instructions', 'password', 'secret(?=key)']));
    const r = llmguard(['validate', '-f', path]);
    expect(r.status).toBe(1);
    expect(r.stdout).toContain(`INVALID team-a/ci-check (${path}#1)`);
    expect(r.stdout).toContain(
      '  filter refused the config: deny_patterns[2]: lookahead (?=...) is not supported (RE2 syntax has no lookaround) (at offset 6) (spec.denyPatterns[2])',
    );
    expect(r.stdout).toContain('1 document checked (CRD schema and filter): 0 valid, 1 invalid');
    // Without the filter the CRD alone accepts it.
    expect(llmguard(['validate', '-f', path, '--skip-filter-check']).status).toBe(0);
  });

  it('refuses what the CRD refuses, every problem listed (exit 1)', () => {
    const path = temp('crd.yaml', POLICY(['x']).replace('host: api.openai.com', 'host: "*.openai.com"\n      port: 0'));
    const r = llmguard(['validate', '-f', path]);
    expect(r.status).toBe(1);
    expect(r.stdout).toContain(`spec.providers[0].host: Invalid value: "*.openai.com": must be a DNS name: labels of lower-case letters, digits and '-'`);
    expect(r.stdout).toContain('spec.providers[0].port: Invalid value: 0: spec.providers[0].port in body should be greater than or equal to 1');
  });

  it('checks given Secret values as the key service would serve them (a key with a line break inside)', () => {
    const path = temp('newline.yaml', POLICY(['x']));
    const value = Buffer.from('sk-real\nx-evil: 1').toString('base64');
    const secret = temp('secret.yaml', `apiVersion: v1\nkind: Secret\nmetadata: { name: openai, namespace: team-a }\ndata: { key: ${value} }\n`);
    const r = llmguard(['validate', '-f', path, '--secrets', secret]);
    expect(r.status).toBe(1);
    expect(r.stdout).toContain('  key "key" of Secret "openai" has characters an HTTP header can\'t carry');
  });

  it('checks a WasmPlugin written by hand with the filter, and warns about each key it holds inline', () => {
    const wasmPlugin = (patterns: string[]) =>
      `apiVersion: extensions.istio.io/v1alpha1\nkind: WasmPlugin\nmetadata: { name: asm, namespace: team-a }\nspec:\n  url: oci://registry.example/llm-guard:1\n` +
      `  vmConfig: { env: [{ name: OPENAI_KEY, value: sk-inline-env }] }\n` +
      `  pluginConfig:\n    hosts: [api.openai.com]\n    api_key: sk-inline\n    api_key_env: OPENAI_KEY\n    deny_patterns: ${JSON.stringify(patterns)}\n`;
    const ok = llmguard(['validate', '-f', temp('asm.yaml', wasmPlugin(['password']))]);
    expect(ok.status).toBe(0);
    expect(ok.stdout).toContain('ok      WasmPlugin team-a/asm');
    expect(ok.stdout).toContain('  warning: pluginConfig.api_key holds a key inline: anyone who can read the WasmPlugin');
    expect(ok.stdout).toContain('  warning: vmConfig.env[0] (OPENAI_KEY) holds a key inline');
    const bad = llmguard(['validate', '-f', temp('asm-bad.yaml', wasmPlugin(['(?=x)']))]);
    expect(bad.status).toBe(1);
    expect(bad.stdout).toContain('filter refused the config: deny_patterns[0]: lookahead');
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
