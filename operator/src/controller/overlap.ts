// Overlapping policies: two policies of one namespace that can both select a workload and both
// name a provider host would put two filters (and two keys) on one request. Only one of them is
// programmed, by a rule that depends on nothing but the two objects, so every reconcile and every
// replica agrees: the older policy wins (metadata.creationTimestamp, then the name).
//
// Workloads can be shared when:
//   - both have a selector, and no label is required with different values by the two (a pod
//     carrying the union of both label sets matches both);
//   - both have targetRefs naming one Gateway;
//   - one has a selector, the other a Gateway, and the selector asks for that gateway's pods by
//     the label Istio puts on them (gateway.networking.k8s.io/gateway-name), other labels aside.
// Hosts are compared case-insensitively, as DNS names are.

/** The parts of a policy that decide overlap (tolerant: informer objects are not validated). */
export interface OverlapSubject {
  metadata: { name: string; namespace: string; creationTimestamp?: string; deletionTimestamp?: string };
  spec?: {
    selector?: { matchLabels?: Record<string, string> };
    targetRefs?: { group?: string; kind?: string; name?: string }[];
    providers?: { host?: unknown }[];
  };
}

export interface Overlap {
  /** `namespace/name` of the other policy. */
  other: string;
  /** Provider hosts both name, lower case, sorted. */
  hosts: string[];
  /** Whether this policy is the one programmed. */
  wins: boolean;
}

const GATEWAY_NAME_LABEL = 'gateway.networking.k8s.io/gateway-name';

function providerHosts(p: OverlapSubject): Set<string> {
  const out = new Set<string>();
  const providers = Array.isArray(p.spec?.providers) ? p.spec!.providers : [];
  for (const pr of providers) if (typeof pr?.host === 'string' && pr.host) out.add(pr.host.toLowerCase());
  return out;
}

function labelsOf(p: OverlapSubject): Record<string, string> | undefined {
  const labels = p.spec?.selector?.matchLabels;
  return labels && typeof labels === 'object' ? labels : undefined;
}

function gatewaysOf(p: OverlapSubject): Set<string> {
  const refs = Array.isArray(p.spec?.targetRefs) ? p.spec!.targetRefs : [];
  return new Set(refs.filter((r) => r && (r.kind ?? 'Gateway') === 'Gateway' && typeof r.name === 'string').map((r) => r.name as string));
}

function labelsCompatible(a: Record<string, string>, b: Record<string, string>): boolean {
  for (const [k, v] of Object.entries(a)) if (k in b && b[k] !== v) return false;
  return true;
}

function selectorTakesGateway(labels: Record<string, string>, gateways: Set<string>): boolean {
  const name = labels[GATEWAY_NAME_LABEL];
  return name !== undefined && gateways.has(name);
}

export function workloadsOverlap(a: OverlapSubject, b: OverlapSubject): boolean {
  const la = labelsOf(a);
  const lb = labelsOf(b);
  const ga = gatewaysOf(a);
  const gb = gatewaysOf(b);
  if (la && lb) return labelsCompatible(la, lb);
  if (la) return selectorTakesGateway(la, gb);
  if (lb) return selectorTakesGateway(lb, ga);
  return [...ga].some((g) => gb.has(g));
}

export function sharedHosts(a: OverlapSubject, b: OverlapSubject): string[] {
  const hb = providerHosts(b);
  return [...providerHosts(a)].filter((h) => hb.has(h)).sort();
}

/** Whether `a` is programmed before `b` when they overlap: the older one, then the name. */
export function precedes(a: OverlapSubject, b: OverlapSubject): boolean {
  const ta = a.metadata.creationTimestamp ?? '';
  const tb = b.metadata.creationTimestamp ?? '';
  if (ta !== tb) return ta !== '' && (tb === '' || ta < tb);
  return a.metadata.name < b.metadata.name;
}

/** The policies of `candidates` that overlap `policy` (itself and policies being deleted aside). */
export function overlapsOf(policy: OverlapSubject, candidates: Iterable<OverlapSubject>): Overlap[] {
  const out: Overlap[] = [];
  for (const c of candidates) {
    if (c.metadata.namespace !== policy.metadata.namespace || c.metadata.name === policy.metadata.name) continue;
    if (c.metadata.deletionTimestamp) continue;
    const hosts = sharedHosts(policy, c);
    if (!hosts.length || !workloadsOverlap(policy, c)) continue;
    out.push({ other: `${c.metadata.namespace}/${c.metadata.name}`, hosts, wins: precedes(policy, c) });
  }
  return out.sort((x, y) => (x.other < y.other ? -1 : x.other > y.other ? 1 : 0));
}
