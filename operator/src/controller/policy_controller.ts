// The reconciling part of the operator, run by the leader: informers on LlmGuardPolicies and on
// Secrets, the Secret -> policies index, the work queue and its workers, and a periodic resync.
// Workers start only once both caches have synced. The Secret informer only maps Secret changes
// to the policies that reference them; its cache is stripped of values (reconciles read the few
// Secrets they need), so a cluster full of large Secrets doesn't fill the operator's heap.
import type { KubeConfig, KubernetesListObject, KubernetesObject } from '@kubernetes/client-node';
import type { LlmGuardPolicy } from '../api/v1alpha1/llm_guard_policy.js';
import type { KeyServiceLocation } from '../render/index.js';
import type { KubeObject, ObjectApi } from '../kube/objects.js';
import { collectionPath, OWNED_TYPES, POLICY, SECRET } from '../kube/resources.js';
import { MANAGED_BY, POLICY_LABEL } from '../render/labels.js';
import { errorMessage } from '../kube/errors.js';
import type { EventRecorder } from './events.js';
import { ResilientInformer } from './informer.js';
import { metadataOnlyKubeConfig } from './metadata_only.js';
import type { Logger } from './log.js';
import type { Metrics } from './metrics.js';
import { WorkQueue } from './queue.js';
import { Reconciler } from './reconcile.js';
import { SecretIndex } from './secret_index.js';
import { referencedSecretNames, type SecretLike } from './secrets.js';
import type { FilterConfigCheck } from './validate.js';
import { overlapsOf, type OverlapSubject } from './overlap.js';

/** How the work queue and the informers run: the operator's own options pass these through. */
export interface QueueTuning {
  /** Reconciles run at once (default DEFAULT_WORKERS): each mostly waits on the apiserver. */
  workers?: number;
  /** Re-queue every policy this often (drift repair); 0 turns it off. Default 10 min. */
  resyncPeriodMs?: number;
  queueBaseDelayMs?: number;
  queueMaxDelayMs?: number;
  informerBaseDelayMs?: number;
  informerMaxDelayMs?: number;
  /** How long a ServiceEntry or DestinationRule a policy no longer wants stays (retirement.ts). */
  retireAfterMs?: number;
}

export interface PolicyControllerOptions extends QueueTuning {
  kubeConfig: KubeConfig;
  api: ObjectApi;
  /** Watch one namespace; all when undefined. */
  namespace?: string;
  log: Logger;
  metrics: Metrics;
  events: EventRecorder;
  filterCheck: FilterConfigCheck;
  keyService?: KeyServiceLocation;
}

export const DEFAULT_WORKERS = 16;

type PolicyObject = LlmGuardPolicy & KubernetesObject;
type SecretObject = SecretLike & KubernetesObject;
type OwnedObject = KubernetesObject;

const keyOf = (o: { metadata?: { namespace?: string; name?: string } }) => `${o.metadata?.namespace ?? ''}/${o.metadata?.name ?? ''}`;

export class PolicyController {
  readonly queue: WorkQueue;
  readonly reconciler: Reconciler;
  private readonly index = new SecretIndex();
  /** What each policy's last event said: its identity, generation, and what decides overlap. */
  private readonly seen = new Map<string, { uid: string | undefined; generation: number | undefined; subject: OverlapSubject }>();
  private readonly policies: ResilientInformer<PolicyObject>;
  private readonly secrets: ResilientInformer<SecretObject>;
  /** What the operator owns (WasmPlugins, EnvoyFilters, ServiceEntries, DestinationRules), by its label. */
  private readonly owned: ResilientInformer<OwnedObject>[];
  private readonly log: Logger;
  private workers: Promise<void>[] = [];
  private resyncTimer: NodeJS.Timeout | undefined;
  private stopped = false;
  private syncedFlag = false;
  /** Resolves when both caches have synced and the workers run. */
  readonly synced: Promise<void>;

  constructor(private readonly o: PolicyControllerOptions) {
    this.log = o.log;
    this.queue = new WorkQueue({ baseDelayMs: o.queueBaseDelayMs, maxDelayMs: o.queueMaxDelayMs });
    this.policies = new ResilientInformer<PolicyObject>({
      name: 'llmguardpolicies',
      kubeConfig: o.kubeConfig,
      path: collectionPath(POLICY, o.namespace),
      list: () => o.api.list(POLICY, o.namespace) as unknown as Promise<KubernetesListObject<PolicyObject>>,
      handlers: {
        add: (p) => this.onPolicy(p, true),
        update: (p) => this.onPolicy(p, false),
        delete: (p) => this.onPolicyDeleted(p),
      },
      log: o.log,
      baseDelayMs: o.informerBaseDelayMs,
      maxDelayMs: o.informerMaxDelayMs,
      onRestart: () => o.metrics.informerRestarts.inc({ resource: 'llmguardpolicies' }),
    });
    // Metadata only: the operator never needs a Secret's data to know it changed (the key service
    // reads the few Secrets policies reference, when a filter asks).
    this.secrets = new ResilientInformer<SecretObject>({
      name: 'secrets',
      kubeConfig: metadataOnlyKubeConfig(o.kubeConfig),
      path: collectionPath(SECRET, o.namespace),
      list: () => o.api.list(SECRET, o.namespace, { metadataOnly: true }) as unknown as Promise<KubernetesListObject<SecretObject>>,
      handlers: { add: (s) => this.onSecret(s), update: (s) => this.onSecret(s), delete: (s) => this.onSecret(s) },
      log: o.log,
      baseDelayMs: o.informerBaseDelayMs,
      maxDelayMs: o.informerMaxDelayMs,
      onRestart: () => o.metrics.informerRestarts.inc({ resource: 'secrets' }),
    });
    // An owned object edited or deleted by someone else re-queues its policy, so drift is repaired
    // at once rather than at the next resync (controller-runtime's Owns()).
    const selector = `app.kubernetes.io/managed-by=${MANAGED_BY}`;
    this.owned = OWNED_TYPES.map(
      (rt) =>
        new ResilientInformer<OwnedObject>({
          name: rt.plural,
          kubeConfig: o.kubeConfig,
          path: collectionPath(rt, o.namespace),
          list: () => o.api.list(rt, o.namespace, { labelSelector: selector }) as unknown as Promise<KubernetesListObject<OwnedObject>>,
          labelSelector: selector,
          handlers: { update: (obj) => this.onOwned(obj), delete: (obj) => this.onOwned(obj) },
          log: o.log,
          baseDelayMs: o.informerBaseDelayMs,
          maxDelayMs: o.informerMaxDelayMs,
          onRestart: () => o.metrics.informerRestarts.inc({ resource: rt.plural }),
        }),
    );
    this.reconciler = new Reconciler({
      api: o.api,
      getPolicy: (ns, name) => this.policies.get(name, ns),
      ownedBy: (ns, name) => this.ownedBy(ns, name),
      listPolicies: (ns) => this.policies.list(ns) as unknown as ReadonlyArray<OverlapSubject>,
      getSecret: (ns, name) => o.api.get<KubeObject & SecretLike>(SECRET, ns, name),
      events: o.events,
      log: o.log,
      metrics: o.metrics,
      filterCheck: o.filterCheck,
      keyService: o.keyService,
      retireAfterMs: o.retireAfterMs,
    });
    this.synced = Promise.all([this.policies.synced, this.secrets.synced, ...this.owned.map((i) => i.synced)]).then(() => {
      if (this.stopped) return;
      this.syncedFlag = true;
      const workers = this.o.workers ?? DEFAULT_WORKERS;
      this.log.info('caches synced; starting workers', { workers, policies: this.policies.list().length });
      for (let i = 0; i < workers; i++) this.workers.push(this.work());
      const period = this.o.resyncPeriodMs ?? 10 * 60_000;
      if (period > 0) {
        this.resyncTimer = setInterval(() => this.resync(), period);
        this.resyncTimer.unref();
      }
    });
    o.metrics.queueDepth.set(() => this.queue.len());
    o.metrics.queueRetries.set(() => this.queue.delayedLen());
    o.metrics.policies.set(() => this.policies.list().length);
  }

  get hasSynced(): boolean {
    return this.syncedFlag;
  }

  start(): void {
    this.policies.start();
    this.secrets.start();
    for (const i of this.owned) i.start();
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.resyncTimer) clearInterval(this.resyncTimer);
    this.queue.shutdown();
    await Promise.all([this.policies.stop(), this.secrets.stop(), ...this.owned.map((i) => i.stop())]);
    await Promise.all(this.workers); // in-flight reconciles finish
    this.workers = [];
  }

  /** Queue every cached policy. */
  resync(): void {
    for (const p of this.policies.list()) this.queue.add(keyOf(p));
  }

  private onPolicy(p: PolicyObject, added: boolean): void {
    const key = keyOf(p);
    try {
      this.index.set(key, p.metadata.namespace, referencedSecretNames(p));
    } catch {
      this.index.remove(key); // a malformed spec: the reconcile reports it
    }
    const prev = this.seen.get(key);
    const cur = { uid: p.metadata.uid, generation: p.metadata.generation, subject: p as unknown as OverlapSubject };
    this.seen.set(key, cur);
    // Status and metadata-only updates don't change what we render; a stale status does matter.
    const specChanged = added || !prev || prev.uid !== cur.uid || prev.generation !== cur.generation;
    const statusStale = p.status?.observedGeneration !== p.metadata.generation;
    if (specChanged || statusStale) this.queue.add(key);
    if (specChanged) {
      // Policies it overlapped before or overlaps now may change sides (overlap.ts).
      if (prev) this.queueOverlapping(prev.subject);
      this.queueOverlapping(cur.subject);
    }
  }

  private onPolicyDeleted(p: PolicyObject): void {
    const key = keyOf(p);
    this.index.remove(key);
    this.seen.delete(key);
    this.reconciler.forget(key);
    this.queueOverlapping(p as unknown as OverlapSubject);
  }

  private queueOverlapping(subject: OverlapSubject): void {
    if (!subject.metadata?.namespace) return;
    const others = this.policies.list(subject.metadata.namespace) as unknown as ReadonlyArray<OverlapSubject>;
    for (const o of overlapsOf(subject, others)) this.queue.add(o.other);
  }

  private onSecret(s: SecretObject): void {
    const ns = s.metadata?.namespace ?? '';
    const name = s.metadata?.name ?? '';
    for (const key of this.index.policiesFor(ns, name)) {
      this.log.debug('secret changed; queueing policy', { secret: `${ns}/${name}`, policy: key });
      this.queue.add(key);
    }
  }

  /** The cached objects a policy owns (by its label), every owned kind. */
  private ownedBy(namespace: string, policy: string): KubeObject[] {
    const out: KubeObject[] = [];
    for (const [i, informer] of this.owned.entries()) {
      const kind = OWNED_TYPES[i]!.kind;
      for (const o of informer.list(namespace)) if (o.metadata?.labels?.[POLICY_LABEL] === policy) out.push(o.kind ? (o as KubeObject) : ({ ...o, kind } as KubeObject));
    }
    return out;
  }

  private onOwned(obj: OwnedObject): void {
    const policy = obj.metadata?.labels?.[POLICY_LABEL];
    const ns = obj.metadata?.namespace;
    if (!policy || !ns) return;
    const key = `${ns}/${policy}`;
    if (!this.policies.get(policy, ns)) return; // being deleted: the garbage collector takes the rest
    this.log.debug('owned object changed; queueing policy', { object: `${obj.kind ?? ''}/${obj.metadata?.name ?? ''}`, policy: key });
    this.queue.add(key);
  }

  private async work(): Promise<void> {
    for (;;) {
      const key = await this.queue.get();
      if (key === undefined) return;
      const started = performance.now();
      let result: 'success' | 'error' | 'blocked';
      let requeueAfterMs: number | undefined;
      try {
        const outcome = await this.reconciler.reconcile(key);
        result = outcome.result;
        requeueAfterMs = outcome.requeueAfterMs;
      } catch (err) {
        result = 'error';
        this.log.error('reconcile failed', { policy: key, error: errorMessage(err) });
      }
      const seconds = (performance.now() - started) / 1000;
      this.o.metrics.reconcileTotal.inc({ result });
      this.o.metrics.reconcileDuration.observe(seconds);
      this.queue.done(key);
      if (result === 'error' && !this.stopped) {
        const delay = this.queue.addRateLimited(key);
        this.log.info('requeued after failure', { policy: key, retryInMs: delay, attempt: this.queue.numRequeues(key) });
      } else {
        this.queue.forget(key);
        if (requeueAfterMs !== undefined && !this.stopped) this.queue.addAfter(key, requeueAfterMs);
      }
    }
  }
}
