// A folder on disk as layer entries under a path in the image: folders, regular files with their
// permission bits, symlinks as they are, and a file with several names (hard links, as dpkg-deb
// leaves them) as one file plus links to it. Owners and times are not read: the archive sets them.
import { lstatSync, readdirSync, readFileSync, readlinkSync, type Stats } from 'node:fs';
import { join } from 'node:path';
import type { TarEntry } from './tar.js';

export class UnsupportedFileError extends Error {}

interface Found {
  path: string;
  hostPath: string;
  stat: Stats;
}

function walk(hostDir: string, imageDir: string, out: Found[]): void {
  for (const name of readdirSync(hostDir)) {
    const hostPath = join(hostDir, name);
    const path = imageDir ? `${imageDir}/${name}` : name;
    const stat = lstatSync(hostPath);
    out.push({ path, hostPath, stat });
    if (stat.isDirectory()) walk(hostPath, path, out);
  }
}

/** Every entry under `hostDir` (not the folder itself), named `imageDir/...` ('' for the image's root). */
export function directoryEntries(hostDir: string, imageDir: string): TarEntry[] {
  const found: Found[] = [];
  walk(hostDir, imageDir.replace(/^\/+|\/+$/g, ''), found);
  // The first name of a file in byte order is the one the archive stores; the others link to it.
  found.sort((a, b) => Buffer.compare(Buffer.from(a.path), Buffer.from(b.path)));
  const firstName = new Map<string, string>();
  return found.map(({ path, hostPath, stat }): TarEntry => {
    const mode = stat.mode & 0o7777;
    if (stat.isDirectory()) return { type: 'directory', path, mode };
    if (stat.isSymbolicLink()) return { type: 'symlink', path, target: readlinkSync(hostPath) };
    if (!stat.isFile()) throw new UnsupportedFileError(`${hostPath}: not a file, folder or symlink`);
    if (stat.nlink > 1) {
      const inode = `${stat.dev}:${stat.ino}`;
      const target = firstName.get(inode);
      if (target !== undefined) return { type: 'hardlink', path, mode, target };
      firstName.set(inode, path);
    }
    return { type: 'file', path, mode, content: readFileSync(hostPath) };
  });
}
