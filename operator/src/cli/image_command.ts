// `llmguard image`: the filter as an OCI image Istio's agent pulls, pushed to a registry.
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { credentialsFor } from '../image/credentials.js';
import { formatReference, parseReference, ReferenceError } from '../image/reference.js';
import { pushImage, RegistryError } from '../image/registry.js';
import { buildWasmImage } from '../image/wasm_image.js';
import { ensureLoadable } from '../wasm/filter_host.js';
import { InputError, UsageError } from './inputs.js';
import type { Io } from './main.js';

export const IMAGE_HELP = `Usage: llmguard image push REF [--wasm PATH] [--plain-http]
       llmguard image digest [--wasm PATH]

push    builds the filter's OCI image and pushes it to REF ([oci://]registry/repository:tag), then
        prints REF@sha256:<digest>: use it, with oci://, as a policy's spec.plugin.url (a digest
        pins the module; Istio's agent checks it). The image is the variant Istio pulls: an OCI
        image manifest whose one layer is a gzipped tar holding plugin.wasm. Its bytes depend on the
        module alone, so the same module always has the same digest. Credentials come from
        \`docker login\` ($DOCKER_CONFIG/config.json, its credential helpers); registries on
        127.0.0.1 or localhost are spoken to over plain HTTP.
digest  prints the digest the image of the module has, without pushing it.

Options:
      --wasm PATH     the compiled filter (default: $LLMGUARD_WASM, else build/llm_guard.wasm); it is
                      loaded first as Envoy would load it, and refused if Envoy would refuse it
      --plain-http    speak plain HTTP to the registry (for a registry on a trusted network)
  -h, --help
`;

export async function runImage(args: string[], io: Io): Promise<number> {
  const [verb, ...rest] = args;
  const { values, positionals } = parseArgs({
    args: rest,
    options: { wasm: { type: 'string' }, 'plain-http': { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
    allowPositionals: true,
    strict: true,
  });
  if (values.help || verb === undefined || verb === '-h' || verb === '--help') {
    io.stdout.write(IMAGE_HELP);
    return verb === undefined ? 2 : 0;
  }
  if (verb !== 'push' && verb !== 'digest') throw new UsageError(`image ${verb}: expected push or digest`);
  const image = buildWasmImage(new Uint8Array(readFileSync(ensureLoadable(values.wasm))));
  if (verb === 'digest') {
    if (positionals.length) throw new UsageError('image digest takes no reference');
    io.stdout.write(`${image.manifest.digest}\n`);
    return 0;
  }
  if (positionals.length !== 1) throw new UsageError('image push needs one reference: registry/repository:tag');
  let ref;
  try {
    ref = parseReference(positionals[0]!);
  } catch (e) {
    if (e instanceof ReferenceError) throw new InputError(e.message);
    throw e;
  }
  try {
    const r = await pushImage(image, ref, { credentials: credentialsFor(ref.registry), plainHttp: values['plain-http'] });
    io.stderr.write(`pushed ${formatReference(ref)} (${image.layer.size} bytes of layer${r.skipped.length ? `, ${r.skipped.length} blob(s) already there` : ''})\n`);
    io.stdout.write(`${formatReference({ ...ref, digest: r.digest })}\n`);
    return 0;
  } catch (e) {
    if (e instanceof RegistryError || e instanceof TypeError) {
      io.stderr.write(`error: pushing to ${ref.registry}: ${e.message}${e instanceof TypeError && e.cause ? ` (${String((e.cause as Error).message ?? e.cause)})` : ''}\n`);
      return 3;
    }
    throw e;
  }
}
