// Make before break for what routes to a host: a ServiceEntry or DestinationRule a policy no
// longer wants is deleted only after a grace period. istiod pushes clusters (CDS) before filter
// configs (ECDS), so deleting the guard's or a provider's objects at once fails the requests the
// filter's previous config still sends there, until the new config lands (the soak saw 503
// guard_unavailable, no_cluster, for seconds after a policy turned its guard off).
export const RETIRED_KINDS: ReadonlySet<string> = new Set(['ServiceEntry', 'DestinationRule']);

/** Longer than istiod takes to push a change to every proxy, and than a guard call may last (60 s at most). */
export const DEFAULT_RETIRE_AFTER_MS = 90_000;

/**
 * When each unwanted object was first seen unwanted. In memory: after a restart (or a new leader)
 * the grace starts again, which only keeps an object a little longer.
 */
export class Retirements {
  private readonly since = new Map<string, number>();

  constructor(
    private readonly graceMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** Milliseconds before the object may be deleted (0: now); the first call starts its grace. */
  remainingMs(id: string): number {
    const t = this.now();
    const first = this.since.get(id) ?? t;
    this.since.set(id, first);
    return Math.max(0, first + this.graceMs - t);
  }

  /** The object is wanted again, or gone. */
  forget(id: string): void {
    this.since.delete(id);
  }

  /** Every object whose id starts with `prefix` (a deleted policy's: the garbage collector takes them). */
  forgetAll(prefix: string): void {
    for (const id of [...this.since.keys()]) if (id.startsWith(prefix)) this.since.delete(id);
  }

  get size(): number {
    return this.since.size;
  }
}
