// Rendered Istio objects -> a static Envoy bootstrap for one sidecar outbound HTTP listener, built
// the way istiod translates them (../shared/notes/istio-translation.md, from the repository root):
// the WasmPlugin's filter under its ECDS name, the EnvoyFilter patches applied by matching Istio's
// own names, one virtual host `<host>:<port>` per ServiceEntry host, clusters
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
import { clusterName } from './istio_names.js';
import { arr, isObj, obj, str, type Obj } from './untyped.js';

export { clusterName } from './istio_names.js';
export { mergeInto, TranslateError } from './envoy_filter_patch.js';

export const WASM_PLUGIN_PREFIX = 'extensions.istio.io/wasmplugin/';

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
}

export interface Translation {
  bootstrap: EnvoyConfig;
  /** Patches that matched nothing (istiod would skip them silently; the dev tools report them). */
  unmatchedPatches: string[];
  /** Cluster names, in order. */
  clusters: string[];
}

const FAILURE_POLICY: Record<string, FailurePolicy> = { FAIL_CLOSE: 'FAIL_CLOSED', FAIL_OPEN: 'FAIL_OPEN', FAIL_RELOAD: 'FAIL_RELOAD' };

/** The HTTP filter istiod pushes (over ECDS) for a WasmPlugin, here inlined. */
export function wasmFilterOf(plugin: Obj, wasmPath: string): EnvoyConfig {
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
    filterName: `${WASM_PLUGIN_PREFIX}${namespace}.${name}`,
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

/** Host -> ports with TLS origination (SIMPLE) from DestinationRules; -1 stands for every port. */
function tlsPortsOf(destinationRules: Obj[]): Map<string, Set<number>> {
  const tlsPorts = new Map<string, Set<number>>();
  for (const dr of destinationRules) {
    const spec = obj(dr.spec);
    const host = str(spec.host);
    if (!host) continue;
    const ports = tlsPorts.get(host) ?? new Set<number>();
    const policy = obj(spec.trafficPolicy);
    for (const pls of arr(policy.portLevelSettings)) {
      if (str(obj(obj(pls).tls).mode) === 'SIMPLE') ports.add(Number(obj(obj(pls).port).number));
    }
    if (str(obj(policy.tls).mode) === 'SIMPLE') ports.add(-1);
    tlsPorts.set(host, ports);
  }
  return tlsPorts;
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
  const filters = outboundPlugins(byKind('WasmPlugin')).map((p) => wasmFilterOf(p, opts.wasmPath));
  filters.push(routerFilter());

  const tlsPorts = tlsPortsOf(byKind('DestinationRule'));
  const vhosts: EnvoyConfig[] = [];
  const clusters: EnvoyConfig[] = [];
  const seen = new Set<string>();
  for (const se of byKind('ServiceEntry')) {
    const ports = servicePortsOf(se);
    for (const host of arr(obj(se.spec).hosts).map(str)) {
      if (!host) continue;
      const up = opts.upstreams[host];
      for (const port of ports) {
        const name = clusterName(host, port.number);
        if (seen.has(name)) continue;
        seen.add(name);
        const endpointPort = port.targetPort ?? port.number;
        const tls = tlsPorts.get(host);
        const originatesTls = tls !== undefined && (tls.has(port.number) || tls.has(-1));
        clusters.push(
          outboundCluster({
            name,
            address: up?.address ?? host,
            port: up?.portMap?.[endpointPort] ?? endpointPort,
            ...(originatesTls ? { transportSocket: upstreamTls(host, { caPem: up?.caPem, caFile: up?.caFile }) } : {}),
          }),
        );
        if (port.number === servicePort && (port.protocol === 'HTTP' || port.protocol === 'HTTP2')) {
          vhosts.push(virtualHost({ name: `${host}:${port.number}`, domains: [host, `${host}:${port.number}`], cluster: name }));
        }
      }
    }
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
  return { bootstrap, unmatchedPatches, clusters: clusters.map((c) => String(c.name)) };
}
