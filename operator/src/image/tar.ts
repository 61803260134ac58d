// A POSIX ustar archive whose bytes depend on its entries alone: entries in the byte order of
// their paths (so a folder comes before what it holds, and a hard link's target before the link),
// owner 0:0 with no user or group names, one mtime for every entry (0 unless given, e.g. from
// SOURCE_DATE_EPOCH). A path or link target longer than ustar's 100 bytes gets a PAX extended
// header, and only then, so short-path archives are plain ustar that every reader takes.

const BLOCK = 512;
const NAME_FIELD = 100;
const MAX_SIZE = 8 ** 11 - 1; // 11 octal digits

export type TarEntry =
  | { type: 'directory'; path: string; mode: number }
  | { type: 'file'; path: string; mode: number; content: Uint8Array }
  /** A hard link to a file entry of the same archive (`target` is that entry's path). */
  | { type: 'hardlink'; path: string; mode: number; target: string }
  | { type: 'symlink'; path: string; target: string };

export interface TarOptions {
  /** Seconds since the epoch, for every entry. Default 0. */
  mtime?: number;
}

export class TarError extends Error {}

const TYPEFLAG = { file: '0', hardlink: '1', symlink: '2', directory: '5', pax: 'x' } as const;
const SYMLINK_MODE = 0o777;
const utf8 = new TextEncoder();

/** Relative, '/'-separated, without '.', '..' or empty segments: what the archive may hold. */
function checkPath(path: string): void {
  const segments = path.split('/');
  if (!path || segments.some((s) => s === '' || s === '.' || s === '..') || path.includes('\0')) {
    throw new TarError(`tar: not a relative path without . or ..: ${JSON.stringify(path)}`);
  }
}

function field(buf: Uint8Array, offset: number, length: number, text: string): void {
  const bytes = utf8.encode(text);
  if (bytes.length > length) throw new TarError(`tar: "${text}" does not fit ${length} bytes`);
  buf.set(bytes, offset);
}

/** An octal number, zero-padded to length-1 digits and NUL-terminated, as ustar writes them. */
function octal(buf: Uint8Array, offset: number, length: number, value: number): void {
  field(buf, offset, length, `${value.toString(8).padStart(length - 1, '0')}\0`);
}

/** The longest prefix of `text` that fits `max` bytes of UTF-8 without splitting a character. */
function fitUtf8(text: string, max: number): string {
  let out = '';
  let bytes = 0;
  for (const ch of text) {
    const n = utf8.encode(ch).length;
    if (bytes + n > max) break;
    out += ch;
    bytes += n;
  }
  return out;
}

interface Header {
  name: string;
  typeflag: string;
  mode: number;
  size: number;
  mtime: number;
  linkname?: string;
}

function headerBlock(h: Header): Uint8Array {
  const b = new Uint8Array(BLOCK);
  field(b, 0, NAME_FIELD, h.name);
  octal(b, 100, 8, h.mode);
  octal(b, 108, 8, 0);
  octal(b, 116, 8, 0);
  octal(b, 124, 12, h.size);
  octal(b, 136, 12, h.mtime);
  b.fill(0x20, 148, 156); // the checksum is computed with its own field as spaces
  field(b, 156, 1, h.typeflag);
  field(b, 157, NAME_FIELD, h.linkname ?? '');
  field(b, 257, 6, 'ustar\0');
  field(b, 263, 2, '00');
  let sum = 0;
  for (const byte of b) sum += byte;
  field(b, 148, 8, `${sum.toString(8).padStart(6, '0')}\0 `);
  return b;
}

/** One PAX record, "<length> <key>=<value>\n", whose length counts its own digits. */
function paxRecord(key: string, value: string): string {
  const rest = ` ${key}=${value}\n`;
  const restBytes = utf8.encode(rest).length;
  let length = restBytes + 1;
  while (String(length).length + restBytes !== length) length = String(length).length + restBytes;
  return `${length}${rest}`;
}

function padded(content: Uint8Array): Uint8Array[] {
  const rest = content.length % BLOCK;
  return rest === 0 ? [content] : [content, new Uint8Array(BLOCK - rest)];
}

function entryBlocks(e: TarEntry, mtime: number): Uint8Array[] {
  const name = e.type === 'directory' ? `${e.path}/` : e.path;
  const linkname = e.type === 'symlink' || e.type === 'hardlink' ? e.target : '';
  const content = e.type === 'file' ? e.content : new Uint8Array(0);
  if (content.length > MAX_SIZE) throw new TarError(`tar: ${e.path} is larger than ustar's 8 GiB`);
  const blocks: Uint8Array[] = [];
  const records = [
    ...(utf8.encode(name).length > NAME_FIELD ? [paxRecord('path', name)] : []),
    ...(utf8.encode(linkname).length > NAME_FIELD ? [paxRecord('linkpath', linkname)] : []),
  ];
  if (records.length) {
    const pax = utf8.encode(records.join(''));
    blocks.push(headerBlock({ name: fitUtf8(`PaxHeaders/${name}`, NAME_FIELD), typeflag: TYPEFLAG.pax, mode: 0o644, size: pax.length, mtime }), ...padded(pax));
  }
  const mode = e.type === 'symlink' ? SYMLINK_MODE : e.mode & 0o7777;
  blocks.push(headerBlock({ name: fitUtf8(name, NAME_FIELD), typeflag: TYPEFLAG[e.type], mode, size: content.length, mtime, linkname: fitUtf8(linkname, NAME_FIELD) }));
  if (content.length) blocks.push(...padded(content));
  return blocks;
}

const byPathBytes = (a: TarEntry, b: TarEntry) => Buffer.compare(Buffer.from(a.path), Buffer.from(b.path));

/** The archive of `entries`, whatever order they come in; two entries with one path are refused. */
export function tarArchive(entries: readonly TarEntry[], options: TarOptions = {}): Uint8Array {
  const mtime = options.mtime ?? 0;
  const sorted = [...entries].sort(byPathBytes);
  const files = new Set<string>();
  const blocks: Uint8Array[] = [];
  sorted.forEach((e, i) => {
    checkPath(e.path);
    if (i > 0 && sorted[i - 1]!.path === e.path) throw new TarError(`tar: two entries for ${e.path}`);
    if (e.type === 'hardlink' && !files.has(e.target)) throw new TarError(`tar: hard link ${e.path} to ${e.target}, which is not an earlier file`);
    if (e.type === 'file') files.add(e.path);
    blocks.push(...entryBlocks(e, mtime));
  });
  blocks.push(new Uint8Array(2 * BLOCK));
  return Buffer.concat(blocks);
}

/** An archive of one regular file, mode 0644. */
export function tarOneFile(name: string, content: Uint8Array): Uint8Array {
  if (utf8.encode(name).length > NAME_FIELD) throw new TarError(`tar: file name longer than 100 bytes: ${name}`);
  return tarArchive([{ type: 'file', path: name, mode: 0o644, content }]);
}
