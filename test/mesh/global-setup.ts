// vitest globalSetup for the `mesh` project: makes sure istiod, pilot-agent and the registry are
// in .tools/mesh (tools/mesh/install.sh: seconds when current, about 10 minutes from a cold Go
// cache). MESH_TOOLS_SKIP_INSTALL=1 uses whatever is there.
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { REPO_ROOT } from '../kube/control_plane.js';

export default function setup(): void {
  if (process.env.MESH_TOOLS_SKIP_INSTALL === '1') return;
  const started = Date.now();
  try {
    execFileSync('bash', [join(REPO_ROOT, 'tools', 'mesh', 'install.sh')], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  } catch (e) {
    const err = e as { stdout?: string; stderr?: string; message: string };
    throw new Error(`tools/mesh/install.sh failed:\n${err.stdout ?? ''}${err.stderr ?? err.message}`);
  }
  console.log(`[mesh global-setup] mesh tools ready in ${Date.now() - started} ms`);
}
