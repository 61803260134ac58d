// An OCI image as a registry stores it: layer blobs, a config blob, and the manifest naming them
// by digest (image-spec v1.1, application/vnd.oci.image.manifest.v1+json).
import { descriptor, jsonBlob, type Blob } from './oci_blob.js';

export const MANIFEST_MEDIA_TYPE = 'application/vnd.oci.image.manifest.v1+json';
export const CONFIG_MEDIA_TYPE = 'application/vnd.oci.image.config.v1+json';
export const LAYER_MEDIA_TYPE = 'application/vnd.oci.image.layer.v1.tar+gzip';

export interface OciImage {
  config: Blob;
  layers: readonly Blob[];
  manifest: Blob;
}

/** The image whose config is `configJson` and whose layers are `layers`, bottom first. */
export function ociImage(configJson: object, layers: readonly Blob[], annotations?: Record<string, string>): OciImage {
  const config = jsonBlob(CONFIG_MEDIA_TYPE, configJson);
  const manifest = jsonBlob(MANIFEST_MEDIA_TYPE, {
    schemaVersion: 2,
    mediaType: MANIFEST_MEDIA_TYPE,
    config: descriptor(config),
    layers: layers.map(descriptor),
    ...(annotations ? { annotations } : {}),
  });
  return { config, layers, manifest };
}
