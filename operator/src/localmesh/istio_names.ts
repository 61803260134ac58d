// Names istiod gives what it makes of our resources, in one place: the HTTP filter of a
// WasmPlugin, the Envoy cluster of a ServiceEntry port, and the clusters a set of rendered objects
// makes.

/**
 * How istiod names a WasmPlugin's filter: up to 1.29 under the WasmPlugin's own name
 * (`extensions.istio.io/wasmplugin/<ns>.<name>`); from 1.30 (master) every WasmPlugin is first
 * translated into a TrafficExtension, whose name carries a marker
 * (`extensions.istio.io/trafficextension/<ns>.<name>~istio-translated-wasmplugin`).
 */
export type WasmPluginNaming = 'wasmplugin' | 'trafficextension';

export const TRAFFIC_EXTENSION_MARKER = '~istio-translated-wasmplugin';

/** The HTTP filter's name (the ECDS resource) and its PluginConfig's name. */
export function wasmPluginFilterNames(namespace: string, name: string, naming: WasmPluginNaming): { filterName: string; configName: string } {
  if (naming === 'wasmplugin') return { filterName: `extensions.istio.io/wasmplugin/${namespace}.${name}`, configName: `${namespace}.${name}` };
  const translated = `${name}${TRAFFIC_EXTENSION_MARKER}`;
  return { filterName: `extensions.istio.io/trafficextension/${namespace}.${translated}`, configName: `${namespace}.${translated}` };
}

/** Istio's outbound cluster for a host's port: `outbound|80||api.openai.com`. */
export function clusterName(host: string, port: number): string {
  return `outbound|${port}||${host}`;
}

/** Every cluster the ServiceEntries among `objects` make (a host's port each), in order. */
export function serviceEntryClusters(objects: readonly object[]): string[] {
  const out: string[] = [];
  for (const o of objects as { kind?: unknown; spec?: { hosts?: unknown; ports?: unknown } }[]) {
    if (o.kind !== 'ServiceEntry') continue;
    const hosts = Array.isArray(o.spec?.hosts) ? o.spec.hosts : [];
    const ports = Array.isArray(o.spec?.ports) ? o.spec.ports : [];
    for (const h of hosts) {
      for (const p of ports as { number?: unknown }[]) {
        if (typeof h !== 'string' || typeof p?.number !== 'number') continue;
        const name = clusterName(h, p.number);
        if (!out.includes(name)) out.push(name);
      }
    }
  }
  return out;
}
