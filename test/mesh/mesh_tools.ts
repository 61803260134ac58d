// Where tools/mesh/install.sh puts istiod, pilot-agent, the registry and Istio's files.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '../kube/control_plane.js';

export const MESH_TOOLS_DIR = process.env.MESH_TOOLS_DIR ?? join(REPO_ROOT, '.tools', 'mesh');

export function meshBin(name: 'pilot-discovery' | 'pilot-agent' | 'registry'): string {
  const p = join(MESH_TOOLS_DIR, 'bin', name);
  if (!existsSync(p)) throw new Error(`${p} is missing: run \`make mesh-tools\` (tools/mesh/install.sh)`);
  return p;
}

/** Istio's own files: envoy_bootstrap.json (the agent's template), its CRDs, the Gateway API's, version. */
export function istioFile(name: 'envoy_bootstrap.json' | 'crds.yaml' | 'gateway-api-crds.yaml' | 'version'): string {
  const p = join(MESH_TOOLS_DIR, 'istio', name);
  if (!existsSync(p)) throw new Error(`${p} is missing: run \`make mesh-tools\` (tools/mesh/install.sh)`);
  return p;
}

/** The istio.io/istio version the binaries were built from. */
export function istioVersion(): string {
  return readFileSync(istioFile('version'), 'utf8').trim();
}
