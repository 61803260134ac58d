// The real istiod (pilot-discovery) outside a cluster, against a test kube-apiserver: every
// address on loopback, its own CA (istio-system/istio-ca-secret), upstream Envoy's limits set
// (no ALPN and no metadata-exchange filters: those are istio-proxy's own extensions).
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { kubectl, type ControlPlane } from '../kube/control_plane.js';
import { ManagedProcess, distinctFreePorts, httpGet, waitFor } from '../kube/processes.js';
import { meshBin } from './mesh_tools.js';

export const ISTIO_NAMESPACE = 'istio-system';
/** The name on istiod's serving certificate, which the agent checks. */
export const ISTIOD_SAN = `istiod.${ISTIO_NAMESPACE}.svc`;

export interface Istiod {
  /** Plaintext xDS (what istioctl and debug tools use). */
  grpcAddress: string;
  /** mTLS xDS and the CA, as sidecars reach istiod. */
  secureGrpcAddress: string;
  /** http://127.0.0.1:PORT: /ready, /debug/syncz, /debug/config_dump... */
  httpUrl: string;
  /** GET on istiod's debug HTTP port, parsed as JSON. */
  debug<T = unknown>(path: string): Promise<T>;
  logs(): string;
  stop(): Promise<void>;
}

export interface IstiodOptions {
  /** Extra environment (feature flags). */
  env?: Record<string, string>;
}

export async function startIstiod(cp: ControlPlane, opts: IstiodOptions = {}): Promise<Istiod> {
  const dir = await mkdtemp(join(tmpdir(), 'mesh-istiod-'));
  await kubectl(cp, ['create', 'namespace', ISTIO_NAMESPACE], { allowFailure: true });
  const meshConfig = join(dir, 'mesh.yaml');
  await writeFile(meshConfig, `rootNamespace: ${ISTIO_NAMESPACE}\ntrustDomain: cluster.local\n`);
  const [grpc, secureGrpc, http, https, monitoring] = await distinctFreePorts(5);
  const args = [
    'discovery',
    `--kubeconfig=${cp.kubeconfigPath}`,
    `--meshConfig=${meshConfig}`,
    '--registries=Kubernetes',
    '--clusterID=Kubernetes',
    '--domain=cluster.local',
    `--grpcAddr=127.0.0.1:${grpc}`,
    `--secureGRPCAddr=127.0.0.1:${secureGrpc}`,
    `--httpAddr=127.0.0.1:${http}`,
    `--httpsAddr=127.0.0.1:${https}`,
    `--monitoringAddr=127.0.0.1:${monitoring}`,
    '--ctrlz_port=0',
    '--log_output_level=default:info',
  ];
  const env = {
    ...process.env,
    POD_NAMESPACE: ISTIO_NAMESPACE,
    POD_NAME: 'istiod-test',
    REVISION: 'default',
    KUBECONFIG: cp.kubeconfigPath,
    PILOT_ENABLE_ALPN_FILTER: 'false',
    PILOT_ENABLE_METADATA_EXCHANGE: 'false',
    // Sidecars reach istiod at 127.0.0.1: its serving certificate must name that address too.
    ISTIOD_CUSTOM_HOST: '127.0.0.1',
    ...opts.env,
  };
  const proc = new ManagedProcess('istiod', meshBin('pilot-discovery'), args, join(dir, 'istiod.log'), dir, env);
  const httpUrl = `http://127.0.0.1:${http}`;
  try {
    await waitFor('istiod /ready', Date.now() + 120_000, [proc], async () => (await httpGet(`${httpUrl}/ready`)).status === 200);
  } catch (e) {
    await proc.stop(2_000);
    await rm(dir, { recursive: true, force: true });
    throw new Error(`${(e as Error).message}\n${proc.tail(80)}`);
  }
  return {
    grpcAddress: `127.0.0.1:${grpc}`,
    secureGrpcAddress: `127.0.0.1:${secureGrpc}`,
    httpUrl,
    debug: async <T>(path: string) => {
      const r = await httpGet(`${httpUrl}${path}`);
      if (r.status !== 200) throw new Error(`istiod ${path}: ${r.status} ${r.body.slice(0, 300)}`);
      return JSON.parse(r.body) as T;
    },
    logs: () => proc.logs(),
    stop: async () => {
      await proc.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
