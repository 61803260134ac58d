// The Helm chart as its tests use it: generated from manifests/ by tools/chart/generate.mjs into a
// private folder, run through the helm that `make chart-tools` builds (tools/chart/install.sh),
// and read back as objects. A missing helm fails the tests, never skips them.
import { execFile, execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { KUBE_BIN_DIR, REPO_ROOT } from './control_plane.js';

/** Where tools/chart/install.sh puts helm (override: CHART_TOOLS_DIR, as the installer takes it). */
export const HELM = join(process.env.CHART_TOOLS_DIR ?? join(REPO_ROOT, '.tools', 'chart'), 'bin', 'helm');
export const MANIFESTS_NAMESPACE = 'llmguard-system';

export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  [field: string]: unknown;
}

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** A folder of its own for this test file: the chart, and Helm's cache and config (never $HOME's). */
export function chartWorkDir(): string {
  return mkdtempSync(join(tmpdir(), 'llmguard-chart-'));
}

export const MANIFESTS = join(REPO_ROOT, 'manifests');

/** Generates the chart from `manifests` into `dir`; returns the chart's folder. */
export function generateChart(dir: string, manifests = MANIFESTS): string {
  const chart = join(dir, 'llm-egress-guard');
  execFileSync(process.execPath, [join(REPO_ROOT, 'tools', 'chart', 'generate.mjs'), '--out', chart, '--manifests', manifests], { cwd: REPO_ROOT, stdio: 'pipe' });
  return chart;
}

/** Runs helm with its state under `dir`. Rejects on a non-zero exit unless allowFailure. */
export function helm(dir: string, args: string[], opts: { allowFailure?: boolean } = {}): Promise<Run> {
  if (!existsSync(HELM)) throw new Error(`${HELM} is missing: run \`make chart-tools\` (tools/chart/install.sh) to build helm`);
  const env = { ...process.env, HELM_CACHE_HOME: join(dir, 'helm', 'cache'), HELM_CONFIG_HOME: join(dir, 'helm', 'config'), HELM_DATA_HOME: join(dir, 'helm', 'data') };
  return new Promise((resolve, reject) => {
    execFile(HELM, args, { env, timeout: 120_000, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      if (code !== 0 && !opts.allowFailure) reject(new Error(`helm ${args.join(' ')} exited ${code}:\n${stderr || stdout}`));
      else resolve({ code, stdout, stderr });
    });
  });
}

export interface TemplateOptions {
  namespace?: string;
  /** `--set` arguments, e.g. `image.digest=sha256:...`. */
  set?: string[];
  includeCrds?: boolean;
}

/** The arguments of `helm template` for the chart in `chart`. */
export function templateArgs(chart: string, o: TemplateOptions = {}): string[] {
  return [
    'template', 'llmguard', chart,
    '--namespace', o.namespace ?? MANIFESTS_NAMESPACE,
    ...(o.includeCrds ? ['--include-crds'] : []),
    ...(o.set ?? []).flatMap((s) => ['--set', s]),
  ];
}

/** What `helm template` renders, as objects. */
export async function helmTemplate(dir: string, chart: string, o: TemplateOptions = {}): Promise<K8sObject[]> {
  return parseObjects((await helm(dir, templateArgs(chart, o))).stdout);
}

/** What `kubectl kustomize` builds of `manifests`, as objects. */
export function kustomizeObjects(manifests = MANIFESTS): K8sObject[] {
  const kubectl = join(KUBE_BIN_DIR, 'kubectl');
  if (!existsSync(kubectl)) throw new Error(`${kubectl} is missing: run \`make kube-tools\``);
  return parseObjects(execFileSync(kubectl, ['kustomize', manifests], { encoding: 'utf8' }));
}

export function parseObjects(text: string): K8sObject[] {
  return parseAllDocuments(text)
    .map((d) => {
      if (d.errors.length) throw new Error(`not YAML: ${d.errors[0]?.message}`);
      return d.toJS() as K8sObject | null;
    })
    .filter((o): o is K8sObject => o !== null);
}

/** `Kind/namespace/name`: what the apiserver tells objects apart by (within a group). */
export function keyOf(o: K8sObject): string {
  return `${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`;
}

export function byKey(objects: K8sObject[]): Map<string, K8sObject> {
  const m = new Map<string, K8sObject>();
  for (const o of objects) {
    if (m.has(keyOf(o))) throw new Error(`two objects ${keyOf(o)}`);
    m.set(keyOf(o), o);
  }
  return m;
}
