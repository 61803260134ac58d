// proxy-wasm under Istio can't hold request headers while the filter reads the body: Envoy's
// router sends them (key included) upstream as soon as the filter continues them. This
// EnvoyFilter puts a buffer filter right before the router (so after ours, whatever istiod names
// our filter: `extensions.istio.io/wasmplugin/...` up to 1.29, `.../trafficextension/...~istio-
// translated-wasmplugin` on master), enabled only on the provider virtual hosts, so a request is
// held whole in the sidecar until the guard lets it go; a refused request sends nothing upstream.
// The same virtual-host patch marks the host's metadata; the filter (require_hold) refuses a
// request on a route without the mark instead of letting its headers go before the body is
// judged. See test/e2e/harness.e2e.test.ts and test/mesh for both behaviours in real Envoy.
import type { LlmGuardPolicy } from '../api/v1alpha1/llm_guard_policy.js';
import { childMetadata } from './labels.js';
import { childName } from './names.js';
import { sortedLabels } from './wasm_plugin.js';

/** The hold filter's name, also the key of the mark it leaves in the virtual hosts' filter_metadata. */
export const HOLD_FILTER_NAME = 'llm-guard.hold-request';
/** Envoy's router: always the last HTTP filter, so "before the router" is after every other one. */
export const ROUTER_FILTER_NAME = 'envoy.filters.http.router';
const BUFFER_TYPE = 'type.googleapis.com/envoy.extensions.filters.http.buffer.v3.Buffer';
const BUFFER_PER_ROUTE_TYPE = 'type.googleapis.com/envoy.extensions.filters.http.buffer.v3.BufferPerRoute';
export const DEFAULT_MAX_BODY_BYTES = 1048576;

/** The buffer filter, disabled unless a route enables it; requests over maxBytes get 413 while held. */
export function holdFilter(maxBytes: number): Record<string, unknown> {
  return { name: HOLD_FILTER_NAME, disabled: true, typed_config: { '@type': BUFFER_TYPE, max_request_bytes: maxBytes } };
}

/** A virtual host's typed_per_filter_config that enables the hold filter there. */
export function holdFilterForRoute(maxBytes: number): Record<string, unknown> {
  return { [HOLD_FILTER_NAME]: { '@type': BUFFER_PER_ROUTE_TYPE, buffer: { max_request_bytes: maxBytes } } };
}

/** The fields of the mark a virtual host where the hold is enabled carries. */
export function holdMarkFields(): { enabled: true } {
  return { enabled: true };
}

/** The mark on a virtual host where the hold is enabled (the filter reads xds.virtual_host_metadata). */
export function holdMark(): Record<string, unknown> {
  return { filter_metadata: { [HOLD_FILTER_NAME]: holdMarkFields() } };
}

/** What the hold EnvoyFilter merges into a provider virtual host. */
export function holdVirtualHostPatch(maxBytes: number): Record<string, unknown> {
  return { typed_per_filter_config: holdFilterForRoute(maxBytes), metadata: holdMark() };
}

export function renderHoldFilter(policy: LlmGuardPolicy): Record<string, unknown> {
  const maxBytes = policy.spec.inspection?.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const context = policy.spec.targetRefs?.length ? 'GATEWAY' : 'SIDECAR_OUTBOUND';
  const configPatches: Record<string, unknown>[] = [
    {
      applyTo: 'HTTP_FILTER',
      match: {
        context,
        listener: {
          filterChain: {
            filter: { name: 'envoy.filters.network.http_connection_manager', subFilter: { name: ROUTER_FILTER_NAME } },
          },
        },
      },
      patch: {
        operation: 'INSERT_BEFORE',
        value: holdFilter(maxBytes),
      },
    },
  ];
  for (const p of policy.spec.providers) {
    configPatches.push({
      applyTo: 'VIRTUAL_HOST',
      // By domain, not by istiod's virtual-host name (`host:port` on a sidecar): the same patch finds
      // the host on a gateway listener, whatever its port.
      match: { context, routeConfiguration: { vhost: { domainName: p.host } } },
      patch: {
        operation: 'MERGE',
        value: holdVirtualHostPatch(maxBytes),
      },
    });
  }
  const spec: Record<string, unknown> = {};
  if (policy.spec.selector) spec.workloadSelector = { labels: sortedLabels(policy.spec.selector.matchLabels) };
  if (policy.spec.targetRefs?.length) spec.targetRefs = policy.spec.targetRefs.map((r) => ({ group: r.group, kind: r.kind, name: r.name }));
  spec.configPatches = configPatches;
  return {
    apiVersion: 'networking.istio.io/v1alpha3',
    kind: 'EnvoyFilter',
    metadata: childMetadata(policy, childName(policy.metadata.name, 'hold')),
    spec,
  };
}
