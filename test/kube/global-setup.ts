// vitest globalSetup for the `kube` project: makes sure etcd, kube-apiserver and kubectl are in
// .tools/kube/bin by running the idempotent installer (seconds when they are current; several
// minutes from a cold Go cache). KUBE_TOOLS_SKIP_INSTALL=1 uses whatever is there.

import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { REPO_ROOT } from './control_plane.js';

export default function setup(): void {
  if (process.env.KUBE_TOOLS_SKIP_INSTALL === '1') return;
  const started = Date.now();
  try {
    execFileSync('bash', [join(REPO_ROOT, 'tools', 'kube', 'install.sh')], {
      cwd: REPO_ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
      encoding: 'utf8',
      maxBuffer: 64 * 1024 * 1024,
    });
  } catch (e) {
    const err = e as { stdout?: string; stderr?: string; message: string };
    throw new Error(`tools/kube/install.sh failed:\n${err.stdout ?? ''}${err.stderr ?? err.message}`);
  }
  console.log(`[kube global-setup] kube tools ready in ${Date.now() - started} ms`);
}
