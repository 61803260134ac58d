// The layer archive: what GNU tar reads back from it (types, modes, owners, times, long paths,
// links), and bytes that depend on the entries alone, not on the order they come in.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readlinkSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { tarArchive, TarError, type TarEntry } from './tar.js';

const dir = mkdtempSync(join(tmpdir(), 'llmguard-tar-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const longPath = `usr/lib/${'n'.repeat(60)}/${'m'.repeat(60)}/é-file.js`;
const entries: TarEntry[] = [
  { type: 'symlink', path: 'usr/bin/nodejs', target: 'node' },
  { type: 'file', path: 'usr/bin/node', mode: 0o755, content: new TextEncoder().encode('#!node\n') },
  { type: 'directory', path: 'usr', mode: 0o755 },
  { type: 'directory', path: 'usr/bin', mode: 0o755 },
  { type: 'directory', path: 'tmp', mode: 0o1777 },
  { type: 'hardlink', path: 'usr/bin/node2', mode: 0o755, target: 'usr/bin/node' },
  { type: 'file', path: longPath, mode: 0o644, content: new Uint8Array(700).fill(7) },
  { type: 'symlink', path: 'usr/lib/far', target: longPath },
];

function list(archive: Uint8Array): string[] {
  const file = join(dir, 'list.tar');
  writeFileSync(file, archive);
  return execFileSync('tar', ['--numeric-owner', '--full-time', '-tvf', file], { encoding: 'utf8', env: { ...process.env, TZ: 'UTC' } }).trim().split('\n');
}

describe('tarArchive', () => {
  it('lists entries in byte order of their paths, owned by 0:0, with one fixed mtime', () => {
    const lines = list(tarArchive(entries, { mtime: 1_700_000_000 }));
    const names = lines.map((l) => l.split(/\s+/).slice(5).join(' ').replace(/ (->|link to) .*$/, ''));
    expect(names).toEqual(['tmp/', 'usr/', 'usr/bin/', 'usr/bin/node', 'usr/bin/node2', 'usr/bin/nodejs', 'usr/lib/far', longPath]);
    for (const l of lines) expect(l).toMatch(/^\S+ 0\/0 +\d+ 2023-11-14 22:13:20 /);
    expect(lines[0]).toMatch(/^drwxrwxrwt /);
    expect(lines[3]).toMatch(/^-rwxr-xr-x /);
    expect(lines[4]).toMatch(/^hrwxr-xr-x .* usr\/bin\/node2 link to usr\/bin\/node$/);
    expect(lines[5]).toMatch(/^lrwxrwxrwx .* usr\/bin\/nodejs -> node$/);
  });

  it('gives the same bytes whatever order the entries come in; mtime 0 by default', () => {
    const a = tarArchive(entries);
    expect(Buffer.from(tarArchive([...entries].reverse())).equals(Buffer.from(a))).toBe(true);
    expect(list(a)[0]).toMatch(/ 1970-01-01 00:00:00 tmp\/$/);
  });

  it('extracts long paths and link targets through PAX headers, and writes PAX only for them', () => {
    const out = join(dir, 'x');
    const file = join(dir, 'x.tar');
    writeFileSync(file, tarArchive(entries));
    execFileSync('mkdir', ['-p', out]);
    execFileSync('tar', ['-xf', file, '-C', out]);
    expect(readFileSync(join(out, longPath))).toEqual(Buffer.alloc(700, 7));
    expect(readlinkSync(join(out, 'usr/lib/far'))).toBe(longPath);
    expect(statSync(join(out, 'usr/bin/node2')).ino).toBe(statSync(join(out, 'usr/bin/node')).ino);
    const short = tarArchive(entries.filter((e) => e.path !== longPath && e.path !== 'usr/lib/far'));
    expect(Buffer.from(short).includes('PaxHeaders')).toBe(false);
  });

  it('refuses paths that escape or repeat, and links to files not in the archive', () => {
    const file = (path: string): TarEntry => ({ type: 'file', path, mode: 0o644, content: new Uint8Array() });
    for (const bad of ['/etc/passwd', '../x', 'a/./b', 'a//b', '']) expect(() => tarArchive([file(bad)]), bad).toThrow(TarError);
    expect(() => tarArchive([file('a'), file('a')])).toThrow(/two entries/);
    expect(() => tarArchive([{ type: 'hardlink', path: 'b', mode: 0o644, target: 'a' }])).toThrow(/not an earlier file/);
  });
});
