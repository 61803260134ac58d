// `make images`: the operator's container image and the filter's OCI image, each written as an
// OCI image layout under the output folder and, given a registry, pushed as
// <registry>/operator:<version> and <registry>/llm-guard:<version>, with a kustomize overlay
// that deploys the manifests with the pushed operator image, pinned by digest.
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { credentialsFor } from './credentials.js';
import { baseImageName, kustomizeOverlay } from './kustomize_overlay.js';
import type { OciImage } from './oci_image.js';
import { writeOciLayout } from './oci_layout.js';
import { buildOperatorImage, type OperatorImageInputs } from './operator_image.js';
import { formatReference, parseReference } from './reference.js';
import { pushImage } from './registry.js';
import { buildWasmImage } from './wasm_image.js';

export const OPERATOR_REPOSITORY = 'operator';
export const FILTER_REPOSITORY = 'llm-guard';
export const OVERLAY_FILE = 'kustomization.yaml';
export const SUMMARY_FILE = 'images.json';

export interface ImagesOptions {
  outDir: string;
  manifestsDir: string;
  operator: OperatorImageInputs;
  /** registry[/path] to push under; without it the images are only written to outDir. */
  registry?: string;
  plainHttp?: boolean;
  log?: (line: string) => void;
}

export interface BuiltImage {
  repository: string;
  tag: string;
  digest: string;
  /** The OCI image layout holding it. */
  layoutDir: string;
  /** registry/repository:tag@digest, once pushed. */
  pushed?: string;
}

export async function buildImages(opts: ImagesOptions): Promise<BuiltImage[]> {
  const log = opts.log ?? (() => undefined);
  const tag = opts.operator.version;
  const images: Array<[string, OciImage]> = [
    [OPERATOR_REPOSITORY, buildOperatorImage(opts.operator)],
    [FILTER_REPOSITORY, buildWasmImage(new Uint8Array(readFileSync(opts.operator.wasmPath)))],
  ];
  mkdirSync(opts.outDir, { recursive: true });
  const built: BuiltImage[] = [];
  for (const [repository, image] of images) {
    const layoutDir = join(opts.outDir, repository);
    writeOciLayout(layoutDir, image, tag);
    const size = [...image.layers, image.config].reduce((n, b) => n + b.size, 0);
    log(`built ${repository}:${tag} ${image.manifest.digest} (${(size / 1024 / 1024).toFixed(1)} MiB compressed) in ${layoutDir}`);
    const b: BuiltImage = { repository, tag, digest: image.manifest.digest, layoutDir };
    if (opts.registry) {
      const ref = parseReference(`${opts.registry}/${repository}:${tag}`);
      const r = await pushImage(image, ref, { credentials: credentialsFor(ref.registry), plainHttp: opts.plainHttp });
      b.pushed = formatReference({ ...ref, digest: r.digest });
      log(`pushed ${formatReference(ref)}${r.skipped.length ? ` (${r.skipped.length} blob(s) already there)` : ''}`);
    }
    built.push(b);
  }
  writeOverlay(opts, built.find((b) => b.repository === OPERATOR_REPOSITORY)!);
  writeFileSync(join(opts.outDir, SUMMARY_FILE), `${JSON.stringify(built.map(({ layoutDir, ...rest }) => ({ ...rest, layout: relative(opts.outDir, layoutDir) })), null, 2)}\n`);
  return built;
}

/** The overlay for a pushed operator image; an old one is removed when nothing was pushed. */
function writeOverlay(opts: ImagesOptions, operator: BuiltImage): void {
  const file = join(opts.outDir, OVERLAY_FILE);
  if (!operator.pushed) {
    rmSync(file, { force: true });
    return;
  }
  const ref = parseReference(operator.pushed);
  const repository = `${ref.registry}/${ref.repository}`;
  writeFileSync(file, kustomizeOverlay(relative(opts.outDir, opts.manifestsDir), baseImageName(opts.manifestsDir), repository, operator.digest));
}
