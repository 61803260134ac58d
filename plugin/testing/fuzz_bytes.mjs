// What the fuzzers share to build inputs: a seeded pick, and a byte splice.

/**
 * @template T
 * @param {() => number} rnd
 * @param {readonly T[]} xs
 * @returns {T}
 */
export function pick(rnd, xs) {
  return /** @type {T} */ (xs[Math.floor(rnd() * xs.length)]);
}

/**
 * `b` with `del` bytes at `at` replaced by `ins` (both clipped to `b`).
 * @param {Uint8Array} b
 * @param {number} at
 * @param {number} del
 * @param {Uint8Array} ins
 * @returns {Uint8Array}
 */
export function spliceBytes(b, at, del, ins) {
  at = Math.min(at, b.length);
  del = Math.min(del, b.length - at);
  const out = new Uint8Array(b.length - del + ins.length);
  out.set(b.subarray(0, at), 0);
  out.set(ins, at);
  out.set(b.subarray(at + del), at + ins.length);
  return out;
}
