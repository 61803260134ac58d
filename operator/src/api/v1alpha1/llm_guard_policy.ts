// The LlmGuardPolicy custom resource (llmguard.io/v1alpha1), as the operator reads it. The CRD's
// structural schema (llm_guard_policy_schema.ts) is the source of bounds and enums; these types
// mirror it. Values that go to the filter as they are use the filter's own types.
import type { AuthStyle, BinaryContent, Controversial, FailMode, InspectedRole, OnUninspectable, VerdictFormat } from '../pluginconfig/types.js';

export type { AuthStyle } from '../pluginconfig/types.js';

export const GROUP = 'llmguard.io';
export const VERSION = 'v1alpha1';
export const KIND = 'LlmGuardPolicy';
export const PLURAL = 'llmguardpolicies';
export const API_VERSION = `${GROUP}/${VERSION}`;

/** The filter's roles: a policy inspects the same ones. */
export type Role = InspectedRole;

export interface SecretKeyRef {
  name: string;
  key: string;
}

export interface ApiKeySource {
  secretKeyRef: SecretKeyRef;
}

/** How the sidecar trusts a host's certificate when it originates TLS. */
export interface UpstreamTls {
  /** A CA bundle file on the proxy. */
  caCertificates?: string;
  /** A Secret in the policy's namespace holding the CA (ca.crt). */
  credentialName?: string;
}

/** Where the sidecar sends a host's traffic, and how it trusts it. */
export interface Destination {
  /** Addresses (IPs or DNS names) instead of resolving the host. */
  endpoints?: string[];
  tls?: UpstreamTls;
}

export interface Provider extends Destination {
  /** The provider's host, as apps address it (plain HTTP): e.g. api.openai.com. */
  host: string;
  /** The port apps send plain HTTP to. Default 80. */
  port?: number;
  /** Originate TLS from the sidecar: plain HTTP on `port` leaves as HTTPS to `targetPort`. Default true. */
  tlsUpgrade?: boolean;
  /** The provider's HTTPS port. Default 443. */
  targetPort?: number;
  authStyle?: AuthStyle;
  /** One or more keys, used in turn. */
  apiKeys: ApiKeySource[];
}

export interface Inspection {
  roles?: Role[];
  denyStatus?: number;
  onUninspectable?: OnUninspectable;
  /** Match patterns on normalized text too (filter default true). */
  normalize?: boolean;
  binaryContent?: BinaryContent;
  maxBodyBytes?: number;
  maxJsonDepth?: number;
  logPrompts?: boolean;
}

/** What the provider answers is matched too (JSON replies and event streams). */
export interface ResponseInspection {
  /** RE2 patterns; a match ends the reply with an error instead. */
  denyPatterns?: string[];
  /** RE2 patterns; matches are replaced by the policy's redactToken before the app sees them. */
  redactPatterns?: string[];
  /** How much text of a stream (UTF-16 units per text) is held back at most while it could still become a match (filter default 4096). */
  maxHoldBack?: number;
}

export interface GuardCache {
  enabled?: boolean;
  ttlSeconds?: number;
  maxEntries?: number;
}

export interface IntelligentGuard extends Destination {
  host: string;
  /** The port the filter calls (plain HTTP through the sidecar). Default 80. */
  port?: number;
  tlsUpgrade?: boolean;
  targetPort?: number;
  path?: string;
  model?: string;
  apiKeySecretRef: SecretKeyRef;
  timeoutMs?: number;
  failMode?: FailMode;
  verdictFormat?: VerdictFormat;
  systemPrompt?: string;
  controversial?: Controversial;
  exposeReason?: boolean;
  cache?: GuardCache;
}

export interface PluginImage {
  /** oci://... (or no scheme) or https://... */
  url: string;
  /** Hex SHA-256 of the module; required for https URLs. */
  sha256?: string;
  imagePullPolicy?: 'IfNotPresent' | 'Always';
  /** A kubernetes.io/dockerconfigjson Secret in the policy's namespace, for a private registry. */
  imagePullSecret?: string;
  phase?: 'AUTHN' | 'AUTHZ' | 'STATS' | 'UNSPECIFIED_PHASE';
  priority?: number;
  failStrategy?: 'FAIL_CLOSE' | 'FAIL_OPEN' | 'FAIL_RELOAD';
}

export interface WorkloadSelector {
  matchLabels: Record<string, string>;
}

export interface PolicyTargetReference {
  group: string;
  kind: string;
  name: string;
}

export interface LlmGuardPolicySpec {
  selector?: WorkloadSelector;
  targetRefs?: PolicyTargetReference[];
  providers: Provider[];
  denyPatterns?: string[];
  allowPatterns?: string[];
  /** RE2 patterns; matches in inspected request text are replaced by redactToken. */
  redactPatterns?: string[];
  /** What each redacted match becomes, requests and responses (filter default "[REDACTED]"). */
  redactToken?: string;
  response?: ResponseInspection;
  inspection?: Inspection;
  intelligentGuard?: IntelligentGuard;
  plugin: PluginImage;
}

export interface Condition {
  type: 'Accepted' | 'ResolvedRefs' | 'Programmed' | 'Guarded' | 'Conflicted' | 'Ready';
  status: 'True' | 'False' | 'Unknown';
  reason: string;
  message: string;
  lastTransitionTime: string;
  observedGeneration?: number;
}

export interface LlmGuardPolicyStatus {
  observedGeneration?: number;
  conditions?: Condition[];
  /** Every provider host, comma-separated: kubectl's printer columns show only a list's first item. */
  hosts?: string;
}

export interface ObjectMeta {
  name: string;
  namespace: string;
  uid?: string;
  generation?: number;
  resourceVersion?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

export interface LlmGuardPolicy {
  apiVersion: typeof API_VERSION;
  kind: typeof KIND;
  metadata: ObjectMeta;
  spec: LlmGuardPolicySpec;
  status?: LlmGuardPolicyStatus;
}
