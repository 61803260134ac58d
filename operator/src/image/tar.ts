// A POSIX ustar archive holding one regular file, byte for byte the same for the same content:
// mode 0644, owner 0:0, mtime 0, no user or group names. Enough for the Wasm image layer.

const BLOCK = 512;

function field(buf: Uint8Array, offset: number, length: number, text: string): void {
  const bytes = new TextEncoder().encode(text);
  if (bytes.length > length) throw new Error(`tar: "${text}" does not fit ${length} bytes`);
  buf.set(bytes, offset);
}

/** An octal number, zero-padded to length-1 digits and NUL-terminated, as ustar writes them. */
function octal(buf: Uint8Array, offset: number, length: number, value: number): void {
  field(buf, offset, length, `${value.toString(8).padStart(length - 1, '0')}\0`);
}

export function tarOneFile(name: string, content: Uint8Array): Uint8Array {
  if (new TextEncoder().encode(name).length > 100) throw new Error(`tar: file name longer than 100 bytes: ${name}`);
  const header = new Uint8Array(BLOCK);
  field(header, 0, 100, name);
  octal(header, 100, 8, 0o644);
  octal(header, 108, 8, 0);
  octal(header, 116, 8, 0);
  octal(header, 124, 12, content.length);
  octal(header, 136, 12, 0);
  header.fill(0x20, 148, 156); // the checksum is computed with its own field as spaces
  header[156] = 0x30; // '0': a regular file
  field(header, 257, 6, 'ustar\0');
  field(header, 263, 2, '00');
  let sum = 0;
  for (const b of header) sum += b;
  field(header, 148, 8, `${sum.toString(8).padStart(6, '0')}\0 `);
  const padded = Math.ceil(content.length / BLOCK) * BLOCK;
  const out = new Uint8Array(BLOCK + padded + 2 * BLOCK);
  out.set(header, 0);
  out.set(content, BLOCK);
  return out;
}
