// translate(): the bootstrap istiod's translation of our rendered objects amounts to, for the
// sample policy: filter names and order (EnvoyFilter applied by Istio's names), vhosts, clusters, TLS.
import { describe, expect, it } from 'vitest';
import { fileURLToPath } from 'node:url';
import { loadAndRender } from './load.js';
import { TranslateError, clusterName, mergeInto, translate } from './istio_translate.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const { objects } = loadAndRender({
  files: [`${root}manifests/samples/openai-policy.yaml`],
  secretFiles: [`${root}manifests/samples/secrets.yaml`],
});
const GUARD = 'llama-guard.llm.example.internal';
const CA = '-----BEGIN CERTIFICATE-----\nTEST\n-----END CERTIFICATE-----\n';

type Any = any; // eslint-disable-line @typescript-eslint/no-explicit-any

function build() {
  return translate(objects, {
    wasmPath: '/tmp/llm_guard.wasm',
    listenerPort: 15001,
    upstreams: {
      'api.openai.com': { address: '127.0.0.1', portMap: { 443: 40001 }, caPem: CA },
      [GUARD]: { address: '127.0.0.1', portMap: { 443: 40002 }, caPem: CA },
    },
  });
}

describe('translate', () => {
  it('sends the key service cluster the WasmPlugin names to where it is locally, in plain HTTP', () => {
    const KS = 'outbound|15443||llmguard-keys.llmguard-system.svc.cluster.local';
    expect(build().keyServiceClusters).toEqual([KS]);
    expect(build().clusters).not.toContain(KS);
    const t = translate(objects, { wasmPath: '/tmp/llm_guard.wasm', listenerPort: 15001, upstreams: {}, keyService: { address: '127.0.0.1', port: 41000 } });
    const c = (t.bootstrap as Any).static_resources.clusters.find((x: Any) => x.name === KS);
    expect(c.load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.socket_address).toEqual({ address: '127.0.0.1', port_value: 41000 });
    expect(c.transport_socket).toBeUndefined();
  });

  it('puts the wasm filter under its ECDS name (master: the TrafficExtension it becomes), the hold filter right before the router', () => {
    const t = build();
    expect(t.unmatchedPatches).toEqual([]);
    const hcm = (t.bootstrap as Any).static_resources.listeners[0].filter_chains[0].filters[0].typed_config;
    expect(hcm.http_filters.map((f: Any) => f.name)).toEqual([
      'extensions.istio.io/trafficextension/default.openai-chat~istio-translated-wasmplugin',
      'llm-guard.hold-request',
      'envoy.filters.http.router',
    ]);
    const cfg = hcm.http_filters[0].typed_config.config;
    expect(cfg.name).toBe('default.openai-chat~istio-translated-wasmplugin');
    expect(cfg.root_id).toBeUndefined(); // no pluginName: Envoy's '' root_id
    expect(cfg.failure_policy).toBe('FAIL_CLOSED');
    expect(cfg.vm_config.runtime).toBe('envoy.wasm.runtime.v8');
    expect(cfg.vm_config.code.local.filename).toBe('/tmp/llm_guard.wasm');
    expect(cfg.configuration['@type']).toBe('type.googleapis.com/google.protobuf.StringValue');
    const pc = JSON.parse(cfg.configuration.value);
    expect(pc.providers[0].api_keys).toBeUndefined(); // keys come from the key service
    expect(pc.key_service.path).toBe('/v1/keys/default/openai-chat');
    expect(hcm.http_filters[1].disabled).toBe(true);
    expect(hcm.route_config.name).toBe('80');
    const vh = hcm.route_config.virtual_hosts;
    expect(vh.map((v: Any) => v.name).sort()).toEqual(['api.openai.com:80', `${GUARD}:80`]);
    const openai = vh.find((v: Any) => v.name === 'api.openai.com:80');
    expect(openai.domains).toEqual(['api.openai.com', 'api.openai.com.']);
    expect(openai.routes[0].route.cluster).toBe('outbound|80||api.openai.com');
    expect(Object.keys(openai.typed_per_filter_config)).toEqual(['llm-guard.hold-request']);
    expect(openai.metadata).toEqual({ filter_metadata: { 'llm-guard.hold-request': { enabled: true } } });
    expect(vh.find((v: Any) => v.name === `${GUARD}:80`).typed_per_filter_config).toBeUndefined();
  });

  it('makes outbound|port||host clusters; port 80 originates TLS to the mapped 443 with SNI and SAN = host', () => {
    const t = build();
    expect(t.clusters.sort()).toEqual(
      [clusterName('api.openai.com', 80), clusterName('api.openai.com', 443), clusterName(GUARD, 80), clusterName(GUARD, 443)].sort(),
    );
    const clusters = (t.bootstrap as Any).static_resources.clusters;
    const c80 = clusters.find((c: Any) => c.name === 'outbound|80||api.openai.com');
    expect(c80.type).toBe('STATIC');
    expect(c80.load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.socket_address).toEqual({ address: '127.0.0.1', port_value: 40001 });
    const tls = c80.transport_socket.typed_config;
    expect(tls.sni).toBe('api.openai.com');
    expect(tls.common_tls_context.validation_context.trusted_ca).toEqual({ inline_string: CA });
    expect(tls.common_tls_context.validation_context.match_typed_subject_alt_names).toEqual([{ san_type: 'DNS', matcher: { exact: 'api.openai.com' } }]);
    const g80 = clusters.find((c: Any) => c.name === `outbound|80||${GUARD}`);
    expect(g80.transport_socket.typed_config.sni).toBe(GUARD);
    // The 443 (HTTPS passthrough) cluster has no TLS of its own.
    expect(clusters.find((c: Any) => c.name === 'outbound|443||api.openai.com').transport_socket).toBeUndefined();
  });

  it('real upstreams: DNS clusters at 443 trusting the system CAs', () => {
    const t = translate(objects, { wasmPath: '/x.wasm', listenerPort: 1, upstreams: {} });
    const c = (t.bootstrap as Any).static_resources.clusters.find((x: Any) => x.name === 'outbound|80||api.openai.com');
    expect(c.type).toBe('LOGICAL_DNS');
    expect(c.load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.socket_address).toEqual({ address: 'api.openai.com', port_value: 443 });
    expect(c.transport_socket.typed_config.common_tls_context.validation_context.trusted_ca).toEqual({ filename: '/etc/ssl/certs/ca-certificates.crt' });
  });

  it('names the filter as 1.29 did, and holds the request whatever the filter is called', () => {
    const old = translate(objects, { wasmPath: '/x.wasm', listenerPort: 1, upstreams: {}, naming: 'wasmplugin' });
    const filters = (old.bootstrap as Any).static_resources.listeners[0].filter_chains[0].filters[0].typed_config.http_filters;
    expect(filters.map((f: Any) => f.name)).toEqual(['extensions.istio.io/wasmplugin/default.openai-chat', 'llm-guard.hold-request', 'envoy.filters.http.router']);
    expect(filters[0].typed_config.config.name).toBe('default.openai-chat');
    const renamed = objects.map((o) => (o.kind === 'WasmPlugin' ? { ...o, metadata: { ...(o.metadata as object), name: 'other' } } : o));
    expect(translate(renamed, { wasmPath: '/x.wasm', listenerPort: 1, upstreams: {} }).unmatchedPatches).toEqual([]);
  });

  it('reports patches that match no Istio name, and maps every failStrategy', () => {
    const moved = objects.map((o) =>
      o.kind === 'ServiceEntry' ? { ...o, spec: { ...(o.spec as object), ports: [{ number: 8080, name: 'http-8080', protocol: 'HTTP', targetPort: 443 }] } } : o,
    );
    const t = translate(moved, { wasmPath: '/x.wasm', listenerPort: 1, upstreams: {} });
    expect(t.unmatchedPatches).toHaveLength(1);
    expect(t.unmatchedPatches[0]).toContain('no virtual host serving api.openai.com');
    for (const [from, to] of [['FAIL_OPEN', 'FAIL_OPEN'], ['FAIL_RELOAD', 'FAIL_RELOAD'], ['FAIL_CLOSE', 'FAIL_CLOSED']]) {
      const o = objects.map((x) => (x.kind === 'WasmPlugin' ? { ...x, spec: { ...(x.spec as object), failStrategy: from } } : x));
      const b = translate(o, { wasmPath: '/x.wasm', listenerPort: 1, upstreams: {} }).bootstrap as Any;
      expect(b.static_resources.listeners[0].filter_chains[0].filters[0].typed_config.http_filters[0].typed_config.config.failure_policy).toBe(to);
    }
    const bad = objects.map((x) => (x.kind === 'WasmPlugin' ? { ...x, spec: { ...(x.spec as object), failStrategy: 'NOPE' } } : x));
    expect(() => translate(bad, { wasmPath: '/x.wasm', listenerPort: 1, upstreams: {} })).toThrow(TranslateError);
  });

  it('merges like Istio MERGE', () => {
    expect(mergeInto({ a: { b: 1 }, l: [1] }, { a: { c: 2 }, l: [2], d: 3 })).toEqual({ a: { b: 1, c: 2 }, l: [1, 2], d: 3 });
  });
});
