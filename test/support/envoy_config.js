// @ts-check
/**
 * Builds an Envoy bootstrap shaped like what istiod + istio-agent deliver to a sidecar for its
 * outbound HTTP listener, with the LLM guard installed the way a WasmPlugin is translated
 * (see /work/shared/notes/istio-translation.md):
 *   - filter `envoy.filters.http.wasm`, PluginConfig name `<ns>.<name>`, root_id = pluginName ('' if none),
 *   - vm_config {vm_id, runtime v8, code.local.filename, environment_variables},
 *   - configuration = StringValue holding JSON.stringify(pluginConfig),
 *   - failure_policy FAIL_CLOSED (WasmPlugin failStrategy FAIL_CLOSE, the default),
 *   - clusters `outbound|80||<host>`; here each one points at the local mock provider.
 * Nothing here starts a process: see envoy_process.js.
 */

export const WASM_FILTER_TYPE = 'type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm';
export const STRING_VALUE_TYPE = 'type.googleapis.com/google.protobuf.StringValue';
const HCM_TYPE =
  'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager';
const ROUTER_TYPE = 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router';
const FILE_LOG_TYPE = 'type.googleapis.com/envoy.extensions.access_loggers.file.v3.FileAccessLog';

/** The host that is not a provider: requests to it must pass the filter untouched. */
export const OTHER_HOST = 'other.example';

/** istiod puts the WasmPlugin's resource version in the VM env so a new version gets a new VM. */
const RESOURCE_VERSION_ENV = 'ISTIO_META_WASM_PLUGIN_RESOURCE_VERSION';

/**
 * A WasmPlugin, in the terms of its spec, plus where istio-agent left the module.
 * @typedef {object} WasmPluginSpec
 * @property {string} wasmPath            local file of the module (istio-agent's cached copy)
 * @property {unknown} pluginConfig       spec.pluginConfig; serialised with JSON.stringify
 * @property {string} [namespace]         metadata.namespace (default 'default')
 * @property {string} [name]              metadata.name (default 'llm-guard')
 * @property {string} [pluginName]        spec.pluginName -> root_id (default '': none)
 * @property {string} [vmId]              vm_config.vm_id (default '': istiod leaves it empty)
 * @property {Record<string, string>} [env]  spec.vmConfig.env INLINE -> key_values
 * @property {string[]} [hostEnvKeys]     spec.vmConfig.env HOST -> host_env_keys
 * @property {'FAIL_CLOSED'|'FAIL_OPEN'|'FAIL_RELOAD'} [failurePolicy]  default FAIL_CLOSED
 * @property {string} [rawConfiguration]  send this text instead of JSON.stringify(pluginConfig)
 */

/**
 * One outbound HTTP listener. `wasm: null` gives a sidecar without the plugin (a baseline).
 * @typedef {object} ListenerSpec
 * @property {string} name                listener name, also the key of EnvoyProcess.ports
 * @property {number} [port]              0 (default) = Envoy picks; read it back from the admin API
 * @property {WasmPluginSpec | null} [wasm]
 * @property {number} [perConnectionBufferLimitBytes]  default 1 MiB (Envoy's default)
 * @property {object[]} [httpFiltersBefore]  raw HTTP filters placed before the wasm filter
 *   (e.g. what an Istio EnvoyFilter would insert)
 * @property {boolean} [holdRequest]     default true with wasm: the request-hold filter after the
 *   guard, enabled on provider virtual hosts only (see holdFilter below)
 */

/**
 * A STATIC cluster on loopback, e.g. the guard model for intelligent_guard.
 * @typedef {object} ClusterSpec
 * @property {string} name                e.g. `outbound|80||guard.internal`
 * @property {number} port
 * @property {string} [address]           default 127.0.0.1
 */

/**
 * @typedef {object} BootstrapOptions
 * @property {number} adminPort           0 = Envoy picks (use with --admin-address-path)
 * @property {number} mockPort            where the provider hosts' clusters point
 * @property {string[]} providerHosts     one virtual host + `outbound|80||host` cluster each
 * @property {ListenerSpec[]} listeners
 * @property {ClusterSpec[]} [extraClusters]
 * @property {string} [accessLogPath]     file access log (Istio's text format subset)
 * @property {string} [otherHost]         the catch-all cluster's host (default other.example)
 */

/** @param {string} host */
export function clusterName(host, port = 80) {
  return `outbound|${port}||${host}`;
}

/**
 * The `envoy.filters.http.wasm` HTTP filter exactly as istiod emits a WasmPlugin.
 * @param {WasmPluginSpec} spec
 */
export function wasmHttpFilter(spec) {
  const namespace = spec.namespace ?? 'default';
  const name = spec.name ?? 'llm-guard';
  /** @type {Record<string, string>} */
  const keyValues = { [RESOURCE_VERSION_ENV]: '1', ...(spec.env ?? {}) };
  /** @type {Record<string, unknown>} */
  const environmentVariables = { key_values: keyValues };
  if (spec.hostEnvKeys?.length) environmentVariables.host_env_keys = spec.hostEnvKeys;
  return {
    name: 'envoy.filters.http.wasm',
    typed_config: {
      '@type': WASM_FILTER_TYPE,
      config: {
        name: `${namespace}.${name}`,
        root_id: spec.pluginName ?? '',
        vm_config: {
          vm_id: spec.vmId ?? '',
          runtime: 'envoy.wasm.runtime.v8',
          code: { local: { filename: spec.wasmPath } },
          environment_variables: environmentVariables,
        },
        configuration: {
          '@type': STRING_VALUE_TYPE,
          value: spec.rawConfiguration ?? JSON.stringify(spec.pluginConfig),
        },
        failure_policy: spec.failurePolicy ?? 'FAIL_CLOSED',
      },
    },
  };
}

/** Name of the buffer filter that holds provider requests until the guard has judged them. */
export const HOLD_FILTER_NAME = 'llm-guard.hold-request';
const BUFFER_TYPE = 'type.googleapis.com/envoy.extensions.filters.http.buffer.v3.Buffer';
const BUFFER_PER_ROUTE_TYPE = 'type.googleapis.com/envoy.extensions.filters.http.buffer.v3.BufferPerRoute';

/**
 * proxy-wasm (ABI 0.2.1, as Istio configures Envoy) can't hold request headers while it reads the
 * body: once the guard returns Continue from its headers hook, the router would send the headers,
 * with the injected key, to the provider. A buffer filter right after the guard holds the headers
 * (the same header map, key included) until the guard lets the body go, so a refused request sends
 * nothing upstream. It is disabled by default and enabled per provider virtual host, so other
 * traffic on the listener keeps streaming. The operator renders the same thing as an EnvoyFilter.
 */
/** @param {number} maxBytes  requests larger than this get 413 from Envoy (the buffer limit while held) */
export function holdFilter(maxBytes) {
  return {
    name: HOLD_FILTER_NAME,
    disabled: true,
    typed_config: { '@type': BUFFER_TYPE, max_request_bytes: maxBytes },
  };
}

/** @param {number} maxBytes */
function holdFilterEnabledForRoute(maxBytes) {
  return { [HOLD_FILTER_NAME]: { '@type': BUFFER_PER_ROUTE_TYPE, buffer: { max_request_bytes: maxBytes } } };
}

/**
 * Route table: one virtual host per provider host (domains `host` and `host:*`, as Istio lists
 * `host` and `host:80`), and a catch-all to the other host's cluster.
 * @param {string[]} providerHosts
 * @param {string} otherHost
 * @param {boolean} hold  enable the hold filter on the provider virtual hosts
 * @param {number} holdMaxBytes
 */
function routeConfig(providerHosts, otherHost, hold, holdMaxBytes) {
  /** @param {string} host @param {string[]} domains @param {boolean} [holdHere] */
  const vhost = (host, domains, holdHere = false) => ({
    name: `${host}:80`,
    domains,
    ...(holdHere ? { typed_per_filter_config: holdFilterEnabledForRoute(holdMaxBytes) } : {}),
    routes: [
      {
        name: 'default',
        match: { prefix: '/' },
        // Istio's defaults: no route timeout, its default retry policy.
        route: {
          cluster: clusterName(host),
          timeout: '0s',
          retry_policy: {
            retry_on: 'connect-failure,refused-stream,unavailable,cancelled,retriable-status-codes',
            num_retries: 2,
            retriable_status_codes: [503],
            retry_host_predicate: [{ name: 'envoy.retry_host_predicates.previous_hosts', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.retry.host.previous_hosts.v3.PreviousHostsPredicate' } }],
            host_selection_retry_max_attempts: '5',
          },
        },
      },
    ],
  });
  return {
    name: '80',
    validate_clusters: false,
    virtual_hosts: [
      ...providerHosts.map((h) => vhost(h, [h, `${h}:*`], hold)),
      vhost(otherHost, ['*']),
    ],
  };
}

/**
 * @param {ListenerSpec} spec
 * @param {BootstrapOptions} opts
 */
function listener(spec, opts) {
  const httpFilters = [...(spec.httpFiltersBefore ?? [])];
  const hold = Boolean(spec.wasm) && spec.holdRequest !== false;
  const bufferLimit = spec.perConnectionBufferLimitBytes ?? 1024 * 1024;
  if (spec.wasm) httpFilters.push(wasmHttpFilter(spec.wasm));
  if (hold) httpFilters.push(holdFilter(bufferLimit));
  httpFilters.push({ name: 'envoy.filters.http.router', typed_config: { '@type': ROUTER_TYPE } });
  /** @type {Record<string, unknown>} */
  const hcm = {
    '@type': HCM_TYPE,
    stat_prefix: `outbound_${spec.name}`,
    codec_type: 'AUTO',
    route_config: routeConfig(opts.providerHosts, opts.otherHost ?? OTHER_HOST, hold, bufferLimit),
    http_filters: httpFilters,
    // As in Istio's outbound HCM: the app's own headers are trusted, no XFF rewriting.
    use_remote_address: false,
    normalize_path: true,
    path_with_escaped_slashes_action: 'KEEP_UNCHANGED',
    stream_idle_timeout: '0s',
    upgrade_configs: [{ upgrade_type: 'websocket' }],
  };
  if (opts.accessLogPath) {
    hcm.access_log = [
      {
        name: 'envoy.access_loggers.file',
        typed_config: {
          '@type': FILE_LOG_TYPE,
          path: opts.accessLogPath,
          log_format: {
            text_format_source: {
              inline_string:
                `[%START_TIME%] ${spec.name} "%REQ(:METHOD)% %REQ(X-ENVOY-ORIGINAL-PATH?:PATH)% %PROTOCOL%" ` +
                '%RESPONSE_CODE% %RESPONSE_FLAGS% %RESPONSE_CODE_DETAILS% %BYTES_RECEIVED% %BYTES_SENT% ' +
                '%DURATION% "%REQ(:AUTHORITY)%" "%UPSTREAM_HOST%" %UPSTREAM_CLUSTER%\n',
            },
          },
        },
      },
    ];
  }
  return {
    name: spec.name,
    address: { socket_address: { address: '127.0.0.1', port_value: spec.port ?? 0 } },
    per_connection_buffer_limit_bytes: bufferLimit,
    filter_chains: [
      {
        filters: [{ name: 'envoy.filters.network.http_connection_manager', typed_config: hcm }],
      },
    ],
  };
}

/** @param {string} name @param {string} address @param {number} port */
function staticCluster(name, address, port) {
  return {
    name,
    type: 'STATIC',
    connect_timeout: '2s',
    lb_policy: 'ROUND_ROBIN',
    load_assignment: {
      cluster_name: name,
      endpoints: [
        { lb_endpoints: [{ endpoint: { address: { socket_address: { address, port_value: port } } } }] },
      ],
    },
  };
}

/**
 * The whole bootstrap, as a plain object (serialise with JSON.stringify; Envoy reads .json).
 * @param {BootstrapOptions} opts
 */
export function buildBootstrap(opts) {
  const names = new Set();
  for (const l of opts.listeners) {
    if (names.has(l.name)) throw new Error(`duplicate listener name ${l.name}`);
    names.add(l.name);
  }
  const otherHost = opts.otherHost ?? OTHER_HOST;
  const clusters = [
    ...opts.providerHosts.map((h) => staticCluster(clusterName(h), '127.0.0.1', opts.mockPort)),
    staticCluster(clusterName(otherHost), '127.0.0.1', opts.mockPort),
    ...(opts.extraClusters ?? []).map((c) => staticCluster(c.name, c.address ?? '127.0.0.1', c.port)),
  ];
  return {
    node: {
      id: 'sidecar~127.0.0.1~app-0.default~default.svc.cluster.local',
      cluster: 'app.default',
    },
    admin: {
      address: { socket_address: { address: '127.0.0.1', port_value: opts.adminPort } },
    },
    static_resources: {
      listeners: opts.listeners.map((l) => listener(l, opts)),
      clusters,
    },
  };
}
