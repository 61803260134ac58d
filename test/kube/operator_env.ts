// Shared setup for the operator's integration tests: a real etcd + kube-apiserver (test/kube),
// Istio's CRDs and ours installed, a kube client for assertions, and polling helpers.
import { execFileSync } from 'node:child_process';
import { appendFileSync, existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { installIstioCrds, kubectl, REPO_ROOT, startControlPlane, type ControlPlane, type ControlPlaneOptions } from './control_plane.js';
import { KubeClient } from '../../operator/src/kube/client.js';
import { loadKubeConfig } from '../../operator/src/kube/config.js';
import { ObjectApi, type KubeObject } from '../../operator/src/kube/objects.js';
import { EVENT, OWNED_TYPES, SECRET } from '../../operator/src/kube/resources.js';
import { startController, type ControllerHandle, type ControllerOptions } from '../../operator/src/controller/index.js';

/** The project's CRD, with its schema and CEL rules. */
export const CRD_FILE = join(REPO_ROOT, 'manifests', 'crd', 'llmguard.io_llmguardpolicies.yaml');
/** The compiled filter (the `fast` project's global setup builds it), for the controller's --wasm check. */
export const WASM_FILE = join(REPO_ROOT, 'build', 'llm_guard.wasm');

/** WASM_FILE, built with the project's command (`asc plugin/index.ts --target release`) if missing. */
export function ensureWasm(): string {
  if (!existsSync(WASM_FILE)) {
    const asc = join(REPO_ROOT, 'node_modules', 'assemblyscript', 'bin', 'asc.js');
    execFileSync(process.execPath, [asc, 'plugin/index.ts', '--target', 'release'], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  }
  return WASM_FILE;
}

export interface KubeEnv {
  cp: ControlPlane;
  api: ObjectApi;
  /** Log lines of every controller started through startTestController, for post-mortems. */
  logs: string[];
  startTestController(overrides?: Partial<ControllerOptions>): ControllerHandle;
  stop(): Promise<void>;
}

export async function installCrd(cp: ControlPlane): Promise<void> {
  await kubectl(cp, ['apply', '--server-side', '--field-manager=kube-test', '-f', CRD_FILE]);
  await kubectl(cp, ['wait', '--for=condition=Established', '--timeout=120s', 'crd/llmguardpolicies.llmguard.io']);
}

export async function setupKube(namespaces: string[], opts: { installCrd?: boolean; controlPlane?: ControlPlaneOptions } = {}): Promise<KubeEnv> {
  const cp = await startControlPlane(opts.controlPlane);
  const started: ControllerHandle[] = [];
  const logs: string[] = [];
  try {
    await installIstioCrds(cp);
    if (opts.installCrd ?? true) await installCrd(cp);
    for (const ns of namespaces) await kubectl(cp, ['create', 'namespace', ns]);
  } catch (err) {
    await cp.stop();
    throw err;
  }
  const api = new ObjectApi(new KubeClient(loadKubeConfig(cp.kubeconfigPath)));
  return {
    cp,
    api,
    logs,
    startTestController(overrides = {}) {
      const h = startController({
        kubeconfig: cp.kubeconfigPath,
        leaderElect: false,
        metricsPort: 0,
        healthPort: 0,
        workers: 2,
        resyncPeriodMs: 0,
        queueBaseDelayMs: 200,
        queueMaxDelayMs: 5_000,
        informerBaseDelayMs: 200,
        informerMaxDelayMs: 2_000,
        // Unwanted routes are kept this long (make before break); short so pruning tests end soon.
        retireAfterMs: 1_000,
        logLevel: 'debug',
        logSink: (line) => void logs.push(line),
        ...overrides,
      });
      started.push(h);
      return h;
    },
    async stop() {
      await Promise.all(started.map((h) => h.stop()));
      await cp.stop();
      // OPERATOR_TEST_LOG=<file>: keep the controllers' JSON logs for a post-mortem.
      if (process.env.OPERATOR_TEST_LOG) appendFileSync(process.env.OPERATOR_TEST_LOG, logs.join(''));
    },
  };
}

/** The operator's RBAC as a cluster gets it (manifests/deployment/namespace.yaml and manifests/rbac). */
export async function installOperatorRbac(cp: ControlPlane): Promise<void> {
  for (const f of ['deployment/namespace.yaml', 'rbac/service_account.yaml', 'rbac/cluster_role.yaml', 'rbac/cluster_role_binding.yaml', 'rbac/leader_election.yaml']) {
    await kubectl(cp, ['apply', '-f', join(REPO_ROOT, 'manifests', f)]);
  }
}

/** A kubeconfig (written into the control plane's temp folder) that acts as a ServiceAccount, with a fresh token. */
export async function serviceAccountKubeconfig(cp: ControlPlane, namespace: string, serviceAccount: string): Promise<string> {
  const token = (await kubectl(cp, ['create', 'token', serviceAccount, '-n', namespace, '--duration=2h'])).stdout.trim();
  const path = join(cp.tmpDir, `${namespace}.${serviceAccount}.kubeconfig`);
  await writeFile(
    path,
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'kube-test', cluster: { server: cp.server, 'certificate-authority-data': Buffer.from(cp.caPem).toString('base64') } }],
      users: [{ name: serviceAccount, user: { token } }],
      contexts: [{ name: serviceAccount, context: { cluster: 'kube-test', user: serviceAccount } }],
      'current-context': serviceAccount,
    }),
    { mode: 0o600 },
  );
  return path;
}

/** Polls `fn` until it returns a value other than undefined/false (or stops throwing). */
export async function eventually<T>(what: string, fn: () => Promise<T | undefined | false>, timeoutMs = 30_000, intervalMs = 150): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined && v !== false) return v as T;
      last = undefined;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${last instanceof Error ? last.message : String(last)}` : ''}`);
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** A policy for app=chat pods calling api.openai.com with the key in Secret openai/api-key; `spec` fields replace the defaults. */
export function chatPolicy(namespace: string, name: string, spec: Record<string, unknown> = {}): KubeObject {
  return {
    apiVersion: 'llmguard.io/v1alpha1',
    kind: 'LlmGuardPolicy',
    metadata: { name, namespace },
    spec: {
      selector: { matchLabels: { app: 'chat' } },
      providers: [{ host: 'api.openai.com', apiKeys: [{ secretKeyRef: { name: 'openai', key: 'api-key' } }] }],
      plugin: { url: 'oci://ghcr.io/example/llm-guard:0.1.0' },
      ...spec,
    },
  };
}

export function secret(namespace: string, name: string, data: Record<string, string>): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name, namespace },
    type: 'Opaque',
    data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v).toString('base64')])),
  };
}

export async function putSecret(api: ObjectApi, namespace: string, name: string, data: Record<string, string>): Promise<void> {
  await api.apply(secret(namespace, name, data), 'kube-test', true);
}

export async function deleteSecret(api: ObjectApi, namespace: string, name: string): Promise<void> {
  await api.delete(SECRET, namespace, name);
}

/** Every object the operator owns in `namespace` (by its managed-by label), as kind/name -> object. */
export async function ownedObjects(api: ObjectApi, namespace: string, policy?: string): Promise<Map<string, KubeObject>> {
  const selector = `app.kubernetes.io/managed-by=llmguard-operator${policy ? `,llmguard.io/policy=${policy}` : ''}`;
  const out = new Map<string, KubeObject>();
  for (const rt of OWNED_TYPES) {
    const list = await api.list<KubeObject>(rt, namespace, { labelSelector: selector });
    for (const o of list.items) out.set(`${rt.kind}/${o.metadata?.name}`, o);
  }
  return out;
}

/** Events about an object, newest last. */
export async function eventsFor(api: ObjectApi, namespace: string, name: string): Promise<KubeObject[]> {
  const list = await api.list<KubeObject>(EVENT, namespace, { fieldSelector: `involvedObject.name=${name}` });
  return list.items;
}

export interface Condition {
  type: string;
  status: string;
  reason: string;
  message: string;
  lastTransitionTime: string;
  observedGeneration?: number;
}

export function conditionOf(obj: KubeObject | undefined, type: string): Condition | undefined {
  const status = obj?.status as { conditions?: Condition[] } | undefined;
  return status?.conditions?.find((c) => c.type === type);
}

/** Fetch a metrics endpoint's text. */
export async function scrape(port: number | undefined, path = '/metrics'): Promise<{ status: number; body: string }> {
  const res = await fetch(`http://127.0.0.1:${port}${path}`);
  return { status: res.status, body: await res.text() };
}
