// SHA-256 (FIPS 180-4). The verdict cache keys on it: a weak hash would let a crafted prompt
// collide with a cached "allow".

const K: StaticArray<u32> = [
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
  0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
  0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
  0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
  0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
  0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
];

const w = new StaticArray<u32>(64);

function compress(state: StaticArray<u32>, block: usize): void {
  for (let i = 0; i < 16; i++) unchecked(w[i] = bswap<u32>(load<u32>(block + (<usize>i << 2))));
  for (let i = 16; i < 64; i++) {
    const a = unchecked(w[i - 15]);
    const b = unchecked(w[i - 2]);
    const s0 = rotr<u32>(a, 7) ^ rotr<u32>(a, 18) ^ (a >>> 3);
    const s1 = rotr<u32>(b, 17) ^ rotr<u32>(b, 19) ^ (b >>> 10);
    unchecked(w[i] = w[i - 16] + s0 + w[i - 7] + s1);
  }
  let a = unchecked(state[0]), b = unchecked(state[1]), c = unchecked(state[2]), d = unchecked(state[3]);
  let e = unchecked(state[4]), f = unchecked(state[5]), g = unchecked(state[6]), h = unchecked(state[7]);
  for (let i = 0; i < 64; i++) {
    const S1 = rotr<u32>(e, 6) ^ rotr<u32>(e, 11) ^ rotr<u32>(e, 25);
    const ch = (e & f) ^ (~e & g);
    const t1 = h + S1 + ch + unchecked(K[i]) + unchecked(w[i]);
    const S0 = rotr<u32>(a, 2) ^ rotr<u32>(a, 13) ^ rotr<u32>(a, 22);
    const maj = (a & b) ^ (a & c) ^ (b & c);
    const t2 = S0 + maj;
    h = g; g = f; f = e; e = d + t1; d = c; c = b; b = a; a = t1 + t2;
  }
  unchecked(state[0] += a); unchecked(state[1] += b); unchecked(state[2] += c); unchecked(state[3] += d);
  unchecked(state[4] += e); unchecked(state[5] += f); unchecked(state[6] += g); unchecked(state[7] += h);
}

/** The digest of `data` as 64 lower-case hex characters. */
export function sha256Hex(data: ArrayBuffer): string {
  const state: StaticArray<u32> = [
    0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
  ];
  const len = data.byteLength;
  const full = len & ~63;
  const base = changetype<usize>(data);
  for (let off = 0; off < full; off += 64) compress(state, base + <usize>off);
  // Final block(s): the remaining bytes, 0x80, zero padding, and the bit length (big-endian u64).
  const tail = new ArrayBuffer(128);
  const tailBase = changetype<usize>(tail);
  const rest = len - full;
  memory.copy(tailBase, base + <usize>full, <usize>rest);
  store<u8>(tailBase + <usize>rest, 0x80);
  const blocks = rest + 9 > 64 ? 2 : 1;
  const bits = <u64>len * 8;
  store<u64>(tailBase + <usize>(blocks * 64 - 8), bswap<u64>(bits));
  for (let i = 0; i < blocks; i++) compress(state, tailBase + <usize>(i * 64));
  const digits = "0123456789abcdef";
  let out = "";
  for (let i = 0; i < 8; i++) {
    const v = unchecked(state[i]);
    for (let shift = 28; shift >= 0; shift -= 4) out += digits.charAt(<i32>((v >>> <u32>shift) & 15));
  }
  return out;
}
