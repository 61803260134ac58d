// What the kernel says about a process and the machine: CPU time (/proc/<pid>/stat utime + stime,
// every thread of the process), resident memory (/proc/<pid>/status VmRSS), the CPUs this process
// may run on, whether taskset can pin, and the machine's description for the JSON report.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import os from 'node:os';

/** Clock ticks per second of utime/stime (getconf CLK_TCK; 100 on Linux almost everywhere). */
export const CLK_TCK = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/**
 * utime + stime in seconds from the text of /proc/<pid>/stat. The command name (field 2) is in
 * parentheses and may hold spaces, so fields are counted from the last ')'.
 * @param {string} statText
 */
export function parseCpuSeconds(statText) {
  const rest = statText.slice(statText.lastIndexOf(')') + 2).split(' ');
  // rest[0] is field 3 (state): utime is field 14, stime field 15.
  const utime = Number(rest[11]);
  const stime = Number(rest[12]);
  if (!Number.isFinite(utime) || !Number.isFinite(stime)) throw new Error(`unreadable /proc stat: ${statText.slice(0, 120)}`);
  return (utime + stime) / CLK_TCK;
}

/** CPU seconds (user + system, all threads) the process has used so far. @param {number} pid */
export function cpuSeconds(pid) {
  return parseCpuSeconds(readFileSync(`/proc/${pid}/stat`, 'utf8'));
}

/** A field of /proc/<pid>/status in kB (e.g. VmRSS), from its text. @param {string} statusText @param {string} field */
export function parseStatusKb(statusText, field) {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(statusText);
  if (!m) throw new Error(`no ${field} in /proc status`);
  return Number(m[1]);
}

/** Resident memory in MiB. @param {number} pid */
export function rssMiB(pid) {
  return parseStatusKb(readFileSync(`/proc/${pid}/status`, 'utf8'), 'VmRSS') / 1024;
}

/** A CPU list as the kernel writes it ("0-3,6") to numbers. @param {string} list */
export function parseCpuList(list) {
  /** @type {number[]} */
  const out = [];
  for (const part of list.trim().split(',').filter(Boolean)) {
    const [a, b] = part.split('-').map(Number);
    for (let c = a; c <= (b ?? a); c++) out.push(c);
  }
  return out;
}

/** The CPUs this process may run on (its affinity, e.g. a container's cpuset). */
export function allowedCpus() {
  try {
    return parseCpuList(/^Cpus_allowed_list:\s*(.+)$/m.exec(readFileSync('/proc/self/status', 'utf8'))?.[1] ?? '');
  } catch {
    return os.cpus().map((_, i) => i);
  }
}

/**
 * How processes are placed: Envoy under test on one CPU, load generator, upstream and this script
 * on another. Without taskset or a second allowed CPU, everything runs unpinned and `why` says so.
 * @returns {{pinned: true, envoyCpu: number, loadCpu: number, why: string} | {pinned: false, why: string}}
 */
export function pinningPlan() {
  const cpus = allowedCpus();
  if (cpus.length < 2) return { pinned: false, why: `only ${cpus.length} CPU allowed (${cpus.join(',')}): running unpinned` };
  try {
    execFileSync('taskset', ['-c', String(cpus[0]), 'true'], { stdio: 'ignore' });
  } catch (e) {
    return { pinned: false, why: `taskset is missing or refused (${String(/** @type {Error} */ (e).message).split('\n')[0]}): running unpinned` };
  }
  const [envoyCpu, loadCpu] = cpus;
  return { pinned: true, envoyCpu, loadCpu, why: `Envoy under test on CPU ${envoyCpu}; fortio, the upstream Envoy and this script on CPU ${loadCpu}` };
}

/** Moves every thread of a running process to one CPU. @param {number} pid @param {number} cpu */
export function pinProcess(pid, cpu) {
  execFileSync('taskset', ['-a', '-p', '-c', String(cpu), String(pid)], { stdio: 'ignore' });
}

/** The machine, for the report. */
export function machineInfo() {
  const cpus = os.cpus();
  return {
    hostname: os.hostname(),
    platform: `${os.type()} ${os.release()} ${os.arch()}`,
    cpuModel: cpus[0]?.model ?? 'unknown',
    cpus: cpus.length,
    allowedCpus: allowedCpus(),
    memoryMiB: Math.round(os.totalmem() / 1024 / 1024),
    loadAverageAtStart: os.loadavg().map((x) => Math.round(x * 100) / 100),
    node: process.version,
  };
}
