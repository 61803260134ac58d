// Prometheus metrics in the text exposition format (0.0.4), kept by hand: a few counters, gauges
// and one histogram.

type Labels = Record<string, string>;

function labelText(labels: Labels): string {
  const parts = Object.entries(labels).map(([k, v]) => `${k}="${v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"')}"`);
  return parts.length ? `{${parts.join(',')}}` : '';
}

function num(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return String(v);
}

export class Counter {
  private readonly values = new Map<string, { labels: Labels; value: number }>();
  constructor(readonly name: string, readonly help: string) {}
  inc(labels: Labels = {}, by = 1): void {
    const k = labelText(labels);
    const cur = this.values.get(k);
    if (cur) cur.value += by;
    else this.values.set(k, { labels, value: by });
  }
  get(labels: Labels = {}): number {
    return this.values.get(labelText(labels))?.value ?? 0;
  }
  render(): string {
    let out = `# HELP ${this.name} ${this.help}\n# TYPE ${this.name} counter\n`;
    for (const { labels, value } of this.values.values()) out += `${this.name}${labelText(labels)} ${num(value)}\n`;
    return out;
  }
}

export class Gauge {
  private readonly values = new Map<string, { labels: Labels; value: number | (() => number) }>();
  constructor(readonly name: string, readonly help: string) {}
  set(value: number | (() => number), labels: Labels = {}): void {
    this.values.set(labelText(labels), { labels, value });
  }
  get(labels: Labels = {}): number {
    const v = this.values.get(labelText(labels))?.value;
    return typeof v === 'function' ? v() : (v ?? 0);
  }
  render(): string {
    let out = `# HELP ${this.name} ${this.help}\n# TYPE ${this.name} gauge\n`;
    for (const { labels, value } of this.values.values()) out += `${this.name}${labelText(labels)} ${num(typeof value === 'function' ? value() : value)}\n`;
    return out;
  }
}

class Histogram {
  private readonly series = new Map<string, { labels: Labels; counts: number[]; sum: number; count: number }>();
  constructor(readonly name: string, readonly help: string, readonly buckets: number[]) {}
  observe(value: number, labels: Labels = {}): void {
    const k = labelText(labels);
    let s = this.series.get(k);
    if (!s) this.series.set(k, (s = { labels, counts: this.buckets.map(() => 0), sum: 0, count: 0 }));
    this.buckets.forEach((b, i) => {
      if (value <= b) s.counts[i]!++;
    });
    s.sum += value;
    s.count++;
  }
  render(): string {
    let out = `# HELP ${this.name} ${this.help}\n# TYPE ${this.name} histogram\n`;
    for (const s of this.series.values()) {
      this.buckets.forEach((b, i) => {
        out += `${this.name}_bucket${labelText({ ...s.labels, le: num(b) })} ${s.counts[i]}\n`;
      });
      out += `${this.name}_bucket${labelText({ ...s.labels, le: '+Inf' })} ${s.count}\n`;
      out += `${this.name}_sum${labelText(s.labels)} ${num(s.sum)}\n`;
      out += `${this.name}_count${labelText(s.labels)} ${s.count}\n`;
    }
    return out;
  }
}

export type ReconcileResult = 'success' | 'error' | 'blocked';

export class Metrics {
  readonly reconcileTotal = new Counter('llmguard_reconcile_total', 'Reconciles of LlmGuardPolicies by result (blocked: waiting on a spec fix or a Secret).');
  readonly reconcileDuration = new Histogram('llmguard_reconcile_duration_seconds', 'Time one reconcile took.', [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30]);
  readonly objectWrites = new Counter('llmguard_object_writes_total', 'Writes to owned objects by kind and operation (apply, prune).');
  readonly statusWrites = new Counter('llmguard_status_writes_total', 'Status subresource updates.');
  readonly eventsEmitted = new Counter('llmguard_events_total', 'Kubernetes Events emitted by type.');
  readonly apiRequests = new Counter('llmguard_api_requests_total', 'Requests to the Kubernetes API by method and status code.');
  readonly informerRestarts = new Counter('llmguard_informer_restarts_total', 'Informer restarts after errors.');
  readonly queueDepth = new Gauge('llmguard_workqueue_depth', 'Keys waiting in the work queue.');
  readonly queueRetries = new Gauge('llmguard_workqueue_delayed', 'Keys waiting for a backoff delay.');
  readonly leader = new Gauge('llmguard_leader', '1 when this instance is the leader (or runs without leader election), else 0.');
  readonly policies = new Gauge('llmguard_policies', 'LlmGuardPolicies in the informer cache.');

  constructor() {
    this.leader.set(0);
    this.queueDepth.set(0);
    this.queueRetries.set(0);
    this.policies.set(0);
  }

  render(): string {
    return [
      this.reconcileTotal,
      this.reconcileDuration,
      this.objectWrites,
      this.statusWrites,
      this.eventsEmitted,
      this.apiRequests,
      this.informerRestarts,
      this.queueDepth,
      this.queueRetries,
      this.leader,
      this.policies,
    ]
      .map((m) => m.render())
      .join('');
  }
}
