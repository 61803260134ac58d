// What the key service answers a filter for one policy: each provider's keys (by its host, the
// filter's `hosts[0]`) and the guard's key, read from the policy's Secrets at the time of the
// request, or why a key is not available. The answer format is the filter's contract
// (docs/filter-config.md, "Keys from the key service").
import type { LlmGuardPolicy } from '../api/v1alpha1/llm_guard_policy.js';
import { resolveSecrets, type SecretLike } from '../controller/secrets.js';
import { secretRefKey } from '../render/plugin_config.js';

export type KeysEntry = { api_keys: string[] } | { error: string };
export type GuardKeyEntry = { api_key: string } | { error: string };

export interface KeysAnswer {
  providers: Record<string, KeysEntry>;
  intelligent_guard?: GuardKeyEntry;
}

/**
 * The answer for `policy`, given its Secrets by name (undefined: not found). A reference that
 * can't be resolved (controller/secrets.ts: missing, empty, or not HTTP-header safe) makes that
 * provider's (or the guard's) entry an error, so the filter stops using the old key instead of
 * dropping every provider.
 */
export function buildAnswer(policy: LlmGuardPolicy, secretNamed: (name: string) => SecretLike | undefined): KeysAnswer {
  const resolution = resolveSecrets(policy, (_ns, name) => secretNamed(name));
  const problem = new Map(resolution.unresolved.map((u) => [secretRefKey(u.name, u.key), u.message]));
  const entry = (refs: { name: string; key: string }[]): { keys: string[] } | { error: string } => {
    const keys: string[] = [];
    for (const r of refs) {
      const id = secretRefKey(r.name, r.key);
      const why = problem.get(id);
      if (why) return { error: why };
      keys.push(resolution.values.get(id)!);
    }
    return { keys };
  };
  const providers: Record<string, KeysEntry> = {};
  for (const p of policy.spec.providers) {
    const e = entry(p.apiKeys.map((k) => k.secretKeyRef));
    providers[p.host] = 'keys' in e ? { api_keys: e.keys } : e;
  }
  const answer: KeysAnswer = { providers };
  const guard = policy.spec.intelligentGuard;
  if (guard) {
    const e = entry([guard.apiKeySecretRef]);
    answer.intelligent_guard = 'keys' in e ? { api_key: e.keys[0]! } : e;
  }
  return answer;
}

/** Secret values by `<name>/<key>` (as the offline tools hold them) as the Secrets they came from. */
export function secretsFromValues(values: ReadonlyMap<string, string>): (name: string) => SecretLike | undefined {
  return (name) => {
    const data: Record<string, string> = {};
    for (const [ref, value] of values) {
      const slash = ref.indexOf('/');
      if (ref.slice(0, slash) === name) data[ref.slice(slash + 1)] = Buffer.from(value).toString('base64');
    }
    return Object.keys(data).length ? { data } : undefined;
  };
}
