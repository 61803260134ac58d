// The key service's reads from the apiserver: a policy, the Secrets it references (one GET each:
// no list, no watch, no cache of every Secret in the cluster) and the ServiceAccounts its
// workloads run as. Each is cached for a few seconds, so a fleet of filters refreshing every few
// seconds costs the apiserver little and a rotated key is served within the TTL.
import type { LlmGuardPolicy } from '../api/v1alpha1/llm_guard_policy.js';
import type { SecretLike } from '../controller/secrets.js';
import { isNotFound } from '../kube/errors.js';
import type { KubeObject, ObjectApi } from '../kube/objects.js';
import { POD, POLICY, SECRET, WORKLOAD_ENTRY } from '../kube/resources.js';
import { accountsOf, labelSelectorText, workloadSelectors } from './authorize.js';
import { TtlCache } from './ttl_cache.js';

export interface LookupOptions {
  api: ObjectApi;
  /** How long a read is reused (default 5 s). */
  ttlMs?: number;
  now?: () => number;
}

/** What the key server reads on a request's behalf. */
export interface KeyLookup {
  /** The policy; when `readSince` is given, as read from the apiserver at or after that time. */
  policy(namespace: string, name: string, readSince?: number): Promise<LlmGuardPolicy | undefined>;
  secret(namespace: string, name: string): Promise<SecretLike | undefined>;
  workloadAccounts(policy: LlmGuardPolicy): Promise<Set<string>>;
}

export class KubeLookup implements KeyLookup {
  private readonly policies: TtlCache<LlmGuardPolicy | undefined>;
  private readonly secrets: TtlCache<SecretLike | undefined>;
  private readonly accounts: TtlCache<Set<string>>;

  constructor(private readonly o: LookupOptions) {
    const ttl = o.ttlMs ?? 5_000;
    this.policies = new TtlCache(ttl, 4_096, o.now);
    this.secrets = new TtlCache(ttl, 4_096, o.now);
    this.accounts = new TtlCache(ttl, 4_096, o.now);
  }

  policy(namespace: string, name: string, readSince?: number): Promise<LlmGuardPolicy | undefined> {
    return this.policies.get(`${namespace}/${name}`, async () => (await this.o.api.get<KubeObject>(POLICY, namespace, name)) as unknown as LlmGuardPolicy | undefined, readSince);
  }

  secret(namespace: string, name: string): Promise<SecretLike | undefined> {
    return this.secrets.get(`${namespace}/${name}`, () => this.o.api.get<KubeObject & SecretLike>(SECRET, namespace, name));
  }

  /** The ServiceAccounts of the Pods and WorkloadEntries `policy` selects. */
  workloadAccounts(policy: LlmGuardPolicy): Promise<Set<string>> {
    const ns = policy.metadata.namespace;
    const selectors = workloadSelectors(policy).map(labelSelectorText);
    return this.accounts.get(`${ns}|${selectors.join('|')}`, async () => {
      const all = new Set<string>();
      for (const labelSelector of selectors) {
        const [pods, entries] = await Promise.all([
          this.o.api.list<KubeObject>(POD, ns, { labelSelector }),
          this.o.api.list<KubeObject>(WORKLOAD_ENTRY, ns, { labelSelector }).catch((err: unknown) => {
            if (isNotFound(err)) return { items: [] }; // Istio's CRDs not installed: no entries
            throw err;
          }),
        ]);
        for (const a of accountsOf(pods.items as never[], entries.items as never[])) all.add(a);
      }
      return all;
    });
  }
}
