// The pieces of Envoy config a sidecar's outbound HTTP listener is made of, shaped the way istiod
// and istio-agent deliver them (../shared/notes/istio-translation.md, from the repository root):
// the wasm filter of a WasmPlugin, the hold filter, virtual hosts with Istio's route defaults, the
// outbound HTTP connection manager, the access log, clusters and upstream TLS. Each shape lives
// here once; buildBootstrap (sidecar_bootstrap.ts) and translate (istio_translate.ts) compose them.
// Pure: no I/O.
import { pluginConfigJson } from '../api/pluginconfig/json.js';
import { HOLD_FILTER_NAME, holdFilter, holdFilterForRoute, holdVirtualHostPatch, responseHoldFilter } from '../render/hold_filter.js';

export type EnvoyConfig = Record<string, unknown>;

export const WASM_FILTER_TYPE = 'type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm';
export const STRING_VALUE_TYPE = 'type.googleapis.com/google.protobuf.StringValue';
export const HCM_TYPE = 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager';
export const HCM_NAME = 'envoy.filters.network.http_connection_manager';
export const ROUTER_TYPE = 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router';
export const TLS_CONTEXT_TYPE = 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext';
const FILE_LOG_TYPE = 'type.googleapis.com/envoy.extensions.access_loggers.file.v3.FileAccessLog';
const PREVIOUS_HOSTS_TYPE = 'type.googleapis.com/envoy.extensions.retry.host.previous_hosts.v3.PreviousHostsPredicate';
/** Debian's bundle of the system's trusted CAs, what real upstreams are verified against. */
export const SYSTEM_CA_FILE = '/etc/ssl/certs/ca-certificates.crt';
// The hold filter (a buffer filter right after the guard, enabled per provider virtual host) is
// what the operator's EnvoyFilter inserts: one statement of it, in render/hold_filter.ts.
export { HOLD_FILTER_NAME, holdFilter, holdFilterForRoute, holdVirtualHostPatch, responseHoldFilter };

export type FailurePolicy = 'FAIL_CLOSED' | 'FAIL_OPEN' | 'FAIL_RELOAD';

/** A WasmPlugin, in the terms of its spec, plus where istio-agent left the module. */
export interface WasmPluginSpec {
  /** Local file of the module (istio-agent's cached copy of the url). */
  wasmPath: string;
  /** spec.pluginConfig; serialised with JSON.stringify. */
  pluginConfig?: unknown;
  /** metadata.namespace (default 'default'). */
  namespace?: string;
  /** metadata.name (default 'llm-guard'). */
  name?: string;
  /** spec.pluginName -> root_id (default: none, which Envoy reads as ''). */
  pluginName?: string;
  /** vm_config.vm_id (default: none; istiod leaves it empty). */
  vmId?: string;
  /** spec.vmConfig.env INLINE -> key_values. */
  env?: Record<string, string>;
  /** spec.vmConfig.env HOST -> host_env_keys. */
  hostEnvKeys?: string[];
  /** From failStrategy (default FAIL_CLOSED, i.e. FAIL_CLOSE). */
  failurePolicy?: FailurePolicy;
  /** Send this text instead of pluginConfig serialised as istiod does (keys sorted). */
  rawConfiguration?: string;
  /** The HTTP filter's name, as istiod names the ECDS resource (istio_names.ts). */
  filterName?: string;
  /** The PluginConfig's name (default `<namespace>.<name>`). */
  configName?: string;
}

/**
 * The `envoy.filters.http.wasm` HTTP filter as Envoy gets it from istiod through istio-agent (which
 * swaps the remote module for its local copy and drops istiod's resource-version variable): the
 * mesh tests compare it with a real sidecar's.
 */
export function wasmHttpFilter(spec: WasmPluginSpec): EnvoyConfig {
  const namespace = spec.namespace ?? 'default';
  const name = spec.name ?? 'llm-guard';
  const environmentVariables: EnvoyConfig = {};
  if (spec.env && Object.keys(spec.env).length) environmentVariables.key_values = spec.env;
  if (spec.hostEnvKeys?.length) environmentVariables.host_env_keys = spec.hostEnvKeys;
  return {
    name: spec.filterName ?? 'envoy.filters.http.wasm',
    typed_config: {
      '@type': WASM_FILTER_TYPE,
      config: {
        name: spec.configName ?? `${namespace}.${name}`,
        ...(spec.pluginName ? { root_id: spec.pluginName } : {}),
        vm_config: {
          ...(spec.vmId ? { vm_id: spec.vmId } : {}),
          runtime: 'envoy.wasm.runtime.v8',
          code: { local: { filename: spec.wasmPath } },
          ...(Object.keys(environmentVariables).length ? { environment_variables: environmentVariables } : {}),
        },
        configuration: { '@type': STRING_VALUE_TYPE, value: spec.rawConfiguration ?? pluginConfigJson(spec.pluginConfig ?? {}) },
        failure_policy: spec.failurePolicy ?? 'FAIL_CLOSED',
      },
    },
  };
}


export function routerFilter(): EnvoyConfig {
  return { name: 'envoy.filters.http.router', typed_config: { '@type': ROUTER_TYPE } };
}

/** istiod's default retry policy on every outbound route. */
const ISTIO_RETRY_POLICY = {
  retry_on: 'connect-failure,refused-stream,unavailable,cancelled,retriable-status-codes',
  num_retries: 2,
  retry_host_predicate: [{ name: 'envoy.retry_host_predicates.previous_hosts', typed_config: { '@type': PREVIOUS_HOSTS_TYPE } }],
  host_selection_retry_max_attempts: '5',
};

export interface VirtualHostSpec {
  /** Istio names it `<host>:<port>`. */
  name: string;
  domains: string[];
  cluster: string;
}

/** A virtual host with one catch-all route to the cluster, with Istio's defaults (no timeout, its retries). */
export function virtualHost(spec: VirtualHostSpec): EnvoyConfig {
  return {
    name: spec.name,
    domains: spec.domains,
    routes: [
      {
        name: 'default',
        match: { prefix: '/' },
        route: { cluster: spec.cluster, timeout: '0s', retry_policy: structuredClone(ISTIO_RETRY_POLICY) },
      },
    ],
  };
}

/**
 * A file access log in a subset of Istio's text format, plus the rule that denied a request
 * (the filter sets filter state `wasm.llm_guard.rule` on a pattern deny).
 */
export function fileAccessLog(path: string, listenerName: string): EnvoyConfig {
  return {
    name: 'envoy.access_loggers.file',
    typed_config: {
      '@type': FILE_LOG_TYPE,
      path,
      log_format: {
        text_format_source: {
          inline_string:
            `[%START_TIME%] ${listenerName} "%REQ(:METHOD)% %REQ(X-ENVOY-ORIGINAL-PATH?:PATH)% %PROTOCOL%" ` +
            '%RESPONSE_CODE% %RESPONSE_FLAGS% %RESPONSE_CODE_DETAILS% %BYTES_RECEIVED% %BYTES_SENT% ' +
            '%DURATION% "%REQ(:AUTHORITY)%" "%UPSTREAM_HOST%" %UPSTREAM_CLUSTER% ' +
            'rule=%FILTER_STATE(wasm.llm_guard.rule:PLAIN)% audit=%FILTER_STATE(wasm.llm_guard.audit:PLAIN)%\n',
        },
      },
    },
  };
}

export interface ConnectionManagerSpec {
  statPrefix: string;
  routeConfigName: string;
  virtualHosts: EnvoyConfig[];
  httpFilters: EnvoyConfig[];
  /** Log each request to this file (fileAccessLog). */
  accessLog?: { path: string; listenerName: string };
}

/** The HTTP connection manager of a sidecar's outbound listener. */
export function outboundConnectionManager(spec: ConnectionManagerSpec): EnvoyConfig {
  const hcm: EnvoyConfig = {
    '@type': HCM_TYPE,
    stat_prefix: spec.statPrefix,
    codec_type: 'AUTO',
    // Istio matches hosts without their port (domains `host` and `host.`).
    route_config: { name: spec.routeConfigName, validate_clusters: false, ignore_port_in_host_matching: true, virtual_hosts: spec.virtualHosts },
    http_filters: spec.httpFilters,
    // As in Istio's outbound HCM: the app's own headers are trusted, no XFF rewriting.
    use_remote_address: false,
    normalize_path: true,
    path_with_escaped_slashes_action: 'KEEP_UNCHANGED',
    stream_idle_timeout: '0s',
    upgrade_configs: [{ upgrade_type: 'websocket' }],
  };
  if (spec.accessLog) hcm.access_log = [fileAccessLog(spec.accessLog.path, spec.accessLog.listenerName)];
  return hcm;
}

export interface HttpListenerSpec {
  name: string;
  /** On 127.0.0.1; 0 = Envoy picks (startEnvoy reads it back). */
  port: number;
  connectionManager: EnvoyConfig;
  /** Envoy's default is 1 MiB. */
  perConnectionBufferLimitBytes?: number;
}

/** A loopback listener whose one filter chain is the HTTP connection manager. */
export function httpListener(spec: HttpListenerSpec): EnvoyConfig {
  return {
    name: spec.name,
    address: { socket_address: { address: '127.0.0.1', port_value: spec.port } },
    ...(spec.perConnectionBufferLimitBytes !== undefined ? { per_connection_buffer_limit_bytes: spec.perConnectionBufferLimitBytes } : {}),
    filter_chains: [{ filters: [{ name: HCM_NAME, typed_config: spec.connectionManager }] }],
  };
}

/** Whom an upstream TLS connection trusts: a CA's PEM, or a bundle file (default: the system's). */
export interface TlsTrust {
  caPem?: string;
  caFile?: string;
}

/** TLS origination as a DestinationRule `tls: {mode: SIMPLE}` gives it: SNI and SAN = the host. */
export function upstreamTls(host: string, trust: TlsTrust = {}): EnvoyConfig {
  const trustedCa = trust.caPem ? { inline_string: trust.caPem } : { filename: trust.caFile ?? SYSTEM_CA_FILE };
  return {
    name: 'envoy.transport_sockets.tls',
    typed_config: {
      '@type': TLS_CONTEXT_TYPE,
      sni: host,
      common_tls_context: {
        validation_context: { trusted_ca: trustedCa, match_typed_subject_alt_names: [{ san_type: 'DNS', matcher: { exact: host } }] },
      },
    },
  };
}

export function isIpAddress(address: string): boolean {
  return /^\d{1,3}(\.\d{1,3}){3}$/.test(address) || address.includes(':');
}

export interface OutboundClusterSpec {
  name: string;
  /** IPs (a STATIC cluster), one DNS name (LOGICAL_DNS) or several (STRICT_DNS, as Istio's `resolution: DNS`). */
  address: string | string[];
  port: number;
  /** A transport socket (upstreamTls). */
  transportSocket?: EnvoyConfig;
}

/** An outbound cluster with one endpoint, with Istio's connect timeout. */
export function outboundCluster(spec: OutboundClusterSpec): EnvoyConfig {
  const addresses = typeof spec.address === 'string' ? [spec.address] : spec.address;
  const ip = addresses.every(isIpAddress);
  return {
    name: spec.name,
    type: ip ? 'STATIC' : addresses.length > 1 ? 'STRICT_DNS' : 'LOGICAL_DNS',
    ...(ip ? {} : { dns_lookup_family: 'V4_PREFERRED' }),
    connect_timeout: '10s',
    lb_policy: 'ROUND_ROBIN',
    load_assignment: {
      cluster_name: spec.name,
      endpoints: [{ lb_endpoints: addresses.map((address) => ({ endpoint: { address: { socket_address: { address, port_value: spec.port } } } })) }],
    },
    ...(spec.transportSocket ? { transport_socket: spec.transportSocket } : {}),
  };
}

/** The whole static bootstrap of one sidecar. Admin on 127.0.0.1 (port 0 = Envoy picks). */
export function staticBootstrap(listeners: EnvoyConfig[], clusters: EnvoyConfig[], adminPort = 0): EnvoyConfig {
  return {
    node: { id: 'sidecar~127.0.0.1~app-0.default~default.svc.cluster.local', cluster: 'app.default' },
    admin: { address: { socket_address: { address: '127.0.0.1', port_value: adminPort } } },
    static_resources: { listeners, clusters },
  };
}
