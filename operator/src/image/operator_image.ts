// The operator's container image: Debian's Node.js and its libraries (a folder laid out by
// tools/image/rootfs.sh), the production npm dependencies, and the compiled operator with the
// filter module. Three layers, bottom to top in order of how rarely they change, so a new
// operator build pushes only the small top one. The app sits at /app laid out as a checkout's
// build/ (module_path.ts finds the filter three levels above build/operator/wasm/).
import { readFileSync } from 'node:fs';
import { buildContainerImage, type ContainerLayer } from './container_image.js';
import { directoryEntries } from './directory_entries.js';
import { buildLayer } from './layer.js';
import type { OciImage } from './oci_image.js';

export const APP_DIR = '/app';
export const OPERATOR_ENTRYPOINT = ['/usr/bin/node', `${APP_DIR}/build/operator/cli/main.js`];
/** The non-root user the manifests run as (runAsUser/runAsGroup), named nonroot in /etc/passwd. */
export const OPERATOR_USER = '65532:65532';

export interface OperatorImageInputs {
  /** The Debian base: the unpacked packages of tools/image/debian-packages.lock, users, CA bundle. */
  rootfsDir: string;
  /** node_modules of `npm ci --omit=dev`. */
  nodeModulesDir: string;
  /** The operator compiled by tsc (JavaScript only). */
  operatorJsDir: string;
  /** The compiled filter, which the operator loads to check pluginConfigs. */
  wasmPath: string;
  version: string;
  /** The source's commit. */
  revision: string;
  /** The source repository's URL. */
  source: string;
  /** Seconds since the epoch for every file and the config's `created`. */
  epoch: number;
}

/** /app/package.json: `type: module` makes Node load the compiled .js files as ES modules. */
function appPackageJson(version: string): Uint8Array {
  const pkg = { name: 'llm-egress-guard', version, private: true, type: 'module' };
  return new TextEncoder().encode(`${JSON.stringify(pkg, null, 2)}\n`);
}

export function buildOperatorImage(inputs: OperatorImageInputs): OciImage {
  const app = APP_DIR.slice(1);
  const tarOptions = { mtime: inputs.epoch };
  const layers: ContainerLayer[] = [
    { ...buildLayer(directoryEntries(inputs.rootfsDir, ''), tarOptions), description: 'Debian packages: nodejs and its libraries (tools/image/debian-packages.lock)' },
    { ...buildLayer(directoryEntries(inputs.nodeModulesDir, `${app}/node_modules`), tarOptions), description: 'npm ci --omit=dev (package-lock.json)' },
    {
      ...buildLayer(
        [
          ...directoryEntries(inputs.operatorJsDir, `${app}/build/operator`),
          { type: 'file', path: `${app}/build/llm_guard.wasm`, mode: 0o644, content: readFileSync(inputs.wasmPath) },
          { type: 'file', path: `${app}/package.json`, mode: 0o644, content: appPackageJson(inputs.version) },
        ],
        tarOptions,
      ),
      description: 'the operator (build/operator) and the filter (build/llm_guard.wasm)',
    },
  ];
  return buildContainerImage({
    layers,
    created: inputs.epoch,
    run: {
      user: OPERATOR_USER,
      entrypoint: OPERATOR_ENTRYPOINT,
      env: ['PATH=/usr/sbin:/usr/bin:/sbin:/bin'],
      workingDir: APP_DIR,
      labels: {
        'org.opencontainers.image.title': 'llmguard-operator',
        'org.opencontainers.image.description': 'The LLM egress guard operator and key service (the llmguard CLI)',
        'org.opencontainers.image.source': inputs.source,
        'org.opencontainers.image.version': inputs.version,
        'org.opencontainers.image.revision': inputs.revision,
      },
    },
  });
}
