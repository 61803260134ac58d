// The API resources the operator touches, with their REST paths. A static table rather than
// discovery: the set is small and fixed, and it keeps every request predictable.
import { API_VERSION, KIND, PLURAL } from '../api/v1alpha1/llm_guard_policy.js';

export interface ResourceType {
  apiVersion: string;
  kind: string;
  plural: string;
  namespaced: boolean;
}

export const POLICY: ResourceType = { apiVersion: API_VERSION, kind: KIND, plural: PLURAL, namespaced: true };
export const SECRET: ResourceType = { apiVersion: 'v1', kind: 'Secret', plural: 'secrets', namespaced: true };
export const EVENT: ResourceType = { apiVersion: 'v1', kind: 'Event', plural: 'events', namespaced: true };
export const LEASE: ResourceType = { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', plural: 'leases', namespaced: true };
/** Read by the key service, to know which ServiceAccounts a policy's workloads run as. */
export const POD: ResourceType = { apiVersion: 'v1', kind: 'Pod', plural: 'pods', namespaced: true };
export const WORKLOAD_ENTRY: ResourceType = { apiVersion: 'networking.istio.io/v1', kind: 'WorkloadEntry', plural: 'workloadentries', namespaced: true };

export const WASM_PLUGIN: ResourceType = { apiVersion: 'extensions.istio.io/v1alpha1', kind: 'WasmPlugin', plural: 'wasmplugins', namespaced: true };
export const ENVOY_FILTER: ResourceType = { apiVersion: 'networking.istio.io/v1alpha3', kind: 'EnvoyFilter', plural: 'envoyfilters', namespaced: true };
export const SERVICE_ENTRY: ResourceType = { apiVersion: 'networking.istio.io/v1', kind: 'ServiceEntry', plural: 'serviceentries', namespaced: true };
export const DESTINATION_RULE: ResourceType = { apiVersion: 'networking.istio.io/v1', kind: 'DestinationRule', plural: 'destinationrules', namespaced: true };

/** Every kind a policy owns, in the order they are applied (the guard before the egress it guards). */
export const OWNED_TYPES: readonly ResourceType[] = [WASM_PLUGIN, ENVOY_FILTER, SERVICE_ENTRY, DESTINATION_RULE];

const ALL = [POLICY, SECRET, EVENT, LEASE, POD, WORKLOAD_ENTRY, ...OWNED_TYPES];

export function resourceTypeOf(apiVersion: string, kind: string): ResourceType {
  const rt = ALL.find((r) => r.apiVersion === apiVersion && r.kind === kind);
  if (!rt) throw new Error(`unknown resource ${apiVersion} ${kind}`);
  return rt;
}

/** The owned type for a kind, whatever version it is served at. */
export function ownedTypeOfKind(kind: string): ResourceType | undefined {
  return OWNED_TYPES.find((r) => r.kind === kind);
}

function groupVersionPath(apiVersion: string): string {
  return apiVersion.includes('/') ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
}

export function collectionPath(rt: ResourceType, namespace?: string): string {
  const ns = rt.namespaced && namespace ? `/namespaces/${encodeURIComponent(namespace)}` : '';
  return `${groupVersionPath(rt.apiVersion)}${ns}/${rt.plural}`;
}

export function objectPath(rt: ResourceType, namespace: string | undefined, name: string, subresource?: string): string {
  return `${collectionPath(rt, namespace)}/${encodeURIComponent(name)}${subresource ? `/${subresource}` : ''}`;
}
