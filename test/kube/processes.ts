// Child processes of the tests that start real servers (the control plane, istiod, the agent, a
// registry): output to a file and a bounded buffer, stopped with SIGTERM then SIGKILL, and killed
// whatever happens to the test process. And the small waits and HTTP probes they need.

import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, type WriteStream } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { request as httpRequest } from 'node:http';
import { createServer } from 'node:net';

export const LOG_TAIL_LINES = 50;

/** A child process whose output goes to a file and to an in-memory buffer. */
export class ManagedProcess {
  readonly child: ChildProcess;
  private output = '';
  private readonly file: WriteStream;
  private exitInfo: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  private readonly exited: Promise<void>;

  constructor(readonly name: string, bin: string, args: string[], logPath: string, cwd: string, env: NodeJS.ProcessEnv = process.env) {
    installExitHook();
    this.file = createWriteStream(logPath);
    this.child = spawn(bin, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'], env: { ...env } });
    const onData = (chunk: Buffer): void => {
      const text = chunk.toString('utf8');
      this.output += text;
      // Bound memory: keep the last 4 MiB (the file keeps everything).
      if (this.output.length > 8 * 1024 * 1024) this.output = this.output.slice(-4 * 1024 * 1024);
      this.file.write(text);
    };
    this.child.stdout?.on('data', onData);
    this.child.stderr?.on('data', onData);
    this.exited = new Promise((resolveExit) => {
      this.child.once('error', (err) => {
        onData(Buffer.from(`[${name}] failed to start: ${err.message}\n`));
        this.exitInfo ??= { code: null, signal: null };
        resolveExit();
      });
      this.child.once('exit', (code, signal) => {
        this.exitInfo = { code, signal };
        resolveExit();
      });
    });
    liveChildren.add(this.child);
    void this.exited.then(() => liveChildren.delete(this.child));
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }
  get hasExited(): boolean {
    return this.exitInfo !== undefined;
  }
  describeExit(): string {
    if (!this.exitInfo) return `${this.name} is running (pid ${this.pid})`;
    const { code, signal } = this.exitInfo;
    return `${this.name} exited (${signal ? `signal ${signal}` : `code ${code}`})`;
  }
  logs(): string {
    return this.output;
  }
  tail(lines = LOG_TAIL_LINES): string {
    const all = this.output.trimEnd().split('\n');
    return all.slice(-lines).join('\n');
  }
  /** SIGTERM, then SIGKILL after graceMs; resolves once the process is gone. */
  async stop(graceMs = 10_000): Promise<void> {
    if (!this.hasExited && this.child.pid !== undefined) {
      this.child.kill('SIGTERM');
      const timer = setTimeout(() => {
        if (!this.hasExited) this.child.kill('SIGKILL');
      }, graceMs);
      await this.exited;
      clearTimeout(timer);
    }
    await new Promise<void>((done) => this.file.end(() => done()));
  }
  /** Resolves when the process exits (for racing against readiness checks). */
  whenExited(): Promise<void> {
    return this.exited;
  }
}

// Kill whatever is still running if the test process goes away without calling stop():
// on a normal exit, and on SIGINT/SIGTERM/SIGHUP (re-raised afterwards when nobody else
// handles the signal, so the default "terminate" still happens).
const liveChildren = new Set<ChildProcess>();
let exitHookInstalled = false;
function killAllChildren(): void {
  for (const child of liveChildren) {
    try {
      child.kill('SIGKILL');
    } catch {
      /* already gone */
    }
  }
}
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', killAllChildren);
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    const onSignal = (): void => {
      killAllChildren();
      if (process.listenerCount(sig) === 1) {
        process.removeListener(sig, onSignal);
        process.kill(process.pid, sig);
      }
    };
    process.on(sig, onSignal);
  }
}

/**
 * A port that was free a moment ago on every address (the OS picks it): processes here listen on
 * 127.0.0.1, 127.0.0.2, 127.0.0.3 or all interfaces, and one free on 127.0.0.1 only may be taken on
 * another.
 */
export function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const srv = createServer();
    srv.unref();
    srv.once('error', reject);
    srv.listen(0, () => {
      const addr = srv.address();
      if (addr === null || typeof addr === 'string') {
        srv.close();
        reject(new Error('could not get a free port'));
        return;
      }
      srv.close(() => resolvePort(addr.port));
    });
  });
}

export interface HttpResult {
  status: number;
  body: string;
}

export function httpGet(url: string, opts: { token?: string; ca?: string; insecure?: boolean } = {}): Promise<HttpResult> {
  return new Promise((resolveGet, reject) => {
    const u = new URL(url);
    const headers: Record<string, string> = {};
    if (opts.token) headers.authorization = `Bearer ${opts.token}`;
    const onResponse = (res: import('node:http').IncomingMessage): void => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolveGet({ status: res.statusCode ?? 0, body }));
      res.on('error', reject);
    };
    const req =
      u.protocol === 'https:'
        ? httpsRequest(u, { headers, ca: opts.ca, rejectUnauthorized: !opts.insecure, timeout: 5_000 }, onResponse)
        : httpRequest(u, { headers, timeout: 5_000 }, onResponse);
    req.on('timeout', () => req.destroy(new Error(`timeout GET ${url}`)));
    req.on('error', reject);
    req.end();
  });
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Polls `check` until it returns true, `deadline` passes (throws) or one of `procs` exits (throws).
 * Returns the last error message seen, for diagnostics.
 */
export async function waitFor(
  what: string,
  deadline: number,
  procs: ManagedProcess[],
  check: () => Promise<boolean>,
): Promise<void> {
  let lastError = '';
  for (;;) {
    for (const p of procs) {
      if (p.hasExited) throw new Error(`${p.describeExit()} while waiting for ${what}`);
    }
    try {
      if (await check()) return;
    } catch (e) {
      lastError = (e as Error).message;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${lastError ? ` (last error: ${lastError})` : ''}`);
    await sleep(250);
  }
}

export async function distinctFreePorts(n: number): Promise<number[]> {
  const ports = new Set<number>();
  while (ports.size < n) ports.add(await freePort());
  return [...ports];
}
