// The LlmGuardPolicy CRD's schema, once: its types are in llm_guard_policy.ts beside it, crd.ts
// builds the CustomResourceDefinition from it (manifests/crd is that output), and
// validate/policy.ts checks a policy against it the way the apiserver does. Each CEL rule is
// written twice, as CEL for the apiserver and in TypeScript, with the same message.
//
// Every string has a maxLength and every list a maxItems: that keeps each CEL rule's estimated
// cost far inside the apiserver's budget, and the whole object far below etcd's size limit.
import { get, has, list, str, type CelRule, type Schema } from '../openapi.js';
import { AUTH_STYLES, BINARY_CONTENT, CONTROVERSIAL, FAIL_MODES, INSPECTED_ROLES, ON_UNINSPECTABLE, VERDICT_FORMATS } from '../pluginconfig/values.js';

export const PATTERNS = {
  /** RFC 1123 label: the policy's own name (it is also a label value and a name prefix). */
  dnsLabel: '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$',
  /** RFC 1123 subdomain: Secret and Gateway names. */
  dnsSubdomain: '^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$',
  /** A lower-case DNS name, labels of at most 63 characters; no `*.` wildcard, no port, no trailing dot. */
  host: '^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)*$',
  secretKey: '^[-._a-zA-Z0-9]+$',
  labelValue: '^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$',
  /** Printable ASCII, no space. */
  token: '^[!-~]+$',
  path: '^/[!-~]*$',
  sha256: '^[a-f0-9]{64}$',
  /** An IPv4 or IPv6 address, or a lower-case DNS name. */
  endpoint: '^([0-9]{1,3}(\\.[0-9]{1,3}){3}|[0-9a-fA-F:]*:[0-9a-fA-F:.]*|[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)*)$',
  /** An absolute path. */
  filePath: '^/[!-~]*$',
  conditionReason: '^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$',
} as const;

export const LIMITS = {
  hostLength: 253,
  endpoints: 16,
  providers: 16,
  apiKeys: 8,
  patterns: 128,
  patternLength: 1024,
  targetRefs: 16,
  labels: 16,
  systemPromptLength: 16384,
  redactTokenLength: 64,
  urlLength: 2048,
} as const;

// Helpers the TypeScript twins of the CEL rules use. Like CEL, reading a field that is absent is an


const secretKeyRef = (what: string): Schema => ({
  type: 'object',
  description: `A key of a Secret in the policy's namespace holding ${what}.`,
  required: ['name', 'key'],
  properties: {
    name: { type: 'string', description: 'Name of the Secret.', minLength: 1, maxLength: 253, pattern: PATTERNS.dnsSubdomain },
    key: { type: 'string', description: 'Key inside the Secret.', minLength: 1, maxLength: 253, pattern: PATTERNS.secretKey },
  },
});

/** PATTERNS.host for CEL: `[.]` for `\\.`, which a CEL string literal would read as an escape. */
const HOST_RE_CEL = PATTERNS.host.replaceAll('\\.', '[.]');
const HOST_RE = new RegExp(PATTERNS.host);
const URLish = (s: string) => s.includes('/');
const withPort = (s: string) => s.includes(':');
const upperCase = (s: string) => /[A-Z]/.test(s);

/**
 * A host's checks, each with a sentence a user can act on (a `pattern` would answer with the raw
 * regex), and each only when the ones before it passed, so a URL gets one message, not four.
 */
const hostRules: CelRule[] = [
  {
    rule: "!self.contains('/')",
    message: 'must be a host name, not a URL: no scheme (https://) and no path, e.g. api.openai.com',
    check: (self) => !URLish(str(self)),
  },
  {
    rule: "self.contains('/') || !self.contains(':')",
    message: 'must be a host name without a port, e.g. api.openai.com',
    check: (self) => URLish(str(self)) || !withPort(str(self)),
  },
  {
    rule: "self.contains('/') || self.contains(':') || self == self.lowerAscii()",
    message: 'must be lower case, e.g. api.openai.com',
    check: (self) => URLish(str(self)) || withPort(str(self)) || !upperCase(str(self)),
  },
  {
    rule: `self.contains('/') || self.contains(':') || self != self.lowerAscii() || self.matches('${HOST_RE_CEL}')`,
    message:
      "must be a DNS name: labels of lower-case letters, digits and '-' (at most 63 characters, not " +
      "starting or ending with '-') joined by '.', e.g. api.openai.com; no wildcard, space or trailing dot",
    check: (self) => URLish(str(self)) || withPort(str(self)) || upperCase(str(self)) || HOST_RE.test(str(self)),
  },
];

const hostField = (what: string): Schema => ({
  type: 'string',
  description:
    `${what}: a lower-case DNS name without port or trailing dot. Wildcards (*.example.com) are not ` +
    'accepted: the operator makes a ServiceEntry with DNS resolution and a TLS origination for it.',
  minLength: 1,
  maxLength: LIMITS.hostLength,
  'x-kubernetes-validations': hostRules,
});

const port = (description: string, dflt: number): Schema => ({
  type: 'integer',
  format: 'int32',
  description,
  minimum: 1,
  maximum: 65535,
  default: dflt,
});

/** Where the sidecar sends a host's traffic instead of resolving the host, and how it trusts it. */
const destinationFields = (what: string): Record<string, Schema> => ({
  endpoints: {
    type: 'array',
    description:
      `Addresses (IPs or DNS names) to send ${what} traffic to instead of resolving the host: a private ` +
      'endpoint or a forward proxy. TLS still names the host (SNI, certificate check). Default: DNS of the host.',
    minItems: 1,
    maxItems: LIMITS.endpoints,
    'x-kubernetes-list-type': 'set',
    items: { type: 'string', minLength: 1, maxLength: LIMITS.hostLength, pattern: PATTERNS.endpoint },
  },
  tls: {
    type: 'object',
    description: `How the sidecar checks ${what} certificate when it originates TLS. Default: the system's CAs.`,
    minProperties: 1,
    properties: {
      caCertificates: {
        type: 'string',
        description: 'A file of CA certificates (PEM) on the proxy, e.g. mounted from a ConfigMap.',
        minLength: 1,
        maxLength: 1024,
        pattern: PATTERNS.filePath,
      },
      credentialName: {
        type: 'string',
        description: "A Secret in the policy's namespace holding the CA (key ca.crt, or cacert), which istiod serves the proxy.",
        minLength: 1,
        maxLength: 253,
        pattern: PATTERNS.dnsSubdomain,
      },
    },
    'x-kubernetes-validations': [
      {
        rule: '!(has(self.caCertificates) && has(self.credentialName))',
        message: 'give caCertificates or credentialName, not both',
        check: (self) => !(has(self, 'caCertificates') && has(self, 'credentialName')),
      },
    ],
  },
});

const tlsOnlyWithUpgradeRule: CelRule = {
  rule: '!has(self.tls) || self.tlsUpgrade',
  message: 'tls applies only when the sidecar originates TLS (tlsUpgrade: true)',
  fieldPath: '.tls',
  check: (self) => !has(self, 'tls') || get(self, 'tlsUpgrade') === true,
};

const tlsUpgradeRule: CelRule = {
  rule: '!self.tlsUpgrade || self.port != self.targetPort',
  message: 'tlsUpgrade needs port and targetPort to differ: plain HTTP arrives on port, TLS leaves for targetPort',
  fieldPath: '.targetPort',
  check: (self) => !get(self, 'tlsUpgrade') || get(self, 'port') !== get(self, 'targetPort'),
};

const patternList = (description: string): Schema => ({
  type: 'array',
  description,
  maxItems: LIMITS.patterns,
  items: { type: 'string', minLength: 1, maxLength: LIMITS.patternLength },
});

/** The roles a policy may inspect: the filter's own (pluginconfig/fields.ts). */
export const ROLES = [...INSPECTED_ROLES];

export const specSchema: Schema = {
  type: 'object',
  description: 'Which workloads (or gateways) the guard runs on, the providers it serves and how it inspects their requests.',
  required: ['providers', 'plugin'],
  properties: {
    selector: {
      type: 'object',
      description:
        'The workloads in this namespace whose outbound requests go through the guard (their sidecars). ' +
        'Exactly one of selector and targetRefs.',
      required: ['matchLabels'],
      properties: {
        matchLabels: {
          type: 'object',
          description: 'Pod labels; a workload must carry all of them. At least one: an empty selector would take every workload.',
          minProperties: 1,
          maxProperties: LIMITS.labels,
          additionalProperties: { type: 'string', maxLength: 63, pattern: PATTERNS.labelValue },
        },
      },
    },
    targetRefs: {
      type: 'array',
      description: 'Gateways (Kubernetes Gateway API, this namespace) whose outbound requests go through the guard. Exactly one of selector and targetRefs.',
      minItems: 1,
      maxItems: LIMITS.targetRefs,
      items: {
        type: 'object',
        required: ['group', 'kind', 'name'],
        properties: {
          group: { type: 'string', description: 'gateway.networking.k8s.io', maxLength: 253, enum: ['gateway.networking.k8s.io'] },
          kind: { type: 'string', description: 'Gateway', maxLength: 63, enum: ['Gateway'] },
          name: { type: 'string', description: 'Name of the Gateway.', minLength: 1, maxLength: 253, pattern: PATTERNS.dnsSubdomain },
        },
      },
      'x-kubernetes-validations': [
        {
          rule: 'self.all(x, self.exists_one(y, y.name == x.name))',
          message: 'targetRefs must not name the same Gateway twice',
          check: (self) => {
            const names = list(self).map((r) => get(r, 'name'));
            return names.every((n) => names.filter((m) => m === n).length === 1);
          },
        },
      ],
    },
    providers: {
      type: 'array',
      description: 'The LLM providers: their requests get the key and the inspection.',
      minItems: 1,
      maxItems: LIMITS.providers,
      items: {
        type: 'object',
        required: ['host', 'apiKeys'],
        properties: {
          host: hostField("The provider's host as apps address it, e.g. api.openai.com"),
          port: port('The port apps send plain HTTP to.', 80),
          tlsUpgrade: {
            type: 'boolean',
            description: 'Originate TLS in the sidecar: plain HTTP on port leaves as HTTPS to targetPort.',
            default: true,
          },
          targetPort: port("The provider's HTTPS port.", 443),
          ...destinationFields("the provider's"),
          authStyle: {
            type: 'string',
            description:
              'How the key is sent: bearer (authorization: Bearer, OpenAI and most), x-api-key (Anthropic), ' +
              'api-key (Azure OpenAI), x-goog-api-key (Gemini).',
            maxLength: 32,
            enum: [...AUTH_STYLES],
            default: 'bearer',
          },
          apiKeys: {
            type: 'array',
            description: 'The keys, used in turn (round robin per request).',
            minItems: 1,
            maxItems: LIMITS.apiKeys,
            items: {
              type: 'object',
              required: ['secretKeyRef'],
              properties: { secretKeyRef: secretKeyRef('a provider API key') },
            },
          },
        },
        'x-kubernetes-validations': [tlsUpgradeRule, tlsOnlyWithUpgradeRule],
      },
      'x-kubernetes-validations': [
        {
          rule: 'self.all(x, self.exists_one(y, y.host == x.host))',
          message: 'provider hosts must be unique',
          check: (self) => {
            const hosts = list(self).map((p) => get(p, 'host'));
            return hosts.every((h) => hosts.filter((m) => m === h).length === 1);
          },
        },
      ],
    },
    denyPatterns: patternList('RE2 patterns; a match in any inspected text denies the request.'),
    allowPatterns: patternList('RE2 patterns; when set, every user message must match at least one.'),
    redactPatterns: patternList(
      'RE2 patterns; every match in inspected request text is replaced by redactToken before the guard and the provider see ' +
        "the request (JSON bodies; text that can't be rewritten in place, such as an attached file, is refused instead).",
    ),
    redactToken: {
      type: 'string',
      description:
        'What each redacted match becomes, in requests and responses (filter default "[REDACTED]"); ' +
        'none of the redact or response patterns may match it.',
      maxLength: LIMITS.redactTokenLength,
    },
    response: {
      type: 'object',
      description: "How the provider's answers (JSON replies and event streams) are inspected. Absent: they are not.",
      properties: {
        denyPatterns: patternList('RE2 patterns matched against the text the provider answers; a match ends the reply with an error instead.'),
        redactPatterns: patternList("RE2 patterns; matches in the provider's answer are replaced by redactToken before the app sees them."),
        maxHoldBack: {
          type: 'integer',
          format: 'int32',
          description: 'How much text of a stream (UTF-16 units per text) is held back at most while it could still become a match (filter default 4096).',
          minimum: 64,
          maximum: 65536,
        },
      },
    },
    inspection: {
      type: 'object',
      description: "How bodies are inspected. Absent fields take the filter's defaults (docs/filter-config.md).",
      properties: {
        roles: {
          type: 'array',
          description: 'Which text is inspected. Default: all text the model will see.',
          minItems: 1,
          maxItems: ROLES.length,
          'x-kubernetes-list-type': 'set',
          items: { type: 'string', maxLength: 32, enum: ROLES },
        },
        denyStatus: { type: 'integer', format: 'int32', description: 'Status of a deny reply (filter default 403).', minimum: 400, maximum: 599 },
        onUninspectable: {
          type: 'string',
          description: 'A body that cannot be inspected: refuse (default), allow it uninspected, or scan_raw.',
          maxLength: 16,
          enum: [...ON_UNINSPECTABLE],
        },
        normalize: {
          type: 'boolean',
          description: 'Also match patterns on normalized text: NFKC, invisible characters removed, look-alike letters mapped (filter default true).',
        },
        binaryContent: {
          type: 'string',
          description: 'Binary content in a request (images, audio, PDF; inline or uploaded): allow (default, counted) or refuse.',
          maxLength: 16,
          enum: [...BINARY_CONTENT],
        },
        maxBodyBytes: {
          type: 'integer',
          format: 'int32',
          description: 'Larger request bodies are refused with 413 (filter default 1048576); also the hold buffer size.',
          minimum: 1,
          maximum: 16777216,
        },
        maxJsonDepth: { type: 'integer', format: 'int32', description: 'Deeper JSON is refused with 400 (filter default 64).', minimum: 1, maximum: 512 },
        logPrompts: { type: 'boolean', description: 'Log the denied text at debug level (default false).' },
      },
    },
    intelligentGuard: {
      type: 'object',
      description: 'A private guard model (OpenAI-compatible API) that judges each request after the patterns.',
      required: ['host', 'apiKeySecretRef'],
      properties: {
        host: hostField("The guard's host; also the :authority of the guard call"),
        port: port('The port the filter calls (plain HTTP through the sidecar).', 80),
        tlsUpgrade: { type: 'boolean', description: 'Originate TLS to the guard in the sidecar.', default: true },
        targetPort: port("The guard's HTTPS port.", 443),
        ...destinationFields("the guard's"),
        path: {
          type: 'string',
          description: 'A chat-completions path, or a moderations path (/v1/moderations). Filter default /compatible-mode/v1/chat/completions.',
          maxLength: 1024,
          pattern: PATTERNS.path,
        },
        model: { type: 'string', description: 'The guard model (filter default qwen-turbo).', minLength: 1, maxLength: 253, pattern: PATTERNS.token },
        apiKeySecretRef: secretKeyRef("the guard's API key (never the provider key)"),
        timeoutMs: { type: 'integer', format: 'int32', description: 'How long a verdict may take (filter default 3000).', minimum: 1, maximum: 60000 },
        failMode: { type: 'string', description: 'No verdict: closed refuses with 503 (default), open forwards.', maxLength: 16, enum: [...FAIL_MODES] },
        verdictFormat: {
          type: 'string',
          description: 'How answers are read; auto (default) recognises all of them.',
          maxLength: 32,
          enum: [...VERDICT_FORMATS],
        },
        systemPrompt: {
          type: 'string',
          description: 'The system message sent before the conversation; "" sends none.',
          maxLength: LIMITS.systemPromptLength,
        },
        controversial: { type: 'string', description: "Qwen3Guard's Controversial class: deny (default) or allow.", maxLength: 16, enum: [...CONTROVERSIAL] },
        exposeReason: { type: 'boolean', description: "Include the guard's reason in the deny reply (default false)." },
        cache: {
          type: 'object',
          description: 'Verdict cache shared by the workers (filter default: enabled, 300 s, 1024 entries).',
          properties: {
            enabled: { type: 'boolean' },
            ttlSeconds: { type: 'integer', format: 'int32', minimum: 1, maximum: 86400 },
            maxEntries: { type: 'integer', format: 'int32', minimum: 1, maximum: 65536 },
          },
        },
      },
      'x-kubernetes-validations': [tlsUpgradeRule, tlsOnlyWithUpgradeRule],
    },
    plugin: {
      type: 'object',
      description: 'The filter module and how Istio installs it (WasmPlugin fields).',
      required: ['url'],
      properties: {
        url: {
          type: 'string',
          description: 'oci://registry/image:tag (or without scheme), https://... with sha256, or file:///path on the proxy.',
          minLength: 1,
          maxLength: LIMITS.urlLength,
          pattern: PATTERNS.token,
        },
        sha256: { type: 'string', description: "The module's SHA-256, 64 lower-case hex characters.", maxLength: 64, pattern: PATTERNS.sha256 },
        imagePullPolicy: { type: 'string', maxLength: 16, enum: ['IfNotPresent', 'Always'] },
        imagePullSecret: {
          type: 'string',
          description:
            "A Secret in the policy's namespace (type kubernetes.io/dockerconfigjson) with the credentials istio-agent pulls an oci:// image with, as for a pod's imagePullSecrets.",
          minLength: 1,
          maxLength: 253,
          pattern: PATTERNS.dnsSubdomain,
        },
        phase: { type: 'string', description: "Where in Envoy's filter chain (WasmPlugin phase).", maxLength: 32, enum: ['AUTHN', 'AUTHZ', 'STATS', 'UNSPECIFIED_PHASE'] },
        priority: { type: 'integer', format: 'int32', description: 'Higher runs first within the phase.', minimum: -2147483648, maximum: 2147483647 },
        failStrategy: {
          type: 'string',
          description: 'When the module cannot be loaded: FAIL_CLOSE (deny all, default), FAIL_OPEN, FAIL_RELOAD.',
          maxLength: 16,
          enum: ['FAIL_CLOSE', 'FAIL_OPEN', 'FAIL_RELOAD'],
          default: 'FAIL_CLOSE',
        },
      },
      'x-kubernetes-validations': [
        {
          rule: "!self.url.startsWith('https://') || has(self.sha256)",
          message: "an https:// plugin url requires sha256 (the module's SHA-256, 64 hex characters)",
          fieldPath: '.sha256',
          reason: 'FieldValueRequired',
          check: (self) => !str(get(self, 'url')).startsWith('https://') || has(self, 'sha256'),
        },
        {
          rule:
            "!self.url.contains('://') || self.url.startsWith('oci://') || self.url.startsWith('https://') || self.url.startsWith('file://')",
          message: 'plugin url must be oci://, https:// or file://, or an image reference without scheme (plain http:// is refused)',
          fieldPath: '.url',
          check: (self) => {
            const u = str(get(self, 'url'));
            return !u.includes('://') || u.startsWith('oci://') || u.startsWith('https://') || u.startsWith('file://');
          },
        },
      ],
    },
  },
  'x-kubernetes-validations': [
    {
      rule: 'has(self.selector) != has(self.targetRefs)',
      message: 'exactly one of selector or targetRefs must be set',
      check: (self) => has(self, 'selector') !== has(self, 'targetRefs'),
    },
    {
      rule: '!has(self.intelligentGuard) || self.providers.all(p, p.host != self.intelligentGuard.host)',
      message: 'intelligentGuard.host must not be one of the provider hosts',
      fieldPath: '.intelligentGuard.host',
      check: (self) => {
        if (!has(self, 'intelligentGuard')) return true;
        const guardHost = get(get(self, 'intelligentGuard'), 'host');
        return list(get(self, 'providers')).every((p) => get(p, 'host') !== guardHost);
      },
    },
  ],
};

export const statusSchema: Schema = {
  type: 'object',
  description: 'What the operator made of the policy.',
  properties: {
    observedGeneration: { type: 'integer', format: 'int64', minimum: 0 },
    hosts: { type: 'string', maxLength: 32768, description: "Every provider host, comma-separated (the Hosts column of kubectl get)." },
    conditions: {
      type: 'array',
      maxItems: 8,
      'x-kubernetes-list-type': 'map',
      'x-kubernetes-list-map-keys': ['type'],
      items: {
        type: 'object',
        required: ['type', 'status', 'reason', 'message', 'lastTransitionTime'],
        properties: {
          type: { type: 'string', maxLength: 32, enum: ['Accepted', 'ResolvedRefs', 'Programmed', 'Guarded', 'Conflicted', 'Ready'] },
          status: { type: 'string', maxLength: 8, enum: ['True', 'False', 'Unknown'] },
          reason: { type: 'string', minLength: 1, maxLength: 1024, pattern: PATTERNS.conditionReason },
          message: { type: 'string', maxLength: 32768 },
          lastTransitionTime: { type: 'string', format: 'date-time', maxLength: 64 },
          observedGeneration: { type: 'integer', format: 'int64', minimum: 0 },
        },
      },
    },
  },
};

/** The whole openAPIV3Schema of the one version, rules and all. */
export const policySchema: Schema = {
  type: 'object',
  description: 'LlmGuardPolicy installs the LLM egress guard on workloads or gateways and owns the Istio resources it needs.',
  required: ['spec'],
  properties: {
    apiVersion: { type: 'string' },
    kind: { type: 'string' },
    metadata: {
      type: 'object',
      properties: {
        // Also a label value and the prefix of every child's name: a DNS label.
        name: { type: 'string', maxLength: 63, pattern: PATTERNS.dnsLabel },
      },
    },
    spec: specSchema,
    status: statusSchema,
  },
};
