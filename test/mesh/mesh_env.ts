// The whole system on one machine, as a cluster runs it: a real kube-apiserver with etcd and
// kube-controller-manager (garbage collection), Istio's CRDs and istiod, a real OCI registry
// holding the filter's image (pushed with `llmguard image push`), the operator as a process under
// its own ServiceAccount and shipped RBAC, and, outside the mesh, HTTPS mocks of an LLM provider
// and of a guard model that trust nothing but a test CA. Sidecars and gateways are started by the
// tests (pilot-agent's ports are fixed: one at a time).
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { llamaGuard } from '../../operator/src/localmesh/guard_answers.js';
import { byConversation, startMockGuard, type MockGuard } from '../../operator/src/localmesh/mock_guard.js';
import { startMockProvider, type MockProvider } from '../../operator/src/localmesh/mock_provider.js';
import { makePki, type Pki } from '../../operator/src/localmesh/tls.js';
import { defaultWasmPath } from '../../operator/src/wasm/module_path.js';
import { REPO_ROOT, kubectl, startControlPlane, type ControlPlane } from '../kube/control_plane.js';
import { installCrd, installOperatorRbac, serviceAccountKubeconfig } from '../kube/operator_env.js';
import { distinctFreePorts } from '../kube/processes.js';
import { startCliProcess, type CliProcess } from './cli_process.js';
import { startKeyService, type KeyServiceProcess } from './key_service.js';
import { startIstiod, type Istiod } from './istiod.js';
import { istioFile } from './mesh_tools.js';
import { startRegistry, type Registry } from './registry.js';

export const NS = 'apps';
export const OPERATOR_NS = 'llmguard-system';
export const PROVIDER_HOST = 'api.openai.com';
export const GUARD_HOST = 'guard.llm.internal';
/** The ports apps send plain HTTP to (ServiceEntry ports: the sidecar binds them on 127.0.0.1). */
export const PROVIDER_PORT = 18080;
export const GUARD_PORT = 18081;
/** The mocks listen here, clear of the sidecar's listeners on 127.0.0.1. */
export const UPSTREAM_ADDRESS = '127.0.0.2';
/** Any conversation containing this is judged unsafe by the mock guard (Llama Guard format). */
export const UNSAFE = 'zq-mesh-unsafe-topic';
export const GUARD_KEY = 'guard-mesh-token-4fd1a9';
/** The kubernetes.io/dockerconfigjson Secret in NS that the policies pull the filter's image with. */
export const PULL_SECRET = 'registry-pull';

const CLI_OUT = join(REPO_ROOT, 'build', 'llmguard-mesh-test');

export interface Mesh {
  cp: ControlPlane;
  istiod: Istiod;
  registry: Registry;
  /** The filter's image as a policy names it. */
  image: { url: string; sha256: string };
  pki: Pki;
  /** The test CA as a file on the proxy's filesystem (the policies' tls.caCertificates). */
  caFile: string;
  provider: MockProvider;
  guard: MockGuard;
  /** llmguard-keys, the filters' key service. */
  keys: KeyServiceProcess;
  /** The compiled CLI (`node <cli> ...`). */
  cli: string;
  operatorLogs(): string;
  /** The operator down (SIGTERM, it releases its Lease) and back up, as a rollout or an outage would. */
  stopOperator(): Promise<void>;
  startOperator(): Promise<void>;
  /** kubectl apply of objects (JSON is YAML). */
  apply(...objects: object[]): Promise<void>;
  stop(): Promise<void>;
}

/**
 * A policy for these mocks: the provider, and (unless `guard: false`) the guard; for the sidecars
 * labelled app=chat, or for the Gateway named by `gateway`.
 */
export function meshPolicy(
  mesh: Pick<Mesh, 'image' | 'caFile' | 'provider' | 'guard'>,
  o: { name?: string; denyPatterns?: string[]; guard?: boolean; gateway?: string; spec?: object } = {},
): Record<string, any> {
  const upstream = (port: number) => ({ endpoints: [UPSTREAM_ADDRESS], targetPort: port, tls: { caCertificates: mesh.caFile } });
  return {
    apiVersion: 'llmguard.io/v1alpha1',
    kind: 'LlmGuardPolicy',
    metadata: { name: o.name ?? 'chat', namespace: NS },
    spec: {
      ...(o.gateway
        ? { targetRefs: [{ group: 'gateway.networking.k8s.io', kind: 'Gateway', name: o.gateway }] }
        : { selector: { matchLabels: { app: 'chat' } } }),
      providers: [{ host: PROVIDER_HOST, port: PROVIDER_PORT, ...upstream(mesh.provider.port), apiKeys: [{ secretKeyRef: { name: 'openai', key: 'key' } }] }],
      denyPatterns: o.denyPatterns ?? ['(?i)ignore\\s+previous\\s+instructions'],
      ...(o.guard === false
        ? {}
        : {
            intelligentGuard: {
              host: GUARD_HOST,
              port: GUARD_PORT,
              ...upstream(mesh.guard.port),
              path: '/v1/chat/completions',
              model: 'llama-guard-3-8b',
              verdictFormat: 'llama_guard',
              systemPrompt: '',
              timeoutMs: 5000,
              apiKeySecretRef: { name: 'guard', key: 'token' },
            },
          }),
      plugin: { url: mesh.image.url, sha256: mesh.image.sha256, imagePullSecret: PULL_SECRET },
      ...(o.spec ?? {}),
    },
  };
}

export function secretObject(name: string, data: Record<string, string>): object {
  return { apiVersion: 'v1', kind: 'Secret', metadata: { name, namespace: NS }, type: 'Opaque', stringData: data };
}

function compileCli(): string {
  const tsc = join(REPO_ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
  execFileSync(process.execPath, [tsc, '-p', 'operator/tsconfig.json', '--outDir', CLI_OUT], { cwd: REPO_ROOT, stdio: 'pipe' });
  return join(CLI_OUT, 'cli', 'main.js');
}

async function startOperator(cp: ControlPlane, cli: string, wasm: string): Promise<CliProcess> {
  const kubeconfig = await serviceAccountKubeconfig(cp, OPERATOR_NS, 'llmguard-operator');
  const [metrics, health] = await distinctFreePorts(2);
  const args = ['run', '--kubeconfig', kubeconfig, '--leader-elect', '--wasm', wasm, '--metrics-port', String(metrics), '--health-port', String(health)];
  return startCliProcess('the operator', cli, args, { POD_NAMESPACE: OPERATOR_NS, POD_NAME: 'llmguard-operator-mesh-0' }, health!);
}

export async function startMesh(): Promise<Mesh> {
  const stops: (() => Promise<unknown>)[] = [];
  const stop = async () => {
    for (const s of stops.reverse()) await s().catch(() => undefined);
  };
  try {
    const cli = compileCli();
    const cp = await startControlPlane({ controllerManager: true });
    stops.push(() => cp.stop());
    await kubectl(cp, ['apply', '--server-side', '-f', istioFile('crds.yaml')]);
    await kubectl(cp, ['apply', '--server-side', '-f', istioFile('gateway-api-crds.yaml')]);
    await installCrd(cp);
    await installOperatorRbac(cp);
    await kubectl(cp, ['create', 'namespace', NS]);

    const registry = await startRegistry();
    stops.push(() => registry.stop());
    const wasm = defaultWasmPath();
    // As a team would: `llmguard image push` (make image), then the digest it prints in the policy.
    // With the credentials `docker login` would have saved; pods pull with the same, from a Secret.
    const dockerConfig = await mkdtemp(join(tmpdir(), 'mesh-docker-'));
    stops.push(() => rm(dockerConfig, { recursive: true, force: true }));
    await writeFile(join(dockerConfig, 'config.json'), registry.dockerConfigJson, { mode: 0o600 });
    const pushed = execFileSync(process.execPath, [cli, 'image', 'push', `${registry.host}/llm-guard:mesh`, '--wasm', wasm], {
      encoding: 'utf8',
      env: { ...process.env, DOCKER_CONFIG: dockerConfig },
    }).trim();
    const digest = /@sha256:([a-f0-9]{64})$/.exec(pushed)?.[1];
    if (!digest) throw new Error(`llmguard image push printed ${JSON.stringify(pushed)}`);
    await kubectl(cp, ['apply', '-f', '-'], {
      input: JSON.stringify({
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name: PULL_SECRET, namespace: NS },
        type: 'kubernetes.io/dockerconfigjson',
        data: { '.dockerconfigjson': Buffer.from(registry.dockerConfigJson).toString('base64') },
      }),
    });

    const pki = makePki([PROVIDER_HOST, GUARD_HOST]);
    stops.push(async () => pki.remove());
    const dir = await mkdtemp(join(tmpdir(), 'mesh-ca-'));
    stops.push(() => rm(dir, { recursive: true, force: true }));
    const caFile = join(dir, 'ca.pem');
    await writeFile(caFile, pki.caPem);
    const tls = { certPem: pki.certPem, keyPem: pki.keyPem };
    const provider = await startMockProvider({ tls, address: UPSTREAM_ADDRESS });
    stops.push(() => provider.close());
    const guard = await startMockGuard({ tls, address: UPSTREAM_ADDRESS, behaviour: byConversation([[UNSAFE, llamaGuard('unsafe', 'S2')]], llamaGuard('safe')) });
    stops.push(() => guard.close());

    const istiod = await startIstiod(cp);
    stops.push(() => istiod.stop());
    const keys = await startKeyService(cp, istiod, cli);
    stops.push(() => keys.stop());
    let operator = await startOperator(cp, cli, wasm);
    let earlierLogs = '';
    stops.push(() => operator.stop());

    const apply = async (...objects: object[]) => {
      await kubectl(cp, ['apply', '-f', '-'], { input: objects.map((o) => JSON.stringify(o)).join('\n---\n') });
    };
    return {
      cp,
      istiod,
      registry,
      image: { url: `oci://${registry.host}/llm-guard:mesh`, sha256: digest },
      pki,
      caFile,
      provider,
      guard,
      keys,
      cli,
      operatorLogs: () => earlierLogs + operator.logs(),
      stopOperator: () => operator.stop(),
      startOperator: async () => {
        if (operator.child.exitCode === null) throw new Error('the operator is still running');
        earlierLogs += operator.logs();
        operator = await startOperator(cp, cli, wasm);
      },
      apply,
      stop,
    };
  } catch (e) {
    await stop();
    throw e;
  }
}

/** The module the mesh runs, read back (to compare with what the agent cached). */
export function wasmBytes(): Buffer {
  return readFileSync(defaultWasmPath());
}
