// The Istio-shaped pieces: the hold filter is exactly what the operator's EnvoyFilter inserts, and
// buildBootstrap (what the e2e tests, demo and bench run) composes the same pieces translate does.
import { describe, expect, it } from 'vitest';
import { fileURLToPath } from 'node:url';
import { HCM_NAME, fileAccessLog, holdFilter, holdFilterForRoute, responseHoldFilter, wasmHttpFilter } from './bootstrap.js';
import { loadAndRender } from './load.js';
import { OTHER_HOST, buildBootstrap } from './sidecar_bootstrap.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const { objects } = loadAndRender({
  files: [`${root}manifests/samples/openai-policy.yaml`],
  secretFiles: [`${root}manifests/samples/secrets.yaml`],
});

type Any = any; // eslint-disable-line @typescript-eslint/no-explicit-any

function hcmOf(bootstrap: Any, listener = 0): Any {
  const filter = bootstrap.static_resources.listeners[listener].filter_chains[0].filters[0];
  expect(filter.name).toBe(HCM_NAME);
  return filter.typed_config;
}

describe('the hold filter', () => {
  it('is the filter and per-route enablement the rendered EnvoyFilter patches in', () => {
    const ef = objects.find((o) => o.kind === 'EnvoyFilter') as Any;
    const [insert, ...vhostMerges] = ef.spec.configPatches;
    const maxBytes = insert.patch.value.typed_config.max_request_bytes;
    expect(insert.patch.value).toEqual(holdFilter(maxBytes));
    expect(vhostMerges.length).toBeGreaterThan(0);
    for (const m of vhostMerges) expect(m.patch.value.typed_per_filter_config).toEqual(holdFilterForRoute(maxBytes));
  });
});

describe('buildBootstrap', () => {
  const wasm = { wasmPath: '/x.wasm', namespace: 'apps', name: 'guard', pluginConfig: { hosts: ['api.openai.com'] } };
  const bootstrap = buildBootstrap({
    mockPort: 4000,
    providerHosts: ['api.openai.com'],
    extraClusters: [{ name: 'outbound|80||guard.internal', port: 4001 }],
    accessLogPath: '/tmp/access.log',
    listeners: [
      { name: 'guarded', wasm, perConnectionBufferLimitBytes: 65536 },
      { name: 'baseline', wasm: null },
    ],
  }) as Any;

  it('installs the wasm filter as istiod does, then the hold filter, then the router', () => {
    const hcm = hcmOf(bootstrap);
    expect(hcm.http_filters).toEqual([wasmHttpFilter(wasm), holdFilter(65536), expect.objectContaining({ name: 'envoy.filters.http.router' })]);
    expect(bootstrap.static_resources.listeners[0].per_connection_buffer_limit_bytes).toBe(65536);
  });

  it('holds requests on provider virtual hosts only, with Istio route defaults', () => {
    const [provider, other] = hcmOf(bootstrap).route_config.virtual_hosts;
    expect(provider.name).toBe('api.openai.com:80');
    expect(provider.typed_per_filter_config).toEqual(holdFilterForRoute(65536));
    expect(provider.routes[0].route).toMatchObject({ cluster: 'outbound|80||api.openai.com', timeout: '0s', retry_policy: { num_retries: 2 } });
    expect(other).toMatchObject({ name: `${OTHER_HOST}:80`, domains: ['*'] });
    expect(other.typed_per_filter_config).toBeUndefined();
  });

  it('a listener without the plugin has neither the wasm nor the hold filter', () => {
    expect(hcmOf(bootstrap, 1).http_filters.map((f: Any) => f.name)).toEqual(['envoy.filters.http.router']);
  });

  it('holdRequest without the plugin gives the hold alone, enabled on provider virtual hosts', () => {
    const holdOnly = buildBootstrap({ mockPort: 4000, providerHosts: ['api.openai.com'], listeners: [{ name: 'hold', wasm: null, holdRequest: true }] }) as Any;
    expect(hcmOf(holdOnly).http_filters).toEqual([holdFilter(1048576), expect.objectContaining({ name: 'envoy.filters.http.router' })]);
    expect(hcmOf(holdOnly).route_config.virtual_hosts[0].typed_per_filter_config).toEqual(holdFilterForRoute(1048576));
  });

  it('holdResponse puts the response hold first, before the wasm filter, enabled and marked on provider virtual hosts', () => {
    const held = buildBootstrap({ mockPort: 4000, providerHosts: ['api.openai.com'], listeners: [{ name: 'held', wasm, holdResponse: true }] }) as Any;
    expect(hcmOf(held).http_filters.map((f: Any) => f.name)).toEqual([
      'llm-guard.hold-response', 'envoy.filters.http.wasm', 'llm-guard.hold-request', 'envoy.filters.http.router',
    ].map((n) => (n === 'envoy.filters.http.wasm' ? wasmHttpFilter(wasm).name : n)));
    expect(hcmOf(held).http_filters[0]).toEqual(responseHoldFilter());
    const [provider, other] = hcmOf(held).route_config.virtual_hosts;
    expect(Object.keys(provider.typed_per_filter_config)).toEqual(['llm-guard.hold-request', 'llm-guard.hold-response']);
    expect(provider.metadata.filter_metadata['llm-guard.hold-response']).toEqual({ enabled: true });
    expect(other.typed_per_filter_config).toBeUndefined();
  });

  it('logs the rule that denied a request, per listener', () => {
    expect(hcmOf(bootstrap).access_log).toEqual([fileAccessLog('/tmp/access.log', 'guarded')]);
    expect(JSON.stringify(fileAccessLog('/l', 'x'))).toContain('%FILTER_STATE(wasm.llm_guard.rule:PLAIN)%');
  });

  it('points provider and catch-all clusters at the mock, extra clusters where asked', () => {
    const portOf = (c: Any) => c.load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.socket_address.port_value;
    const clusters = bootstrap.static_resources.clusters.map((c: Any) => [c.name, c.type, portOf(c)]);
    expect(clusters).toEqual([
      ['outbound|80||api.openai.com', 'STATIC', 4000],
      [`outbound|80||${OTHER_HOST}`, 'STATIC', 4000],
      ['outbound|80||guard.internal', 'STATIC', 4001],
    ]);
  });

  it('refuses two listeners with one name', () => {
    expect(() => buildBootstrap({ mockPort: 1, providerHosts: [], listeners: [{ name: 'a' }, { name: 'a' }] })).toThrow(/duplicate listener name a/);
  });
});
