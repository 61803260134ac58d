// Samples CPU seconds (/proc/<pid>/stat utime + stime) and resident memory (/proc/<pid>/status
// VmRSS) of the benchmark's processes every 250 ms, labelled with the current phase. A process
// replaced mid-run (the operator's restart) is followed by its role's name.
import { readFileSync } from 'node:fs';
import { parseCpuSeconds, parseStatusKb } from '../floor/procstats.mjs';

/** @param {number} pid */
function read(pid) {
  try {
    const cpu = parseCpuSeconds(readFileSync(`/proc/${pid}/stat`, 'utf8'));
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    return { cpu, rssMiB: parseStatusKb(status, 'VmRSS') / 1024, hwmMiB: parseStatusKb(status, 'VmHWM') / 1024 };
  } catch {
    return undefined;
  }
}

/** @typedef {{ t: number, phase: string, procs: Record<string, { pid: number, cpu: number, rssMiB: number, hwmMiB: number }> }} Sample */

export class Sampler {
  /** @param {number} [intervalMs] */
  constructor(intervalMs = 250) {
    /** @type {Record<string, () => number | undefined>} role -> current pid */
    this.roles = {};
    /** @type {Sample[]} */
    this.samples = [];
    this.phase = 'setup';
    this.t0 = performance.now();
    this.timer = setInterval(() => this.sample(), intervalMs);
  }

  /** @param {string} role @param {() => number | undefined} pid */
  track(role, pid) {
    this.roles[role] = pid;
  }

  sample() {
    /** @type {Sample['procs']} */
    const procs = {};
    for (const [role, pidOf] of Object.entries(this.roles)) {
      const pid = pidOf();
      if (pid === undefined || pid < 0) continue;
      const r = read(pid);
      if (r) procs[role] = { pid, ...r };
    }
    const s = { t: (performance.now() - this.t0) / 1000, phase: this.phase, procs };
    this.samples.push(s);
    return s;
  }

  /** Ends the current phase with a sample and starts `phase`. @param {string} phase */
  mark(phase) {
    this.sample();
    this.phase = phase;
  }

  stop() {
    clearInterval(this.timer);
    this.sample();
  }

  /**
   * Per phase and role: CPU seconds used (sum over consecutive samples of the same pid), peak and
   * last RSS, and the phase's wall time.
   */
  phases() {
    /** @type {Record<string, { wallS: number, roles: Record<string, { cpuS: number, peakRssMiB: number, lastRssMiB: number }> }>} */
    const out = {};
    /** @type {Record<string, { pid: number, cpu: number }>} */
    const prev = {};
    /** @type {number | undefined} */
    let prevT;
    for (const s of this.samples) {
      const ph = (out[s.phase] ??= { wallS: 0, roles: {} });
      if (prevT !== undefined) ph.wallS += s.t - prevT;
      prevT = s.t;
      for (const [role, p] of Object.entries(s.procs)) {
        const r = (ph.roles[role] ??= { cpuS: 0, peakRssMiB: 0, lastRssMiB: 0 });
        const q = prev[role];
        // A new process (all are started after the sampler): everything it used so far counts.
        r.cpuS += q && q.pid === p.pid ? p.cpu - q.cpu : p.cpu;
        r.peakRssMiB = Math.max(r.peakRssMiB, p.rssMiB);
        r.lastRssMiB = p.rssMiB;
        prev[role] = { pid: p.pid, cpu: p.cpu };
      }
    }
    return out;
  }

  /** The highest RSS and VmHWM any sample saw for a role. @param {string} role */
  peak(role) {
    let rss = 0;
    let hwm = 0;
    for (const s of this.samples) {
      const p = s.procs[role];
      if (p) {
        rss = Math.max(rss, p.rssMiB);
        hwm = Math.max(hwm, p.hwmMiB);
      }
    }
    return { rssMiB: rss, hwmMiB: hwm };
  }

  /** Median RSS of a role over the last `seconds` of samples. @param {string} role @param {number} seconds */
  recentRss(role, seconds) {
    const now = (performance.now() - this.t0) / 1000;
    const v = this.samples
      .filter((s) => s.t >= now - seconds && s.procs[role])
      .map((s) => /** @type {number} */ (s.procs[role]?.rssMiB))
      .sort((a, b) => a - b);
    return v.length ? v[Math.floor(v.length / 2)] : NaN;
  }
}
