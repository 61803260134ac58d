// A long-running `llmguard` command (the compiled CLI) as its Deployment runs it: started, waited
// for until its /readyz answers, its output kept for post-mortems, stopped with SIGTERM.
import { spawn, type ChildProcess } from 'node:child_process';
import { REPO_ROOT } from '../kube/control_plane.js';
import { httpGet, waitFor } from '../kube/processes.js';

export interface CliProcess {
  child: ChildProcess;
  logs(): string;
  stop(): Promise<void>;
}

export async function startCliProcess(what: string, cli: string, args: string[], env: NodeJS.ProcessEnv, healthPort: number, healthHost = '127.0.0.1'): Promise<CliProcess> {
  let out = '';
  const child = spawn(process.execPath, [cli, ...args], {
    cwd: REPO_ROOT,
    env: { ...process.env, KUBECONFIG: '', LLMGUARD_LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (out += c.toString()));
  process.once('exit', () => child.kill('SIGKILL'));
  await waitFor(`${what} /readyz`, Date.now() + 60_000, [], async () => {
    if (child.exitCode !== null) throw new Error(`${what} exited (${child.exitCode}):\n${out.slice(-3000)}`);
    return (await httpGet(`http://${healthHost}:${healthPort}/readyz`)).status === 200;
  });
  return {
    child,
    logs: () => out,
    stop: async () => {
      if (child.exitCode === null) child.kill('SIGTERM');
      await new Promise((r) => (child.exitCode !== null ? r(undefined) : child.once('exit', r)));
    },
  };
}
