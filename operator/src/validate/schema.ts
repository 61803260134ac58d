// The LlmGuardPolicy CRD's schema, once: `llmguard crd` prints the CustomResourceDefinition built
// from it (manifests/crd/llmguard.io_llmguardpolicies.yaml is that output; schema.test.ts fails
// when the two differ), and `validatePolicy` checks a policy against it the way the apiserver
// does: defaults, types, bounds, enums, patterns, list sets, then the CEL rules, each written
// twice, as CEL for the apiserver and in TypeScript here, with the same message.
//
// Every string has a maxLength and every list a maxItems: that keeps each CEL rule's estimated
// cost far inside the apiserver's budget, and the whole object far below etcd's size limit.
import { API_VERSION, GROUP, KIND, PLURAL, VERSION } from '../api/v1alpha1/llm_guard_policy.js';

// ---- the schema ------------------------------------------------------------------------------

/** A CEL rule as the CRD states it, with the same rule in TypeScript (`self` already defaulted). */
export interface CelRule {
  rule: string;
  message: string;
  /** Where the apiserver reports a failure, relative to the node holding the rule. */
  fieldPath?: string;
  reason?: 'FieldValueInvalid' | 'FieldValueForbidden' | 'FieldValueRequired' | 'FieldValueDuplicate';
  check: (self: unknown) => boolean;
}

/** The subset of OpenAPI v3 a structural CRD schema uses, with the CRD's own key names. */
export interface Schema {
  type: 'object' | 'array' | 'string' | 'integer' | 'boolean';
  description?: string;
  format?: 'int32' | 'int64' | 'date-time';
  properties?: Record<string, Schema>;
  required?: string[];
  additionalProperties?: Schema;
  minProperties?: number;
  maxProperties?: number;
  items?: Schema;
  minItems?: number;
  maxItems?: number;
  'x-kubernetes-list-type'?: 'atomic' | 'set' | 'map';
  'x-kubernetes-list-map-keys'?: string[];
  minLength?: number;
  maxLength?: number;
  pattern?: string;
  enum?: string[];
  minimum?: number;
  maximum?: number;
  default?: unknown;
  'x-kubernetes-validations'?: CelRule[];
}

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
  conditionReason: '^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$',
} as const;

export const LIMITS = {
  hostLength: 253,
  providers: 16,
  apiKeys: 8,
  patterns: 128,
  patternLength: 1024,
  targetRefs: 16,
  labels: 16,
  systemPromptLength: 16384,
  urlLength: 2048,
} as const;

// Helpers the TypeScript twins of the CEL rules use. Like CEL, reading a field that is absent is an
// error (`no such key`), so a rule can't silently pass on a shape the schema would refuse.
type Obj = Record<string, unknown>;

export class CelNoSuchKey extends Error {
  constructor(readonly key: string) {
    super(`no such key: ${key}`);
  }
}

function get(o: unknown, key: string): unknown {
  const v = (o as Obj)[key];
  if (v === undefined) throw new CelNoSuchKey(key);
  return v;
}
function has(o: unknown, key: string): boolean {
  return (o as Obj)[key] !== undefined;
}
function list(v: unknown): unknown[] {
  return v as unknown[];
}
function str(v: unknown): string {
  return v as string;
}

const secretKeyRef = (what: string): Schema => ({
  type: 'object',
  description: `A key of a Secret in the policy's namespace holding ${what}.`,
  required: ['name', 'key'],
  properties: {
    name: { type: 'string', description: 'Name of the Secret.', minLength: 1, maxLength: 253, pattern: PATTERNS.dnsSubdomain },
    key: { type: 'string', description: 'Key inside the Secret.', minLength: 1, maxLength: 253, pattern: PATTERNS.secretKey },
  },
});

const hostField = (what: string): Schema => ({
  type: 'string',
  description:
    `${what}: a lower-case DNS name without port or trailing dot. Wildcards (*.example.com) are not ` +
    'accepted: the operator makes a ServiceEntry with DNS resolution and a TLS origination for it.',
  minLength: 1,
  maxLength: LIMITS.hostLength,
  pattern: PATTERNS.host,
});

const port = (description: string, dflt: number): Schema => ({
  type: 'integer',
  format: 'int32',
  description,
  minimum: 1,
  maximum: 65535,
  default: dflt,
});

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

export const ROLES = ['system', 'developer', 'user', 'assistant', 'tool', 'tool_definition'];

const specSchema: Schema = {
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
          authStyle: {
            type: 'string',
            description:
              'How the key is sent: bearer (authorization: Bearer, OpenAI and most), x-api-key (Anthropic), ' +
              'api-key (Azure OpenAI), x-goog-api-key (Gemini).',
            maxLength: 32,
            enum: ['bearer', 'x-api-key', 'api-key', 'x-goog-api-key'],
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
        'x-kubernetes-validations': [tlsUpgradeRule],
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
          enum: ['refuse', 'allow', 'scan_raw'],
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
        path: {
          type: 'string',
          description: 'A chat-completions path, or a moderations path (/v1/moderations). Filter default /compatible-mode/v1/chat/completions.',
          maxLength: 1024,
          pattern: PATTERNS.path,
        },
        model: { type: 'string', description: 'The guard model (filter default qwen-turbo).', minLength: 1, maxLength: 253, pattern: PATTERNS.token },
        apiKeySecretRef: secretKeyRef("the guard's API key (never the provider key)"),
        timeoutMs: { type: 'integer', format: 'int32', description: 'How long a verdict may take (filter default 3000).', minimum: 1, maximum: 60000 },
        failMode: { type: 'string', description: 'No verdict: closed refuses with 503 (default), open forwards.', maxLength: 16, enum: ['closed', 'open'] },
        verdictFormat: {
          type: 'string',
          description: 'How answers are read; auto (default) recognises all of them.',
          maxLength: 32,
          enum: ['auto', 'json', 'llama_guard', 'qwen_guard', 'openai_moderation'],
        },
        systemPrompt: {
          type: 'string',
          description: 'The system message sent before the conversation; "" sends none.',
          maxLength: LIMITS.systemPromptLength,
        },
        controversial: { type: 'string', description: "Qwen3Guard's Controversial class: deny (default) or allow.", maxLength: 16, enum: ['deny', 'allow'] },
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
      'x-kubernetes-validations': [tlsUpgradeRule],
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

const statusSchema: Schema = {
  type: 'object',
  description: 'What the operator made of the policy.',
  properties: {
    observedGeneration: { type: 'integer', format: 'int64', minimum: 0 },
    conditions: {
      type: 'array',
      maxItems: 8,
      'x-kubernetes-list-type': 'map',
      'x-kubernetes-list-map-keys': ['type'],
      items: {
        type: 'object',
        required: ['type', 'status', 'reason', 'message', 'lastTransitionTime'],
        properties: {
          type: { type: 'string', maxLength: 32, enum: ['Accepted', 'ResolvedRefs', 'Programmed', 'Ready'] },
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

// ---- the CustomResourceDefinition ------------------------------------------------------------

/** The schema in CRD form: the TypeScript twins of the rules left out. */
export function toCrdSchema(s: Schema): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(s)) {
    if (v === undefined) continue;
    if (k === 'properties') {
      const props: Record<string, unknown> = {};
      for (const [name, child] of Object.entries(v as Record<string, Schema>)) props[name] = toCrdSchema(child);
      out[k] = props;
    } else if (k === 'items' || k === 'additionalProperties') {
      out[k] = toCrdSchema(v as Schema);
    } else if (k === 'x-kubernetes-validations') {
      out[k] = (v as CelRule[]).map((r) => {
        const rule: Record<string, unknown> = { rule: r.rule, message: r.message };
        if (r.fieldPath) rule.fieldPath = r.fieldPath;
        if (r.reason) rule.reason = r.reason;
        return rule;
      });
    } else {
      out[k] = v;
    }
  }
  return out;
}

export const CRD_NAME = `${PLURAL}.${GROUP}`;

export function buildCrd(): Record<string, unknown> {
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: {
      name: CRD_NAME,
      labels: { 'app.kubernetes.io/name': 'llmguard', 'app.kubernetes.io/part-of': 'llm-egress-guard' },
    },
    spec: {
      group: GROUP,
      names: {
        kind: KIND,
        listKind: `${KIND}List`,
        plural: PLURAL,
        singular: 'llmguardpolicy',
        shortNames: ['lgp'],
        categories: ['llmguard'],
      },
      scope: 'Namespaced',
      versions: [
        {
          name: VERSION,
          served: true,
          storage: true,
          subresources: { status: {} },
          additionalPrinterColumns: [
            { name: 'Hosts', type: 'string', description: 'Provider hosts', jsonPath: '.spec.providers[*].host' },
            { name: 'Guard', type: 'string', description: 'Guard model host', jsonPath: '.spec.intelligentGuard.host' },
            { name: 'Ready', type: 'string', jsonPath: '.status.conditions[?(@.type=="Ready")].status' },
            { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
          ],
          schema: { openAPIV3Schema: toCrdSchema(policySchema) },
        },
      ],
    },
  };
}

export const CRD_HEADER =
  '# Generated by `llmguard crd` from operator/src/validate/schema.ts: edit that file, then run\n' +
  '#   node build/operator/cli/main.js crd > manifests/crd/llmguard.io_llmguardpolicies.yaml\n' +
  '# (operator/src/validate/schema.test.ts fails while this file and the schema differ).\n';

// ---- validation ------------------------------------------------------------------------------

export type IssueKind = 'Required' | 'Invalid' | 'TooLong' | 'TooShort' | 'TooMany' | 'TooFew' | 'Unsupported' | 'Duplicate' | 'Unknown' | 'Type';

export interface SchemaIssue {
  kind: IssueKind;
  /** Field path, apiserver style: `spec.providers[0].host`. */
  path: string;
  /** The line the apiserver would print for it (close to its wording; CEL messages exactly). */
  message: string;
  /** Set for CEL rule failures: the rule's text. */
  rule?: string;
}

function quote(v: unknown): string {
  return typeof v === 'string' ? JSON.stringify(v) : String(v);
}

function typeName(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  return typeof v;
}

function typeMatches(v: unknown, t: Schema['type']): boolean {
  switch (t) {
    case 'object':
      return typeof v === 'object' && v !== null && !Array.isArray(v);
    case 'array':
      return Array.isArray(v);
    case 'string':
      return typeof v === 'string';
    case 'integer':
      return typeof v === 'number' && Number.isInteger(v);
    case 'boolean':
      return typeof v === 'boolean';
  }
}

const regexCache = new Map<string, RegExp>();
function regex(p: string): RegExp {
  let r = regexCache.get(p);
  if (!r) {
    r = new RegExp(p, 'u');
    regexCache.set(p, r);
  }
  return r;
}

function structuredCopy<T>(v: T): T {
  return v === undefined ? v : (JSON.parse(JSON.stringify(v)) as T);
}

interface Walk {
  issues: SchemaIssue[];
  /** CEL rules to run once the schema checks are done: the apiserver runs them after. */
  pending: { rule: CelRule; self: unknown; path: string }[];
}

function child(path: string, name: string): string {
  return path ? `${path}.${name}` : name;
}

/** Applies `default`s the way the apiserver does: to absent fields of objects that are present. */
function applyDefaults(value: unknown, s: Schema): void {
  if (s.type === 'object' && typeMatches(value, 'object')) {
    const o = value as Obj;
    for (const [name, prop] of Object.entries(s.properties ?? {})) {
      if (o[name] === undefined && prop.default !== undefined) o[name] = structuredCopy(prop.default);
      if (o[name] !== undefined) applyDefaults(o[name], prop);
    }
    if (s.additionalProperties) for (const v of Object.values(o)) applyDefaults(v, s.additionalProperties);
  } else if (s.type === 'array' && Array.isArray(value) && s.items) {
    for (const item of value) applyDefaults(item, s.items);
  }
}

function walk(value: unknown, s: Schema, path: string, w: Walk): void {
  const issue = (kind: IssueKind, p: string, message: string) => w.issues.push({ kind, path: p, message: `${p}: ${message}` });
  if (!typeMatches(value, s.type)) {
    issue('Type', path, `Invalid value: ${quote(typeName(value))}: ${path} in body must be of type ${s.type}: ${quote(typeName(value))}`);
    return;
  }
  switch (s.type) {
    case 'string': {
      const text = value as string;
      const length = [...text].length;
      if (s.maxLength !== undefined && length > s.maxLength) issue('TooLong', path, `Too long: may not be more than ${s.maxLength} bytes`);
      if (s.minLength !== undefined && length < s.minLength) {
        issue('TooShort', path, `Invalid value: ${quote(text)}: ${path} in body should be at least ${s.minLength} chars long`);
      }
      if (s.enum && !s.enum.includes(text)) {
        issue('Unsupported', path, `Unsupported value: ${quote(text)}: supported values: ${s.enum.map((e) => quote(e)).join(', ')}`);
      } else if (s.pattern && !regex(s.pattern).test(text)) {
        issue('Invalid', path, `Invalid value: ${quote(text)}: ${path} in body should match '${s.pattern}'`);
      }
      if (s.format === 'date-time' && Number.isNaN(Date.parse(text))) {
        issue('Invalid', path, `Invalid value: ${quote(text)}: ${path} in body must be of type date-time: ${quote(text)}`);
      }
      break;
    }
    case 'integer': {
      const n = value as number;
      if (s.minimum !== undefined && n < s.minimum) {
        issue('Invalid', path, `Invalid value: ${n}: ${path} in body should be greater than or equal to ${s.minimum}`);
      }
      if (s.maximum !== undefined && n > s.maximum) {
        issue('Invalid', path, `Invalid value: ${n}: ${path} in body should be less than or equal to ${s.maximum}`);
      }
      break;
    }
    case 'array': {
      const items = value as unknown[];
      if (s.maxItems !== undefined && items.length > s.maxItems) issue('TooMany', path, `Too many: ${items.length}: must have at most ${s.maxItems} items`);
      if (s.minItems !== undefined && items.length < s.minItems) {
        issue('TooFew', path, `Invalid value: ${items.length}: ${path} in body should have at least ${s.minItems} items`);
      }
      if (s.items) items.forEach((item, i) => walk(item, s.items as Schema, `${path}[${i}]`, w));
      if (s['x-kubernetes-list-type'] === 'set') {
        const seen = new Set<string>();
        items.forEach((item, i) => {
          const key = JSON.stringify(item);
          if (seen.has(key)) issue('Duplicate', `${path}[${i}]`, `Duplicate value: ${quote(item)}`);
          seen.add(key);
        });
      }
      break;
    }
    case 'object': {
      const o = value as Obj;
      const keys = Object.keys(o).filter((k) => o[k] !== undefined);
      for (const name of s.required ?? []) if (o[name] === undefined) issue('Required', child(path, name), 'Required value');
      if (s.maxProperties !== undefined && keys.length > s.maxProperties) {
        issue('TooMany', path, `Too many: ${keys.length}: must have at most ${s.maxProperties} items`);
      }
      if (s.minProperties !== undefined && keys.length < s.minProperties) {
        issue('TooFew', path, `Invalid value: ${keys.length}: ${path} in body should have at least ${s.minProperties} properties`);
      }
      for (const name of keys) {
        const prop = s.properties?.[name];
        if (prop) walk(o[name], prop, child(path, name), w);
        else if (s.additionalProperties) walk(o[name], s.additionalProperties, child(path, name), w);
        else w.issues.push({ kind: 'Unknown', path: child(path, name), message: `unknown field ${quote(child(path, name))}` });
      }
      break;
    }
    case 'boolean':
      break;
  }
  for (const rule of s['x-kubernetes-validations'] ?? []) w.pending.push({ rule, self: value, path });
}

function runRules(w: Walk): void {
  for (const { rule, self, path } of w.pending) {
    let ok: boolean;
    try {
      ok = rule.check(self);
    } catch (e) {
      // CEL fails the rule when it reads an absent field; the apiserver reports that error.
      const why = e instanceof CelNoSuchKey ? e.message : String(e);
      w.issues.push({ kind: 'Invalid', path, rule: rule.rule, message: `${path}: Invalid value: ${why} evaluating rule: ${rule.rule}` });
      continue;
    }
    if (ok) continue;
    const at = rule.fieldPath ? `${path}${rule.fieldPath}` : path;
    const kind: IssueKind = rule.reason === 'FieldValueRequired' ? 'Required' : rule.reason === 'FieldValueDuplicate' ? 'Duplicate' : 'Invalid';
    const prefix = kind === 'Required' ? 'Required value' : kind === 'Duplicate' ? 'Duplicate value' : 'Invalid value';
    w.issues.push({ kind, path: at, rule: rule.rule, message: `${at}: ${prefix}: ${rule.message}` });
  }
}

/** The apiserver skips the CEL rules after these (strategy.go, hasBlockingErr). */
const BLOCKING: IssueKind[] = ['Unsupported', 'Required', 'TooLong', 'TooMany', 'Type'];
export const RULES_NOT_CHECKED =
  '<nil>: Invalid value: null: some validation rules were not checked because the object was invalid; correct the existing errors to complete validation';

export interface ValidationResult {
  /** The policy with the CRD's defaults applied (a copy), as the operator would read it back. */
  policy: Record<string, unknown>;
  issues: SchemaIssue[];
}

/**
 * Checks one LlmGuardPolicy object (as parsed from YAML) like the apiserver with strict field
 * validation: unknown fields are errors, defaults are applied first, the CEL rules run unless a
 * blocking error came first (a wrong type, a missing field, an unknown enum value, a string or a
 * list too long: the apiserver skips them then too, and says so). `status` is not checked: the
 * apiserver ignores it on create and update.
 */
export function validatePolicy(doc: unknown, opts: { defaultNamespace?: string } = {}): ValidationResult {
  const w: Walk = { issues: [], pending: [] };
  if (!typeMatches(doc, 'object')) {
    w.issues.push({ kind: 'Type', path: '', message: `Invalid value: ${quote(typeName(doc))}: the document must be an object` });
    return { policy: {}, issues: w.issues };
  }
  const policy = structuredCopy(doc) as Obj;
  if (policy.apiVersion !== API_VERSION) {
    w.issues.push({ kind: 'Invalid', path: 'apiVersion', message: `apiVersion: Invalid value: ${quote(policy.apiVersion)}: must be ${API_VERSION}` });
  }
  if (policy.kind !== KIND) {
    w.issues.push({ kind: 'Invalid', path: 'kind', message: `kind: Invalid value: ${quote(policy.kind)}: must be ${KIND}` });
  }
  const meta = policy.metadata;
  if (!typeMatches(meta, 'object')) {
    w.issues.push({ kind: 'Required', path: 'metadata.name', message: 'metadata.name: Required value: name is required' });
  } else {
    const m = meta as Obj;
    if (m.name === undefined) w.issues.push({ kind: 'Required', path: 'metadata.name', message: 'metadata.name: Required value: name is required' });
    else walk(m.name, (policySchema.properties!.metadata!.properties as Record<string, Schema>).name!, 'metadata.name', w);
    if (m.namespace === undefined && opts.defaultNamespace) m.namespace = opts.defaultNamespace;
    if (m.namespace !== undefined) walk(m.namespace, { type: 'string', maxLength: 63, pattern: PATTERNS.dnsLabel }, 'metadata.namespace', w);
  }
  for (const key of Object.keys(policy)) {
    if (!['apiVersion', 'kind', 'metadata', 'spec', 'status'].includes(key)) {
      w.issues.push({ kind: 'Unknown', path: key, message: `unknown field ${quote(key)}` });
    }
  }
  const spec = specSchema;
  if (policy.spec === undefined) {
    w.issues.push({ kind: 'Required', path: 'spec', message: 'spec: Required value' });
  } else {
    applyDefaults(policy.spec, spec);
    walk(policy.spec, spec, 'spec', w);
  }
  if (w.issues.some((i) => BLOCKING.includes(i.kind))) {
    w.issues.push({ kind: 'Invalid', path: '', message: RULES_NOT_CHECKED });
  } else {
    runRules(w);
  }
  return { policy, issues: w.issues };
}

/** Every CEL rule of the schema with the path of the node holding it (`spec.providers[]`). */
export function allRules(s: Schema = policySchema, path = ''): { path: string; rule: CelRule }[] {
  const out: { path: string; rule: CelRule }[] = [];
  for (const r of s['x-kubernetes-validations'] ?? []) out.push({ path, rule: r });
  for (const [name, p] of Object.entries(s.properties ?? {})) out.push(...allRules(p, child(path, name)));
  if (s.items) out.push(...allRules(s.items, `${path}[]`));
  if (s.additionalProperties) out.push(...allRules(s.additionalProperties, `${path}{}`));
  return out;
}
