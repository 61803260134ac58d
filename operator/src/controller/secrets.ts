// Resolving a policy's Secret references into keys, by one rule for the operator (its ResolvedRefs
// condition) and the key service (what it answers). Both read the referenced Secrets when they
// need them and keep no value beyond that; the operator's Secret informer holds metadata only.
import type { LlmGuardPolicy } from '../api/v1alpha1/llm_guard_policy.js';
import { secretRefKey, secretRefs } from '../render/index.js';

export interface SecretLike {
  metadata?: { name?: string; namespace?: string };
  data?: Record<string, string>;
}

export interface UnresolvedRef {
  name: string;
  key: string;
  reason: 'SecretNotFound' | 'SecretKeyNotFound' | 'SecretKeyInvalid';
  message: string;
}

export interface Resolution {
  /** By `<secret>/<key>`. */
  values: Map<string, string>;
  unresolved: UnresolvedRef[];
  /** How many distinct references the policy makes. */
  total: number;
}

export function resolveSecrets(policy: LlmGuardPolicy, getSecret: (namespace: string, name: string) => SecretLike | undefined): Resolution {
  const ns = policy.metadata.namespace;
  const values = new Map<string, string>();
  const unresolved: UnresolvedRef[] = [];
  const refs = secretRefs(policy);
  for (const { name, key } of refs) {
    const secret = getSecret(ns, name);
    if (!secret) {
      unresolved.push({ name, key, reason: 'SecretNotFound', message: `Secret "${name}" not found` });
      continue;
    }
    const encoded = secret.data?.[key];
    if (encoded === undefined) {
      unresolved.push({ name, key, reason: 'SecretKeyNotFound', message: `Secret "${name}" has no key "${key}"` });
      continue;
    }
    // A key written from a file often ends with a newline; it is never part of an API key.
    const value = Buffer.from(encoded, 'base64').toString('utf8').replace(/[\r\n]+$/, '');
    if (value.length === 0) {
      unresolved.push({ name, key, reason: 'SecretKeyNotFound', message: `key "${key}" of Secret "${name}" is empty` });
      continue;
    }
    // The filter sends a key in an HTTP header: printable ASCII only.
    if (!/^[\x20-\x7e]+$/.test(value)) {
      unresolved.push({ name, key, reason: 'SecretKeyInvalid', message: `key "${key}" of Secret "${name}" has characters an HTTP header can't carry` });
      continue;
    }
    values.set(secretRefKey(name, key), value);
  }
  return { values, unresolved, total: refs.length };
}

/** The Secret names a policy references (for the Secret -> policies index). */
export function referencedSecretNames(policy: LlmGuardPolicy): string[] {
  return [...new Set(secretRefs(policy).map((r) => r.name))];
}
