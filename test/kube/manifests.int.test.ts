// Every manifest we ship, and what `llmguard render` prints for the samples, is accepted by a real
// kube-apiserver (`kubectl apply --dry-run=server`), with Istio's CRDs and ours installed; and the
// apiserver refuses each invalid policy of validate/testdata with the lines `llmguard validate`
// (its TypeScript twin of the CRD) prints.
import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { installIstioCrds, kubectl, REPO_ROOT, startControlPlane, type ControlPlane } from './control_plane.js';
import { installCrd } from './operator_env.js';
import { SCHEMA_CASES, fullPolicy } from '../../operator/src/validate/testdata/invalid_policies.js';
import { validatePolicy } from '../../operator/src/validate/policy.js';

vi.setConfig({ testTimeout: 300_000, hookTimeout: 300_000 });

const MANIFESTS = join(REPO_ROOT, 'manifests');
const SAMPLES = join(MANIFESTS, 'samples');
const CLI_OUT = join(REPO_ROOT, 'build', 'llmguard-manifests-test');
const SAMPLE_NS = 'apps';

let cp: ControlPlane;
let cli: string;

beforeAll(async () => {
  // The CLI as users run it, compiled into a private folder so parallel builds don't race.
  execFileSync(process.execPath, [join(REPO_ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'operator/tsconfig.json', '--outDir', CLI_OUT], { cwd: REPO_ROOT, stdio: 'pipe' });
  cli = join(CLI_OUT, 'cli', 'main.js');
  cp = await startControlPlane();
  await installIstioCrds(cp);
  await installCrd(cp);
  // Namespaced objects can only be dry-run into namespaces that exist.
  await kubectl(cp, ['apply', '-f', join(MANIFESTS, 'deployment', 'namespace.yaml')]);
  await kubectl(cp, ['create', 'namespace', SAMPLE_NS]);
});

afterAll(async () => {
  await cp?.stop();
});

function dryRun(args: string[], input?: string) {
  return kubectl(cp, ['apply', '--dry-run=server', ...args], { input });
}

describe('kubectl apply --dry-run=server', () => {
  it('accepts the whole kustomization (CRD, RBAC, the operator and the key service)', async () => {
    const r = await dryRun(['-k', MANIFESTS]);
    expect(r.stdout).toMatch(/customresourcedefinition.apiextensions.k8s.io\/llmguardpolicies.llmguard.io .*\(server dry run\)/);
    expect(r.stdout).toMatch(/clusterrole.rbac.authorization.k8s.io\/llmguard-operator .*\(server dry run\)/);
    expect(r.stdout).toMatch(/deployment.apps\/llmguard-operator .*\(server dry run\)/);
    expect(r.stdout).toMatch(/deployment.apps\/llmguard-keys .*\(server dry run\)/);
    expect(r.stdout).toMatch(/service\/llmguard-keys .*\(server dry run\)/);
    expect(r.stdout).toMatch(/destinationrule.networking.istio.io\/llmguard-keys .*\(server dry run\)/);
  });

  const sampleFiles = readdirSync(SAMPLES).filter((f) => f.endsWith('.yaml')).sort();
  it.each(sampleFiles)('accepts samples/%s', async (file) => {
    const r = await dryRun(['-n', SAMPLE_NS, '-f', join(SAMPLES, file)]);
    expect(r.stdout).toContain('(server dry run)');
  });

  const policies = sampleFiles.filter((f) => f !== 'secrets.yaml');
  it.each(policies)('accepts what `llmguard render` prints for samples/%s', async (file) => {
    const rendered = execFileSync(process.execPath, [cli, 'render', '-n', SAMPLE_NS, '-f', join(SAMPLES, file)], { encoding: 'utf8' });
    expect(rendered).toContain('kind: WasmPlugin');
    const r = await dryRun(['-f', '-'], rendered);
    const lines = r.stdout.trim().split('\n');
    expect(lines.length).toBeGreaterThanOrEqual(3);
    for (const line of lines) expect(line).toContain('(server dry run)');
    expect(r.stdout).toMatch(/wasmplugin.extensions.istio.io\/\S+ created \(server dry run\)/);
    expect(r.stdout).toMatch(/serviceentry.networking.istio.io\/\S+ created \(server dry run\)/);
    expect(r.stdout).toMatch(/destinationrule.networking.istio.io\/\S+ created \(server dry run\)/);
    expect(r.stdout).toMatch(/envoyfilter.networking.istio.io\/\S+ created \(server dry run\)/);
  });
});

describe('the apiserver and validatePolicy agree', () => {
  it.each(SCHEMA_CASES.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
    const p = fullPolicy();
    c.change(p);
    const r = await kubectl(cp, ['create', '--dry-run=server', '-n', SAMPLE_NS, '-o', 'name', '-f', '-'], { input: JSON.stringify(p), allowFailure: true });
    const ours = validatePolicy(p, { defaultNamespace: SAMPLE_NS }).issues.map((i) => i.message);
    expect(ours.sort()).toEqual([...c.expect].sort());
    if (c.expect.length === 0) {
      expect(r.code, r.stderr).toBe(0);
      return;
    }
    expect(r.code).not.toBe(0);
    for (const line of c.expect) expect(r.stderr, `the apiserver's answer lacks: ${line}`).toContain(line);
  });
});
