// A workload certificate kept fresh, as Istio's agent keeps a sidecar's: a new key and CSR each
// time, renewal at half the certificate's lifetime, and on failure retries with capped
// exponential backoff while the current certificate keeps serving. onRenew lets a TLS server swap
// its secure context. Time and the CA are injected, so the schedule is testable without timers.
import { createWorkloadCsr } from './csr.js';
import { checkIssuedChain } from './issued_chain.js';
import type { CertificateSigner } from './istio_ca.js';
import type { WorkloadIdentity } from './spiffe_identity.js';

export { identityOfPeer, spiffeId, type WorkloadIdentity } from './spiffe_identity.js';

export interface CurrentCertificate {
  /** PKCS#8 PEM. */
  keyPem: string;
  /** Leaf then intermediates, PEM. */
  certChainPem: string;
  /** The mesh root: what peers' certificates are verified against. */
  rootPem: string;
  notAfter: Date;
}

export interface Clock {
  now(): number;
  setTimer(fire: () => void, ms: number): unknown;
  clearTimer(handle: unknown): void;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimer: (fire, ms) => setTimeout(fire, ms).unref(),
  clearTimer: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

export interface WorkloadCertificateOptions {
  identity: WorkloadIdentity;
  /** The mesh root the issued chain must lead to (ConfigMap istio-ca-root-cert). */
  rootCertPem: string;
  /** Who signs the CSR: istiodSigner(caOptions) in production. */
  sign: CertificateSigner;
  /** Asked-for lifetime. Default 24 h, istiod's own default; istiod refuses more than its MAX_WORKLOAD_CERT_TTL (90 days). */
  validitySeconds?: number;
  /** Retry delays after a failed renewal: initialMs doubling up to maxMs. Default 1 s .. 5 min. */
  retry?: { initialMs?: number; maxMs?: number };
  clock?: Clock;
}

export const DEFAULT_VALIDITY_SECONDS = 24 * 3600;
/** setTimeout's longest delay; longer waits are taken in steps. */
const MAX_TIMER_MS = 2 ** 31 - 1;
/** Even a certificate already past half-life is renewed no faster than this. */
const MIN_RENEW_DELAY_MS = 1_000;

export class WorkloadCertificate {
  private readonly clock: Clock;
  private readonly validitySeconds: number;
  private readonly retryInitialMs: number;
  private readonly retryMaxMs: number;
  private cert: CurrentCertificate | undefined;
  private timer: unknown;
  private failures = 0;
  private state: 'new' | 'started' | 'stopped' = 'new';
  private readonly renewListeners = new Set<(c: CurrentCertificate) => void>();
  private readonly errorListeners = new Set<(e: Error) => void>();

  constructor(private readonly o: WorkloadCertificateOptions) {
    this.clock = o.clock ?? systemClock;
    this.validitySeconds = o.validitySeconds ?? DEFAULT_VALIDITY_SECONDS;
    this.retryInitialMs = o.retry?.initialMs ?? 1_000;
    this.retryMaxMs = o.retry?.maxMs ?? 5 * 60_000;
    if (!Number.isSafeInteger(this.validitySeconds) || this.validitySeconds <= 0) throw new RangeError(`validitySeconds must be a positive integer, got ${this.validitySeconds}`);
    if (!(this.retryInitialMs > 0 && this.retryMaxMs >= this.retryInitialMs)) throw new RangeError('retry needs 0 < initialMs <= maxMs');
  }

  /** Gets the first certificate; rejects with the CA's error (no retry), and then stays unstarted. */
  async start(): Promise<CurrentCertificate> {
    if (this.state !== 'new') throw new Error(`WorkloadCertificate already ${this.state}`);
    const first = await this.issue();
    if (this.state !== 'new') return first.current; // stopped while we waited
    this.state = 'started';
    this.use(first);
    return first.current;
  }

  current(): CurrentCertificate {
    if (!this.cert) throw new Error('no workload certificate yet: start() first');
    return this.cert;
  }

  /** Called after each renewal with the new certificate; returns the unsubscribe. */
  onRenew(listener: (c: CurrentCertificate) => void): () => void {
    this.renewListeners.add(listener);
    return () => this.renewListeners.delete(listener);
  }

  /** Called on each failed renewal (the current certificate still serves); returns the unsubscribe. */
  onError(listener: (e: Error) => void): () => void {
    this.errorListeners.add(listener);
    return () => this.errorListeners.delete(listener);
  }

  stop(): void {
    this.state = 'stopped';
    if (this.timer !== undefined) this.clock.clearTimer(this.timer);
    this.timer = undefined;
  }

  private async issue(): Promise<{ current: CurrentCertificate; notBefore: Date }> {
    const { keyPem, csrPem } = createWorkloadCsr(this.o.identity);
    const chain = await this.o.sign(csrPem, this.validitySeconds);
    const checked = checkIssuedChain(chain, keyPem, this.o.identity, this.o.rootCertPem, this.clock.now());
    return { current: { keyPem, certChainPem: checked.certChainPem, rootPem: this.o.rootCertPem, notAfter: checked.notAfter }, notBefore: checked.notBefore };
  }

  /** Serves `issued` from now on and schedules its renewal at half its lifetime. */
  private use(issued: { current: CurrentCertificate; notBefore: Date }): void {
    this.cert = issued.current;
    const notBefore = issued.notBefore.getTime();
    const notAfter = issued.current.notAfter.getTime();
    this.wakeAt(Math.max(notBefore + (notAfter - notBefore) / 2, this.clock.now() + MIN_RENEW_DELAY_MS));
  }

  private wakeAt(at: number): void {
    if (this.state !== 'started') return;
    const delay = at - this.clock.now();
    this.timer = this.clock.setTimer(() => {
      this.timer = undefined;
      if (this.clock.now() < at) this.wakeAt(at);
      else void this.renew();
    }, Math.min(Math.max(delay, 0), MAX_TIMER_MS));
  }

  private async renew(): Promise<void> {
    let next: { current: CurrentCertificate; notBefore: Date };
    try {
      next = await this.issue();
    } catch (e) {
      if (this.state !== 'started') return;
      this.failures++;
      this.report(e as Error);
      const backoff = Math.min(this.retryInitialMs * 2 ** Math.min(this.failures - 1, 30), this.retryMaxMs);
      this.wakeAt(this.clock.now() + backoff);
      return;
    }
    if (this.state !== 'started') return;
    this.failures = 0;
    this.use(next);
    for (const listener of this.renewListeners) {
      try {
        listener(next.current);
      } catch (e) {
        this.report(new Error(`an onRenew listener failed: ${(e as Error).message}`));
      }
    }
  }

  private report(e: Error): void {
    for (const listener of this.errorListeners) {
      try {
        listener(e);
      } catch {
        // A failing error listener must not stop renewals.
      }
    }
  }
}
