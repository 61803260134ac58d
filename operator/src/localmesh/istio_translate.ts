// Rendered Istio objects -> a static Envoy bootstrap for one sidecar outbound HTTP listener, built
// the way istiod translates them (see /work/shared/notes/istio-translation.md): the WasmPlugin's
// filter under its ECDS name, the EnvoyFilter patches applied by matching Istio's own names, one
// virtual host `<host>:<port>` per ServiceEntry host, clusters `outbound|<port>||<host>`, and TLS
// origination from DestinationRule portLevelSettings. Pure: no I/O. Used by `llmguard dev` and the
// mesh e2e test, so they prove that what the operator renders works once Istio has translated it.

export const WASM_FILTER_TYPE = 'type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm';
export const STRING_VALUE_TYPE = 'type.googleapis.com/google.protobuf.StringValue';
export const HCM_TYPE = 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager';
export const ROUTER_TYPE = 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router';
export const TLS_CONTEXT_TYPE = 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext';
export const HCM_NAME = 'envoy.filters.network.http_connection_manager';
export const WASM_PLUGIN_PREFIX = 'extensions.istio.io/wasmplugin/';
const RESOURCE_VERSION_ENV = 'ISTIO_META_WASM_PLUGIN_RESOURCE_VERSION';
const FILE_LOG_TYPE = 'type.googleapis.com/envoy.extensions.access_loggers.file.v3.FileAccessLog';
/** Debian's bundle of the system's trusted CAs (`--upstream real`). */
export const SYSTEM_CA_FILE = '/etc/ssl/certs/ca-certificates.crt';

import { clusterName } from './istio_names.js';

type Obj = Record<string, unknown>;

/** Where an external host really is, locally. */
export interface Upstream {
  /** IP address (a STATIC cluster) or DNS name (a LOGICAL_DNS cluster). */
  address: string;
  /** Endpoint port -> the port to use instead (e.g. {443: <mock's port>}). Unlisted ports stay. */
  portMap?: Record<number, number>;
  /** PEM of the CA to trust for TLS origination to this host. */
  caPem?: string;
  /** Or a CA bundle file (default when neither is given: the system bundle). */
  caFile?: string;
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
  /** Admin on 127.0.0.1 (default 0 = Envoy picks; use --admin-address-path). */
  adminPort?: number;
  /** File access log path. */
  accessLogPath?: string;
}

export class TranslateError extends Error {}

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
function obj(v: unknown): Obj {
  return isObj(v) ? v : {};
}
function arr(v: unknown): unknown[] {
  return Array.isArray(v) ? v : [];
}
function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

export { clusterName } from './istio_names.js';

const FAILURE_POLICY: Record<string, string> = { FAIL_CLOSE: 'FAIL_CLOSED', FAIL_OPEN: 'FAIL_OPEN', FAIL_RELOAD: 'FAIL_RELOAD' };

/** The HTTP filter istiod pushes (over ECDS) for a WasmPlugin, here inlined. */
export function wasmFilterOf(plugin: Obj, wasmPath: string): Obj {
  const meta = obj(plugin.metadata);
  const spec = obj(plugin.spec);
  const ns = str(meta.namespace) ?? 'default';
  const name = str(meta.name);
  if (!name) throw new TranslateError('WasmPlugin without metadata.name');
  const keyValues: Record<string, string> = { [RESOURCE_VERSION_ENV]: '1' };
  const hostKeys: string[] = [];
  for (const e of arr(obj(spec.vmConfig).env)) {
    const env = obj(e);
    const n = str(env.name);
    if (!n) continue;
    if (env.valueFrom === 'HOST') hostKeys.push(n);
    else keyValues[n] = str(env.value) ?? '';
  }
  const environmentVariables: Obj = { key_values: keyValues };
  if (hostKeys.length) environmentVariables.host_env_keys = hostKeys;
  const failStrategy = str(spec.failStrategy) ?? 'FAIL_CLOSE';
  const failurePolicy = FAILURE_POLICY[failStrategy];
  if (!failurePolicy) throw new TranslateError(`WasmPlugin ${ns}/${name}: unknown failStrategy ${failStrategy}`);
  return {
    name: `${WASM_PLUGIN_PREFIX}${ns}.${name}`,
    typed_config: {
      '@type': WASM_FILTER_TYPE,
      config: {
        name: `${ns}.${name}`,
        root_id: str(spec.pluginName) ?? '',
        vm_config: {
          vm_id: '',
          runtime: 'envoy.wasm.runtime.v8',
          code: { local: { filename: wasmPath } },
          environment_variables: environmentVariables,
        },
        configuration: { '@type': STRING_VALUE_TYPE, value: JSON.stringify(spec.pluginConfig ?? {}) },
        failure_policy: failurePolicy,
      },
    },
  };
}

/** Istio's MERGE: objects merge key by key, lists append, anything else is replaced. */
export function mergeInto(target: Obj, value: Obj): Obj {
  for (const [k, v] of Object.entries(value)) {
    const cur = target[k];
    if (isObj(cur) && isObj(v)) {
      // A typed (Any) value of another type replaces the old one, as proto merge would refuse to mix.
      if (cur['@type'] !== undefined && v['@type'] !== undefined && cur['@type'] !== v['@type']) target[k] = structuredClone(v);
      else mergeInto(cur, v);
    } else if (Array.isArray(cur) && Array.isArray(v)) {
      target[k] = [...cur, ...structuredClone(v)];
    } else {
      target[k] = structuredClone(v);
    }
  }
  return target;
}

function contextApplies(match: Obj): boolean {
  const ctx = str(match.context) ?? 'ANY';
  return ctx === 'ANY' || ctx === 'SIDECAR_OUTBOUND';
}

/** Applies the patches we know how to apply; returns a description of each one that matched nothing. */
function applyEnvoyFilter(ef: Obj, filters: Obj[], vhosts: Obj[], routeName: string, servicePort: number): string[] {
  const efName = `${str(obj(ef.metadata).namespace) ?? 'default'}/${str(obj(ef.metadata).name) ?? '?'}`;
  const unmatched: string[] = [];
  arr(obj(ef.spec).configPatches).forEach((raw, i) => {
    const cp = obj(raw);
    const match = obj(cp.match);
    const patch = obj(cp.patch);
    const op = str(patch.operation);
    const value = obj(patch.value);
    const where = `EnvoyFilter ${efName} configPatches[${i}] (${String(cp.applyTo)} ${String(op)})`;
    if (!contextApplies(match)) return;
    if (cp.applyTo === 'HTTP_FILTER') {
      const listener = obj(match.listener);
      if (listener.portNumber !== undefined && listener.portNumber !== servicePort) return;
      const fc = obj(listener.filterChain);
      const filter = obj(fc.filter);
      if (filter.name !== undefined && filter.name !== HCM_NAME) return;
      const sub = str(obj(filter.subFilter).name);
      const idx = sub === undefined ? -1 : filters.findIndex((f) => f.name === sub);
      if (op === 'INSERT_FIRST') {
        filters.unshift(structuredClone(value));
      } else if (op === 'ADD') {
        filters.splice(filters.length - 1, 0, structuredClone(value)); // before the router
      } else if (op === 'INSERT_AFTER' || op === 'INSERT_BEFORE' || op === 'MERGE' || op === 'REMOVE' || op === 'REPLACE') {
        if (idx < 0) {
          unmatched.push(`${where}: no HTTP filter named ${String(sub)}`);
          return;
        }
        if (op === 'INSERT_AFTER') filters.splice(idx + 1, 0, structuredClone(value));
        else if (op === 'INSERT_BEFORE') filters.splice(idx, 0, structuredClone(value));
        else if (op === 'MERGE') mergeInto(filters[idx]!, value);
        else if (op === 'REPLACE') filters[idx] = structuredClone(value);
        else filters.splice(idx, 1);
      } else {
        throw new TranslateError(`${where}: operation not supported by the dev translation`);
      }
    } else if (cp.applyTo === 'VIRTUAL_HOST') {
      const rc = obj(match.routeConfiguration);
      if (rc.portNumber !== undefined && rc.portNumber !== servicePort) return;
      if (rc.name !== undefined && rc.name !== routeName) return;
      const vhName = str(obj(rc.vhost).name);
      const hits = vhosts.filter((v) => vhName === undefined || v.name === vhName);
      if (!hits.length) {
        unmatched.push(`${where}: no virtual host named ${String(vhName)}`);
        return;
      }
      if (op === 'MERGE') for (const v of hits) mergeInto(v, value);
      else if (op === 'REMOVE') for (const v of hits) vhosts.splice(vhosts.indexOf(v), 1);
      else throw new TranslateError(`${where}: operation not supported by the dev translation`);
    } else {
      throw new TranslateError(`${where}: applyTo not supported by the dev translation`);
    }
  });
  return unmatched;
}

interface SePort {
  number: number;
  protocol: string;
  targetPort?: number;
}

function isIp(address: string): boolean {
  return /^\d{1,3}(\.\d{1,3}){3}$/.test(address) || address.includes(':');
}

function tlsSocket(host: string, up: Upstream | undefined): Obj {
  const trustedCa = up?.caPem ? { inline_string: up.caPem } : { filename: up?.caFile ?? SYSTEM_CA_FILE };
  return {
    name: 'envoy.transport_sockets.tls',
    typed_config: {
      '@type': TLS_CONTEXT_TYPE,
      sni: host,
      common_tls_context: {
        validation_context: {
          trusted_ca: trustedCa,
          match_typed_subject_alt_names: [{ san_type: 'DNS', matcher: { exact: host } }],
        },
      },
    },
  };
}

export interface Translation {
  bootstrap: Obj;
  /** Patches that matched nothing (istiod would skip them silently; the dev tools report them). */
  unmatchedPatches: string[];
  /** Cluster names, in order. */
  clusters: string[];
}

/** The bootstrap for the given rendered objects (any order; other kinds are ignored). */
export function translate(objects: unknown[], opts: TranslateOptions): Translation {
  const servicePort = opts.servicePort ?? 80;
  const routeName = String(servicePort);
  const byKind = (kind: string) => objects.filter(isObj).filter((o) => o.kind === kind);
  const plugins = byKind('WasmPlugin')
    .filter((p) => {
      const modes = arr(obj(p.spec).match).map((m) => str(obj(m).mode) ?? 'CLIENT_AND_SERVER');
      return !modes.length || modes.some((m) => m === 'CLIENT' || m === 'CLIENT_AND_SERVER' || m === 'UNDEFINED');
    })
    .sort((a, b) => Number(obj(b.spec).priority ?? 0) - Number(obj(a.spec).priority ?? 0));
  const filters: Obj[] = plugins.map((p) => wasmFilterOf(p, opts.wasmPath));
  filters.push({ name: 'envoy.filters.http.router', typed_config: { '@type': ROUTER_TYPE } });

  // TLS origination by host and port, from DestinationRules.
  const tlsPorts = new Map<string, Set<number>>();
  for (const dr of byKind('DestinationRule')) {
    const spec = obj(dr.spec);
    const host = str(spec.host);
    if (!host) continue;
    const set = tlsPorts.get(host) ?? new Set<number>();
    const tp = obj(spec.trafficPolicy);
    const anyPortTls = str(obj(tp.tls).mode);
    for (const pls of arr(tp.portLevelSettings)) {
      const n = Number(obj(obj(pls).port).number);
      const mode = str(obj(obj(pls).tls).mode);
      if (mode === 'SIMPLE') set.add(n);
    }
    if (anyPortTls === 'SIMPLE') set.add(-1);
    tlsPorts.set(host, set);
  }

  const vhosts: Obj[] = [];
  const clusters: Obj[] = [];
  const seen = new Set<string>();
  for (const se of byKind('ServiceEntry')) {
    const spec = obj(se.spec);
    const ports: SePort[] = arr(spec.ports).map((p) => {
      const o = obj(p);
      const out: SePort = { number: Number(o.number), protocol: str(o.protocol) ?? 'TCP' };
      if (typeof o.targetPort === 'number') out.targetPort = o.targetPort;
      return out;
    });
    for (const hv of arr(spec.hosts)) {
      const host = str(hv);
      if (!host) continue;
      const up = opts.upstreams[host];
      for (const port of ports) {
        const name = clusterName(host, port.number);
        if (seen.has(name)) continue;
        seen.add(name);
        const endpointPort0 = port.targetPort ?? port.number;
        const endpointPort = up?.portMap?.[endpointPort0] ?? endpointPort0;
        const address = up?.address ?? host;
        const cluster: Obj = {
          name,
          type: isIp(address) ? 'STATIC' : 'LOGICAL_DNS',
          connect_timeout: '10s',
          lb_policy: 'ROUND_ROBIN',
          load_assignment: {
            cluster_name: name,
            endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address, port_value: endpointPort } } } }] }],
          },
        };
        if (!isIp(address)) cluster.dns_lookup_family = 'V4_PREFERRED';
        const tls = tlsPorts.get(host);
        if (tls && (tls.has(port.number) || tls.has(-1))) cluster.transport_socket = tlsSocket(host, up);
        clusters.push(cluster);
        if (port.number === servicePort && (port.protocol === 'HTTP' || port.protocol === 'HTTP2')) {
          vhosts.push({
            name: `${host}:${port.number}`,
            domains: [host, `${host}:${port.number}`],
            routes: [{ name: 'default', match: { prefix: '/' }, route: { cluster: name, timeout: '0s' } }],
          });
        }
      }
    }
  }

  const unmatchedPatches: string[] = [];
  for (const ef of byKind('EnvoyFilter')) unmatchedPatches.push(...applyEnvoyFilter(ef, filters, vhosts, routeName, servicePort));

  const hcm: Obj = {
    '@type': HCM_TYPE,
    stat_prefix: `outbound_0.0.0.0_${servicePort}`,
    route_config: { name: routeName, virtual_hosts: vhosts, validate_clusters: false },
    http_filters: filters,
    use_remote_address: false,
    normalize_path: true,
    path_with_escaped_slashes_action: 'KEEP_UNCHANGED',
    stream_idle_timeout: '0s',
  };
  if (opts.accessLogPath) {
    hcm.access_log = [
      {
        name: 'envoy.access_loggers.file',
        typed_config: {
          '@type': FILE_LOG_TYPE,
          path: opts.accessLogPath,
          log_format: {
            text_format_source: {
              inline_string:
                '[%START_TIME%] "%REQ(:METHOD)% %REQ(X-ENVOY-ORIGINAL-PATH?:PATH)% %PROTOCOL%" %RESPONSE_CODE% %RESPONSE_FLAGS% ' +
                '%RESPONSE_CODE_DETAILS% "%REQ(:AUTHORITY)%" "%UPSTREAM_HOST%" %UPSTREAM_CLUSTER%\n',
            },
          },
        },
      },
    ];
  }
  const bootstrap: Obj = {
    node: { id: 'sidecar~127.0.0.1~app-0.default~default.svc.cluster.local', cluster: 'app.default' },
    admin: { address: { socket_address: { address: '127.0.0.1', port_value: opts.adminPort ?? 0 } } },
    static_resources: {
      listeners: [
        {
          name: `0.0.0.0_${servicePort}`,
          address: { socket_address: { address: '127.0.0.1', port_value: opts.listenerPort } },
          filter_chains: [{ filters: [{ name: HCM_NAME, typed_config: hcm }] }],
        },
      ],
      clusters,
    },
  };
  return { bootstrap, unmatchedPatches, clusters: clusters.map((c) => String(c.name)) };
}
