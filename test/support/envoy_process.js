// @ts-check
/**
 * Runs a real Envoy on loopback for a test, the demo or the bench.
 * start() resolves once admin /ready says LIVE and every listener accepts connections; if Envoy
 * exits or never gets there it REJECTS with the tail of Envoy's log (tests must fail, not skip).
 */
import { spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { buildBootstrap } from './envoy_config.js';
import { ENVOY_BIN } from './paths.js';

/**
 * @typedef {object} StartOptions
 * @property {Omit<import('./envoy_config.js').BootstrapOptions, 'adminPort' | 'accessLogPath'>} bootstrap
 * @property {number} [concurrency]        worker threads (default 1: one VM per filter, deterministic)
 * @property {string} [componentLogLevel]  e.g. 'wasm:debug' (default), '' for none
 * @property {Record<string, string>} [env] extra environment for the Envoy process (vmConfig.env HOST)
 * @property {number} [timeoutMs]          how long to wait for LIVE (default 30 s)
 * @property {boolean} [keepTempDir]       leave the temp dir (config, logs) after stop()
 */

let baseIdCounter = 0;
/** A base id no other Envoy on this machine is likely to use (shared memory names derive from it). */
function uniqueBaseId() {
  baseIdCounter += 1;
  return ((process.pid % 100000) * 1000 + baseIdCounter * 10 + Math.floor(Math.random() * 10)) % 2 ** 31;
}

/** @param {number} ms */
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * The last n lines, leaving out Envoy's start-up inventory (extension and header-map lists), which
 * would otherwise fill the tail of a failed start.
 * @param {string} text @param {number} n
 */
function lastLines(text, n) {
  const lines = text.split('\n').filter((l) => !/\[main\] \[source\/server\/server\.cc:\d+\]   /.test(l));
  return lines.slice(Math.max(0, lines.length - n - 1)).join('\n');
}

/** @param {number} port */
function canConnect(port) {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

/**
 * GET on the admin API.
 * @param {number} port
 * @param {string} p
 * @returns {Promise<{status: number, text: string}>}
 */
export async function adminGet(port, p) {
  const res = await fetch(`http://127.0.0.1:${port}${p}`, { signal: AbortSignal.timeout(5000) });
  return { status: res.status, text: await res.text() };
}

export class EnvoyProcess {
  /**
   * @param {import('node:child_process').ChildProcess} child
   * @param {string} dir
   * @param {StartOptions} opts
   */
  constructor(child, dir, opts) {
    this.child = child;
    this.dir = dir;
    this.opts = opts;
    this.logPath = path.join(dir, 'envoy.log');
    this.accessLogPath = path.join(dir, 'access.log');
    this.configPath = path.join(dir, 'envoy.json');
    this.adminPort = 0;
    /** wasm.envoy.wasm.runtime.v8.created once LIVE. */
    this.vmsCreatedAtStart = 0;
    /** Listener name -> port. @type {Record<string, number>} */
    this.ports = {};
    /** @type {number | null} */
    this.exitCode = null;
    /** @type {string | null} */
    this.exitSignal = null;
    this.exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        this.exitCode = code;
        this.exitSignal = signal;
        resolve(undefined);
      });
    });
  }

  get running() {
    return this.exitCode === null && this.exitSignal === null;
  }

  /** Envoy's log so far (stdout/stderr go to the same file). */
  async logText() {
    return readFile(this.logPath, 'utf8').catch(() => '');
  }

  /** The access log so far. */
  async accessLogText() {
    return readFile(this.accessLogPath, 'utf8').catch(() => '');
  }

  /** The last n lines of the log. */
  async logTail(n = 50) {
    return lastLines(await this.logText(), n);
  }

  /** Log lines appended since `mark` (a length returned by logMark()). */
  async logSince(/** @type {number} */ mark) {
    return (await this.logText()).slice(mark);
  }

  async logMark() {
    return (await this.logText()).length;
  }

  /** @param {string} p */
  admin(p) {
    return adminGet(this.adminPort, p);
  }

  /**
   * All counters and gauges from /stats (name -> value). Histograms are skipped.
   * @param {string} [filter] regex passed to Envoy's /stats?filter=
   * @returns {Promise<Map<string, number>>}
   */
  async stats(filter) {
    const q = filter ? `?filter=${encodeURIComponent(filter)}` : '';
    const { text } = await this.admin(`/stats${q}`);
    /** @type {Map<string, number>} */
    const out = new Map();
    for (const line of text.split('\n')) {
      const m = /^(.+?): (-?\d+)$/.exec(line.trim());
      if (m) out.set(m[1], Number(m[2]));
    }
    return out;
  }

  /**
   * Lines that say a Wasm VM failed or trapped (Envoy's own messages, and an AssemblyScript abort
   * that the WASI shim prints through the plugin's log).
   */
  async wasmFailureLines() {
    const text = await this.logText();
    return text.split('\n').filter(isWasmFailureLine);
  }

  /**
   * Did any Wasm VM fail since start? Envoy 1.40 has no counter for a fail-closed VM failure, so
   * this looks at every trace one leaves: error lines from the wasm component, `wasm_fail_stream`
   * in the access log (requests answered 503 by a failed VM), VMs created after start (FAIL_RELOAD
   * rebuilding one) and the vm_reload* counters.
   */
  async vmHealth() {
    await sleep(80); // the log files are flushed every 20 ms (--file-flush-interval-msec)
    const stats = await this.stats('^wasm\\.');
    const created = stats.get('wasm.envoy.wasm.runtime.v8.created') ?? 0;
    const failureLines = await this.wasmFailureLines();
    const failedStreams = (await this.accessLogText()).split('\n').filter((l) => l.includes('wasm_fail_stream'));
    const reloads = [...stats].filter(([k, v]) => /\.vm_reload/.test(k) && v > 0).map(([k, v]) => `${k}=${v}`);
    const vmsCreatedSinceStart = created - this.vmsCreatedAtStart;
    const ok = !failureLines.length && !failedStreams.length && !reloads.length && vmsCreatedSinceStart === 0;
    return { ok, failureLines, failedStreams, reloads, vmsCreatedSinceStart };
  }

  /** Stops Envoy (SIGTERM, then SIGKILL after 5 s) and waits for it to exit. */
  async stop() {
    if (this.running) {
      this.child.kill('SIGTERM');
      const t = setTimeout(() => {
        if (this.running) this.child.kill('SIGKILL');
      }, 5000);
      await this.exited;
      clearTimeout(t);
    }
    if (!this.opts.keepTempDir) await rm(this.dir, { recursive: true, force: true });
  }
}

/**
 * Is this Envoy log line a Wasm VM failure: a trap, an abort, a failed callback or a failed start?
 * The plugin's own messages arrive as `wasm log <name> <root_id> <vm_id>: ...`; those count only if
 * they carry the AssemblyScript abort text.
 * @param {string} line
 */
export function isWasmFailureLine(line) {
  const m = /\]\[(\w+)\]\[wasm\] /.exec(line);
  if (!m) return false;
  if (/\bwasm log\b/.test(line)) return /\babort\b|RuntimeError|unreachable|\bpanic/i.test(line);
  if (m[1] === 'error' || m[1] === 'critical') return true;
  return /\bfail|\btrap|RuntimeError|unreachable|Uncaught|\babort|\bpanic/i.test(line);
}

/**
 * Writes the bootstrap, starts Envoy and waits until it's LIVE and listening.
 * @param {StartOptions} opts
 * @returns {Promise<EnvoyProcess>}
 */
export async function startEnvoy(opts) {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'llm-guard-envoy-'));
  const accessLogPath = path.join(dir, 'access.log');
  const bootstrap = buildBootstrap({ ...opts.bootstrap, adminPort: 0, accessLogPath });
  const configPath = path.join(dir, 'envoy.json');
  const adminAddressPath = path.join(dir, 'admin_address');
  const logPath = path.join(dir, 'envoy.log');
  await writeFile(configPath, JSON.stringify(bootstrap, null, 2));
  const args = [
    '--config-path', configPath,
    '--base-id', String(uniqueBaseId()),
    '--concurrency', String(opts.concurrency ?? 1),
    '-l', 'info',
    '--log-path', logPath,
    '--admin-address-path', adminAddressPath,
    '--disable-hot-restart',
    '--file-flush-interval-msec', '20',
  ];
  const cll = opts.componentLogLevel ?? 'wasm:debug';
  if (cll) args.push('--component-log-level', cll);
  // Early failures (bad flags, config that doesn't parse) are printed before --log-path applies.
  const outFd = openSync(path.join(dir, 'stdout.log'), 'a');
  const child = spawn(ENVOY_BIN, args, {
    stdio: ['ignore', outFd, outFd],
    env: { ...process.env, ...(opts.env ?? {}) },
  });
  closeSync(outFd);
  const envoy = new EnvoyProcess(child, dir, opts);
  /** @type {Error | null} */
  let spawnError = null;
  child.once('error', (e) => {
    spawnError = e;
  });
  // An Envoy left behind by a crashed test run would keep ports and a VM busy.
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  child.once('exit', () => process.removeListener('exit', killOnExit));

  const deadline = Date.now() + (opts.timeoutMs ?? 30000);
  /** @param {string} why */
  const fail = async (why) => {
    const early = await readFile(path.join(dir, 'stdout.log'), 'utf8').catch(() => '');
    const log = await envoy.logText();
    const tail = lastLines([early, log].filter(Boolean).join('\n'), 50);
    if (envoy.running && child.pid !== undefined && !spawnError) {
      child.kill('SIGKILL');
      await envoy.exited;
    }
    const keep = opts.keepTempDir ? ` (files kept in ${dir})` : '';
    if (!opts.keepTempDir) await rm(dir, { recursive: true, force: true });
    const err = new Error(`Envoy did not start: ${why}${keep}\n--- last 50 lines of Envoy's log ---\n${tail}`);
    return Object.assign(err, { envoyLog: [early, log].join('\n') });
  };

  // 1. The admin address (Envoy writes it once the admin listener is bound).
  while (!envoy.adminPort) {
    if (spawnError) throw await fail(`could not run ${ENVOY_BIN}: ${spawnError}`);
    if (!envoy.running) throw await fail(`exited with code ${envoy.exitCode} signal ${envoy.exitSignal}`);
    if (Date.now() > deadline) throw await fail('timed out waiting for the admin address');
    const addr = await readFile(adminAddressPath, 'utf8').catch(() => '');
    const m = /:(\d+)\s*$/.exec(addr.trim());
    if (m) envoy.adminPort = Number(m[1]);
    else await sleep(50);
  }
  // 2. LIVE, and the listeners' ports.
  for (;;) {
    if (!envoy.running) throw await fail(`exited with code ${envoy.exitCode} signal ${envoy.exitSignal}`);
    if (Date.now() > deadline) throw await fail('timed out waiting for /ready to say LIVE');
    const ready = await envoy.admin('/ready').catch(() => null);
    if (ready && ready.status === 200 && ready.text.trim() === 'LIVE') break;
    await sleep(50);
  }
  const { text } = await envoy.admin('/listeners?format=json');
  /** @type {{listener_statuses?: {name: string, local_address?: {socket_address?: {port_value?: number}}}[]}} */
  const listeners = JSON.parse(text);
  for (const l of listeners.listener_statuses ?? []) {
    const port = l.local_address?.socket_address?.port_value;
    if (port) envoy.ports[l.name] = port;
  }
  for (const l of opts.bootstrap.listeners) {
    const port = envoy.ports[l.name];
    if (!port) throw await fail(`listener ${l.name} has no port in /listeners`);
    while (!(await canConnect(port))) {
      if (!envoy.running) throw await fail(`exited with code ${envoy.exitCode}`);
      if (Date.now() > deadline) throw await fail(`listener ${l.name} on ${port} does not accept`);
      await sleep(50);
    }
  }
  envoy.vmsCreatedAtStart = (await envoy.stats('^wasm\\.')).get('wasm.envoy.wasm.runtime.v8.created') ?? 0;
  return envoy;
}
