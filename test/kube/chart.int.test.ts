// The Helm chart against a real kube-apiserver: what `helm template` renders, with default values
// and with every value changed, passes `kubectl apply --dry-run=server` (Istio's CRDs and the
// chart's own installed first); and `helm install` creates it all into a namespace made
// beforehand, and `helm uninstall` removes it all but the CRD.
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { installIstioCrds, kubectl, startControlPlane, type ControlPlane } from './control_plane.js';
import { MANIFESTS_NAMESPACE, chartWorkDir, generateChart, helm, helmTemplate, parseObjects, templateArgs, type K8sObject, type TemplateOptions } from './chart_env.js';

vi.setConfig({ testTimeout: 300_000, hookTimeout: 300_000 });

const CRD = 'crd/llmguardpolicies.llmguard.io';
const RELEASE_NS = 'guard';
const WATCHED_NS = 'team-a';

let cp: ControlPlane;
let dir: string;
let chart: string;

beforeAll(async () => {
  dir = chartWorkDir();
  chart = generateChart(dir);
  cp = await startControlPlane();
  await installIstioCrds(cp);
  await kubectl(cp, ['apply', '--server-side', '--field-manager=kube-test', '-f', join(chart, 'crds')]);
  await kubectl(cp, ['wait', '--for=condition=Established', '--timeout=120s', CRD]);
  // Namespaced objects can only be dry-run into namespaces that exist.
  for (const ns of [MANIFESTS_NAMESPACE, RELEASE_NS, WATCHED_NS]) await kubectl(cp, ['create', 'namespace', ns]);
});

afterAll(async () => {
  await cp?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** One `(server dry run)` line per rendered object, each naming it. */
async function expectServerDryRun(o: TemplateOptions): Promise<void> {
  const rendered = (await helm(dir, templateArgs(chart, o))).stdout;
  const objects = parseObjects(rendered);
  const r = await kubectl(cp, ['apply', '--dry-run=server', '-f', '-'], { input: rendered });
  const lines = r.stdout.trim().split('\n');
  expect(lines).toHaveLength(objects.length);
  for (const line of lines) expect(line).toMatch(/ \(server dry run\)$/);
  for (const obj of objects) expect(r.stdout).toContain(`/${obj.metadata.name} `);
}

describe('kubectl apply --dry-run=server of helm template', () => {
  it('accepts the default values, CRD included', async () => {
    await expectServerDryRun({ includeCrds: true });
  });

  it('accepts every value changed: release namespace, watched namespace, no leader election, a digest, resources', async () => {
    await expectServerDryRun({
      namespace: RELEASE_NS,
      set: [
        `operator.watchNamespace=${WATCHED_NS}`,
        'operator.leaderElection.enabled=false',
        'image.repository=registry.example.com/platform/llmguard',
        `image.digest=sha256:${'0'.repeat(64)}`,
        'image.pullPolicy=Always',
        'operator.resources.limits.cpu=1',
        'keyService.resources.requests.memory=100Mi',
      ],
    });
  });
});

describe('helm install and uninstall', () => {
  it('installs every templated object into the release namespace, and uninstalls all but the CRD', async () => {
    const objects = await helmTemplate(dir, chart, { namespace: RELEASE_NS });
    expect(objects.filter((o) => o.metadata.namespace !== undefined && o.metadata.namespace !== RELEASE_NS)).toEqual([]);
    const expected = ['--namespace', RELEASE_NS, ...objects.map(ref)];
    const kube = ['--kubeconfig', cp.kubeconfigPath, '--namespace', RELEASE_NS];
    await helm(dir, ['install', 'llmguard', chart, ...kube]);
    const got = await kubectl(cp, ['get', ...expected, '-o', 'name'], { allowFailure: true });
    expect(got.stderr).toBe('');
    expect(got.stdout.trim().split('\n')).toHaveLength(objects.length);
    expect((await helm(dir, ['status', 'llmguard', ...kube])).stdout).toMatch(/^STATUS: deployed$/m);

    await helm(dir, ['uninstall', 'llmguard', ...kube, '--wait']);
    const gone = await kubectl(cp, ['get', ...expected, '-o', 'name', '--ignore-not-found'], { allowFailure: true });
    expect(gone.stdout.trim()).toBe('');
    await kubectl(cp, ['get', CRD]);
  });
});

/** `kind.group/name`, as kubectl get takes it. */
function ref(o: K8sObject): string {
  const group = o.apiVersion.includes('/') ? `.${o.apiVersion.split('/')[0]}` : '';
  return `${o.kind.toLowerCase()}${group}/${o.metadata.name}`;
}
