// gzip whose bytes depend on the input alone: Node's zlib writes no file name and mtime 0; the
// OS byte, which zlib sets to the build platform's, is set to "unknown". The deflate stream itself
// is zlib's: another zlib (Node's bundled one changed across major versions) may compress the same
// input into other bytes, which is why a layer's diff_id (the tar's digest) is what stays put.
import { gzipSync } from 'node:zlib';

const OS_UNKNOWN = 0xff;

export function gzipDeterministic(data: Uint8Array): Uint8Array {
  const out = gzipSync(data, { level: 9 });
  out[9] = OS_UNKNOWN;
  return out;
}
