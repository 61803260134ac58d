// A workload's sidecar or a gateway without a pod: the real pilot-agent running upstream Envoy
// (1.40, the .venv's) as a pod's istio-proxy container would, getting its certificate from istiod's CA, its config over
// xDS, and remote Wasm modules (OCI) into its cache. No iptables: outbound listeners bind on
// 127.0.0.1 at the ServiceEntry ports. pilot-agent's own ports are fixed (Envoy admin 15000,
// 15004, 15020, 15021, 15090): one agent at a time on a machine.
import { mkdir, mkdtemp, rm, writeFile, copyFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { envoyBin } from '../../operator/src/localmesh/envoy.js';
import { kubectl, type ControlPlane } from '../kube/control_plane.js';
import { ManagedProcess, httpGet, waitFor } from '../kube/processes.js';
import { ISTIOD_SAN, type Istiod } from './istiod.js';
import { istioFile, meshBin } from './mesh_tools.js';

export const ENVOY_ADMIN = 'http://127.0.0.1:15000';
/** Istio agent's hard-coded Wasm module cache. */
export const WASM_CACHE_DIR = '/var/lib/istio/data';

export interface Agent {
  /** `<pod>.<ns>`, as istiod's /debug/syncz names the proxy. */
  proxy: string;
  /** GET on Envoy's admin API (text). */
  admin(path: string): Promise<string>;
  /** Envoy's /config_dump (with `?include_eds`, endpoints too), parsed. */
  configDump(query?: string): Promise<EnvoyConfigDump>;
  logs(): string;
  stop(): Promise<void>;
}

export interface EnvoyConfigDump {
  configs: { '@type': string; [k: string]: unknown }[];
}

export interface AgentOptions {
  namespace: string;
  /** The workload's name (pod name app-0 style). */
  name: string;
  serviceAccount: string;
  labels: Record<string, string>;
  /** `sidecar` (default) or `router` (a gateway). */
  mode?: 'sidecar' | 'router';
  /** Extra environment for the agent (and Envoy: vmConfig.env HOST values come from here). */
  env?: Record<string, string>;
}

export async function startAgent(cp: ControlPlane, istiod: Istiod, o: AgentOptions): Promise<Agent> {
  const dir = await mkdtemp(join(tmpdir(), `mesh-${o.name}-`));
  const at = (...p: string[]) => join(dir, ...p);
  await mkdir(at('var/lib/istio/envoy'), { recursive: true });
  await mkdir(at('var/run/secrets/tokens'), { recursive: true });
  await mkdir(at('var/run/secrets/istio'), { recursive: true });
  await mkdir(at('etc/istio/proxy'), { recursive: true });
  await mkdir(WASM_CACHE_DIR, { recursive: true });
  await copyFile(istioFile('envoy_bootstrap.json'), at('var/lib/istio/envoy/envoy_bootstrap_tmpl.json'));

  await kubectl(cp, ['create', 'serviceaccount', '-n', o.namespace, o.serviceAccount], { allowFailure: true });
  const token = await kubectl(cp, ['create', 'token', '-n', o.namespace, o.serviceAccount, '--audience', 'istio-ca', '--duration', '2h']);
  await writeFile(at('var/run/secrets/tokens/istio-token'), token.stdout.trim());
  const root = await waitForRootCert(cp, o.namespace);
  await writeFile(at('var/run/secrets/istio/root-cert.pem'), root);

  const proxyConfig = {
    discoveryAddress: istiod.secureGrpcAddress,
    binaryPath: envoyBin(),
    configPath: at('etc/istio/proxy'),
    drainDuration: '1s',
    terminationDrainDuration: '1s',
  };
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    POD_NAME: o.name,
    POD_NAMESPACE: o.namespace,
    INSTANCE_IP: '127.0.0.1',
    SERVICE_ACCOUNT: o.serviceAccount,
    ISTIO_META_CLUSTER_ID: 'Kubernetes',
    ISTIO_META_INTERCEPTION_MODE: 'NONE',
    ISTIO_METAJSON_LABELS: JSON.stringify(o.labels),
    ISTIO_META_WORKLOAD_NAME: o.name,
    ISTIOD_SAN,
    CA_ADDR: istiod.secureGrpcAddress,
    PILOT_CERT_PROVIDER: 'istiod',
    JWT_POLICY: 'third-party-jwt',
    TRUST_DOMAIN: 'cluster.local',
    PROXY_CONFIG: JSON.stringify(proxyConfig),
    ...o.env,
  };
  const args = [
    'proxy',
    o.mode ?? 'sidecar',
    `--domain=${o.namespace}.svc.cluster.local`,
    '--proxyLogLevel=warning',
    '--proxyComponentLogLevel=wasm:info,misc:error',
    '--log_output_level=default:info',
  ];
  const proc = new ManagedProcess(`pilot-agent ${o.name}`, meshBin('pilot-agent'), args, at('pilot-agent.log'), dir, env);
  try {
    await waitFor(`pilot-agent ${o.mode ?? 'sidecar'} ${o.name} ready (15021/healthz/ready)`, Date.now() + 120_000, [proc], async () => {
      return (await httpGet('http://127.0.0.1:15021/healthz/ready')).status === 200;
    });
  } catch (e) {
    await proc.stop(2_000);
    const tail = proc.tail(120);
    await rm(dir, { recursive: true, force: true });
    throw new Error(`${(e as Error).message}\n${tail}`);
  }
  const admin = async (path: string) => {
    const r = await httpGet(`${ENVOY_ADMIN}${path}`);
    if (r.status !== 200) throw new Error(`Envoy admin ${path}: ${r.status}`);
    return r.body;
  };
  return {
    proxy: `${o.name}.${o.namespace}`,
    admin,
    configDump: async (query = '') => JSON.parse(await admin(`/config_dump${query}`)) as EnvoyConfigDump,
    logs: () => proc.logs(),
    stop: async () => {
      await proc.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** istiod writes the mesh's root certificate into every namespace (ConfigMap istio-ca-root-cert). */
export async function waitForRootCert(cp: ControlPlane, namespace: string): Promise<string> {
  let pem = '';
  await waitFor(`istio-ca-root-cert in ${namespace}`, Date.now() + 60_000, [], async () => {
    const r = await kubectl(cp, ['get', 'configmap', '-n', namespace, 'istio-ca-root-cert', '-o', 'jsonpath={.data.root-cert\\.pem}'], { allowFailure: true });
    pem = r.code === 0 ? r.stdout : '';
    return pem.includes('BEGIN CERTIFICATE');
  });
  return pem;
}
