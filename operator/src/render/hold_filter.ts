// proxy-wasm under Istio can't hold request headers while the filter reads the body: Envoy's
// router sends them (key included) upstream as soon as the filter continues them. This
// EnvoyFilter puts a buffer filter right before the router (so after ours, whatever istiod names
// our filter: `extensions.istio.io/wasmplugin/...` up to 1.29, `.../trafficextension/...~istio-
// translated-wasmplugin` on master), enabled only on the provider virtual hosts, so a request is
// held whole in the sidecar until the guard lets it go; a refused request sends nothing upstream.
// The same virtual-host patch marks the host's metadata; the filter (require_hold) refuses a
// request on a route without the mark instead of letting its headers go before the body is
// judged. See test/e2e/harness.e2e.test.ts and test/mesh for both behaviours in real Envoy.
// Policies with response deny patterns also get a response hold (below).
import type { LlmGuardPolicy } from '../api/v1alpha1/llm_guard_policy.js';
import { childMetadata } from './labels.js';
import { childName } from './names.js';
import { sortedLabels } from './wasm_plugin.js';

/**
 * The response hold, for policies with response deny patterns: a Lua filter first in the chain, so
 * a response passes it after ours. For a JSON reply it waits for the whole body before letting the
 * headers go, so when our filter denies the reply at its end, Envoy can still answer with the
 * filter's own error and status (a local reply straight to the client) instead of a 200 whose body
 * is an error. Streams are not held. Its mark tells the filter it is there.
 */
export const RESPONSE_HOLD_FILTER_NAME = 'llm-guard.hold-response';
const LUA_TYPE = 'type.googleapis.com/envoy.extensions.filters.http.lua.v3.Lua';
const LUA_PER_ROUTE_TYPE = 'type.googleapis.com/envoy.extensions.filters.http.lua.v3.LuaPerRoute';
const RESPONSE_HOLD_SCRIPT = 'hold-json-replies';
export const RESPONSE_HOLD_LUA = [
  'function envoy_on_response(response_handle)',
  '  local content_type = response_handle:headers():get("content-type")',
  '  if content_type ~= nil and string.find(string.lower(content_type), "json", 1, true) ~= nil then',
  '    response_handle:body()',
  '  end',
  'end',
  '',
].join('\n');

/** The Lua response hold, disabled unless a route enables it. */
export function responseHoldFilter(): Record<string, unknown> {
  return {
    name: RESPONSE_HOLD_FILTER_NAME,
    disabled: true,
    typed_config: { '@type': LUA_TYPE, source_codes: { [RESPONSE_HOLD_SCRIPT]: { inline_string: RESPONSE_HOLD_LUA } } },
  };
}

/** A virtual host's typed_per_filter_config entry that enables the response hold there. */
export function responseHoldForRoute(): Record<string, unknown> {
  return { [RESPONSE_HOLD_FILTER_NAME]: { '@type': LUA_PER_ROUTE_TYPE, name: RESPONSE_HOLD_SCRIPT } };
}

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

/** What the hold EnvoyFilter merges into a provider virtual host; with `holdResponses`, the response hold's too. */
export function holdVirtualHostPatch(maxBytes: number, holdResponses = false): Record<string, unknown> {
  if (!holdResponses) return { typed_per_filter_config: holdFilterForRoute(maxBytes), metadata: holdMark() };
  return {
    typed_per_filter_config: { ...holdFilterForRoute(maxBytes), ...responseHoldForRoute() },
    metadata: { filter_metadata: { [HOLD_FILTER_NAME]: holdMarkFields(), [RESPONSE_HOLD_FILTER_NAME]: holdMarkFields() } },
  };
}

/** Response deny patterns need the response hold (redaction doesn't: the status stays right). */
export function holdsResponses(policy: LlmGuardPolicy): boolean {
  return (policy.spec.response?.denyPatterns?.length ?? 0) > 0;
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
  const holdResponses = holdsResponses(policy);
  if (holdResponses) {
    // First in the chain: a response passes every other filter, ours included, before it.
    configPatches.push({
      applyTo: 'HTTP_FILTER',
      match: { context, listener: { filterChain: { filter: { name: 'envoy.filters.network.http_connection_manager' } } } },
      patch: { operation: 'INSERT_FIRST', value: responseHoldFilter() },
    });
  }
  for (const p of policy.spec.providers) {
    configPatches.push({
      applyTo: 'VIRTUAL_HOST',
      // By domain, not by istiod's virtual-host name (`host:port` on a sidecar): the same patch finds
      // the host on a gateway listener, whatever its port.
      match: { context, routeConfiguration: { vhost: { domainName: p.host } } },
      patch: {
        operation: 'MERGE',
        value: holdVirtualHostPatch(maxBytes, holdResponses),
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
