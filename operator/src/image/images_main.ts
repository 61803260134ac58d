// The command `make images` runs (node build/operator/image/images_main.js ...): builds both
// images from staged inputs, pushes them when --registry is given, and prints one line per
// image, its reference with its digest.
import { parseArgs } from 'node:util';
import { buildImages } from './images.js';

const USAGE = `Usage: images_main.js --rootfs DIR --node-modules DIR --operator-js DIR --wasm FILE
         --version V --revision SHA --source URL [--manifests DIR] [--out DIR]
         [--registry REGISTRY[/PATH]] [--plain-http]
Files get SOURCE_DATE_EPOCH as their time (default 0).
`;

async function main(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      rootfs: { type: 'string' },
      'node-modules': { type: 'string' },
      'operator-js': { type: 'string' },
      wasm: { type: 'string' },
      version: { type: 'string' },
      revision: { type: 'string' },
      source: { type: 'string' },
      manifests: { type: 'string', default: 'manifests' },
      out: { type: 'string', default: 'build/images' },
      registry: { type: 'string' },
      'plain-http': { type: 'boolean' },
    },
    strict: true,
  });
  const required = ['rootfs', 'node-modules', 'operator-js', 'wasm', 'version', 'revision', 'source'] as const;
  const missing = required.filter((k) => !values[k]);
  if (missing.length) {
    process.stderr.write(`missing: ${missing.map((k) => `--${k}`).join(' ')}\n${USAGE}`);
    return 2;
  }
  const epoch = Number(process.env.SOURCE_DATE_EPOCH ?? 0);
  if (!Number.isSafeInteger(epoch) || epoch < 0) {
    process.stderr.write(`SOURCE_DATE_EPOCH must be whole seconds since 1970: ${process.env.SOURCE_DATE_EPOCH}\n`);
    return 2;
  }
  const built = await buildImages({
    outDir: values.out,
    manifestsDir: values.manifests,
    registry: values.registry || undefined,
    plainHttp: values['plain-http'],
    log: (line) => process.stderr.write(`[images] ${line}\n`),
    operator: {
      rootfsDir: values.rootfs!,
      nodeModulesDir: values['node-modules']!,
      operatorJsDir: values['operator-js']!,
      wasmPath: values.wasm!,
      version: values.version!,
      revision: values.revision!,
      source: values.source!,
      epoch,
    },
  });
  for (const b of built) process.stdout.write(`${b.pushed ?? `${b.repository}:${b.tag}@${b.digest}`}\n`);
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e: unknown) => {
    process.stderr.write(`error: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(3);
  },
);
