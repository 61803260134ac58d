// The filter as an OCI image Istio's agent pulls (pkg/wasm/imagefetcher.go, the "compat" variant
// with OCI media types): an image manifest whose last layer is a gzipped tar holding `plugin.wasm`.
// Every byte is a function of the module alone, so the same .wasm always gives the same digest.
import { gzipDeterministic } from './gzip.js';
import { blob, sha256Digest, type Blob } from './oci_blob.js';
import { LAYER_MEDIA_TYPE, ociImage, type OciImage } from './oci_image.js';
import { tarOneFile } from './tar.js';

export { CONFIG_MEDIA_TYPE, LAYER_MEDIA_TYPE, MANIFEST_MEDIA_TYPE } from './oci_image.js';
/** The file name istio-agent looks for in the layer. */
export const WASM_FILE_NAME = 'plugin.wasm';

export interface WasmImage extends OciImage {
  /** The one layer. */
  layer: Blob;
}

/** Builds the image of a compiled filter; `title` goes into the manifest's annotations. */
export function buildWasmImage(wasm: Uint8Array, title = 'llm-guard'): WasmImage {
  const tar = tarOneFile(WASM_FILE_NAME, wasm);
  const layer = blob(LAYER_MEDIA_TYPE, gzipDeterministic(tar));
  const configJson = { architecture: 'wasm', os: 'wasip1', config: {}, rootfs: { type: 'layers', diff_ids: [sha256Digest(tar)] } };
  const image = ociImage(configJson, [layer], { 'org.opencontainers.image.title': title, 'module.wasm.image/variant': 'compat' });
  return { ...image, layer };
}
