// Leader election on a coordination.k8s.io/v1 Lease, in the manner of client-go: a candidate takes
// the Lease when it is free or its holder hasn't renewed it for leaseDuration (measured by our own
// clock from when we last saw the record change, so clock skew between nodes doesn't matter),
// renews it every retryPeriod, and gives up leadership when it couldn't renew for renewDeadline.
// On stop the leader releases the Lease (empty holder) so a standby takes over at once.
import type { KubeObject, ObjectApi } from '../kube/objects.js';
import { LEASE } from '../kube/resources.js';
import { errorMessage, isAlreadyExists, isConflict } from '../kube/errors.js';
import { jittered, sleep } from './backoff.js';
import type { Logger } from './log.js';

export interface LeaseSpec {
  holderIdentity?: string;
  leaseDurationSeconds?: number;
  acquireTime?: string;
  renewTime?: string;
  leaseTransitions?: number;
}

type Lease = KubeObject & { spec?: LeaseSpec };

export interface LeaderElectorOptions {
  api: ObjectApi;
  namespace: string;
  name: string;
  identity: string;
  log: Logger;
  /** Default 15 s (whole seconds on the Lease). */
  leaseDurationMs?: number;
  /** Default 10 s. */
  renewDeadlineMs?: number;
  /** Default 2 s. */
  retryPeriodMs?: number;
  /** Clear the Lease's holder on stop (default true). */
  releaseOnStop?: boolean;
  onStartedLeading: () => void | Promise<void>;
  onStoppedLeading: () => void | Promise<void>;
}

/** metav1.MicroTime: RFC 3339 with exactly six fractional digits. */
export function microTime(ms: number): string {
  return new Date(ms).toISOString().replace(/Z$/, '000Z');
}

export class LeaderElector {
  private readonly o: Required<Omit<LeaderElectorOptions, 'onStartedLeading' | 'onStoppedLeading'>> & Pick<LeaderElectorOptions, 'onStartedLeading' | 'onStoppedLeading'>;
  private observed: { resourceVersion: string | undefined; at: number } | undefined;
  private leading = false;

  constructor(opts: LeaderElectorOptions) {
    this.o = {
      ...opts,
      leaseDurationMs: opts.leaseDurationMs ?? 15_000,
      renewDeadlineMs: opts.renewDeadlineMs ?? 10_000,
      retryPeriodMs: opts.retryPeriodMs ?? 2_000,
      releaseOnStop: opts.releaseOnStop ?? true,
    };
    if (this.o.renewDeadlineMs >= this.o.leaseDurationMs) throw new Error('renewDeadline must be shorter than leaseDuration');
    if (this.o.retryPeriodMs >= this.o.renewDeadlineMs) throw new Error('retryPeriod must be shorter than renewDeadline');
  }

  get isLeader(): boolean {
    return this.leading;
  }

  /** Campaign, lead, and campaign again after losing the Lease, until `signal` aborts. */
  async run(signal: AbortSignal): Promise<void> {
    const log = this.o.log.child({ lease: `${this.o.namespace}/${this.o.name}`, identity: this.o.identity });
    while (!signal.aborted) {
      log.info('waiting for leadership');
      while (!signal.aborted && !(await this.attempt(log))) await sleep(jittered(this.o.retryPeriodMs, 0.2), signal);
      if (signal.aborted) break;

      this.leading = true;
      log.info('became leader');
      await this.o.onStartedLeading();
      let lastRenew = Date.now();
      while (!signal.aborted) {
        await sleep(this.o.retryPeriodMs, signal);
        if (signal.aborted) break;
        if (await this.attempt(log)) {
          lastRenew = Date.now();
        } else if (Date.now() - lastRenew > this.o.renewDeadlineMs) {
          log.error('lost leadership: could not renew the Lease in time', { renewDeadlineMs: this.o.renewDeadlineMs });
          break;
        }
      }
      this.leading = false;
      await this.o.onStoppedLeading();
      if (signal.aborted && this.o.releaseOnStop) await this.release(log);
      if (!signal.aborted) log.info('stopped leading');
    }
  }

  /** One try to acquire or renew, bounded by the renew deadline; false on any failure. */
  private async attempt(log: Logger): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), this.o.renewDeadlineMs);
    });
    try {
      return await Promise.race([this.tryAcquireOrRenew(), timeout]);
    } catch (err) {
      if (!isConflict(err)) log.warn('lease update failed', { error: errorMessage(err) });
      return false;
    } finally {
      clearTimeout(timer);
    }
  }

  private async tryAcquireOrRenew(): Promise<boolean> {
    const { api, namespace, name, identity } = this.o;
    const now = Date.now();
    const durationSeconds = Math.max(1, Math.round(this.o.leaseDurationMs / 1000));
    const lease = await api.get<Lease>(LEASE, namespace, name);
    if (!lease) {
      try {
        const created = await api.create<Lease>(LEASE, namespace, {
          apiVersion: LEASE.apiVersion,
          kind: LEASE.kind,
          metadata: { name, namespace },
          spec: { holderIdentity: identity, leaseDurationSeconds: durationSeconds, acquireTime: microTime(now), renewTime: microTime(now), leaseTransitions: 0 },
        });
        this.observed = { resourceVersion: created.metadata?.resourceVersion, at: Date.now() };
        return true;
      } catch (err) {
        if (isAlreadyExists(err)) return false;
        throw err;
      }
    }
    const spec = lease.spec ?? {};
    const rv = lease.metadata?.resourceVersion;
    if (!this.observed || this.observed.resourceVersion !== rv) this.observed = { resourceVersion: rv, at: now };
    const holder = spec.holderIdentity ?? '';
    const heldByOther = holder !== '' && holder !== identity;
    if (heldByOther && this.observed.at + (spec.leaseDurationSeconds ?? 0) * 1000 > now) return false;

    const mine = holder === identity;
    const next: Lease = {
      ...lease,
      spec: {
        holderIdentity: identity,
        leaseDurationSeconds: durationSeconds,
        acquireTime: mine && spec.acquireTime ? spec.acquireTime : microTime(now),
        renewTime: microTime(now),
        leaseTransitions: mine ? (spec.leaseTransitions ?? 0) : (spec.leaseTransitions ?? 0) + 1,
      },
    };
    const updated = await api.replace<Lease>(LEASE, namespace, name, next);
    this.observed = { resourceVersion: updated.metadata?.resourceVersion, at: Date.now() };
    return true;
  }

  private async release(log: Logger): Promise<void> {
    const { api, namespace, name, identity } = this.o;
    try {
      const lease = await api.get<Lease>(LEASE, namespace, name);
      if (!lease || lease.spec?.holderIdentity !== identity) return;
      const now = microTime(Date.now());
      const spec: LeaseSpec = { ...lease.spec, leaseDurationSeconds: 1, renewTime: now, acquireTime: now };
      delete spec.holderIdentity;
      await api.replace<Lease>(LEASE, namespace, name, { ...lease, spec });
      log.info('released the Lease');
    } catch (err) {
      log.warn('could not release the Lease', { error: errorMessage(err) });
    }
  }
}
