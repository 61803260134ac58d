// Names istiod gives what it makes of our resources, in one place: the Envoy cluster of a
// ServiceEntry port, and the clusters a set of rendered objects makes.

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
