// A client-node informer (list + watch + cache) that restarts itself with exponential backoff
// whenever it reports an error (list failed, watch refused, connection lost). client-node's
// ListWatch only reconnects on its own after clean ends and watch timeouts; after an `error`
// event it stays stopped until start() is called again.
import { makeInformer, type Informer, type KubeConfig, type KubernetesListObject, type KubernetesObject, type ObjectCache } from '@kubernetes/client-node';
import { backoffDelay, jittered } from './backoff.js';
import type { Logger } from './log.js';
import { errorMessage } from '../kube/errors.js';

export interface InformerHandlers<T> {
  add?: (obj: T) => void;
  update?: (obj: T) => void;
  delete?: (obj: T) => void;
}

export interface ResilientInformerOptions<T extends KubernetesObject> {
  name: string;
  kubeConfig: KubeConfig;
  /** Watch path, e.g. /api/v1/secrets or /api/v1/namespaces/ns/secrets. */
  path: string;
  list: () => Promise<KubernetesListObject<T>>;
  /** Watch only objects with these labels (the list must select the same). */
  labelSelector?: string;
  handlers: InformerHandlers<T>;
  log: Logger;
  baseDelayMs?: number;
  maxDelayMs?: number;
  onRestart?: () => void;
}

export class ResilientInformer<T extends KubernetesObject> {
  private readonly informer: Informer<T> & ObjectCache<T>;
  private readonly opts: ResilientInformerOptions<T>;
  private stopped = true;
  private attempts = 0;
  private errorsSinceStart = 0;
  private restartTimer: NodeJS.Timeout | undefined;
  private syncedOnce = false;
  private resolveSynced!: () => void;
  /** Resolves the first time a list + watch start completes without error. */
  readonly synced: Promise<void>;

  constructor(opts: ResilientInformerOptions<T>) {
    this.opts = opts;
    this.synced = new Promise((resolve) => (this.resolveSynced = resolve));
    this.informer = makeInformer<T>(opts.kubeConfig, opts.path, opts.list, opts.labelSelector);
    // managedFields are most of an applied object's size and nothing here reads them: the cache
    // holds the object the callbacks get, so dropping them here keeps them out of the heap.
    const strip = (obj: T) => {
      if (obj.metadata?.managedFields) delete obj.metadata.managedFields;
    };
    this.informer.on('add', strip);
    this.informer.on('update', strip);
    const guard = (fn?: (obj: T) => void) => (obj: T) => {
      if (!this.stopped && fn) fn(obj);
    };
    this.informer.on('add', guard(opts.handlers.add));
    this.informer.on('update', guard(opts.handlers.update));
    this.informer.on('delete', guard(opts.handlers.delete));
    this.informer.on('error', (err?: unknown) => this.onError(err));
  }

  get(name: string, namespace?: string): T | undefined {
    return this.informer.get(name, namespace);
  }

  list(namespace?: string): ReadonlyArray<T> {
    return this.informer.list(namespace);
  }

  get hasSynced(): boolean {
    return this.syncedOnce;
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    void this.run();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.restartTimer) clearTimeout(this.restartTimer);
    this.restartTimer = undefined;
    await this.informer.stop();
  }

  private async run(): Promise<void> {
    if (this.stopped) return;
    this.errorsSinceStart = 0;
    try {
      await this.informer.start();
    } catch (err) {
      // start() reports through the error event; a throw here is unexpected (e.g. bad kubeconfig).
      this.onError(err);
      return;
    }
    if (this.stopped || this.errorsSinceStart > 0) return;
    this.attempts = 0;
    if (!this.syncedOnce) {
      this.syncedOnce = true;
      this.opts.log.debug('informer synced', { informer: this.opts.name });
      this.resolveSynced();
    }
  }

  private onError(err: unknown): void {
    if (this.stopped) return; // stop() aborts the watch, which reports an error
    this.errorsSinceStart++;
    if (this.restartTimer) return;
    const delay = jittered(backoffDelay(this.attempts, this.opts.baseDelayMs ?? 1000, this.opts.maxDelayMs ?? 60_000));
    this.attempts++;
    this.opts.log.warn('informer error, restarting', { informer: this.opts.name, error: errorMessage(err), retryInMs: delay, attempt: this.attempts });
    this.restartTimer = setTimeout(() => {
      this.restartTimer = undefined;
      this.opts.onRestart?.();
      void this.run();
    }, delay);
    this.restartTimer.unref();
  }
}
