// How a reply's text is cut into streamed deltas. Real models stream tokens (OpenAI: a few
// characters), Anthropic a few words, Gemini whole phrases; cuts fall anywhere, mid-word included,
// so a secret in the text usually spans several deltas. Cuts never split a code point.

/** Cut lengths in code points, drawn in [min, max]; or a function that returns the pieces. */
export type DeltaSplit = { minChars: number; maxChars: number; seed?: number } | ((text: string) => string[]);

/** Small deterministic PRNG (mulberry32): the same seed gives the same cuts, run after run. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The pieces of `text`; they always join back to `text` (a function's pieces are checked). */
export function splitText(text: string, how: DeltaSplit): string[] {
  if (typeof how === 'function') {
    const pieces = how(text);
    if (pieces.join('') !== text) throw new Error('deltas: the pieces do not join back to the reply text');
    return pieces;
  }
  const { minChars, maxChars } = how;
  if (!(minChars >= 1 && maxChars >= minChars)) throw new Error(`deltas: need 1 <= minChars <= maxChars, got ${minChars}..${maxChars}`);
  const points = Array.from(text);
  const next = prng(how.seed ?? 1);
  const out: string[] = [];
  for (let i = 0; i < points.length; ) {
    const n = minChars + Math.floor(next() * (maxChars - minChars + 1));
    out.push(points.slice(i, i + n).join(''));
    i += n;
  }
  return out;
}
