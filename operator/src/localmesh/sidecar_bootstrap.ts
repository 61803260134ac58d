// buildBootstrap(): a sidecar's outbound HTTP listener(s) with the LLM guard installed as istiod
// translates a WasmPlugin, each provider host's `outbound|80||<host>` cluster pointing at one local
// mock provider, and a catch-all host that is not a provider. What the e2e tests, the demo and the
// bench run the filter in. Pure: start it with startEnvoy (envoy.ts).
import {
  holdFilter,
  holdVirtualHostPatch,
  responseHoldFilter,
  httpListener,
  outboundCluster,
  outboundConnectionManager,
  routerFilter,
  staticBootstrap,
  virtualHost,
  wasmHttpFilter,
  type EnvoyConfig,
  type VirtualHostSpec,
  type WasmPluginSpec,
} from './bootstrap.js';
import { clusterName } from './istio_names.js';

/** The host that is not a provider: requests to it must pass the filter untouched. */
export const OTHER_HOST = 'other.example';
const SERVICE_PORT = 80;
const ENVOY_DEFAULT_BUFFER_LIMIT = 1024 * 1024;

/** One outbound HTTP listener. `wasm: null` gives a sidecar without the plugin (a baseline). */
export interface ListenerSpec {
  /** The listener's name, also its key in EnvoyProcess.ports. */
  name: string;
  /** 0 (default) = Envoy picks; startEnvoy reads it back. */
  port?: number;
  wasm?: WasmPluginSpec | null;
  /** Default 1 MiB (Envoy's default). */
  perConnectionBufferLimitBytes?: number;
  /** Raw HTTP filters before the wasm filter (e.g. what an Istio EnvoyFilter would insert). */
  httpFiltersBefore?: EnvoyConfig[];
  /**
   * The hold filter after the guard, enabled on provider virtual hosts only. Default: true with
   * wasm, false without; `true` with `wasm: null` gives the hold alone (the bench's floor).
   */
  holdRequest?: boolean;
  /** The response hold first in the chain (what the operator adds for response deny patterns). Default false. */
  holdResponse?: boolean;
}

/** A STATIC cluster on loopback, e.g. the guard model's `outbound|80||guard.internal`. */
export interface ClusterSpec {
  name: string;
  port: number;
  /** Default 127.0.0.1. */
  address?: string;
}

export interface BootstrapOptions {
  /** Default 0: Envoy picks (startEnvoy reads it back). */
  adminPort?: number;
  /** Where the provider hosts' clusters (and the catch-all's) point. */
  mockPort: number;
  /** One virtual host and `outbound|80||host` cluster each. */
  providerHosts: string[];
  listeners: ListenerSpec[];
  extraClusters?: ClusterSpec[];
  /**
   * More virtual hosts on every listener (before the catch-all, no hold), e.g. a mesh service's
   * names routed to its cluster as Istio routes them (`llmguard-keys.llmguard-system` ...).
   */
  extraVirtualHosts?: VirtualHostSpec[];
  /** A file access log (bootstrap.ts fileAccessLog). */
  accessLogPath?: string;
  /** The catch-all's host (default other.example). */
  otherHost?: string;
}

function listener(spec: ListenerSpec, opts: BootstrapOptions): EnvoyConfig {
  const hold = spec.holdRequest ?? Boolean(spec.wasm);
  const bufferLimit = spec.perConnectionBufferLimitBytes ?? ENVOY_DEFAULT_BUFFER_LIMIT;
  const httpFilters = [...(spec.httpFiltersBefore ?? [])];
  if (spec.holdResponse) httpFilters.unshift(responseHoldFilter());
  if (spec.wasm) httpFilters.push(wasmHttpFilter(spec.wasm));
  if (hold) httpFilters.push(holdFilter(bufferLimit));
  httpFilters.push(routerFilter());
  // Istio lists `host` and `host:80`; `host:*` lets a test send any port in the Host header.
  // With the hold, each provider virtual host gets what the operator's EnvoyFilter merges into it.
  const providerVhosts = opts.providerHosts.map((host) => ({
    ...virtualHost({ name: `${host}:${SERVICE_PORT}`, domains: [host, `${host}:*`], cluster: clusterName(host, SERVICE_PORT) }),
    ...(hold ? holdVirtualHostPatch(bufferLimit, spec.holdResponse ?? false) : {}),
  }));
  const otherHost = opts.otherHost ?? OTHER_HOST;
  const catchAll = virtualHost({ name: `${otherHost}:${SERVICE_PORT}`, domains: ['*'], cluster: clusterName(otherHost, SERVICE_PORT) });
  return httpListener({
    name: spec.name,
    port: spec.port ?? 0,
    perConnectionBufferLimitBytes: bufferLimit,
    connectionManager: outboundConnectionManager({
      statPrefix: `outbound_${spec.name}`,
      routeConfigName: String(SERVICE_PORT),
      virtualHosts: [...providerVhosts, ...(opts.extraVirtualHosts ?? []).map(virtualHost), catchAll],
      httpFilters,
      ...(opts.accessLogPath ? { accessLog: { path: opts.accessLogPath, listenerName: spec.name } } : {}),
    }),
  });
}

/** The whole bootstrap, as a plain object (Envoy reads it as JSON). */
export function buildBootstrap(opts: BootstrapOptions): EnvoyConfig {
  const names = new Set<string>();
  for (const l of opts.listeners) {
    if (names.has(l.name)) throw new Error(`duplicate listener name ${l.name}`);
    names.add(l.name);
  }
  const onMock = (host: string) => outboundCluster({ name: clusterName(host, SERVICE_PORT), address: '127.0.0.1', port: opts.mockPort });
  const clusters = [
    ...opts.providerHosts.map(onMock),
    onMock(opts.otherHost ?? OTHER_HOST),
    ...(opts.extraClusters ?? []).map((c) => outboundCluster({ name: c.name, address: c.address ?? '127.0.0.1', port: c.port })),
  ];
  return staticBootstrap(opts.listeners.map((l) => listener(l, opts)), clusters, opts.adminPort ?? 0);
}
