// Runs a real Envoy on loopback for `llmguard dev`, the e2e tests, the demo and the bench.
// startEnvoy() resolves once admin /ready says LIVE and every listener accepts connections; if Envoy
// exits or never gets there it REJECTS with the tail of Envoy's log (tests must fail, not skip).
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, openSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { isWasmFailureLine, lastLines } from './envoy_log.js';
import { canConnect } from './ports.js';

export type Bootstrap = Record<string, unknown>;

/** Files of one Envoy run, in its own temp dir. */
export interface EnvoyFiles {
  dir: string;
  /** Where EnvoyProcess.accessLogText() and vmHealth() read the access log. */
  accessLogPath: string;
}

/** A bootstrap, or a function that makes one knowing the run's files (to log into its temp dir). */
export type BootstrapSource = Bootstrap | ((files: EnvoyFiles) => Bootstrap);

export interface StartOptions {
  /** Worker threads (default 1: one VM per filter, deterministic). */
  concurrency?: number;
  /** e.g. 'wasm:info'; default 'wasm:debug'; '' for none. */
  componentLogLevel?: string;
  /** Extra environment for the Envoy process (what a WasmPlugin's vmConfig.env HOST reads). */
  env?: Record<string, string>;
  /** How long to wait for LIVE and the listeners (default 60 s). */
  timeoutMs?: number;
  /** Leave the temp dir (config, logs) after stop(). */
  keepTempDir?: boolean;
  /** The Envoy binary (default envoyBin()). */
  bin?: string;
}

/** $ENVOY_BIN, else this checkout's .venv/bin/envoy, else `envoy` on PATH. */
export function envoyBin(): string {
  if (process.env.ENVOY_BIN) return process.env.ENVOY_BIN;
  // operator/src/localmesh (source) and build/operator/localmesh (compiled) are both three levels down.
  const checkout = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
  const venvEnvoy = path.join(checkout, '.venv', 'bin', 'envoy');
  return existsSync(venvEnvoy) ? venvEnvoy : 'envoy';
}

/** GET on an admin API. */
export async function adminGet(port: number, urlPath: string): Promise<{ status: number; text: string }> {
  const res = await fetch(`http://127.0.0.1:${port}${urlPath}`, { signal: AbortSignal.timeout(5000) });
  return { status: res.status, text: await res.text() };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface VmHealth {
  ok: boolean;
  failureLines: string[];
  failedStreams: string[];
  reloads: string[];
  vmsCreatedSinceStart: number;
}

const VMS_CREATED = 'wasm.envoy.wasm.runtime.v8.created';

export class EnvoyProcess {
  readonly logPath: string;
  readonly accessLogPath: string;
  readonly configPath: string;
  adminPort = 0;
  /** Listener name -> port. */
  readonly ports: Record<string, number> = {};
  /** wasm.envoy.wasm.runtime.v8.created once LIVE. */
  vmsCreatedAtStart = 0;
  exitCode: number | null = null;
  exitSignal: NodeJS.Signals | null = null;
  /** Resolves when the process has exited. */
  readonly exited: Promise<void>;

  constructor(
    readonly child: ChildProcess,
    readonly dir: string,
    private readonly keepTempDir: boolean,
  ) {
    this.logPath = path.join(dir, 'envoy.log');
    this.accessLogPath = path.join(dir, 'access.log');
    this.configPath = path.join(dir, 'envoy.json');
    this.exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        this.exitCode = code;
        this.exitSignal = signal;
        resolve();
      });
    });
  }

  get running(): boolean {
    return this.exitCode === null && this.exitSignal === null;
  }

  /** Envoy's log so far. */
  logText(): Promise<string> {
    return readFile(this.logPath, 'utf8').catch(() => '');
  }

  /** The access log so far. */
  accessLogText(): Promise<string> {
    return readFile(this.accessLogPath, 'utf8').catch(() => '');
  }

  /** The last n lines of the log. */
  async logTail(n = 50): Promise<string> {
    return lastLines(await this.logText(), n);
  }

  /** A position in the log, for logSince(). */
  async logMark(): Promise<number> {
    return (await this.logText()).length;
  }

  /** What the log gained since `mark` (from logMark()). */
  async logSince(mark: number): Promise<string> {
    return (await this.logText()).slice(mark);
  }

  admin(urlPath: string): Promise<{ status: number; text: string }> {
    return adminGet(this.adminPort, urlPath);
  }

  /** Counters and gauges from /stats (name -> value); histograms are skipped. `filter` is Envoy's regex. */
  async stats(filter?: string): Promise<Map<string, number>> {
    const query = filter ? `?filter=${encodeURIComponent(filter)}` : '';
    const { text } = await this.admin(`/stats${query}`);
    const out = new Map<string, number>();
    for (const line of text.split('\n')) {
      const m = /^(.+?): (-?\d+)$/.exec(line.trim());
      if (m?.[1] !== undefined && m[2] !== undefined) out.set(m[1], Number(m[2]));
    }
    return out;
  }

  /** Log lines that say a Wasm VM failed or trapped (see isWasmFailureLine). */
  async wasmFailureLines(): Promise<string[]> {
    return (await this.logText()).split('\n').filter(isWasmFailureLine);
  }

  /**
   * Did any Wasm VM fail since start? Envoy 1.40 has no counter for a fail-closed VM failure, so
   * this looks at every trace one leaves: error lines from the wasm component, `wasm_fail_stream`
   * in the access log (requests answered 503 by a failed VM), VMs created after start (FAIL_RELOAD
   * rebuilding one) and the vm_reload* counters.
   */
  async vmHealth(): Promise<VmHealth> {
    await sleep(80); // the log files are flushed every 20 ms (--file-flush-interval-msec)
    const stats = await this.stats('^wasm\\.');
    const created = stats.get(VMS_CREATED) ?? 0;
    const failureLines = await this.wasmFailureLines();
    const failedStreams = (await this.accessLogText()).split('\n').filter((l) => l.includes('wasm_fail_stream'));
    const reloads = [...stats].filter(([k, v]) => /\.vm_reload/.test(k) && v > 0).map(([k, v]) => `${k}=${v}`);
    const vmsCreatedSinceStart = created - this.vmsCreatedAtStart;
    const ok = !failureLines.length && !failedStreams.length && !reloads.length && vmsCreatedSinceStart === 0;
    return { ok, failureLines, failedStreams, reloads, vmsCreatedSinceStart };
  }

  /** Stops Envoy (SIGTERM, then SIGKILL after 5 s), waits for it to exit, removes the temp dir. */
  async stop(): Promise<void> {
    if (this.running && this.child.pid !== undefined) {
      this.child.kill('SIGTERM');
      const t = setTimeout(() => {
        if (this.running) this.child.kill('SIGKILL');
      }, 5000);
      await this.exited;
      clearTimeout(t);
    }
    if (!this.keepTempDir) await rm(this.dir, { recursive: true, force: true });
  }
}

let baseIdCounter = 0;
/** A base id no other Envoy on this machine is likely to use (shared memory names derive from it). */
function uniqueBaseId(): number {
  baseIdCounter += 1;
  return ((process.pid % 100000) * 1000 + baseIdCounter * 10 + Math.floor(Math.random() * 10)) % 2 ** 31;
}

/** The names of the bootstrap's static listeners. */
function listenerNames(bootstrap: Bootstrap): string[] {
  const resources = bootstrap.static_resources as { listeners?: { name?: unknown }[] } | undefined;
  return (resources?.listeners ?? []).map((l) => String(l.name));
}

/** Writes the bootstrap, starts Envoy and waits until it's LIVE and every listener accepts. */
export async function startEnvoy(source: BootstrapSource, opts: StartOptions = {}): Promise<EnvoyProcess> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'llm-guard-envoy-'));
  const files: EnvoyFiles = { dir, accessLogPath: path.join(dir, 'access.log') };
  const bootstrap = typeof source === 'function' ? source(files) : source;
  const bin = opts.bin ?? envoyBin();
  const configPath = path.join(dir, 'envoy.json');
  const adminAddressPath = path.join(dir, 'admin_address');
  const earlyLogPath = path.join(dir, 'stdout.log');
  await writeFile(configPath, JSON.stringify(bootstrap, null, 2));
  const args = [
    '--config-path', configPath,
    '--base-id', String(uniqueBaseId()),
    '--concurrency', String(opts.concurrency ?? 1),
    '-l', 'info',
    '--log-path', path.join(dir, 'envoy.log'),
    '--admin-address-path', adminAddressPath,
    '--disable-hot-restart',
    '--file-flush-interval-msec', '20',
  ];
  const componentLogLevel = opts.componentLogLevel ?? 'wasm:debug';
  if (componentLogLevel) args.push('--component-log-level', componentLogLevel);
  // Early failures (bad flags, config that doesn't parse) are printed before --log-path applies.
  const outFd = openSync(earlyLogPath, 'a');
  const child = spawn(bin, args, { stdio: ['ignore', outFd, outFd], env: { ...process.env, ...(opts.env ?? {}) } });
  closeSync(outFd);
  const envoy = new EnvoyProcess(child, dir, opts.keepTempDir ?? false);
  let spawnError: Error | null = null;
  child.once('error', (e) => {
    spawnError = e;
  });
  // An Envoy left behind by a crashed run would keep ports and a VM busy.
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  void envoy.exited.then(() => process.removeListener('exit', killOnExit));

  const deadline = Date.now() + (opts.timeoutMs ?? 60_000);
  const fail = async (why: string) => {
    const early = await readFile(earlyLogPath, 'utf8').catch(() => '');
    const log = await envoy.logText();
    const tail = lastLines([early, log].filter(Boolean).join('\n'), 50);
    if (envoy.running && child.pid !== undefined && !spawnError) {
      child.kill('SIGKILL');
      await envoy.exited;
    }
    const kept = opts.keepTempDir ? ` (files kept in ${dir})` : '';
    if (!opts.keepTempDir) await rm(dir, { recursive: true, force: true });
    const err = new Error(`Envoy did not start: ${why}${kept}\n--- last 50 lines of Envoy's log ---\n${tail}`);
    return Object.assign(err, { envoyLog: [early, log].join('\n') });
  };
  const exitedWhy = () => `exited with code ${envoy.exitCode} signal ${envoy.exitSignal}`;

  // 1. The admin address (Envoy writes it once the admin listener is bound).
  while (!envoy.adminPort) {
    if (spawnError) throw await fail(`could not run ${bin}: ${String(spawnError)}`);
    if (!envoy.running) throw await fail(exitedWhy());
    if (Date.now() > deadline) throw await fail('timed out waiting for the admin address');
    const m = /:(\d+)\s*$/.exec((await readFile(adminAddressPath, 'utf8').catch(() => '')).trim());
    if (m) envoy.adminPort = Number(m[1]);
    else await sleep(50);
  }
  // 2. LIVE.
  for (;;) {
    if (!envoy.running) throw await fail(exitedWhy());
    if (Date.now() > deadline) throw await fail('timed out waiting for /ready to say LIVE');
    const ready = await envoy.admin('/ready').catch(() => null);
    if (ready?.status === 200 && ready.text.trim() === 'LIVE') break;
    await sleep(50);
  }
  // 3. Every listener's port (read back: a listener may ask for port 0), accepting connections.
  const listeners = JSON.parse((await envoy.admin('/listeners?format=json')).text) as {
    listener_statuses?: { name: string; local_address?: { socket_address?: { port_value?: number } } }[];
  };
  for (const l of listeners.listener_statuses ?? []) {
    const port = l.local_address?.socket_address?.port_value;
    if (port) envoy.ports[l.name] = port;
  }
  for (const name of listenerNames(bootstrap)) {
    const port = envoy.ports[name];
    if (!port) throw await fail(`listener ${name} has no port in /listeners`);
    while (!(await canConnect(port))) {
      if (!envoy.running) throw await fail(exitedWhy());
      if (Date.now() > deadline) throw await fail(`listener ${name} on ${port} does not accept`);
      await sleep(50);
    }
  }
  envoy.vmsCreatedAtStart = (await envoy.stats('^wasm\\.')).get(VMS_CREATED) ?? 0;
  return envoy;
}
