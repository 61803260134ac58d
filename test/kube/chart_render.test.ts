// The Helm chart (tools/chart) against manifests/, with no cluster: with default values `helm
// template` renders exactly what `kubectl kustomize manifests/` builds (so the two can't drift),
// each value changes what it names and nothing else, and `helm lint --strict` passes.
import { cpSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { parse, stringify } from 'yaml';
import { REPO_ROOT } from './control_plane.js';
import { MANIFESTS, MANIFESTS_NAMESPACE, byKey, chartWorkDir, generateChart, helm, helmTemplate, keyOf, kustomizeObjects, templateArgs, type K8sObject, type TemplateOptions } from './chart_env.js';

vi.setConfig({ testTimeout: 120_000, hookTimeout: 120_000 });

const VERSION = (JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string }).version;
const DIGEST = `sha256:${'3f1c'.repeat(16)}`;

let dir: string;
let chart: string;
/** What the default values render (no CRD), by keyOf. */
let defaults: Record<string, K8sObject>;

beforeAll(async () => {
  dir = chartWorkDir();
  chart = generateChart(dir);
  defaults = Object.fromEntries(byKey(await helmTemplate(dir, chart)));
});

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function render(o: TemplateOptions): Promise<Record<string, K8sObject>> {
  return Object.fromEntries(byKey(await helmTemplate(dir, chart, o)));
}

/** The default render, changed by `edit`: what a render with other values must equal. */
function defaultsWith(edit: (objects: Record<string, K8sObject>) => void): Record<string, K8sObject> {
  const copy = structuredClone(defaults);
  edit(copy);
  return copy;
}

interface Container {
  image: string;
  imagePullPolicy: string;
  args?: string[];
  resources: { requests?: Record<string, string>; limits?: Record<string, string> };
}

function container(objects: Record<string, K8sObject>, deployment: string, namespace = MANIFESTS_NAMESPACE): Container {
  const d = objects[`Deployment/${namespace}/${deployment}`] as { spec: { template: { spec: { containers: Container[] } } } } | undefined;
  const c = d?.spec.template.spec.containers[0];
  if (!c) throw new Error(`no Deployment ${namespace}/${deployment} with a container`);
  return c;
}

const DEPLOYMENTS = ['llmguard-operator', 'llmguard-keys'];

describe('helm template with default values', () => {
  it('renders what kubectl kustomize manifests/ builds, less the Namespace (Helm installs into the release namespace)', async () => {
    const fromHelm = await render({ includeCrds: true });
    const fromKustomize = byKey(kustomizeObjects());
    expect(fromKustomize.delete(`Namespace//${MANIFESTS_NAMESPACE}`)).toBe(true);
    expect(fromHelm).toStrictEqual(Object.fromEntries(fromKustomize));
  });

  it("applies the kustomization's image rules (images:) as kubectl kustomize does", async () => {
    const manifests = join(dir, 'manifests');
    cpSync(MANIFESTS, manifests, { recursive: true });
    const image = container(defaults, 'llmguard-operator').image;
    const kustomization = join(manifests, 'kustomization.yaml');
    const k = parse(readFileSync(kustomization, 'utf8')) as { images?: object[] };
    const rule = { name: image.slice(0, image.lastIndexOf(':')), newName: 'registry.example.com/platform/llmguard', newTag: '9.9.9', digest: DIGEST };
    writeFileSync(kustomization, stringify({ ...k, images: [...(k.images ?? []), rule] }));
    const other = generateChart(join(dir, 'with-images'), manifests);
    const fromHelm = Object.fromEntries(byKey(await helmTemplate(dir, other, { includeCrds: true })));
    const fromKustomize = byKey(kustomizeObjects(manifests));
    fromKustomize.delete(`Namespace//${MANIFESTS_NAMESPACE}`);
    expect(fromHelm).toStrictEqual(Object.fromEntries(fromKustomize));
    for (const d of DEPLOYMENTS) expect(container(fromHelm, d).image).toBe(`registry.example.com/platform/llmguard:9.9.9@${DIGEST}`);
  });

  it('keeps the CRD out of the templates: in crds/, Helm installs it first and never deletes it', () => {
    expect(Object.keys(defaults).filter((k) => k.startsWith('CustomResourceDefinition/'))).toEqual([]);
  });

  it("takes the chart's version and appVersion from package.json", async () => {
    const shown = (await helm(dir, ['show', 'chart', chart])).stdout;
    expect(shown).toMatch(new RegExp(`^version: ${VERSION.replaceAll('.', '\\.')}$`, 'm'));
    expect(shown).toMatch(new RegExp(`^appVersion: ${VERSION.replaceAll('.', '\\.')}$`, 'm'));
  });
});

describe('helm template with values', () => {
  it('image: repository, tag and digest make both Deployments run repository:tag@digest', async () => {
    const got = await render({ set: ['image.repository=registry.example.com/platform/llmguard', 'image.tag=1.2.3', `image.digest=${DIGEST}`] });
    expect(got).toStrictEqual(
      defaultsWith((o) => {
        for (const d of DEPLOYMENTS) container(o, d).image = `registry.example.com/platform/llmguard:1.2.3@${DIGEST}`;
      }),
    );
  });

  it('image: a digest with an empty tag pins repository@digest; pullPolicy goes to both Deployments', async () => {
    const got = await render({ set: ['image.tag=', `image.digest=${DIGEST}`, 'image.pullPolicy=Always'] });
    const image = container(defaults, 'llmguard-operator').image;
    const repository = image.slice(0, image.lastIndexOf(':'));
    expect(got).toStrictEqual(
      defaultsWith((o) => {
        for (const d of DEPLOYMENTS) Object.assign(container(o, d), { image: `${repository}@${DIGEST}`, imagePullPolicy: 'Always' });
      }),
    );
  });

  it('resources: each Deployment its own, merged over the defaults as Helm merges values', async () => {
    const got = await render({ set: ['operator.resources.requests.cpu=200m', 'keyService.resources.limits.memory=512Mi'] });
    expect(got).toStrictEqual(
      defaultsWith((o) => {
        container(o, 'llmguard-operator').resources.requests!.cpu = '200m';
        container(o, 'llmguard-keys').resources.limits!.memory = '512Mi';
      }),
    );
  });

  it('leaderElection.enabled=false: no --leader-elect, and no Role or RoleBinding for the Lease', async () => {
    const got = await render({ set: ['operator.leaderElection.enabled=false'] });
    expect(got).toStrictEqual(
      defaultsWith((o) => {
        const c = container(o, 'llmguard-operator');
        expect(c.args).toContain('--leader-elect');
        c.args = c.args!.filter((a) => a !== '--leader-elect');
        for (const kind of ['Role', 'RoleBinding']) {
          expect(delete o[`${kind}/${MANIFESTS_NAMESPACE}/llmguard-operator-leader-election`]).toBe(true);
        }
      }),
    );
  });

  it('watchNamespace: --namespace, and both ClusterRoles bound by RoleBindings in that namespace only', async () => {
    const got = await render({ set: ['operator.watchNamespace=team-a'] });
    expect(got).toStrictEqual(
      defaultsWith((o) => {
        container(o, 'llmguard-operator').args!.push('--namespace', 'team-a');
        for (const name of ['llmguard-operator', 'llmguard-keys']) {
          const binding = o[`ClusterRoleBinding//${name}`]!;
          delete o[`ClusterRoleBinding//${name}`];
          const roleBinding = { ...binding, kind: 'RoleBinding', metadata: { ...binding.metadata, namespace: 'team-a' } };
          o[keyOf(roleBinding)] = roleBinding;
        }
      }),
    );
  });

  it('the release namespace: every object and reference in it, and the operator names its key service there', async () => {
    const got = await render({ namespace: 'guard' });
    const moved = JSON.parse(JSON.stringify(defaults).replaceAll(MANIFESTS_NAMESPACE, 'guard')) as Record<string, K8sObject>;
    container(moved, 'llmguard-operator', 'guard').args!.push('--key-service', 'llmguard-keys.guard.svc.cluster.local:15443');
    expect(got).toStrictEqual(moved);
    expect(got['DestinationRule/guard/llmguard-keys']).toMatchObject({ spec: { host: 'llmguard-keys.guard.svc.cluster.local' } });
  });

  it.each([
    ['a list of namespaces (the operator watches one or all)', 'operator.watchNamespace={team-a,team-b}', /watchNamespace/],
    ['a namespace that is no DNS label', 'operator.watchNamespace=Team_A', /watchNamespace/],
    ['a digest that is no sha256 digest', 'image.digest=latest', /digest/],
    ['a misspelt value', 'operator.watchNamespaces=team-a', /watchNamespaces/],
  ])('refuses %s', async (_what, set, message) => {
    const r = await helm(dir, templateArgs(chart, { set: [set] }), { allowFailure: true });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(message);
  });
});

describe('helm lint and package', () => {
  it('lints clean (--strict) with default values and with every value changed', async () => {
    await helm(dir, ['lint', '--strict', chart]);
    const set = ['operator.watchNamespace=team-a', 'operator.leaderElection.enabled=false', `image.digest=${DIGEST}`, 'image.pullPolicy=Always'];
    await helm(dir, ['lint', '--strict', chart, '--namespace', 'guard', ...set.flatMap((s) => ['--set', s])]);
  });

  it('packages into llm-egress-guard-<version>.tgz, which renders what the folder renders', async () => {
    const r = await helm(dir, ['package', chart, '--destination', dir]);
    const tgz = join(dir, `llm-egress-guard-${VERSION}.tgz`);
    expect(r.stdout).toContain(tgz);
    expect(Object.fromEntries(byKey(await helmTemplate(dir, tgz)))).toStrictEqual(defaults);
  });
});
