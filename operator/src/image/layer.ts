// One image layer: a deterministic tar of its entries (plus the folders above them that the
// entries don't list), gzipped. The diff_id the image config records is the tar's own digest.
import { gzipDeterministic } from './gzip.js';
import { blob, sha256Digest, type Blob } from './oci_blob.js';
import { LAYER_MEDIA_TYPE } from './oci_image.js';
import { tarArchive, type TarEntry, type TarOptions } from './tar.js';

export interface Layer {
  blob: Blob;
  /** sha256 of the uncompressed tar. */
  diffId: string;
}

const PARENT_MODE = 0o755;

/** `entries` and, for each, every ancestor folder not already among them (mode 0755). */
export function withParentFolders(entries: readonly TarEntry[]): TarEntry[] {
  const listed = new Set(entries.map((e) => e.path));
  const parents: TarEntry[] = [];
  for (const e of entries) {
    const segments = e.path.split('/');
    for (let i = 1; i < segments.length; i++) {
      const path = segments.slice(0, i).join('/');
      if (!listed.has(path)) {
        listed.add(path);
        parents.push({ type: 'directory', path, mode: PARENT_MODE });
      }
    }
  }
  return [...parents, ...entries];
}

export function buildLayer(entries: readonly TarEntry[], options: TarOptions = {}): Layer {
  const tar = tarArchive(withParentFolders(entries), options);
  return { blob: blob(LAYER_MEDIA_TYPE, gzipDeterministic(tar)), diffId: sha256Digest(tar) };
}
