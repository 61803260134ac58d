// The soak's figures as a Markdown report (printed, and written to build/soak-report.md).
import type { Change } from './versions.js';
import type { MemorySample } from './envoy_watch.js';

export interface SoakFigures {
  requests: number;
  concurrency: number;
  seconds: number;
  /** class -> outcome -> count */
  outcomes: Map<string, Map<string, number>>;
  unexplained: number;
  deniedReachingProvider: number;
  wrongKeys: number;
  vmsCreated: { before: number | undefined; after: number | undefined };
  vmsActive: { before: number | undefined; after: number | undefined };
  vmReloads: number;
  memory: { allocated: { from: number; to: number }; rss: { from: number; to: number }; samples: MemorySample[] };
  cacheSlots: { filled: number | undefined; bound: number };
  guardCalls: number;
  guardCacheHits: number | undefined;
  changes: Change[];
  latencyMs: { p50: number; p99: number; max: number };
}

const mib = (x: number) => `${x.toFixed(1)} MiB`;

export function soakReport(f: SoakFigures): string {
  const lines = [
    `# Soak: ${f.requests.toLocaleString('en')} requests at concurrency ${f.concurrency} in ${f.seconds.toFixed(0)} s (${Math.round(f.requests / f.seconds)}/s)`,
    '',
    '| figure | value |',
    '| --- | --- |',
    `| requests no policy version explains (wrong outcome, or a mix of versions) | ${f.unexplained} |`,
    `| refused requests that reached the provider | ${f.deniedReachingProvider} |`,
    `| forwarded requests without exactly one current key | ${f.wrongKeys} |`,
    `| Wasm VMs created, Envoy's count before -> after (a new config may bring one) | ${f.vmsCreated.before ?? '?'} -> ${f.vmsCreated.after ?? '?'} |`,
    `| Wasm VMs active before -> after; VM reloads after a failure | ${f.vmsActive.before ?? '?'} -> ${f.vmsActive.after ?? '?'}; ${f.vmReloads} |`,
    `| Envoy allocated, second half (first fifth -> last fifth, medians) | ${mib(f.memory.allocated.from)} -> ${mib(f.memory.allocated.to)} |`,
    `| Envoy RSS, second half | ${mib(f.memory.rss.from)} -> ${mib(f.memory.rss.to)} |`,
    `| guard cache slots filled (bound) | ${f.cacheSlots.filled ?? '?'} (${f.cacheSlots.bound}) |`,
    `| guard calls / cache hits | ${f.guardCalls} / ${f.guardCacheHits ?? '?'} |`,
    `| app latency p50 / p99 / max | ${f.latencyMs.p50} / ${f.latencyMs.p99} / ${f.latencyMs.max} ms |`,
    `| policy changes (apply -> in Envoy, max) | ${f.changes.length} (${f.changes.length ? Math.max(...f.changes.map((c) => c.inEnvoyMs)) : 0} ms) |`,
    '',
    '| class | outcomes |',
    '| --- | --- |',
  ];
  for (const [c, outs] of [...f.outcomes].sort()) {
    lines.push(`| ${c} | ${[...outs].sort((a, b) => b[1] - a[1]).map(([o, n]) => `${o} x${n}`).join(', ')} |`);
  }
  return lines.join('\n');
}

export function percentile(sorted: number[], p: number): number {
  return sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))]!;
}
