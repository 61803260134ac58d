// A small cache for what the key service reads from the apiserver on a filter's behalf: each value
// lives `ttlMs` (so a rotated or deleted Secret is seen within that), concurrent misses for one key
// share one read, failures are not kept, and the oldest entries go beyond `maxEntries`.
export class TtlCache<T> {
  private readonly entries = new Map<string, { at: number; value: Promise<T> }>();

  constructor(
    private readonly ttlMs: number,
    private readonly maxEntries: number,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * The cached value if younger than the TTL and, when `readSince` is given, read (or being read)
   * since that time; else a new read, which concurrent callers asking the same then share.
   */
  get(key: string, load: () => Promise<T>, readSince?: number): Promise<T> {
    const hit = this.entries.get(key);
    if (hit && this.now() - hit.at < this.ttlMs && (readSince === undefined || hit.at >= readSince)) return hit.value;
    const value = load();
    this.entries.delete(key);
    this.entries.set(key, { at: this.now(), value });
    value.catch(() => {
      if (this.entries.get(key)?.value === value) this.entries.delete(key);
    });
    while (this.entries.size > this.maxEntries) this.entries.delete(this.entries.keys().next().value!);
    return value;
  }

  get size(): number {
    return this.entries.size;
  }
}
