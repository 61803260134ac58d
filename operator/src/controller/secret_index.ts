// Which policies reference which Secrets: `namespace/secret` -> policy keys. Updated from the policy
// informer, queried when a Secret changes.

export class SecretIndex {
  private readonly bySecret = new Map<string, Set<string>>();
  private readonly byPolicy = new Map<string, Set<string>>();

  /** Replace the Secrets `policyKey` references (Secret names in `namespace`). */
  set(policyKey: string, namespace: string, secretNames: Iterable<string>): void {
    this.remove(policyKey);
    const keys = new Set([...secretNames].map((n) => `${namespace}/${n}`));
    if (keys.size === 0) return;
    this.byPolicy.set(policyKey, keys);
    for (const k of keys) {
      let set = this.bySecret.get(k);
      if (!set) this.bySecret.set(k, (set = new Set()));
      set.add(policyKey);
    }
  }

  remove(policyKey: string): void {
    const keys = this.byPolicy.get(policyKey);
    if (!keys) return;
    this.byPolicy.delete(policyKey);
    for (const k of keys) {
      const set = this.bySecret.get(k);
      set?.delete(policyKey);
      if (set && set.size === 0) this.bySecret.delete(k);
    }
  }

  policiesFor(namespace: string, secretName: string): string[] {
    return [...(this.bySecret.get(`${namespace}/${secretName}`) ?? [])];
  }
}
