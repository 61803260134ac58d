// The filter as an OCI image Istio's agent pulls (pkg/wasm/imagefetcher.go, the "compat" variant
// with OCI media types): an image manifest whose last layer is a gzipped tar holding `plugin.wasm`.
// Every byte is a function of the module alone, so the same .wasm always gives the same digest.
import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { tarOneFile } from './tar.js';

export const MANIFEST_MEDIA_TYPE = 'application/vnd.oci.image.manifest.v1+json';
export const CONFIG_MEDIA_TYPE = 'application/vnd.oci.image.config.v1+json';
export const LAYER_MEDIA_TYPE = 'application/vnd.oci.image.layer.v1.tar+gzip';
/** The file name istio-agent looks for in the layer. */
export const WASM_FILE_NAME = 'plugin.wasm';

export interface Blob {
  mediaType: string;
  digest: string;
  size: number;
  bytes: Uint8Array;
}

export interface WasmImage {
  config: Blob;
  layer: Blob;
  manifest: Blob;
}

export function sha256Digest(bytes: Uint8Array): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

function blob(mediaType: string, bytes: Uint8Array): Blob {
  return { mediaType, digest: sha256Digest(bytes), size: bytes.length, bytes };
}

const descriptor = (b: Blob) => ({ mediaType: b.mediaType, digest: b.digest, size: b.size });

/** gzip with no file name and mtime 0 (zlib's defaults), and the OS byte set to "unknown" (zlib writes the build platform's). */
function gzipDeterministic(data: Uint8Array): Uint8Array {
  const out = gzipSync(data, { level: 9 });
  out[9] = 0xff;
  return out;
}

/** Builds the image of a compiled filter; `title` goes into the manifest's annotations. */
export function buildWasmImage(wasm: Uint8Array, title = 'llm-guard'): WasmImage {
  const tar = tarOneFile(WASM_FILE_NAME, wasm);
  const layer = blob(LAYER_MEDIA_TYPE, gzipDeterministic(tar));
  const configJson = {
    architecture: 'wasm',
    os: 'wasip1',
    config: {},
    rootfs: { type: 'layers', diff_ids: [sha256Digest(tar)] },
  };
  const config = blob(CONFIG_MEDIA_TYPE, new TextEncoder().encode(JSON.stringify(configJson)));
  const manifestJson = {
    schemaVersion: 2,
    mediaType: MANIFEST_MEDIA_TYPE,
    config: descriptor(config),
    layers: [descriptor(layer)],
    annotations: { 'org.opencontainers.image.title': title, 'module.wasm.image/variant': 'compat' },
  };
  const manifest = blob(MANIFEST_MEDIA_TYPE, new TextEncoder().encode(JSON.stringify(manifestJson)));
  return { config, layer, manifest };
}
