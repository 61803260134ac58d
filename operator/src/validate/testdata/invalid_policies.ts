import { RULES_NOT_CHECKED } from '../structural.js';

// Test data: policies the CRD must refuse, each with the exact lines the apiserver prints for it.
// policy.test.ts checks validatePolicy against them; test/kube runs the same cases against a real
// kube-apiserver (create with dry-run=server) to show the CRD and its TypeScript twin agree.
// Not compiled into the CLI (operator/tsconfig.json excludes testdata/).

/** A policy with every field set, valid. Cases change one thing each. */
export function fullPolicy(): Record<string, unknown> {
  return {
    apiVersion: 'llmguard.io/v1alpha1',
    kind: 'LlmGuardPolicy',
    metadata: { name: 'full', namespace: 'apps' },
    spec: {
      selector: { matchLabels: { app: 'chat', tier: 'web' } },
      providers: [
        {
          host: 'api.openai.com',
          port: 80,
          tlsUpgrade: true,
          targetPort: 443,
          endpoints: ['10.0.0.5', '10.0.0.6'],
          tls: { caCertificates: '/etc/llm-egress/ca.pem' },
          authStyle: 'bearer',
          apiKeys: [{ secretKeyRef: { name: 'openai', key: 'primary' } }, { secretKeyRef: { name: 'openai', key: 'secondary' } }],
        },
        {
          host: 'api.anthropic.com',
          authStyle: 'x-api-key',
          apiKeys: [{ secretKeyRef: { name: 'anthropic', key: 'api-key' } }],
        },
      ],
      denyPatterns: ['(?i)ignore previous instructions', '\\bAKIA[0-9A-Z]{16}\\b'],
      allowPatterns: ['(?i)\\b(order|refund)\\b'],
      redactPatterns: ['\\b[0-9]{3}-[0-9]{2}-[0-9]{4}\\b'],
      redactToken: '[REDACTED]',
      response: {
        denyPatterns: ['-----BEGIN (RSA |EC )?PRIVATE KEY-----'],
        redactPatterns: ['\\bsk-[A-Za-z0-9]{20,}\\b'],
        maxHoldBack: 4096,
      },
      inspection: {
        roles: ['system', 'user', 'tool'],
        denyStatus: 403,
        onUninspectable: 'refuse',
        maxBodyBytes: 1048576,
        maxJsonDepth: 64,
        logPrompts: false,
      },
      intelligentGuard: {
        host: 'guard.internal.example',
        port: 80,
        tlsUpgrade: true,
        targetPort: 443,
        endpoints: ['guard-lb.internal.example'],
        tls: { credentialName: 'guard-ca' },
        path: '/v1/chat/completions',
        model: 'llama-guard-3-8b',
        apiKeySecretRef: { name: 'guard', key: 'token' },
        timeoutMs: 2000,
        failMode: 'closed',
        verdictFormat: 'llama_guard',
        systemPrompt: '',
        controversial: 'deny',
        exposeReason: false,
        cache: { enabled: true, ttlSeconds: 300, maxEntries: 1024 },
      },
      plugin: {
        url: 'oci://ghcr.io/llm-egress-guard/llm-guard:0.1.0',
        imagePullPolicy: 'IfNotPresent',
        phase: 'AUTHZ',
        priority: 10,
        failStrategy: 'FAIL_CLOSE',
      },
    },
  };
}

export interface SchemaCase {
  name: string;
  /** Changes fullPolicy() (the argument is a fresh copy). */
  change: (p: Record<string, any>) => void;
  /** Every line the apiserver reports (order aside); [] = valid. */
  expect: string[];
}

const long = (n: number, c = 'a') => c.repeat(n);
const keyRef = (i: number) => ({ secretKeyRef: { name: 'openai', key: `k${i}` } });

export const SCHEMA_CASES: SchemaCase[] = [
  { name: 'the full policy is valid', change: () => {}, expect: [] },
  {
    name: 'targetRefs instead of selector is valid',
    change: (p) => {
      delete p.spec.selector;
      p.spec.targetRefs = [{ group: 'gateway.networking.k8s.io', kind: 'Gateway', name: 'egress' }];
    },
    expect: [],
  },
  {
    name: 'a policy without patterns or guard (keys only) is valid',
    change: (p) => {
      delete p.spec.denyPatterns;
      delete p.spec.allowPatterns;
      delete p.spec.redactPatterns;
      delete p.spec.redactToken;
      delete p.spec.response;
      delete p.spec.intelligentGuard;
    },
    expect: [],
  },
  // ---- CEL rules
  {
    name: 'selector and targetRefs together',
    change: (p) => {
      p.spec.targetRefs = [{ group: 'gateway.networking.k8s.io', kind: 'Gateway', name: 'egress' }];
    },
    expect: ['spec: Invalid value: exactly one of selector or targetRefs must be set'],
  },
  {
    name: 'neither selector nor targetRefs',
    change: (p) => {
      delete p.spec.selector;
    },
    expect: ['spec: Invalid value: exactly one of selector or targetRefs must be set'],
  },
  {
    name: 'the guard host is a provider host',
    change: (p) => {
      p.spec.intelligentGuard.host = 'api.anthropic.com';
    },
    expect: ['spec.intelligentGuard.host: Invalid value: intelligentGuard.host must not be one of the provider hosts'],
  },
  {
    name: 'two providers with one host',
    change: (p) => {
      p.spec.providers[1].host = 'api.openai.com';
    },
    expect: ['spec.providers: Invalid value: provider hosts must be unique'],
  },
  {
    name: 'a provider upgrading to TLS on the port it listens on',
    change: (p) => {
      p.spec.providers[0].port = 443;
    },
    expect: [
      'spec.providers[0].targetPort: Invalid value: tlsUpgrade needs port and targetPort to differ: plain HTTP arrives on port, TLS leaves for targetPort',
    ],
  },
  {
    name: 'the same ports without tlsUpgrade are fine',
    change: (p) => {
      p.spec.providers[0].port = 8080;
      p.spec.providers[0].targetPort = 8080;
      p.spec.providers[0].tlsUpgrade = false;
      delete p.spec.providers[0].tls;
    },
    expect: [],
  },
  {
    name: 'the default ports collide with a targetPort of 80',
    change: (p) => {
      p.spec.providers[1].targetPort = 80;
    },
    expect: [
      'spec.providers[1].targetPort: Invalid value: tlsUpgrade needs port and targetPort to differ: plain HTTP arrives on port, TLS leaves for targetPort',
    ],
  },
  {
    name: 'the guard upgrading to TLS on the port it listens on',
    change: (p) => {
      p.spec.intelligentGuard.targetPort = 80;
    },
    expect: [
      'spec.intelligentGuard.targetPort: Invalid value: tlsUpgrade needs port and targetPort to differ: plain HTTP arrives on port, TLS leaves for targetPort',
    ],
  },
  {
    name: 'tls with both a CA file and a CA Secret',
    change: (p) => {
      p.spec.providers[0].tls.credentialName = 'openai-ca';
    },
    expect: ['spec.providers[0].tls: Invalid value: give caCertificates or credentialName, not both'],
  },
  {
    name: 'tls for a provider the sidecar does not originate TLS to',
    change: (p) => {
      p.spec.providers[0].tlsUpgrade = false;
      p.spec.providers[0].targetPort = 80;
    },
    expect: ['spec.providers[0].tls: Invalid value: tls applies only when the sidecar originates TLS (tlsUpgrade: true)'],
  },
  {
    name: 'tls for a guard the sidecar does not originate TLS to',
    change: (p) => {
      p.spec.intelligentGuard.tlsUpgrade = false;
      p.spec.intelligentGuard.targetPort = 80;
    },
    expect: ['spec.intelligentGuard.tls: Invalid value: tls applies only when the sidecar originates TLS (tlsUpgrade: true)'],
  },
  {
    name: 'endpoints that are neither addresses nor DNS names, and a relative CA path',
    change: (p) => {
      p.spec.providers[0].endpoints = ['10.0.0.5', 'https://proxy.example'];
      p.spec.providers[0].tls.caCertificates = 'certs/ca.pem';
    },
    expect: [
      `spec.providers[0].endpoints[1]: Invalid value: "https://proxy.example": spec.providers[0].endpoints[1] in body should match '^([0-9]{1,3}(\\.[0-9]{1,3}){3}|[0-9a-fA-F:]*:[0-9a-fA-F:.]*|[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)*)$'`,
      `spec.providers[0].tls.caCertificates: Invalid value: "certs/ca.pem": spec.providers[0].tls.caCertificates in body should match '^/[!-~]*$'`,
    ],
  },
  {
    name: 'an image pull Secret name that is not a Secret name',
    change: (p) => {
      p.spec.plugin.imagePullSecret = 'Team_Registry';
    },
    expect: [
      `spec.plugin.imagePullSecret: Invalid value: "Team_Registry": spec.plugin.imagePullSecret in body should match '^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$'`,
    ],
  },
  {
    name: 'the same endpoint twice',
    change: (p) => {
      p.spec.providers[0].endpoints = ['10.0.0.5', '10.0.0.5'];
    },
    expect: ['spec.providers[0].endpoints[1]: Duplicate value: "10.0.0.5"'],
  },
  {
    name: 'an empty tls',
    change: (p) => {
      p.spec.intelligentGuard.tls = {};
    },
    expect: ['spec.intelligentGuard.tls: Invalid value: 0: spec.intelligentGuard.tls in body should have at least 1 properties'],
  },
  {
    name: 'an https plugin url without sha256',
    change: (p) => {
      p.spec.plugin.url = 'https://downloads.example.com/llm_guard.wasm';
    },
    expect: ["spec.plugin.sha256: Required value: an https:// plugin url requires sha256 (the module's SHA-256, 64 hex characters)"],
  },
  {
    name: 'an https plugin url with sha256 is valid',
    change: (p) => {
      p.spec.plugin.url = 'https://downloads.example.com/llm_guard.wasm';
      p.spec.plugin.sha256 = long(64, 'e');
    },
    expect: [],
  },
  {
    name: 'a plain http plugin url',
    change: (p) => {
      p.spec.plugin.url = 'http://downloads.example.com/llm_guard.wasm';
    },
    expect: [
      'spec.plugin.url: Invalid value: plugin url must be oci://, https:// or file://, or an image reference without scheme (plain http:// is refused)',
    ],
  },
  {
    name: 'an image reference without scheme and a file url are valid',
    change: (p) => {
      p.spec.plugin.url = 'ghcr.io/llm-egress-guard/llm-guard:0.1.0';
    },
    expect: [],
  },
  {
    name: 'one Gateway named twice',
    change: (p) => {
      delete p.spec.selector;
      const ref = { group: 'gateway.networking.k8s.io', kind: 'Gateway', name: 'egress' };
      p.spec.targetRefs = [ref, { ...ref }];
    },
    expect: ['spec.targetRefs: Invalid value: targetRefs must not name the same Gateway twice'],
  },
  // ---- required fields, unknown fields, types
  {
    name: 'no providers',
    change: (p) => {
      delete p.spec.providers;
    },
    expect: ['spec.providers: Required value', RULES_NOT_CHECKED],
  },
  { name: 'no plugin', change: (p) => delete p.spec.plugin, expect: ['spec.plugin: Required value', RULES_NOT_CHECKED] },
  {
    name: 'a provider without keys',
    change: (p) => {
      p.spec.providers[0].apiKeys = [];
    },
    expect: ['spec.providers[0].apiKeys: Invalid value: 0: spec.providers[0].apiKeys in body should have at least 1 items'],
  },
  {
    name: 'a misspelt field is refused, not dropped',
    change: (p) => {
      p.spec.denyPattern = ['x'];
    },
    expect: ['unknown field "spec.denyPattern"'],
  },
  {
    name: 'a misspelt response field is refused, not dropped',
    change: (p) => {
      p.spec.response.redactPattern = ['x'];
    },
    expect: ['unknown field "spec.response.redactPattern"'],
  },
  {
    name: 'a port given as a string (CEL rules are skipped on type errors)',
    change: (p) => {
      p.spec.providers[0].port = '80';
      p.spec.intelligentGuard.host = 'api.openai.com';
    },
    expect: ['spec.providers[0].port: Invalid value: "string": spec.providers[0].port in body must be of type integer: "string"', RULES_NOT_CHECKED],
  },
  // ---- hosts and names
  {
    name: 'a wildcard provider host',
    change: (p) => {
      p.spec.providers[0].host = '*.openai.com';
    },
    expect: [
      `spec.providers[0].host: Invalid value: "*.openai.com": must be a DNS name: labels of lower-case letters, digits and '-' (at most 63 characters, not starting or ending with '-') joined by '.', e.g. api.openai.com; no wildcard, space or trailing dot`,
    ],
  },
  {
    name: 'a URL for a host',
    change: (p) => {
      p.spec.providers[0].host = 'https://api.openai.com/v1';
    },
    expect: ['spec.providers[0].host: Invalid value: "https://api.openai.com/v1": must be a host name, not a URL: no scheme (https://) and no path, e.g. api.openai.com'],
  },
  {
    name: 'a host with a port',
    change: (p) => {
      p.spec.intelligentGuard.host = 'guard.internal:8080';
    },
    expect: [
      'spec.intelligentGuard.host: Invalid value: "guard.internal:8080": must be a host name without a port, e.g. api.openai.com',
    ],
  },
  {
    name: 'an upper-case host',
    change: (p) => {
      p.spec.providers[1].host = 'API.anthropic.com';
    },
    expect: [
      'spec.providers[1].host: Invalid value: "API.anthropic.com": must be lower case, e.g. api.openai.com',
    ],
  },
  {
    name: 'a DNS label longer than 63',
    change: (p) => {
      p.spec.providers[1].host = `${long(64)}.example.com`;
    },
    expect: [
      `spec.providers[1].host: Invalid value: "${long(64)}.example.com": must be a DNS name: labels of lower-case letters, digits and '-' (at most 63 characters, not starting or ending with '-') joined by '.', e.g. api.openai.com; no wildcard, space or trailing dot`,
    ],
  },
  {
    name: 'a host longer than 253',
    change: (p) => {
      p.spec.providers[1].host = `${long(63)}.${long(63)}.${long(63)}.${long(63)}.example`;
    },
    expect: ['spec.providers[1].host: Too long: may not be more than 253 bytes', RULES_NOT_CHECKED],
  },
  {
    name: 'a policy name with a dot',
    change: (p) => {
      p.metadata.name = 'openai.chat';
    },
    expect: [`metadata.name: Invalid value: "openai.chat": metadata.name in body should match '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$'`],
  },
  {
    name: 'a policy name longer than 63',
    change: (p) => {
      p.metadata.name = long(64);
    },
    expect: ['metadata.name: Too long: may not be more than 63 bytes', RULES_NOT_CHECKED],
  },
  {
    name: 'an empty selector',
    change: (p) => {
      p.spec.selector.matchLabels = {};
    },
    expect: ['spec.selector.matchLabels: Invalid value: 0: spec.selector.matchLabels in body should have at least 1 properties'],
  },
  {
    name: 'a Secret key with a slash',
    change: (p) => {
      p.spec.intelligentGuard.apiKeySecretRef.key = 'a/b';
    },
    expect: [`spec.intelligentGuard.apiKeySecretRef.key: Invalid value: "a/b": spec.intelligentGuard.apiKeySecretRef.key in body should match '^[-._a-zA-Z0-9]+$'`],
  },
  {
    name: 'a guard path without its leading slash',
    change: (p) => {
      p.spec.intelligentGuard.path = 'v1/chat/completions';
    },
    expect: [`spec.intelligentGuard.path: Invalid value: "v1/chat/completions": spec.intelligentGuard.path in body should match '^/[!-~]*$'`],
  },
  {
    name: 'an upper-case sha256',
    change: (p) => {
      p.spec.plugin.sha256 = long(64, 'E');
    },
    expect: [`spec.plugin.sha256: Invalid value: "${long(64, 'E')}": spec.plugin.sha256 in body should match '^[a-f0-9]{64}$'`],
  },
  {
    name: 'a Gateway of another API group',
    change: (p) => {
      delete p.spec.selector;
      p.spec.targetRefs = [{ group: 'networking.istio.io', kind: 'Gateway', name: 'egress' }];
    },
    expect: ['spec.targetRefs[0].group: Unsupported value: "networking.istio.io": supported values: "gateway.networking.k8s.io"', RULES_NOT_CHECKED],
  },
  // ---- enums
  {
    name: 'unknown enum values',
    change: (p) => {
      p.spec.providers[0].authStyle = 'basic';
      p.spec.inspection.onUninspectable = 'drop';
      p.spec.intelligentGuard.failMode = 'maybe';
      p.spec.intelligentGuard.verdictFormat = 'xml';
      p.spec.intelligentGuard.controversial = 'ask';
      p.spec.plugin.phase = 'ROUTER';
      p.spec.plugin.failStrategy = 'FAIL_SOMETIMES';
      p.spec.plugin.imagePullPolicy = 'Never';
    },
    expect: [
      'spec.providers[0].authStyle: Unsupported value: "basic": supported values: "bearer", "x-api-key", "api-key", "x-goog-api-key"',
      'spec.inspection.onUninspectable: Unsupported value: "drop": supported values: "refuse", "allow", "scan_raw"',
      'spec.intelligentGuard.failMode: Unsupported value: "maybe": supported values: "closed", "open"',
      'spec.intelligentGuard.verdictFormat: Unsupported value: "xml": supported values: "auto", "json", "llama_guard", "qwen_guard", "openai_moderation"',
      'spec.intelligentGuard.controversial: Unsupported value: "ask": supported values: "deny", "allow"',
      'spec.plugin.phase: Unsupported value: "ROUTER": supported values: "AUTHN", "AUTHZ", "STATS", "UNSPECIFIED_PHASE"',
      'spec.plugin.failStrategy: Unsupported value: "FAIL_SOMETIMES": supported values: "FAIL_CLOSE", "FAIL_OPEN", "FAIL_RELOAD"',
      'spec.plugin.imagePullPolicy: Unsupported value: "Never": supported values: "IfNotPresent", "Always"',
      RULES_NOT_CHECKED,
    ],
  },
  {
    name: 'an unknown role, and a role twice',
    change: (p) => {
      p.spec.inspection.roles = ['user', 'admin', 'user'];
    },
    expect: [
      'spec.inspection.roles[1]: Unsupported value: "admin": supported values: "system", "developer", "user", "assistant", "tool", "tool_definition", "other"',
      'spec.inspection.roles[2]: Duplicate value: "user"',
      RULES_NOT_CHECKED,
    ],
  },
  {
    name: 'no roles',
    change: (p) => {
      p.spec.inspection.roles = [];
    },
    expect: ['spec.inspection.roles: Invalid value: 0: spec.inspection.roles in body should have at least 1 items'],
  },
  // ---- integer bounds
  ...(
    [
      ['providers[0].port', 1, 65535],
      ['providers[0].targetPort', 1, 65535],
      ['inspection.denyStatus', 400, 599],
      ['inspection.maxBodyBytes', 1, 16777216],
      ['inspection.maxJsonDepth', 1, 512],
      ['intelligentGuard.port', 1, 65535],
      ['intelligentGuard.targetPort', 1, 65535],
      ['intelligentGuard.timeoutMs', 1, 60000],
      ['intelligentGuard.cache.ttlSeconds', 1, 86400],
      ['intelligentGuard.cache.maxEntries', 1, 65536],
      ['response.maxHoldBack', 64, 65536],
    ] as const
  ).flatMap(([field, min, max]): SchemaCase[] => {
    const set = (p: Record<string, any>, v: number) => {
      const parts = field.replace(/\[(\d+)\]/g, '.$1').split('.');
      let o = p.spec;
      for (const k of parts.slice(0, -1)) o = o[k];
      o[parts[parts.length - 1]!] = v;
    };
    return [
      {
        name: `${field} below ${min}`,
        change: (p) => set(p, min - 1),
        expect: [`spec.${field}: Invalid value: ${min - 1}: spec.${field} in body should be greater than or equal to ${min}`],
      },
      {
        name: `${field} above ${max}`,
        change: (p) => set(p, max + 1),
        expect: [`spec.${field}: Invalid value: ${max + 1}: spec.${field} in body should be less than or equal to ${max}`],
      },
    ];
  }),
  // ---- list and string bounds
  {
    name: 'more than 8 keys',
    change: (p) => {
      p.spec.providers[0].apiKeys = Array.from({ length: 9 }, (_, i) => keyRef(i));
    },
    expect: ['spec.providers[0].apiKeys: Too many: 9: must have at most 8 items', RULES_NOT_CHECKED],
  },
  {
    name: 'more than 16 providers',
    change: (p) => {
      p.spec.providers = Array.from({ length: 17 }, (_, i) => ({ host: `p${i}.example.com`, apiKeys: [keyRef(0)] }));
    },
    expect: ['spec.providers: Too many: 17: must have at most 16 items', RULES_NOT_CHECKED],
  },
  {
    name: 'more than 128 deny patterns',
    change: (p) => {
      p.spec.denyPatterns = Array.from({ length: 129 }, (_, i) => `word${i}`);
    },
    expect: ['spec.denyPatterns: Too many: 129: must have at most 128 items', RULES_NOT_CHECKED],
  },
  {
    name: 'a pattern longer than 1024, an empty one',
    change: (p) => {
      p.spec.allowPatterns = [long(1025), ''];
    },
    expect: [
      'spec.allowPatterns[0]: Too long: may not be more than 1024 bytes',
      'spec.allowPatterns[1]: Invalid value: "": spec.allowPatterns[1] in body should be at least 1 chars long',
      RULES_NOT_CHECKED,
    ],
  },
  {
    name: 'a redact token longer than 64',
    change: (p) => {
      p.spec.redactToken = long(65, '*');
    },
    expect: ['spec.redactToken: Too long: may not be more than 64 bytes', RULES_NOT_CHECKED],
  },
  {
    name: 'an empty response pattern, and more than 128 of them',
    change: (p) => {
      p.spec.response.denyPatterns = [''];
      p.spec.response.redactPatterns = Array.from({ length: 129 }, (_, i) => `word${i}`);
    },
    expect: [
      'spec.response.denyPatterns[0]: Invalid value: "": spec.response.denyPatterns[0] in body should be at least 1 chars long',
      'spec.response.redactPatterns: Too many: 129: must have at most 128 items',
      RULES_NOT_CHECKED,
    ],
  },
  {
    name: 'a system prompt longer than 16384',
    change: (p) => {
      p.spec.intelligentGuard.systemPrompt = long(16385);
    },
    expect: ['spec.intelligentGuard.systemPrompt: Too long: may not be more than 16384 bytes', RULES_NOT_CHECKED],
  },
  {
    name: 'more than 16 labels',
    change: (p) => {
      p.spec.selector.matchLabels = Object.fromEntries(Array.from({ length: 17 }, (_, i) => [`l${i}`, 'x']));
    },
    expect: ['spec.selector.matchLabels: Too many: 17: must have at most 16 items', RULES_NOT_CHECKED],
  },
];
