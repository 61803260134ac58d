// Medians and spreads over rounds. Pure.

/**
 * @typedef {object} Spread
 * @property {number} median
 * @property {number} min
 * @property {number} max
 * @property {number} q1     first quartile
 * @property {number} q3     third quartile
 * @property {number} n      samples (non-finite ones are left out)
 */

/** The q-quantile by linear interpolation between order statistics. @param {number[]} sorted @param {number} q */
function quantileSorted(sorted, q) {
  if (!sorted.length) return NaN;
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

/** Median, min, max and quartiles of the finite values. @param {number[]} values @returns {Spread} */
export function spread(values) {
  const s = values.filter(Number.isFinite).sort((a, b) => a - b);
  return {
    median: quantileSorted(s, 0.5),
    min: s.length ? s[0] : NaN,
    max: s.length ? s[s.length - 1] : NaN,
    q1: quantileSorted(s, 0.25),
    q3: quantileSorted(s, 0.75),
    n: s.length,
  };
}

/**
 * Per-round pairs: for each round that has both, f(value, baseline of the same round).
 * @param {Map<number, number>} values        round -> value
 * @param {Map<number, number>} baseline      round -> baseline value
 * @param {(v: number, b: number) => number} f
 */
export function paired(values, baseline, f) {
  /** @type {number[]} */
  const out = [];
  for (const [round, v] of values) {
    const b = baseline.get(round);
    if (b !== undefined) out.push(f(v, b));
  }
  return out;
}

export const ratio = (/** @type {number} */ v, /** @type {number} */ b) => v / b;
export const diff = (/** @type {number} */ v, /** @type {number} */ b) => v - b;
