// The operator's entry points. startController() wires the pieces (kube client, health and
// metrics endpoints, optional leader election, and the policy controller run while leading) and
// returns a handle; runController() runs one until SIGTERM/SIGINT or an AbortSignal.
import type { KeyServiceLocation } from '../render/index.js';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import type { KubeConfig } from '@kubernetes/client-node';
import { KubeClient } from '../kube/client.js';
import { loadKubeConfig } from '../kube/config.js';
import { errorMessage } from '../kube/errors.js';
import { ObjectApi } from '../kube/objects.js';
import { EventRecorder } from './events.js';
import { startHttpEndpoints, type HttpEndpoints } from './http.js';
import { LeaderElector } from './leader.js';
import { createLogger, parseLevel, type Level } from './log.js';
import { Metrics } from './metrics.js';
import { PolicyController, type QueueTuning } from './policy_controller.js';
import { FilterConfigCheck } from './validate.js';
import { defaultWasmPath } from '../wasm/module_path.js';

export { FIELD_MANAGER } from './reconcile.js';
export { RENDER_HASH_ANNOTATION } from './drift.js';

export interface ControllerOptions extends QueueTuning {
  /** Path of a kubeconfig; default $KUBECONFIG, ~/.kube/config, then in-cluster. */
  kubeconfig?: string;
  /** An already loaded kubeconfig (programmatic use); wins over `kubeconfig`. */
  kubeConfig?: KubeConfig;
  /** Watch only this namespace; all namespaces when unset. */
  namespace?: string;
  leaderElect: boolean;
  /** 0: any free port; negative: off. Equal ports share one server. */
  metricsPort: number;
  healthPort: number;
  /**
   * The compiled filter that checks each rendered pluginConfig before anything is applied. Always
   * on: default defaultWasmPath() ($LLMGUARD_WASM, else the build/llm_guard.wasm shipped beside
   * the operator); startup fails without a loadable module.
   */
  wasmPath?: string;
  /** Where filters fetch their keys (`--key-service`); default the llmguard-keys Service. */
  keyService?: KeyServiceLocation;
  signal?: AbortSignal;

  /** Lease name, default `llmguard-operator`. */
  leaseName?: string;
  /** Lease namespace: default $POD_NAMESPACE, the service account's, the watched namespace, then `llmguard-system`. */
  leaseNamespace?: string;
  /** This instance's identity on the Lease and on Events; default $POD_NAME, else `<hostname>_<uuid>`. */
  identity?: string;
  leaseDurationMs?: number;
  renewDeadlineMs?: number;
  retryPeriodMs?: number;
  /** Release the Lease when stopping (default true). */
  releaseOnStop?: boolean;

  /** Default $LLMGUARD_LOG_LEVEL, else info. */
  logLevel?: Level;
  /** Where JSON log lines go; default stdout. */
  logSink?: (line: string) => void;
}

export interface ControllerHandle {
  /** Resolves once this instance reconciles: it leads (or runs without election) and its caches synced. Rejects if it stops first. */
  readonly ready: Promise<void>;
  /** Resolves with the bound ports once the endpoints listen. */
  readonly listening: Promise<{ healthPort?: number; metricsPort?: number }>;
  /** Resolves when fully stopped; rejects when startup failed. */
  readonly done: Promise<void>;
  readonly identity: string;
  readonly metrics: Metrics;
  isLeader(): boolean;
  stop(): Promise<void>;
}

const SA_NAMESPACE_FILE = '/var/run/secrets/kubernetes.io/serviceaccount/namespace';

function defaultLeaseNamespace(watched: string | undefined, client: KubeClient): string {
  if (process.env.POD_NAMESPACE) return process.env.POD_NAMESPACE;
  try {
    const ns = readFileSync(SA_NAMESPACE_FILE, 'utf8').trim();
    if (ns) return ns;
  } catch {
    // not in a pod
  }
  return watched ?? client.contextNamespace() ?? 'llmguard-system';
}

export function startController(opts: ControllerOptions): ControllerHandle {
  // In a pod, its name (unique, and a restarted container takes its own Lease back at once).
  const identity = opts.identity ?? process.env.POD_NAME ?? `${os.hostname()}_${randomUUID()}`;
  const log = createLogger({ level: opts.logLevel ?? parseLevel(process.env.LLMGUARD_LOG_LEVEL), sink: opts.logSink }, { component: 'llmguard-operator' });
  const metrics = new Metrics();
  const kubeConfig = opts.kubeConfig ?? loadKubeConfig(opts.kubeconfig);
  const client = new KubeClient(kubeConfig, {
    userAgent: `llmguard-operator/${identity}`,
    onResponse: (r) => metrics.apiRequests.inc({ method: r.method, code: String(r.statusCode) }),
  });
  const api = new ObjectApi(client);
  const events = new EventRecorder(api, log, metrics, identity);
  let filterCheck!: FilterConfigCheck;

  const abort = new AbortController();
  let controller: PolicyController | undefined;
  let endpoints: HttpEndpoints | undefined;
  let leading = false;

  let resolveReady!: () => void;
  let rejectReady!: (err: Error) => void;
  const ready = new Promise<void>((res, rej) => {
    resolveReady = res;
    rejectReady = rej;
  });
  ready.catch(() => undefined);

  const startLeading = () => {
    if (abort.signal.aborted) return;
    leading = true;
    metrics.leader.set(1);
    controller = new PolicyController({
      kubeConfig,
      api,
      namespace: opts.namespace,
      log,
      metrics,
      events,
      workers: opts.workers,
      resyncPeriodMs: opts.resyncPeriodMs,
      queueBaseDelayMs: opts.queueBaseDelayMs,
      queueMaxDelayMs: opts.queueMaxDelayMs,
      informerBaseDelayMs: opts.informerBaseDelayMs,
      informerMaxDelayMs: opts.informerMaxDelayMs,
      retireAfterMs: opts.retireAfterMs,
      filterCheck,
      keyService: opts.keyService,
    });
    controller.synced.then(() => resolveReady(), () => undefined);
    controller.start();
  };
  const stopLeading = async () => {
    leading = false;
    metrics.leader.set(0);
    const c = controller;
    controller = undefined;
    if (c) await c.stop();
  };

  const health = {
    live: () => !abort.signal.aborted,
    ready: () => {
      if (abort.signal.aborted) return { ok: false, detail: 'stopping' };
      if (opts.leaderElect && !leading) return { ok: true, detail: 'standby' };
      if (controller?.hasSynced) return { ok: true, detail: opts.leaderElect ? 'leader' : 'running' };
      return { ok: false, detail: 'caches not synced' };
    },
  };

  let resolveListening!: (p: { healthPort?: number; metricsPort?: number }) => void;
  let rejectListening!: (err: unknown) => void;
  const listening = new Promise<{ healthPort?: number; metricsPort?: number }>((res, rej) => {
    resolveListening = res;
    rejectListening = rej;
  });
  listening.catch(() => undefined);

  const main = async (): Promise<void> => {
    log.info('starting', {
      identity,
      namespace: opts.namespace ?? '(all)',
      leaderElect: opts.leaderElect,
      server: kubeConfig.getCurrentCluster()?.server,
    });
    try {
      const wasmPath = opts.wasmPath ?? defaultWasmPath();
      filterCheck = await FilterConfigCheck.load(wasmPath);
      log.info('checking pluginConfigs with the filter module', { wasmPath });
      endpoints = await startHttpEndpoints({ healthPort: opts.healthPort, metricsPort: opts.metricsPort, health, metrics });
    } catch (err) {
      rejectListening(err);
      throw err;
    }
    resolveListening({ healthPort: endpoints.healthPort, metricsPort: endpoints.metricsPort });
    log.info('endpoints listening', { healthPort: endpoints.healthPort, metricsPort: endpoints.metricsPort });
    try {
      if (opts.leaderElect) {
        const elector = new LeaderElector({
          api,
          namespace: opts.leaseNamespace ?? defaultLeaseNamespace(opts.namespace, client),
          name: opts.leaseName ?? 'llmguard-operator',
          identity,
          log,
          leaseDurationMs: opts.leaseDurationMs,
          renewDeadlineMs: opts.renewDeadlineMs,
          retryPeriodMs: opts.retryPeriodMs,
          releaseOnStop: opts.releaseOnStop,
          onStartedLeading: startLeading,
          onStoppedLeading: stopLeading,
        });
        await elector.run(abort.signal);
      } else {
        startLeading();
        if (!abort.signal.aborted) await new Promise<void>((resolve) => abort.signal.addEventListener('abort', () => resolve(), { once: true }));
      }
    } finally {
      await stopLeading();
      await endpoints.close();
      client.close();
      log.info('stopped', { identity });
    }
  };

  const done = main().then(
    () => rejectReady(new Error('controller stopped before it was ready')),
    (err: unknown) => {
      log.error('controller failed', { error: errorMessage(err) });
      rejectReady(err instanceof Error ? err : new Error(String(err)));
      abort.abort();
      throw err;
    },
  );
  done.catch(() => undefined);

  const stop = async () => {
    abort.abort();
    await done.catch(() => undefined);
  };
  if (opts.signal) {
    if (opts.signal.aborted) abort.abort();
    else opts.signal.addEventListener('abort', () => abort.abort(), { once: true });
  }

  return {
    ready,
    listening,
    done,
    identity,
    metrics,
    isLeader: () => leading,
    stop,
  };
}

/** Run until SIGTERM/SIGINT or `signal`; rejects if the controller could not start. */
export async function runController(opts: ControllerOptions): Promise<void> {
  const abort = new AbortController();
  const onSignal = () => abort.abort();
  process.once('SIGTERM', onSignal);
  process.once('SIGINT', onSignal);
  if (opts.signal) {
    if (opts.signal.aborted) abort.abort();
    else opts.signal.addEventListener('abort', onSignal, { once: true });
  }
  try {
    const handle = startController({ ...opts, signal: abort.signal });
    await handle.done;
  } finally {
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
    opts.signal?.removeEventListener('abort', onSignal);
  }
}
