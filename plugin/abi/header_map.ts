// The proxy-wasm header map wire format: u32 count; count x (u32 keyLen, u32 valueLen);
// then each key and value as bytes followed by a NUL. Little-endian.

export class HeaderPair {
  constructor(public name: string, public value: string) {}
}

export function encodeHeaderMap(pairs: HeaderPair[]): ArrayBuffer {
  const names = new Array<ArrayBuffer>(pairs.length);
  const values = new Array<ArrayBuffer>(pairs.length);
  let size = 4 + pairs.length * 8;
  for (let i = 0; i < pairs.length; i++) {
    names[i] = String.UTF8.encode(pairs[i].name);
    values[i] = String.UTF8.encode(pairs[i].value);
    size += names[i].byteLength + values[i].byteLength + 2;
  }
  const out = new ArrayBuffer(size);
  const base = changetype<usize>(out);
  store<u32>(base, pairs.length);
  let lens = base + 4;
  let data = base + 4 + <usize>pairs.length * 8;
  for (let i = 0; i < pairs.length; i++) {
    const n = names[i].byteLength;
    const v = values[i].byteLength;
    store<u32>(lens, n);
    store<u32>(lens + 4, v);
    lens += 8;
    memory.copy(data, changetype<usize>(names[i]), n);
    data += n;
    store<u8>(data, 0);
    data += 1;
    memory.copy(data, changetype<usize>(values[i]), v);
    data += v;
    store<u8>(data, 0);
    data += 1;
  }
  return out;
}

/** Decodes a map from the host. A malformed buffer yields the pairs read so far, never a trap. */
export function decodeHeaderMap(buf: ArrayBuffer): HeaderPair[] {
  const out = new Array<HeaderPair>();
  const size = <usize>buf.byteLength;
  if (size < 4) return out;
  const base = changetype<usize>(buf);
  const count = <usize>load<u32>(base);
  if (count > (size - 4) / 8) return out;
  let lens = base + 4;
  let data = base + 4 + count * 8;
  const end = base + size;
  for (let i: usize = 0; i < count; i++) {
    const n = <usize>load<u32>(lens);
    const v = <usize>load<u32>(lens + 4);
    lens += 8;
    if (<u64>n + <u64>v + 2 > <u64>(end - data)) break;
    const name = String.UTF8.decodeUnsafe(data, n);
    data += n + 1;
    const value = String.UTF8.decodeUnsafe(data, v);
    data += v + 1;
    out.push(new HeaderPair(name, value));
  }
  return out;
}
