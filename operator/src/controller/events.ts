// Kubernetes Events (core/v1) about policies. The same (object, type, reason, message) is recorded
// at most once per window, so a policy stuck on a missing Secret doesn't flood the namespace.
// Recording never fails a reconcile: errors are logged.
import { randomBytes } from 'node:crypto';
import type { ObjectApi } from '../kube/objects.js';
import { EVENT } from '../kube/resources.js';
import { errorMessage } from '../kube/errors.js';
import type { Logger } from './log.js';
import type { Metrics } from './metrics.js';

export const COMPONENT = 'llmguard-operator';
const MAX_MESSAGE = 1024;

export interface EventTarget {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace: string; uid?: string; resourceVersion?: string };
}

export type EventType = 'Normal' | 'Warning';

export class EventRecorder {
  private readonly recent = new Map<string, number>();

  constructor(
    private readonly api: ObjectApi,
    private readonly log: Logger,
    private readonly metrics: Metrics,
    private readonly instance: string,
    private readonly windowMs = 10 * 60_000,
  ) {}

  async record(target: EventTarget, type: EventType, reason: string, message: string): Promise<void> {
    const msg = message.length > MAX_MESSAGE ? `${message.slice(0, MAX_MESSAGE - 3)}...` : message;
    const key = `${target.metadata.namespace}/${target.metadata.name}/${target.metadata.uid ?? ''}/${type}/${reason}/${msg}`;
    const now = Date.now();
    const last = this.recent.get(key);
    if (last !== undefined && now - last < this.windowMs) return;
    this.recent.set(key, now);
    this.prune(now);
    const ts = new Date(now).toISOString().replace(/\.\d+Z$/, 'Z');
    const base = target.metadata.name.slice(0, 200);
    const event = {
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { name: `${base}.${now.toString(16)}${randomBytes(3).toString('hex')}`, namespace: target.metadata.namespace },
      involvedObject: {
        apiVersion: target.apiVersion,
        kind: target.kind,
        name: target.metadata.name,
        namespace: target.metadata.namespace,
        uid: target.metadata.uid,
        resourceVersion: target.metadata.resourceVersion,
      },
      type,
      reason,
      message: msg,
      source: { component: COMPONENT },
      reportingComponent: COMPONENT,
      reportingInstance: this.instance,
      firstTimestamp: ts,
      lastTimestamp: ts,
      count: 1,
    };
    try {
      await this.api.create(EVENT, target.metadata.namespace, event);
      this.metrics.eventsEmitted.inc({ type });
    } catch (err) {
      this.recent.delete(key);
      this.log.warn('could not record event', { policy: `${target.metadata.namespace}/${target.metadata.name}`, reason, error: errorMessage(err) });
    }
  }

  private prune(now: number): void {
    if (this.recent.size < 1000) return;
    for (const [k, t] of this.recent) if (now - t >= this.windowMs) this.recent.delete(k);
  }
}
