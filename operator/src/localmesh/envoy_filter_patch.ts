// Applies an Istio EnvoyFilter's configPatches to a sidecar outbound listener's HTTP filters and
// virtual hosts, matching them by Istio's own names as istiod does. Only what our rendered
// EnvoyFilter (and hand-written ones like it) use is supported; anything else is refused loudly.
import { HCM_NAME } from './bootstrap.js';
import { arr, isObj, obj, str, type Obj } from './untyped.js';

export class TranslateError extends Error {}

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

/** The listener the patches apply to: its HTTP filters (router last) and virtual hosts, changed in place. */
export interface PatchTarget {
  filters: Obj[];
  vhosts: Obj[];
  routeName: string;
  servicePort: number;
}

function patchHttpFilter(where: string, match: Obj, op: string | undefined, value: Obj, t: PatchTarget): string | null {
  const listener = obj(match.listener);
  if (listener.portNumber !== undefined && listener.portNumber !== t.servicePort) return null;
  const filter = obj(obj(listener.filterChain).filter);
  if (filter.name !== undefined && filter.name !== HCM_NAME) return null;
  const sub = str(obj(filter.subFilter).name);
  const idx = sub === undefined ? -1 : t.filters.findIndex((f) => f.name === sub);
  const { filters } = t;
  if (op === 'INSERT_FIRST') {
    filters.unshift(structuredClone(value));
  } else if (op === 'ADD') {
    filters.splice(filters.length - 1, 0, structuredClone(value)); // before the router
  } else if (op === 'INSERT_AFTER' || op === 'INSERT_BEFORE' || op === 'MERGE' || op === 'REMOVE' || op === 'REPLACE') {
    if (idx < 0) return `${where}: no HTTP filter named ${String(sub)}`;
    if (op === 'INSERT_AFTER') filters.splice(idx + 1, 0, structuredClone(value));
    else if (op === 'INSERT_BEFORE') filters.splice(idx, 0, structuredClone(value));
    else if (op === 'MERGE') mergeInto(filters[idx]!, value);
    else if (op === 'REPLACE') filters[idx] = structuredClone(value);
    else filters.splice(idx, 1);
  } else {
    throw new TranslateError(`${where}: operation not supported by the dev translation`);
  }
  return null;
}

function patchVirtualHost(where: string, match: Obj, op: string | undefined, value: Obj, t: PatchTarget): string | null {
  const rc = obj(match.routeConfiguration);
  if (rc.portNumber !== undefined && rc.portNumber !== t.servicePort) return null;
  if (rc.name !== undefined && rc.name !== t.routeName) return null;
  // As istiod matches: by the virtual host's name and/or one of its domains.
  const vhName = str(obj(rc.vhost).name);
  const domain = str(obj(rc.vhost).domainName);
  const hits = t.vhosts.filter(
    (v) => (vhName === undefined || v.name === vhName) && (domain === undefined || arr(v.domains).includes(domain)),
  );
  if (!hits.length) return `${where}: no virtual host ${vhName !== undefined ? `named ${vhName}` : `serving ${String(domain)}`}`;
  if (op === 'MERGE') for (const v of hits) mergeInto(v, value);
  else if (op === 'REMOVE') for (const v of hits) t.vhosts.splice(t.vhosts.indexOf(v), 1);
  else throw new TranslateError(`${where}: operation not supported by the dev translation`);
  return null;
}

/** Applies the EnvoyFilter's patches; returns a description of each one that matched nothing. */
export function applyEnvoyFilter(envoyFilter: Obj, target: PatchTarget): string[] {
  const meta = obj(envoyFilter.metadata);
  const efName = `${str(meta.namespace) ?? 'default'}/${str(meta.name) ?? '?'}`;
  const unmatched: string[] = [];
  arr(obj(envoyFilter.spec).configPatches).forEach((raw, i) => {
    const cp = obj(raw);
    const match = obj(cp.match);
    const patch = obj(cp.patch);
    const op = str(patch.operation);
    const where = `EnvoyFilter ${efName} configPatches[${i}] (${String(cp.applyTo)} ${String(op)})`;
    if (!contextApplies(match)) return;
    let miss: string | null;
    if (cp.applyTo === 'HTTP_FILTER') miss = patchHttpFilter(where, match, op, obj(patch.value), target);
    else if (cp.applyTo === 'VIRTUAL_HOST') miss = patchVirtualHost(where, match, op, obj(patch.value), target);
    else throw new TranslateError(`${where}: applyTo not supported by the dev translation`);
    if (miss) unmatched.push(miss);
  });
  return unmatched;
}
