// What a sidecar's outbound HTTP listener does, reduced to the parts our product depends on, from
// either a real Envoy's /config_dump?include_eds (configured by istiod: RDS, ECDS, EDS, SDS) or
// the static bootstrap `llmguard dev` translates the same objects into. Equal views mean the local
// translation and istiod agree on filter order, names and config, virtual hosts, hold mark,
// endpoints and TLS origination; everything else (stats, retries' fine print, LB policy) is left out.
import type { EnvoyConfigDump } from './agent.js';

type Any = any; // eslint-disable-line @typescript-eslint/no-explicit-any

const TLS_CONTEXT = 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext';
const HTTP_OPTIONS = 'envoy.extensions.upstreams.http.v3.HttpProtocolOptions';

export interface WasmView {
  configName: string;
  runtime: string;
  rootId: string;
  vmId: string;
  configuration: string;
  failurePolicy: string;
  env: Record<string, string>;
  hostEnvKeys: string[];
}

export interface VirtualHostView {
  domains: string[];
  clusters: string[];
  ignorePortInHostMatching: boolean;
  perFilterConfig: Record<string, unknown>;
  metadata: unknown;
}

export interface ClusterView {
  endpoints: string[];
  tls?: { sni: string; verifiedSan: string | undefined; caFile: string | undefined };
}

export interface ListenerView {
  httpFilters: string[];
  wasm: Record<string, WasmView>;
  virtualHosts: Record<string, VirtualHostView>;
  clusters: Record<string, ClusterView>;
}

function wasmView(typedConfig: Any): WasmView {
  const c = typedConfig?.config ?? {};
  return {
    configName: String(c.name ?? ''),
    runtime: String(c.vm_config?.runtime ?? ''),
    rootId: String(c.root_id ?? ''),
    vmId: String(c.vm_config?.vm_id ?? ''),
    configuration: String(c.configuration?.value ?? ''),
    failurePolicy: String(c.failure_policy ?? 'FAIL_CLOSED'),
    env: { ...(c.vm_config?.environment_variables?.key_values ?? {}) },
    hostEnvKeys: [...(c.vm_config?.environment_variables?.host_env_keys ?? [])],
  };
}

function virtualHostView(vh: Any, routeConfig: Any): VirtualHostView {
  return {
    domains: [...(vh.domains ?? [])].sort(),
    clusters: (vh.routes ?? []).map((r: Any) => String(r.route?.cluster ?? '')),
    ignorePortInHostMatching: routeConfig.ignore_port_in_host_matching === true,
    perFilterConfig: vh.typed_per_filter_config ?? {},
    metadata: vh.metadata ?? {},
  };
}

/** The cluster's host from Istio's name `outbound|<port>|<subset>|<host>`. */
function hostOf(clusterName: string): string {
  return clusterName.split('|')[3] ?? '';
}

function tlsView(cluster: Any): ClusterView['tls'] {
  const tls = cluster.transport_socket?.typed_config;
  if (tls?.['@type'] !== TLS_CONTEXT) return undefined;
  const http = cluster.typed_extension_protocol_options?.[HTTP_OPTIONS]?.upstream_http_protocol_options ?? {};
  const host = hostOf(String(cluster.name));
  const ctx = tls.common_tls_context ?? {};
  // A literal validation context, or Istio's: SDS `file-root:<path>` for a DestinationRule's caCertificates.
  const literal = ctx.validation_context ?? ctx.combined_validation_context?.default_validation_context ?? {};
  const sdsName: string | undefined = ctx.combined_validation_context?.validation_context_sds_secret_config?.name;
  const caFile = literal.trusted_ca?.filename ?? (sdsName?.startsWith('file-root:') ? sdsName.slice('file-root:'.length) : undefined);
  const sans = (literal.match_typed_subject_alt_names ?? []).map((m: Any) => m.matcher?.exact);
  return {
    // auto_sni and auto_san_validation take the request's Host: for a ServiceEntry host's cluster, that host.
    sni: tls.sni ?? (http.auto_sni ? host : ''),
    verifiedSan: sans[0] ?? (http.auto_san_validation ? host : undefined),
    caFile,
  };
}

function endpointsOf(assignment: Any): string[] {
  return (assignment?.endpoints ?? [])
    .flatMap((e: Any) => e.lb_endpoints ?? [])
    .map((e: Any) => `${e.endpoint?.address?.socket_address?.address}:${e.endpoint?.address?.socket_address?.port_value}`)
    .sort();
}

function section(dump: EnvoyConfigDump, type: string): Any {
  return dump.configs.find((c) => c['@type'] === `type.googleapis.com/envoy.admin.v3.${type}`) ?? {};
}

/** The view of the listener a real sidecar binds on 127.0.0.1:port, from /config_dump?include_eds. */
export function viewOfDump(dump: EnvoyConfigDump, port: number): ListenerView {
  const listener = (section(dump, 'ListenersConfigDump').dynamic_listeners ?? [])
    .map((l: Any) => l.active_state?.listener)
    .find((l: Any) => l?.address?.socket_address?.port_value === port);
  if (!listener) throw new Error(`no listener on port ${port}`);
  const hcm = listener.filter_chains?.[0]?.filters?.find((f: Any) => f.name === 'envoy.filters.network.http_connection_manager')?.typed_config;
  const ecds = new Map<string, Any>((section(dump, 'EcdsConfigDump').ecds_filters ?? []).map((f: Any) => [f.ecds_filter?.name, f.ecds_filter?.typed_config]));
  const routeConfig = (section(dump, 'RoutesConfigDump').dynamic_route_configs ?? [])
    .map((r: Any) => r.route_config)
    .find((r: Any) => r?.name === hcm?.rds?.route_config_name) ?? {};
  const eds = new Map<string, Any>((section(dump, 'EndpointsConfigDump').dynamic_endpoint_configs ?? []).map((e: Any) => [e.endpoint_config?.cluster_name, e.endpoint_config]));
  const clusters: Record<string, ClusterView> = {};
  for (const { cluster } of section(dump, 'ClustersConfigDump').dynamic_active_clusters ?? []) {
    const assignment = cluster.load_assignment ?? eds.get(cluster.eds_cluster_config?.service_name ?? cluster.name);
    const tls = tlsView(cluster);
    clusters[cluster.name] = { endpoints: endpointsOf(assignment), ...(tls ? { tls } : {}) };
  }
  return {
    httpFilters: (hcm?.http_filters ?? []).map((f: Any) => String(f.name)),
    wasm: Object.fromEntries(
      (hcm?.http_filters ?? []).filter((f: Any) => f.config_discovery && ecds.has(f.name)).map((f: Any) => [f.name, wasmView(ecds.get(f.name))]),
    ),
    virtualHosts: Object.fromEntries((routeConfig.virtual_hosts ?? []).map((vh: Any) => [vh.name, virtualHostView(vh, routeConfig)])),
    clusters,
  };
}

/** The view of the (only) listener of a static bootstrap, as `translate()` builds it. */
export function viewOfBootstrap(bootstrap: Any): ListenerView {
  const listener = bootstrap.static_resources.listeners[0];
  const hcm = listener.filter_chains[0].filters.find((f: Any) => f.name === 'envoy.filters.network.http_connection_manager').typed_config;
  const routeConfig = hcm.route_config;
  const clusters: Record<string, ClusterView> = {};
  for (const cluster of bootstrap.static_resources.clusters) {
    const tls = tlsView(cluster);
    clusters[cluster.name] = { endpoints: endpointsOf(cluster.load_assignment), ...(tls ? { tls } : {}) };
  }
  return {
    httpFilters: hcm.http_filters.map((f: Any) => String(f.name)),
    wasm: Object.fromEntries(
      hcm.http_filters.filter((f: Any) => String(f.typed_config?.['@type']).endsWith('.wasm.v3.Wasm')).map((f: Any) => [f.name, wasmView(f.typed_config)]),
    ),
    virtualHosts: Object.fromEntries(routeConfig.virtual_hosts.map((vh: Any) => [vh.name, virtualHostView(vh, routeConfig)])),
    clusters,
  };
}

/** `real` cut down to what `local` has: the same filters (in real's order), virtual hosts and clusters. */
export function restrictTo(real: ListenerView, local: ListenerView): ListenerView {
  const pick = <T>(from: Record<string, T>, keys: string[]) => Object.fromEntries(keys.filter((k) => k in from).map((k) => [k, from[k]!]));
  return {
    httpFilters: real.httpFilters.filter((f) => local.httpFilters.includes(f)),
    wasm: pick(real.wasm, Object.keys(local.wasm)),
    virtualHosts: pick(real.virtualHosts, Object.keys(local.virtualHosts)),
    clusters: pick(real.clusters, Object.keys(local.clusters)),
  };
}
