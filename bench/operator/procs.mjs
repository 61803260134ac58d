// Child processes of the benchmark (etcd, kube-apiserver, the operator): output to a log file,
// stopped with SIGTERM then SIGKILL, and killed whatever happens to the benchmark (normal exit,
// an error, Ctrl-C). Plus free ports and a small poll helper.
import { spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { createServer } from 'node:net';

/** @type {Set<import('node:child_process').ChildProcess>} */
const live = new Set();
let hooked = false;

/** Synchronous last steps (removing temp folders), run when the process exits, however it exits. @type {(() => void)[]} */
const atExit = [];

/** Registers a synchronous step run at exit (after children are killed). @param {() => void} fn */
export function onExit(fn) {
  hook();
  atExit.push(fn);
}

function killAll() {
  for (const c of live) {
    try {
      c.kill('SIGKILL');
    } catch {
      /* gone */
    }
  }
}

/** Cleanup callbacks run (once) on Ctrl-C / SIGTERM before the process exits. @type {(() => Promise<void>)[]} */
const onSignalCleanups = [];

/** Registers an async cleanup run on SIGINT/SIGTERM/SIGHUP (children are SIGKILLed after it anyway). @param {() => Promise<void>} fn */
export function onInterrupt(fn) {
  onSignalCleanups.push(fn);
}

export function hook() {
  if (hooked) return;
  hooked = true;
  process.once('exit', () => {
    killAll();
    for (const fn of atExit.splice(0)) {
      try {
        fn();
      } catch {
        /* best effort */
      }
    }
  });
  for (const sig of /** @type {const} */ (['SIGINT', 'SIGTERM', 'SIGHUP'])) {
    process.once(sig, () => {
      process.stderr.write(`\n${sig}: stopping the operator, kube-apiserver and etcd\n`);
      const hardStop = setTimeout(() => {
        killAll();
        process.exit(130);
      }, 15_000);
      hardStop.unref();
      void (async () => {
        for (const fn of onSignalCleanups.splice(0)) {
          try {
            await fn();
          } catch {
            /* best effort */
          }
        }
        killAll();
        process.exit(130);
      })();
    });
  }
}

export class Proc {
  /**
   * @param {string} name
   * @param {string} bin
   * @param {string[]} args
   * @param {{ logPath: string, cwd: string, env?: NodeJS.ProcessEnv }} opts
   */
  constructor(name, bin, args, opts) {
    hook();
    this.name = name;
    this.logPath = opts.logPath;
    this.startedAt = performance.now();
    /** @type {{code: number | null, signal: string | null} | undefined} */
    this.exitInfo = undefined;
    this.file = createWriteStream(opts.logPath);
    this.tailText = '';
    this.child = spawn(bin, args, { cwd: opts.cwd, stdio: ['ignore', 'pipe', 'pipe'], env: opts.env ?? process.env });
    /** @param {Buffer} chunk */
    const onData = (chunk) => {
      this.file.write(chunk);
      this.tailText = (this.tailText + chunk.toString('utf8')).slice(-8192);
    };
    this.child.stdout?.on('data', onData);
    this.child.stderr?.on('data', onData);
    /** @type {Promise<void>} */
    this.exited = new Promise((resolve) => {
      this.child.once('error', (err) => {
        this.tailText += `\n[${name}] failed to start: ${err.message}\n`;
        this.exitInfo ??= { code: null, signal: null };
        resolve();
      });
      this.child.once('exit', (code, signal) => {
        this.exitInfo = { code, signal };
        resolve();
      });
    });
    live.add(this.child);
    void this.exited.then(() => live.delete(this.child));
  }

  get pid() {
    return this.child.pid ?? -1;
  }

  get hasExited() {
    return this.exitInfo !== undefined;
  }

  describeExit() {
    if (!this.exitInfo) return `${this.name} is running (pid ${this.pid})`;
    return `${this.name} exited (${this.exitInfo.signal ? `signal ${this.exitInfo.signal}` : `code ${this.exitInfo.code}`})`;
  }

  tail(lines = 30) {
    return this.tailText.trimEnd().split('\n').slice(-lines).join('\n');
  }

  /** SIGTERM, SIGKILL after graceMs; resolves with the ms it took to exit. @param {number} [graceMs] */
  async stop(graceMs = 15_000) {
    const t0 = performance.now();
    if (!this.hasExited && this.child.pid !== undefined) {
      this.child.kill('SIGTERM');
      const timer = setTimeout(() => {
        if (!this.hasExited) this.child.kill('SIGKILL');
      }, graceMs);
      await this.exited;
      clearTimeout(timer);
    }
    await new Promise((done) => this.file.end(() => done(undefined)));
    return performance.now() - t0;
  }
}

/** A port the OS says is free now. @returns {Promise<number>} */
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.once('error', reject);
    srv.listen(0, () => {
      const addr = srv.address();
      if (addr === null || typeof addr === 'string') return reject(new Error('no port'));
      srv.close(() => resolve(addr.port));
    });
  });
}

/** @param {number} n */
export async function freePorts(n) {
  const s = new Set();
  while (s.size < n) s.add(await freePort());
  return /** @type {number[]} */ ([...s]);
}

/** @param {number} ms */
export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * Polls `check` every `intervalMs` until it is true; throws after `timeoutMs` or when one of
 * `procs` exits.
 * @param {string} what
 * @param {() => Promise<boolean>} check
 * @param {{ timeoutMs?: number, intervalMs?: number, procs?: Proc[] }} [opts]
 */
export async function waitFor(what, check, opts = {}) {
  const deadline = Date.now() + (opts.timeoutMs ?? 120_000);
  let last = '';
  for (;;) {
    for (const p of opts.procs ?? []) if (p.hasExited) throw new Error(`${p.describeExit()} while waiting for ${what}:\n${p.tail()}`);
    try {
      if (await check()) return;
    } catch (e) {
      last = /** @type {Error} */ (e).message;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? ` (last error: ${last})` : ''}`);
    await sleep(opts.intervalMs ?? 250);
  }
}
