// Envoy seen from outside while the soak runs: its memory (the process's RSS and what tcmalloc says
// is allocated), its Wasm VM counters, and the filter's own counters and gauges from /stats.
import { readFileSync, readdirSync } from 'node:fs';

export interface MemorySample {
  /** Seconds since the watch started. */
  t: number;
  rssMiB: number;
  allocatedMiB: number;
  heapMiB: number;
}

/** The pid of the Envoy pilot-agent started (the one process whose command line runs envoy-rev.json). */
export function envoyPid(): number {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmd = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
      if (/\benvoy$/.test(cmd[0] ?? '') && cmd.some((a) => a.endsWith('envoy-rev.json'))) pids.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  if (pids.length !== 1) throw new Error(`expected one Envoy run by pilot-agent, found ${pids.length}`);
  return pids[0]!;
}

function rssMiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

/** Envoy's /stats as name -> value (counters and gauges; histograms left out). */
export function parseStats(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    const m = /^([^:]+): (\d+)$/.exec(line);
    if (m) out.set(m[1]!, Number(m[2]));
  }
  return out;
}

/** The stats a name ends with (Envoy prefixes the filter's metrics, e.g. `wasmcustom.`). */
export function statEndingWith(stats: Map<string, number>, suffix: string): number | undefined {
  for (const [name, value] of stats) if (name === suffix || name.endsWith(`.${suffix}`)) return value;
  return undefined;
}

export class EnvoyWatch {
  readonly samples: MemorySample[] = [];
  private timer: NodeJS.Timeout | undefined;
  private readonly started = Date.now();

  constructor(
    private readonly pid: number,
    private readonly admin: (path: string) => Promise<string>,
  ) {}

  async sample(): Promise<MemorySample> {
    const memory = JSON.parse(await this.admin('/memory')) as { allocated: string; heap_size: string };
    const s = {
      t: (Date.now() - this.started) / 1000,
      rssMiB: rssMiB(this.pid),
      allocatedMiB: Number(memory.allocated) / 2 ** 20,
      heapMiB: Number(memory.heap_size) / 2 ** 20,
    };
    this.samples.push(s);
    return s;
  }

  start(everyMs: number): void {
    this.timer = setInterval(() => void this.sample().catch(() => undefined), everyMs);
  }

  stop(): void {
    clearInterval(this.timer);
  }

  async stats(): Promise<Map<string, number>> {
    return parseStats(await this.admin('/stats'));
  }
}

/** The median of a window of samples' values. */
export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : s[Math.floor(s.length / 2)]!;
}

/**
 * Growth over the second half of a run: the median of its last fifth against the median of its
 * first fifth (medians, so one sample taken during a burst doesn't decide).
 */
export function secondHalfGrowth(samples: MemorySample[], of: (s: MemorySample) => number): { from: number; to: number } {
  const half = samples.slice(Math.floor(samples.length / 2));
  const fifth = Math.max(1, Math.floor(half.length / 5));
  return { from: median(half.slice(0, fifth).map(of)), to: median(half.slice(-fifth).map(of)) };
}
