// An image written as an OCI image layout (image-spec's image-layout.md): oci-layout, index.json
// naming the manifest under its tag (org.opencontainers.image.ref.name), and every blob in
// blobs/sha256/. Tools read it offline: `skopeo copy oci:DIR:TAG docker://...`, `crane push DIR`.
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { descriptor } from './oci_blob.js';
import type { OciImage } from './oci_image.js';

export const INDEX_MEDIA_TYPE = 'application/vnd.oci.image.index.v1+json';
export const REF_NAME_ANNOTATION = 'org.opencontainers.image.ref.name';

/** Replaces `dir` with the layout of `image` tagged `tag`. */
export function writeOciLayout(dir: string, image: OciImage, tag: string): void {
  rmSync(dir, { recursive: true, force: true });
  const blobs = join(dir, 'blobs', 'sha256');
  mkdirSync(blobs, { recursive: true });
  for (const b of [...image.layers, image.config, image.manifest]) writeFileSync(join(blobs, b.digest.slice('sha256:'.length)), b.bytes);
  writeFileSync(join(dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  const index = {
    schemaVersion: 2,
    mediaType: INDEX_MEDIA_TYPE,
    manifests: [{ ...descriptor(image.manifest), annotations: { [REF_NAME_ANNOTATION]: tag } }],
  };
  writeFileSync(join(dir, 'index.json'), JSON.stringify(index));
}
