// llmguard-keys in the test mesh, as manifests/keyservice installs it: its ServiceAccount, RBAC,
// Service and DestinationRule from the manifests; the service itself as a process (`llmguard
// keys`) under that ServiceAccount, with a token of audience istio-ca and the mesh root, asking the
// real istiod's CA for its certificate; a WorkloadEntry stands for its pod behind the Service.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT, kubectl, type ControlPlane } from '../kube/control_plane.js';
import { serviceAccountKubeconfig } from '../kube/operator_env.js';
import { createWorkloadCsr } from '../../operator/src/keyservice/csr.js';
import { requestCertificate } from '../../operator/src/keyservice/istio_ca.js';
import { distinctFreePorts, httpGet } from '../kube/processes.js';
import { waitForRootCert } from './agent.js';
import { startCliProcess, type CliProcess } from './cli_process.js';
import type { Istiod } from './istiod.js';

export const KEYS_NAMESPACE = 'llmguard-system';
export const KEYS_SERVICE_ACCOUNT = 'llmguard-keys';
/** Where the process listens: its "pod IP", clear of the sidecar's listeners and the mocks. */
export const KEYS_ADDRESS = '127.0.0.3';

export interface KeyServiceProcess extends CliProcess {
  port: number;
  metricsPort: number;
}

/** A WorkloadEntry standing for a pod: what the key service finds a policy's workloads by. */
export function workloadEntry(namespace: string, name: string, labels: Record<string, string>, serviceAccount: string, address: string, ports?: Record<string, number>): object {
  return {
    apiVersion: 'networking.istio.io/v1',
    kind: 'WorkloadEntry',
    metadata: { name, namespace, labels },
    spec: { address, labels, serviceAccount, ...(ports ? { ports } : {}) },
  };
}

export async function startKeyService(cp: ControlPlane, istiod: Istiod, cli: string): Promise<KeyServiceProcess> {
  for (const f of ['service_account.yaml', 'cluster_role.yaml', 'cluster_role_binding.yaml', 'service.yaml', 'destination_rule.yaml']) {
    await kubectl(cp, ['apply', '-f', join(REPO_ROOT, 'manifests', 'keyservice', f)]);
  }
  const dir = await mkdtemp(join(tmpdir(), 'mesh-keys-'));
  const token = (await kubectl(cp, ['create', 'token', '-n', KEYS_NAMESPACE, KEYS_SERVICE_ACCOUNT, '--audience', 'istio-ca', '--duration', '2h'])).stdout.trim();
  await writeFile(join(dir, 'istio-token'), token);
  await writeFile(join(dir, 'root-cert.pem'), await waitForRootCert(cp, KEYS_NAMESPACE));
  const kubeconfig = await serviceAccountKubeconfig(cp, KEYS_NAMESPACE, KEYS_SERVICE_ACCOUNT);
  const [port, health, metrics] = await distinctFreePorts(3);
  const labels = { 'app.kubernetes.io/name': 'llmguard-keys' };
  await kubectl(cp, ['apply', '-f', '-'], { input: JSON.stringify(workloadEntry(KEYS_NAMESPACE, 'llmguard-keys-0', labels, KEYS_SERVICE_ACCOUNT, KEYS_ADDRESS, { keys: port! })) });
  const args = [
    'keys',
    '--kubeconfig', kubeconfig,
    '--address', KEYS_ADDRESS,
    '--port', String(port),
    '--health-port', String(health),
    '--metrics-port', String(metrics),
    '--ca-address', istiod.secureGrpcAddress,
    '--root-cert', join(dir, 'root-cert.pem'),
    '--token-file', join(dir, 'istio-token'),
  ];
  // Its health port listens on KEYS_ADDRESS too: probe it there.
  let proc: CliProcess;
  try {
    proc = await startCliProcess('llmguard keys', cli, args, { POD_NAMESPACE: KEYS_NAMESPACE, SERVICE_ACCOUNT: KEYS_SERVICE_ACCOUNT }, health!, KEYS_ADDRESS);
  } catch (e) {
    await rm(dir, { recursive: true, force: true });
    throw e;
  }
  return {
    ...proc,
    port: port!,
    metricsPort: metrics!,
    stop: async () => {
      await proc.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** A mesh certificate from the real istiod's CA for `serviceAccount` (created if missing), as its pods would hold. */
export async function meshCertificateFor(cp: ControlPlane, istiod: Istiod, namespace: string, serviceAccount: string): Promise<{ certPem: string; keyPem: string; rootPem: string }> {
  await kubectl(cp, ['create', 'serviceaccount', '-n', namespace, serviceAccount], { allowFailure: true });
  const token = (await kubectl(cp, ['create', 'token', '-n', namespace, serviceAccount, '--audience', 'istio-ca', '--duration', '1h'])).stdout.trim();
  const rootPem = await waitForRootCert(cp, namespace);
  const csr = createWorkloadCsr({ trustDomain: 'cluster.local', namespace, serviceAccount });
  const chain = await requestCertificate({ address: istiod.secureGrpcAddress, rootCertPem: rootPem, token: () => token }, csr.csrPem, 3600);
  return { certPem: chain.slice(0, -1).join(''), keyPem: csr.keyPem, rootPem };
}

/** The key service's request counters (llmguard_keys_requests_total), summed over outcomes. */
export async function keyServiceRequests(keys: KeyServiceProcess): Promise<number> {
  const r = await httpGet(`http://${KEYS_ADDRESS}:${keys.metricsPort}/metrics`);
  return [...r.body.matchAll(/^llmguard_keys_requests_total\{[^}]*\} (\d+)$/gm)].reduce((n, m) => n + Number(m[1]), 0);
}
