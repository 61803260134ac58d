// What istiod sent a proxy and what Envoy made of it: istiod's /debug/syncz (sent and ACKed
// versions per type) and Envoy's /config_dump, read the way the assertions need them.
import type { Istiod } from './istiod.js';
import type { EnvoyConfigDump } from './agent.js';

type Any = any; // eslint-disable-line @typescript-eslint/no-explicit-any

export interface SyncStatus {
  proxy: string;
  /** xDS types whose last sent version Envoy has not ACKed (NACKed, or not answered yet). */
  unacked: string[];
  /** Every xDS type istiod sent this proxy. */
  types: string[];
}

/** istiod's view of a proxy (`<pod>.<namespace>`): what it sent, and what came back ACKed. */
export async function syncStatus(istiod: Istiod, proxy: string): Promise<SyncStatus | undefined> {
  const all = await istiod.debug<Any[]>('/debug/syncz');
  const entry = all.find((e) => e.proxy === proxy);
  if (!entry) return undefined;
  const resources = (entry.resources ?? {}) as Record<string, { sent?: string; acked?: string }>;
  const types = Object.keys(resources);
  return { proxy, types, unacked: types.filter((t) => resources[t]!.sent !== resources[t]!.acked) };
}

function section(dump: EnvoyConfigDump, type: string): Any {
  return dump.configs.find((c) => c['@type'] === `type.googleapis.com/envoy.admin.v3.${type}`) ?? {};
}

/** The outbound listener bound on 127.0.0.1:port (interception NONE). */
export function listenerOn(dump: EnvoyConfigDump, port: number): Any {
  const dynamic = section(dump, 'ListenersConfigDump').dynamic_listeners ?? [];
  return dynamic.map((l: Any) => l.active_state?.listener).find((l: Any) => l?.address?.socket_address?.port_value === port);
}

/** The HTTP filters of a listener's connection manager, by name, in order. */
export function httpFilterNames(listener: Any): string[] {
  const hcm = listener?.filter_chains?.[0]?.filters?.find((f: Any) => f.name === 'envoy.filters.network.http_connection_manager');
  return (hcm?.typed_config?.http_filters ?? []).map((f: Any) => String(f.name));
}

/** The virtual hosts of every route configuration that serve `domain`. */
export function virtualHostsServing(dump: EnvoyConfigDump, domain: string): Any[] {
  const configs = section(dump, 'RoutesConfigDump').dynamic_route_configs ?? [];
  return configs.flatMap((r: Any) => r.route_config?.virtual_hosts ?? []).filter((v: Any) => (v.domains ?? []).includes(domain));
}

/** The HTTP filters Envoy got over ECDS (istiod sends WasmPlugins this way), by name. */
export function ecdsFilters(dump: EnvoyConfigDump): Map<string, Any> {
  const list = section(dump, 'EcdsConfigDump').ecds_filters ?? [];
  return new Map(list.map((f: Any) => [String(f.ecds_filter?.name), f.ecds_filter?.typed_config]));
}

/** A cluster Envoy has, by name (`outbound|18080||api.openai.com`). */
export function cluster(dump: EnvoyConfigDump, name: string): Any {
  const dynamic = section(dump, 'ClustersConfigDump').dynamic_active_clusters ?? [];
  return dynamic.map((c: Any) => c.cluster).find((c: Any) => c?.name === name);
}
