// Rendered Istio objects -> a static Envoy bootstrap for one sidecar outbound HTTP listener, built
// the way istiod translates them (../shared/notes/istio-translation.md, from the repository root):
// the WasmPlugin's filter under its ECDS name, the EnvoyFilter patches applied by matching Istio's
// own names, one virtual host `<host>:<port>` (domains `<host>`, `<host>.`) per ServiceEntry host, clusters
// `outbound|<port>||<host>`, and TLS origination from DestinationRule portLevelSettings. The
// shapes come from bootstrap.ts. Pure: no I/O. Used by `llmguard dev` and the mesh e2e test, so they
// prove that what the operator renders works once Istio has translated it.
import {
  httpListener,
  outboundCluster,
  outboundConnectionManager,
  routerFilter,
  staticBootstrap,
  upstreamTls,
  virtualHost,
  wasmHttpFilter,
  type EnvoyConfig,
  type FailurePolicy,
  type TlsTrust,
} from './bootstrap.js';
import { applyEnvoyFilter, TranslateError } from './envoy_filter_patch.js';
import { clusterName, wasmPluginFilterNames, type WasmPluginNaming } from './istio_names.js';
import { arr, isObj, obj, str, type Obj } from './untyped.js';

export { clusterName } from './istio_names.js';
export { mergeInto, TranslateError } from './envoy_filter_patch.js';


/** Where an external host really is, locally. */
export interface Upstream extends TlsTrust {
  /** IP address (a STATIC cluster) or DNS name (a LOGICAL_DNS cluster). */
  address: string;
  /** Endpoint port -> the port to use instead (e.g. {443: <mock's port>}). Unlisted ports stay. */
  portMap?: Record<number, number>;
}

export interface TranslateOptions {
  /** The compiled filter (replaces the WasmPlugin's url, as istio-agent's local copy would). */
  wasmPath: string;
  /** The outbound listener's port on 127.0.0.1 (the ServiceEntry port apps call, here 80). */
  listenerPort: number;
  /** Port of the ServiceEntries the listener serves (default 80). */
  servicePort?: number;
  /** host -> where it is. Hosts not listed resolve by DNS at their endpoint port. */
  upstreams: Record<string, Upstream>;
  /** Admin on 127.0.0.1 (default 0 = Envoy picks). */
  adminPort?: number;
  /** File access log path. */
  accessLogPath?: string;
  /**
   * How istiod names the WasmPlugin's filter: `trafficextension` (default: master, which
   * tools/mesh pins and the mesh tests check this translation against) or `wasmplugin` (1.29).
   */
  naming?: WasmPluginNaming;
  /**
   * Where the key service the WasmPlugins name (pluginConfig.key_service) is, locally: their
   * cluster goes there in plain HTTP. In a mesh istiod makes that cluster, with mutual TLS.
   */
  keyService?: { address: string; port: number };
}

export interface Translation {
  bootstrap: EnvoyConfig;
  /** Patches that matched nothing (istiod would skip them silently; the dev tools report them). */
  unmatchedPatches: string[];
  /** Cluster names, in order. */
  clusters: string[];
  /** The key service clusters the WasmPlugins call (present only with the keyService option). */
  keyServiceClusters: string[];
}

const FAILURE_POLICY: Record<string, FailurePolicy> = { FAIL_CLOSE: 'FAIL_CLOSED', FAIL_OPEN: 'FAIL_OPEN', FAIL_RELOAD: 'FAIL_RELOAD' };

/** The HTTP filter istiod pushes (over ECDS) for a WasmPlugin, here inlined. */
export function wasmFilterOf(plugin: Obj, wasmPath: string, naming: WasmPluginNaming = 'trafficextension'): EnvoyConfig {
  const meta = obj(plugin.metadata);
  const spec = obj(plugin.spec);
  const namespace = str(meta.namespace) ?? 'default';
  const name = str(meta.name);
  if (!name) throw new TranslateError('WasmPlugin without metadata.name');
  const env: Record<string, string> = {};
  const hostEnvKeys: string[] = [];
  for (const e of arr(obj(spec.vmConfig).env)) {
    const n = str(obj(e).name);
    if (!n) continue;
    if (obj(e).valueFrom === 'HOST') hostEnvKeys.push(n);
    else env[n] = str(obj(e).value) ?? '';
  }
  const failStrategy = str(spec.failStrategy) ?? 'FAIL_CLOSE';
  const failurePolicy = FAILURE_POLICY[failStrategy];
  if (!failurePolicy) throw new TranslateError(`WasmPlugin ${namespace}/${name}: unknown failStrategy ${failStrategy}`);
  return wasmHttpFilter({
    ...wasmPluginFilterNames(namespace, name, naming),
    wasmPath,
    namespace,
    name,
    pluginName: str(spec.pluginName) ?? '',
    env,
    hostEnvKeys,
    failurePolicy,
    pluginConfig: spec.pluginConfig ?? {},
  });
}

/** WasmPlugins that apply to a sidecar's outbound traffic, highest priority first. */
function outboundPlugins(plugins: Obj[]): Obj[] {
  return plugins
    .filter((p) => {
      const modes = arr(obj(p.spec).match).map((m) => str(obj(m).mode) ?? 'CLIENT_AND_SERVER');
      return !modes.length || modes.some((m) => m === 'CLIENT' || m === 'CLIENT_AND_SERVER' || m === 'UNDEFINED');
    })
    .sort((a, b) => Number(obj(b.spec).priority ?? 0) - Number(obj(a.spec).priority ?? 0));
}

/** TLS origination a DestinationRule asks for on a port: SIMPLE, with its CA (file or Secret). */
interface OriginatedTls {
  caFile?: string;
  credentialName?: string;
}

/** Host -> port -> TLS origination (SIMPLE) from DestinationRules; port -1 stands for every port. */
function tlsPortsOf(destinationRules: Obj[]): Map<string, Map<number, OriginatedTls>> {
  const tlsPorts = new Map<string, Map<number, OriginatedTls>>();
  const originated = (tls: Obj): OriginatedTls | undefined => {
    if (str(tls.mode) !== 'SIMPLE') return undefined;
    const caFile = str(tls.caCertificates);
    const credentialName = str(tls.credentialName);
    return { ...(caFile ? { caFile } : {}), ...(credentialName ? { credentialName } : {}) };
  };
  for (const dr of destinationRules) {
    const spec = obj(dr.spec);
    const host = str(spec.host);
    if (!host) continue;
    const ports = tlsPorts.get(host) ?? new Map<number, OriginatedTls>();
    const policy = obj(spec.trafficPolicy);
    for (const pls of arr(policy.portLevelSettings)) {
      const t = originated(obj(obj(pls).tls));
      if (t) ports.set(Number(obj(obj(pls).port).number), t);
    }
    const all = originated(obj(policy.tls));
    if (all) ports.set(-1, all);
    tlsPorts.set(host, ports);
  }
  return tlsPorts;
}

/** The addresses a ServiceEntry gives for its hosts (`endpoints`), none when Istio resolves the host. */
function endpointAddresses(serviceEntry: Obj): string[] {
  return arr(obj(serviceEntry.spec).endpoints)
    .map((e) => str(obj(e).address))
    .filter((a): a is string => !!a);
}

interface ServicePort {
  number: number;
  protocol: string;
  targetPort?: number;
}

function servicePortsOf(serviceEntry: Obj): ServicePort[] {
  return arr(obj(serviceEntry.spec).ports).map((p) => {
    const o = obj(p);
    const port: ServicePort = { number: Number(o.number), protocol: str(o.protocol) ?? 'TCP' };
    if (typeof o.targetPort === 'number') port.targetPort = o.targetPort;
    return port;
  });
}

/** The bootstrap for the given rendered objects (any order; other kinds are ignored). */
export function translate(objects: unknown[], opts: TranslateOptions): Translation {
  const servicePort = opts.servicePort ?? 80;
  const routeName = String(servicePort);
  const byKind = (kind: string) => objects.filter(isObj).filter((o) => o.kind === kind);
  const filters = outboundPlugins(byKind('WasmPlugin')).map((p) => wasmFilterOf(p, opts.wasmPath, opts.naming));
  filters.push(routerFilter());

  const tlsPorts = tlsPortsOf(byKind('DestinationRule'));
  const vhosts: EnvoyConfig[] = [];
  const clusters: EnvoyConfig[] = [];
  const seen = new Set<string>();
  for (const se of byKind('ServiceEntry')) {
    const ports = servicePortsOf(se);
    const endpoints = endpointAddresses(se);
    for (const host of arr(obj(se.spec).hosts).map(str)) {
      if (!host) continue;
      const up = opts.upstreams[host];
      for (const port of ports) {
        const name = clusterName(host, port.number);
        if (seen.has(name)) continue;
        seen.add(name);
        const endpointPort = port.targetPort ?? port.number;
        const tls = tlsPorts.get(host)?.get(port.number) ?? tlsPorts.get(host)?.get(-1);
        if (tls?.credentialName && !up?.caPem && !up?.caFile) {
          throw new TranslateError(
            `DestinationRule for ${host}: tls.credentialName ${tls.credentialName} needs istiod to serve the Secret; locally give the CA as a file (caCertificates)`,
          );
        }
        clusters.push(
          outboundCluster({
            name,
            address: up?.address ?? (endpoints.length ? endpoints : host),
            port: up?.portMap?.[endpointPort] ?? endpointPort,
            ...(tls ? { transportSocket: upstreamTls(host, { caPem: up?.caPem, caFile: up?.caFile ?? tls.caFile }) } : {}),
          }),
        );
        if (port.number === servicePort && (port.protocol === 'HTTP' || port.protocol === 'HTTP2')) {
          vhosts.push(virtualHost({ name: `${host}:${port.number}`, domains: [host, `${host}.`], cluster: name }));
        }
      }
    }
  }

  const keyServiceClusters = [...new Set(byKind('WasmPlugin').map(keyServiceClusterOf).filter((c): c is string => !!c))];
  if (opts.keyService) {
    for (const name of keyServiceClusters) if (!seen.has(name)) clusters.push(outboundCluster({ name, address: opts.keyService.address, port: opts.keyService.port }));
  }

  const unmatchedPatches: string[] = [];
  for (const ef of byKind('EnvoyFilter')) unmatchedPatches.push(...applyEnvoyFilter(ef, { filters, vhosts, routeName, servicePort }));

  const listenerName = `0.0.0.0_${servicePort}`;
  const listener = httpListener({
    name: listenerName,
    port: opts.listenerPort,
    connectionManager: outboundConnectionManager({
      statPrefix: `outbound_${listenerName}`,
      routeConfigName: routeName,
      virtualHosts: vhosts,
      httpFilters: filters,
      ...(opts.accessLogPath ? { accessLog: { path: opts.accessLogPath, listenerName } } : {}),
    }),
  });
  const bootstrap = staticBootstrap([listener], clusters, opts.adminPort ?? 0);
  return { bootstrap, unmatchedPatches, clusters: clusters.map((c) => String(c.name)), keyServiceClusters };
}

/** The cluster a WasmPlugin's filter fetches keys on (Istio's name for the key service's port). */
function keyServiceClusterOf(plugin: Obj): string | undefined {
  const ks = obj(obj(obj(plugin.spec).pluginConfig).key_service);
  const host = str(ks.host);
  if (!host) return undefined;
  return str(ks.cluster) || clusterName(host, typeof ks.port === 'number' ? ks.port : 15443);
}
