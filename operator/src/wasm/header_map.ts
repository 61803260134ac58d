// Envoy-like header map plus the proxy-wasm pairs wire format
// (u32 count N; N x (u32 key_len, u32 value_len); then each key, NUL, value, NUL; little-endian).

import { decodeUtf8, toBytes } from './memory.js';

export type HeaderPair = [string, string];
export type HeadersInit = HeaderPair[] | Record<string, string>;

/** Envoy's LowerCaseString lower-cases ASCII only. */
export function asciiLower(s: string): string {
  return s.replace(/[A-Z]+/g, (m) => m.toLowerCase());
}

/** Ordered multi-map with Envoy HeaderMapImpl semantics relevant to the ABI. */
export class HeaderMap {
  private list: HeaderPair[] = [];

  constructor(init?: HeadersInit) {
    if (init) {
      const pairs = Array.isArray(init) ? init : Object.entries(init);
      for (const [k, v] of pairs) this.add(k, v);
    }
  }

  get size(): number {
    return this.list.length;
  }

  /** Sum of key and value lengths in bytes (Envoy HeaderMap::byteSize). */
  byteSize(): number {
    let n = 0;
    for (const [k, v] of this.list) n += toBytes(k).length + toBytes(v).length;
    return n;
  }

  pairs(): HeaderPair[] {
    return this.list.map(([k, v]) => [k, v] as HeaderPair);
  }

  /** First value of the key (Envoy get_header_map_value returns only the first), or undefined. */
  get(key: string): string | undefined {
    const k = asciiLower(key);
    for (const [hk, hv] of this.list) if (hk === k) return hv;
    return undefined;
  }

  getAll(key: string): string[] {
    const k = asciiLower(key);
    return this.list.filter(([hk]) => hk === k).map(([, v]) => v);
  }

  has(key: string): boolean {
    return this.get(key) !== undefined;
  }

  /** addCopy: appends; pseudo-headers go after the last pseudo-header, before regular ones. */
  add(key: string, value: string): void {
    const k = asciiLower(key);
    if (k.startsWith(':')) {
      let i = 0;
      while (i < this.list.length && this.list[i]![0].startsWith(':')) i++;
      this.list.splice(i, 0, [k, value]);
    } else {
      this.list.push([k, value]);
    }
  }

  /** setCopy (envoy.reloadable_features.http_set_copy_replace_all_headers): remove all, then add. */
  set(key: string, value: string): void {
    this.remove(key);
    this.add(key, value);
  }

  remove(key: string): void {
    const k = asciiLower(key);
    this.list = this.list.filter(([hk]) => hk !== k);
  }

  clear(): void {
    this.list = [];
  }
}

/** Serialize pairs in the proxy-wasm wire format. */
export function encodePairs(pairs: ReadonlyArray<readonly [string | Uint8Array, string | Uint8Array]>): Uint8Array {
  const enc = pairs.map(([k, v]) => [toBytes(k), toBytes(v)] as const);
  let size = 4;
  for (const [k, v] of enc) size += 8 + k.length + 1 + v.length + 1;
  const out = new Uint8Array(size);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, enc.length, true);
  let pos = 4;
  for (const [k, v] of enc) {
    dv.setUint32(pos, k.length, true);
    dv.setUint32(pos + 4, v.length, true);
    pos += 8;
  }
  for (const [k, v] of enc) {
    out.set(k, pos);
    pos += k.length;
    out[pos++] = 0;
    out.set(v, pos);
    pos += v.length;
    out[pos++] = 0;
  }
  return out;
}

export const PAIRS_MAX_BYTES = 1024 * 1024;
export const PAIRS_MAX_COUNT = 1024;

/**
 * Parse the wire format exactly as cpp-host PairsUtil::toPairs: anything malformed (short buffer,
 * missing NUL terminators, trailing bytes, more than 1024 pairs, more than 1 MiB) yields no pairs
 * at all, silently (`ok` tells the harness it was malformed).
 */
export function decodePairs(buf: Uint8Array | null): { pairs: HeaderPair[]; ok: boolean } {
  const bad = { pairs: [] as HeaderPair[], ok: false };
  if (!buf || buf.length > PAIRS_MAX_BYTES) return bad;
  if (buf.length < 4) return bad;
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const n = dv.getUint32(0, true);
  if (n > PAIRS_MAX_COUNT) return bad;
  let pos = 4;
  if (pos + n * 8 > buf.length) return bad;
  const sizes: [number, number][] = [];
  for (let i = 0; i < n; i++) {
    sizes.push([dv.getUint32(pos, true), dv.getUint32(pos + 4, true)]);
    pos += 8;
  }
  const pairs: HeaderPair[] = [];
  for (const [ks, vs] of sizes) {
    if (pos + ks + 1 > buf.length) return bad;
    const k = decodeUtf8(buf.subarray(pos, pos + ks));
    pos += ks;
    if (buf[pos++] !== 0) return bad;
    if (pos + vs + 1 > buf.length) return bad;
    const v = decodeUtf8(buf.subarray(pos, pos + vs));
    pos += vs;
    if (buf[pos++] !== 0) return bad;
    pairs.push([k, v]);
  }
  if (pos !== buf.length) return bad;
  return { pairs, ok: true };
}

/** True if a header value carries bytes no HTTP codec would send (CR, LF, NUL). */
export function invalidHeaderValue(v: string): boolean {
  return /[\r\n\0]/.test(v);
}

export function invalidHeaderName(k: string): boolean {
  return k.length === 0 || /[\s\0:]/.test(k.startsWith(':') ? k.slice(1) : k) || /[A-Z]/.test(k);
}

export function toPairs(init: HeadersInit | undefined): HeaderPair[] {
  if (!init) return [];
  return Array.isArray(init) ? init.map(([k, v]) => [k, v] as HeaderPair) : Object.entries(init);
}
