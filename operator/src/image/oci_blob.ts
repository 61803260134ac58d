// Content-addressed blobs, the unit every part of an OCI image (layers, config, manifest) is
// stored and pushed as, and the descriptors that point at them.
import { createHash } from 'node:crypto';

export interface Blob {
  mediaType: string;
  digest: string;
  size: number;
  bytes: Uint8Array;
}

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
}

export function sha256Digest(bytes: Uint8Array): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

export function blob(mediaType: string, bytes: Uint8Array): Blob {
  return { mediaType, digest: sha256Digest(bytes), size: bytes.length, bytes };
}

/** A JSON document as a blob: `JSON.stringify` keeps key order, so the same object gives the same bytes. */
export function jsonBlob(mediaType: string, value: unknown): Blob {
  return blob(mediaType, new TextEncoder().encode(JSON.stringify(value)));
}

export const descriptor = (b: Blob): Descriptor => ({ mediaType: b.mediaType, digest: b.digest, size: b.size });
