// Runs a real Envoy on a static bootstrap (what istio_translate builds) and waits until it's LIVE
// and its listener accepts connections.
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** $ENVOY_BIN, else the repository's .venv/bin/envoy (found from this file, source or build), else `envoy` on PATH. */
export function envoyBin(): string {
  if (process.env.ENVOY_BIN) return process.env.ENVOY_BIN;
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    const candidate = path.join(dir, '.venv', 'bin', 'envoy');
    if (existsSync(candidate)) return candidate;
    dir = path.dirname(dir);
  }
  return 'envoy';
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A loopback port that was free a moment ago. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      const port = typeof a === 'object' && a ? a.port : 0;
      s.close(() => resolve(port));
    });
  });
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

export interface DevEnvoy {
  adminPort: number;
  dir: string;
  child: ChildProcess;
  log(): string;
  stop(): Promise<void>;
}

export interface DevEnvoyOptions {
  bin?: string;
  /** e.g. 'wasm:info' */
  componentLogLevel?: string;
  timeoutMs?: number;
}

/** Starts Envoy on the bootstrap; rejects with the log's tail if it doesn't get LIVE. */
export async function startEnvoy(bootstrap: Record<string, unknown>, listenerPorts: number[], opts: DevEnvoyOptions = {}): Promise<DevEnvoy> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'llm-guard-dev-envoy-'));
  const configPath = path.join(dir, 'envoy.json');
  const logPath = path.join(dir, 'envoy.log');
  const adminPath = path.join(dir, 'admin_address');
  writeFileSync(configPath, JSON.stringify(bootstrap, null, 2));
  const bin = opts.bin ?? envoyBin();
  const args = [
    '--config-path', configPath,
    '--base-id', String(Math.floor(Math.random() * 2 ** 30)),
    '--concurrency', '1',
    '-l', 'info',
    '--log-path', logPath,
    '--admin-address-path', adminPath,
    '--disable-hot-restart',
    '--file-flush-interval-msec', '50',
  ];
  if (opts.componentLogLevel) args.push('--component-log-level', opts.componentLogLevel);
  const out = openSync(path.join(dir, 'stdout.log'), 'a');
  const child = spawn(bin, args, { stdio: ['ignore', out, out] });
  closeSync(out);
  let exited = false;
  let spawnError: Error | null = null;
  const exitedP = new Promise<void>((resolve) => child.once('exit', () => ((exited = true), resolve())));
  child.once('error', (e) => {
    spawnError = e;
    exited = true;
  });
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  const read = (f: string) => {
    try {
      return readFileSync(path.join(dir, f), 'utf8');
    } catch {
      return '';
    }
  };
  const log = () => read('stdout.log') + read('envoy.log');
  const envoy: DevEnvoy = {
    adminPort: 0,
    dir,
    child,
    log,
    async stop() {
      process.removeListener('exit', killOnExit);
      if (!exited) {
        child.kill('SIGTERM');
        const t = setTimeout(() => child.kill('SIGKILL'), 5000);
        await exitedP;
        clearTimeout(t);
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
  const fail = async (why: string) => {
    const tail = log().split('\n').slice(-40).join('\n');
    await envoy.stop();
    return new Error(`Envoy (${bin}) did not start: ${why}${spawnError ? `: ${String(spawnError)}` : ''}\n${tail}`);
  };
  const deadline = Date.now() + (opts.timeoutMs ?? 60_000);
  for (;;) {
    if (exited) throw await fail('it exited');
    if (Date.now() > deadline) throw await fail('timed out');
    const m = /:(\d+)\s*$/.exec(read('admin_address').trim());
    if (m) {
      envoy.adminPort = Number(m[1]);
      const ready = await fetch(`http://127.0.0.1:${envoy.adminPort}/ready`, { signal: AbortSignal.timeout(2000) })
        .then(async (r) => (r.status === 200 ? (await r.text()).trim() : ''))
        .catch(() => '');
      if (ready === 'LIVE' && (await Promise.all(listenerPorts.map(canConnect))).every(Boolean)) return envoy;
    }
    await sleep(100);
  }
}
