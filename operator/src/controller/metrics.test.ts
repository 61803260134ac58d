// The operator's Prometheus metrics.
import { describe, expect, it } from 'vitest';
import { Metrics } from './metrics.js';

describe('metrics', () => {
  it('renders the Prometheus text format', () => {
    const m = new Metrics();
    m.reconcileTotal.inc({ result: 'success' });
    m.reconcileTotal.inc({ result: 'success' });
    m.reconcileDuration.observe(0.02);
    m.queueDepth.set(() => 3);
    const text = m.render();
    expect(text).toContain('# TYPE llmguard_reconcile_total counter\nllmguard_reconcile_total{result="success"} 2\n');
    expect(text).toContain('llmguard_reconcile_duration_seconds_bucket{le="0.025"} 1\n');
    expect(text).toContain('llmguard_reconcile_duration_seconds_bucket{le="0.01"} 0\n');
    expect(text).toContain('llmguard_reconcile_duration_seconds_count 1\n');
    expect(text).toContain('llmguard_workqueue_depth 3\n');
    expect(text).toContain('llmguard_leader 0\n');
  });
});
