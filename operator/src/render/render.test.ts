// renderPolicy: the exact objects for a policy, byte-stable output, owner references, names, and
// no key anywhere (the key service serves them). The pluginConfig is also handed to the real filter.
import { describe, expect, it } from 'vitest';
import type { LlmGuardPolicy } from '../api/v1alpha1/llm_guard_policy.js';
import { checkPluginConfig } from '../wasm/configure.js';
import { externalHosts } from './egress.js';
import { renderPolicy, secretRefs } from './index.js';
import { childName, hostObjectName } from './names.js';
import { responseHoldFilter } from './hold_filter.js';

type Any = any; // eslint-disable-line @typescript-eslint/no-explicit-any

function samplePolicy(): LlmGuardPolicy {
  return {
    apiVersion: 'llmguard.io/v1alpha1',
    kind: 'LlmGuardPolicy',
    metadata: { name: 'openai-chat', namespace: 'apps' },
    spec: {
      selector: { matchLabels: { tier: 'web', app: 'chat' } },
      providers: [
        {
          host: 'api.openai.com',
          apiKeys: [{ secretKeyRef: { name: 'openai', key: 'primary' } }, { secretKeyRef: { name: 'openai', key: 'secondary' } }],
        },
      ],
      denyPatterns: ['(?i)ignore previous instructions', '\\bAKIA[0-9A-Z]{16}\\b'],
      inspection: { roles: ['user', 'tool'], denyStatus: 451, maxBodyBytes: 2097152 },
      intelligentGuard: {
        host: 'guard.internal.example',
        apiKeySecretRef: { name: 'guard', key: 'token' },
        model: 'llama-guard-3-8b',
        verdictFormat: 'llama_guard',
        systemPrompt: '',
        timeoutMs: 1500,
        cache: { ttlSeconds: 60 },
      },
      plugin: { url: 'oci://ghcr.io/llm-egress-guard/llm-guard:0.1.0' },
    },
  };
}

const LABELS = { 'app.kubernetes.io/managed-by': 'llmguard-operator', 'llmguard.io/policy': 'openai-chat' };
const meta = (name: string) => ({ name, namespace: 'apps', labels: LABELS });

const EXPECTED_PLUGIN_CONFIG = {
  providers: [{ hosts: ['api.openai.com'], auth_style: 'bearer' }],
  key_service: { host: 'llmguard-keys.llmguard-system.svc.cluster.local', port: 15443, path: '/v1/keys/apps/openai-chat' },
  require_hold: true,
  deny_patterns: ['(?i)ignore previous instructions', '\\bAKIA[0-9A-Z]{16}\\b'],
  inspect_roles: ['user', 'tool'],
  deny_status: 451,
  max_body_bytes: 2097152,
  intelligent_guard: {
    host: 'guard.internal.example',
    port: 80,
    model: 'llama-guard-3-8b',
    timeout_ms: 1500,
    verdict_format: 'llama_guard',
    system_prompt: '',
    cache: { ttl_seconds: 60 },
  },
};

const EXPECTED = [
  {
    apiVersion: 'extensions.istio.io/v1alpha1',
    kind: 'WasmPlugin',
    metadata: meta('openai-chat'),
    spec: {
      selector: { matchLabels: { app: 'chat', tier: 'web' } },
      url: 'oci://ghcr.io/llm-egress-guard/llm-guard:0.1.0',
      phase: 'UNSPECIFIED_PHASE',
      failStrategy: 'FAIL_CLOSE',
      match: [{ mode: 'CLIENT' }],
      pluginConfig: EXPECTED_PLUGIN_CONFIG,
    },
  },
  {
    apiVersion: 'networking.istio.io/v1alpha3',
    kind: 'EnvoyFilter',
    metadata: meta('openai-chat-hold'),
    spec: {
      workloadSelector: { labels: { app: 'chat', tier: 'web' } },
      configPatches: [
        {
          applyTo: 'HTTP_FILTER',
          match: {
            context: 'SIDECAR_OUTBOUND',
            listener: {
              filterChain: {
                filter: {
                  name: 'envoy.filters.network.http_connection_manager',
                  subFilter: { name: 'envoy.filters.http.router' },
                },
              },
            },
          },
          patch: {
            operation: 'INSERT_BEFORE',
            value: {
              name: 'llm-guard.hold-request',
              disabled: true,
              typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.buffer.v3.Buffer', max_request_bytes: 2097152 },
            },
          },
        },
        {
          applyTo: 'VIRTUAL_HOST',
          match: { context: 'SIDECAR_OUTBOUND', routeConfiguration: { vhost: { domainName: 'api.openai.com' } } },
          patch: {
            operation: 'MERGE',
            value: {
              metadata: { filter_metadata: { 'llm-guard.hold-request': { enabled: true } } },
              typed_per_filter_config: {
                'llm-guard.hold-request': {
                  '@type': 'type.googleapis.com/envoy.extensions.filters.http.buffer.v3.BufferPerRoute',
                  buffer: { max_request_bytes: 2097152 },
                },
              },
            },
          },
        },
      ],
    },
  },
  {
    apiVersion: 'networking.istio.io/v1',
    kind: 'ServiceEntry',
    metadata: meta(hostObjectName('openai-chat', 'api.openai.com')),
    spec: {
      hosts: ['api.openai.com'],
      exportTo: ['.'],
      location: 'MESH_EXTERNAL',
      resolution: 'DNS',
      ports: [
        { number: 80, name: 'http-80', protocol: 'HTTP', targetPort: 443 },
        { number: 443, name: 'https-443', protocol: 'HTTPS' },
      ],
    },
  },
  {
    apiVersion: 'networking.istio.io/v1',
    kind: 'DestinationRule',
    metadata: meta(hostObjectName('openai-chat', 'api.openai.com')),
    spec: {
      host: 'api.openai.com',
      exportTo: ['.'],
      trafficPolicy: { portLevelSettings: [{ port: { number: 80 }, tls: { mode: 'SIMPLE' } }] },
    },
  },
  {
    apiVersion: 'networking.istio.io/v1',
    kind: 'ServiceEntry',
    metadata: meta(hostObjectName('openai-chat', 'guard.internal.example')),
    spec: {
      hosts: ['guard.internal.example'],
      exportTo: ['.'],
      location: 'MESH_EXTERNAL',
      resolution: 'DNS',
      ports: [
        { number: 80, name: 'http-80', protocol: 'HTTP', targetPort: 443 },
        { number: 443, name: 'https-443', protocol: 'HTTPS' },
      ],
    },
  },
  {
    apiVersion: 'networking.istio.io/v1',
    kind: 'DestinationRule',
    metadata: meta(hostObjectName('openai-chat', 'guard.internal.example')),
    spec: {
      host: 'guard.internal.example',
      exportTo: ['.'],
      trafficPolicy: { portLevelSettings: [{ port: { number: 80 }, tls: { mode: 'SIMPLE' } }] },
    },
  },
];

/** The same object with every map's keys in reverse order (arrays keep theirs). */
function reverseKeys<T>(v: T): T {
  if (Array.isArray(v)) return v.map(reverseKeys) as T;
  if (v && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(v).reverse()) out[k] = reverseKeys((v as Record<string, unknown>)[k]);
    return out as T;
  }
  return v;
}

describe('renderPolicy', () => {
  it('renders exactly the WasmPlugin, the hold EnvoyFilter and a ServiceEntry + DestinationRule per host', () => {
    expect(renderPolicy(samplePolicy())).toStrictEqual(EXPECTED);
  });

  it("renders a pluginConfig the real filter accepts, calling the guard on the ServiceEntry's port-80 cluster and the key service on its own", async () => {
    const [wasm] = renderPolicy(samplePolicy());
    const r = await checkPluginConfig((wasm!.spec as { pluginConfig: unknown }).pluginConfig);
    expect(r.reason).toBeUndefined();
    expect(r.ok).toBe(true);
    const said = r.logs.map((l) => l.message);
    expect(said).toContain('llm-guard: configured: 1 provider(s), 1 host(s), 2 deny and 0 allow pattern(s)');
    expect(said).toContain(
      'llm-guard: guard guard.internal.example/compatible-mode/v1/chat/completions via cluster outbound|80||guard.internal.example, timeout 1500 ms, fail_mode closed, guard key from the key service',
    );
    expect(said).toContain(
      'llm-guard: key service llmguard-keys.llmguard-system.svc.cluster.local/v1/keys/apps/openai-chat via cluster outbound|15443||llmguard-keys.llmguard-system.svc.cluster.local: keys of 1 provider(s) and the guard, refresh 10 s, max stale 60 s, timeout 2000 ms',
    );
  });

  it('is byte-stable: same input, same bytes, whatever the key order of the input', () => {
    const first = JSON.stringify(renderPolicy(samplePolicy()));
    expect(JSON.stringify(renderPolicy(samplePolicy()))).toBe(first);
    expect(JSON.stringify(renderPolicy(reverseKeys(samplePolicy())))).toBe(first);
  });

  it('keeps the order of patterns, providers and keys (the filter reports errors by index)', () => {
    const p = samplePolicy();
    p.spec.denyPatterns = ['b', 'a', 'c'];
    const cfg = (renderPolicy(p)[0]!.spec as { pluginConfig: { deny_patterns: string[] } }).pluginConfig;
    expect(cfg.deny_patterns).toEqual(['b', 'a', 'c']);
  });

  it('writes redaction and response patterns only when set, in order, and the real filter accepts them', async () => {
    const config = (p: LlmGuardPolicy) => (renderPolicy(p)[0]!.spec as { pluginConfig: Record<string, unknown> }).pluginConfig;
    const keys = ['redact_patterns', 'redact_token', 'response_deny_patterns', 'response_redact_patterns', 'response_max_hold_back'];
    for (const k of keys) expect(config(samplePolicy())).not.toHaveProperty(k);
    const empty = samplePolicy();
    empty.spec.redactPatterns = [];
    empty.spec.response = { denyPatterns: [], redactPatterns: [] };
    for (const k of keys) expect(config(empty)).not.toHaveProperty(k);

    const p = samplePolicy();
    p.spec.redactPatterns = ['\\b[0-9]{3}-[0-9]{2}-[0-9]{4}\\b', '(?i)password: *\\S+'];
    p.spec.redactToken = '<removed>';
    p.spec.response = { denyPatterns: ['-----BEGIN PRIVATE KEY-----'], redactPatterns: ['\\bsk-[A-Za-z0-9]{20,}\\b', 'b', 'a'], maxHoldBack: 8192 };
    const cfg = config(p);
    expect(cfg).toStrictEqual({
      ...EXPECTED_PLUGIN_CONFIG,
      redact_patterns: ['\\b[0-9]{3}-[0-9]{2}-[0-9]{4}\\b', '(?i)password: *\\S+'],
      redact_token: '<removed>',
      response_deny_patterns: ['-----BEGIN PRIVATE KEY-----'],
      response_redact_patterns: ['\\bsk-[A-Za-z0-9]{20,}\\b', 'b', 'a'],
      response_max_hold_back: 8192,
    });
    const r = await checkPluginConfig(cfg);
    expect(r.reason).toBeUndefined();
    expect(r.ok).toBe(true);

    // An empty token is a value (matches are removed), and each field stands on its own.
    const alone = samplePolicy();
    alone.spec.redactToken = '';
    alone.spec.response = { maxHoldBack: 64 };
    expect(config(alone)).toStrictEqual({ ...EXPECTED_PLUGIN_CONFIG, redact_token: '', response_max_hold_back: 64 });
  });

  it('adds an owner reference to every object only when the policy has a uid (none offline)', () => {
    expect(renderPolicy(samplePolicy()).every((o) => !('ownerReferences' in o.metadata))).toBe(true);
    const p = samplePolicy();
    p.metadata.uid = '6f1a8a52-1c1e-4a57-9d55-0a0d9d0e2b11';
    for (const o of renderPolicy(p)) {
      expect((o.metadata as { ownerReferences?: unknown }).ownerReferences).toEqual([
        {
          apiVersion: 'llmguard.io/v1alpha1',
          kind: 'LlmGuardPolicy',
          name: 'openai-chat',
          uid: '6f1a8a52-1c1e-4a57-9d55-0a0d9d0e2b11',
          controller: true,
          blockOwnerDeletion: true,
        },
      ]);
    }
  });

  it('names children within 63 characters, distinct per host, for the longest policy name', () => {
    const p = samplePolicy();
    p.metadata.name = 'a'.repeat(63);
    p.spec.providers.push({ host: 'generativelanguage.googleapis.com', apiKeys: [{ secretKeyRef: { name: 'openai', key: 'primary' } }] });
    const objects = renderPolicy(p);
    const dns = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
    for (const o of objects) {
      expect(o.metadata.name.length).toBeLessThanOrEqual(63);
      expect(o.metadata.name).toMatch(dns);
      expect((o.metadata as unknown as { labels: Record<string, string> }).labels['llmguard.io/policy']).toBe(p.metadata.name);
    }
    const seNames = objects.filter((o) => o.kind === 'ServiceEntry').map((o) => o.metadata.name);
    expect(new Set(seNames).size).toBe(3);
    expect(childName('short', 'hold')).toBe('short-hold');
    expect(childName(p.metadata.name, 'hold')).toMatch(/^a+-[0-9a-f]{8}$/);
  });

  it('names host objects so that no two policies or hosts share one', () => {
    expect(hostObjectName('short', 'api.openai.com')).toMatch(/^short-api-openai-com-[0-9a-f]{8}$/);
    expect(hostObjectName('short', 'api.openai.com')).toBe(hostObjectName('short', 'api.openai.com'));
    expect(hostObjectName('team', 'a-api.example.com')).not.toBe(hostObjectName('team-a', 'api.example.com'));
    expect(hostObjectName('p', 'api.openai.com')).not.toBe(hostObjectName('p', 'api-openai.com'));
    const long = hostObjectName('a'.repeat(63), 'generativelanguage.googleapis.com');
    expect(long.length).toBeLessThanOrEqual(63);
    expect(long).not.toBe(hostObjectName('a'.repeat(63), 'api.openai.com'));
  });

  it('renders no key: the pluginConfig names the key service and the policy’s path on it', () => {
    const objects = renderPolicy(samplePolicy());
    const cfg = (objects[0]!.spec as { pluginConfig: Record<string, unknown> }).pluginConfig;
    expect(cfg.key_service).toEqual({ host: 'llmguard-keys.llmguard-system.svc.cluster.local', port: 15443, path: '/v1/keys/apps/openai-chat' });
    expect(JSON.stringify(objects)).not.toMatch(/api_key/);
    const elsewhere = renderPolicy(samplePolicy(), { host: 'keys.platform.svc.cluster.local', port: 8443 });
    expect((elsewhere[0]!.spec as { pluginConfig: { key_service: unknown } }).pluginConfig.key_service).toEqual({
      host: 'keys.platform.svc.cluster.local',
      port: 8443,
      path: '/v1/keys/apps/openai-chat',
    });
  });

  it('lists each Secret reference once, in spec order', () => {
    const p = samplePolicy();
    p.spec.intelligentGuard!.apiKeySecretRef = { name: 'openai', key: 'primary' };
    expect(secretRefs(p)).toEqual([
      { name: 'openai', key: 'primary' },
      { name: 'openai', key: 'secondary' },
    ]);
  });

  it('response deny patterns add the response hold: a Lua filter first in the chain, enabled and marked on the provider hosts', () => {
    const p = samplePolicy();
    p.spec.response = { denyPatterns: ['(?i)launch codes'] };
    const hold = renderPolicy(p).find((o) => o.kind === 'EnvoyFilter')!;
    const patches = (hold.spec as { configPatches: Any[] }).configPatches;
    const first = patches.find((c) => c.patch.operation === 'INSERT_FIRST');
    expect(first.applyTo).toBe('HTTP_FILTER');
    expect(first.patch.value).toEqual(responseHoldFilter());
    expect(first.patch.value.typed_config.source_codes['hold-json-replies'].inline_string).toContain('response_handle:body()');
    const vhosts = patches.filter((c) => c.applyTo === 'VIRTUAL_HOST');
    expect(vhosts.length).toBeGreaterThan(0);
    for (const v of vhosts) {
      expect(Object.keys(v.patch.value.typed_per_filter_config)).toEqual(['llm-guard.hold-request', 'llm-guard.hold-response']);
      expect(v.patch.value.metadata.filter_metadata).toEqual({ 'llm-guard.hold-request': { enabled: true }, 'llm-guard.hold-response': { enabled: true } });
    }
    // Redaction alone keeps the status right without holding anything.
    p.spec.response = { redactPatterns: ['x'] };
    const plain = renderPolicy(p).find((o) => o.kind === 'EnvoyFilter')!;
    expect(JSON.stringify(plain)).not.toContain('hold-response');
  });

  it('for gateways: targetRefs on both, GATEWAY context, no workload selector', () => {
    const p = samplePolicy();
    delete p.spec.selector;
    p.spec.targetRefs = [{ group: 'gateway.networking.k8s.io', kind: 'Gateway', name: 'egress' }];
    const [wasm, hold] = renderPolicy(p);
    expect(wasm!.spec).toMatchObject({ targetRefs: [{ group: 'gateway.networking.k8s.io', kind: 'Gateway', name: 'egress' }] });
    expect(wasm!.spec).not.toHaveProperty('selector');
    const holdSpec = hold!.spec as { targetRefs: unknown; configPatches: { match: { context: string } }[] };
    expect(holdSpec).not.toHaveProperty('workloadSelector');
    expect(holdSpec.targetRefs).toEqual([{ group: 'gateway.networking.k8s.io', kind: 'Gateway', name: 'egress' }]);
    expect(holdSpec.configPatches.map((c) => c.match.context)).toEqual(['GATEWAY', 'GATEWAY']);
  });

  it('without tlsUpgrade: one plain port, no DestinationRule; the WasmPlugin options pass through', () => {
    const p = samplePolicy();
    p.spec.intelligentGuard = { ...p.spec.intelligentGuard!, port: 8080, tlsUpgrade: false };
    p.spec.plugin = {
      url: 'https://downloads.example.com/llm_guard.wasm',
      sha256: 'e'.repeat(64),
      imagePullPolicy: 'Always',
      imagePullSecret: 'team-registry',
      phase: 'AUTHZ',
      priority: 10,
      failStrategy: 'FAIL_OPEN',
    };
    const objects = renderPolicy(p);
    expect(objects.map((o) => `${o.kind}/${o.metadata.name}`)).toEqual([
      'WasmPlugin/openai-chat',
      'EnvoyFilter/openai-chat-hold',
      `ServiceEntry/${hostObjectName('openai-chat', 'api.openai.com')}`,
      `DestinationRule/${hostObjectName('openai-chat', 'api.openai.com')}`,
      `ServiceEntry/${hostObjectName('openai-chat', 'guard.internal.example')}`,
    ]);
    expect((objects[4]!.spec as { ports: unknown }).ports).toEqual([{ number: 8080, name: 'http-8080', protocol: 'HTTP' }]);
    expect(objects[0]!.spec).toMatchObject({
      url: 'https://downloads.example.com/llm_guard.wasm',
      sha256: 'e'.repeat(64),
      imagePullPolicy: 'Always',
      imagePullSecret: 'team-registry',
      phase: 'AUTHZ',
      priority: 10,
      failStrategy: 'FAIL_OPEN',
    });
    expect((objects[0]!.spec as { pluginConfig: { intelligent_guard: { port: number } } }).pluginConfig.intelligent_guard.port).toBe(8080);
  });

  it('sends to given endpoints (STATIC for addresses, DNS with a name) and checks TLS against the given CA', () => {
    const p = samplePolicy();
    p.spec.providers[0]!.endpoints = ['10.0.0.5', '10.0.0.6'];
    p.spec.providers[0]!.tls = { caCertificates: '/etc/llm-egress/ca.pem' };
    p.spec.intelligentGuard!.endpoints = ['guard-lb.internal.example', '10.0.0.7'];
    p.spec.intelligentGuard!.tls = { credentialName: 'guard-ca' };
    const objects = renderPolicy(p);
    const se = (host: string) => objects.find((o) => o.kind === 'ServiceEntry' && (o.spec as { hosts: string[] }).hosts[0] === host)!.spec as Record<string, unknown>;
    const dr = (host: string) => objects.find((o) => o.kind === 'DestinationRule' && (o.spec as { host: string }).host === host)!.spec as Record<string, any>;
    expect(se('api.openai.com')).toMatchObject({ resolution: 'STATIC', endpoints: [{ address: '10.0.0.5' }, { address: '10.0.0.6' }] });
    expect(se('guard.internal.example')).toMatchObject({ resolution: 'DNS', endpoints: [{ address: 'guard-lb.internal.example' }, { address: '10.0.0.7' }] });
    expect(dr('api.openai.com').trafficPolicy.portLevelSettings).toEqual([{ port: { number: 80 }, tls: { mode: 'SIMPLE', caCertificates: '/etc/llm-egress/ca.pem' } }]);
    expect(dr('guard.internal.example').trafficPolicy.portLevelSettings).toEqual([{ port: { number: 80 }, tls: { mode: 'SIMPLE', credentialName: 'guard-ca' } }]);
    const plain = renderPolicy(samplePolicy()).find((o) => o.kind === 'ServiceEntry')!.spec as Record<string, unknown>;
    expect(plain.resolution).toBe('DNS');
    expect(plain.endpoints).toBeUndefined();
  });

  it('lists external hosts providers first, then the guard', () => {
    expect(externalHosts(samplePolicy()).map((h) => h.host)).toEqual(['api.openai.com', 'guard.internal.example']);
  });
});
