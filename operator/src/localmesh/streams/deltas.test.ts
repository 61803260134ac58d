import { describe, expect, it } from 'vitest';
import { splitText } from './deltas.js';

const TEXT = 'Write to jane.doe@example.com — naïve café 🎉 ok.';

describe('splitText', () => {
  it('cuts into pieces of min..max code points that join back to the text', () => {
    const pieces = splitText(TEXT, { minChars: 2, maxChars: 5 });
    expect(pieces.join('')).toBe(TEXT);
    const lengths = pieces.map((p) => Array.from(p).length);
    expect(lengths.slice(0, -1).every((n) => n >= 2 && n <= 5)).toBe(true);
    expect(new Set(lengths).size).toBeGreaterThan(1);
  });

  it('never splits a surrogate pair', () => {
    for (let seed = 1; seed < 40; seed++) {
      for (const p of splitText('🎉🎉🎉🎉🎉🎉', { minChars: 1, maxChars: 2, seed })) expect(p).not.toMatch(/^[\uDC00-\uDFFF]|[\uD800-\uDBFF]$/);
    }
  });

  it('is deterministic per seed and differs across seeds', () => {
    const a = splitText(TEXT, { minChars: 1, maxChars: 8, seed: 7 });
    expect(splitText(TEXT, { minChars: 1, maxChars: 8, seed: 7 })).toEqual(a);
    expect(splitText(TEXT, { minChars: 1, maxChars: 8, seed: 8 })).not.toEqual(a);
  });

  it('with max 8, a 20-character secret never fits in one piece', () => {
    const pieces = splitText(TEXT, { minChars: 1, maxChars: 8 });
    expect(pieces.some((p) => p.includes('jane.doe@example.com'))).toBe(false);
  });

  it('takes the pieces from a function, and refuses pieces that lose text', () => {
    expect(splitText('abc', () => ['a', 'bc'])).toEqual(['a', 'bc']);
    expect(() => splitText('abc', () => ['a', 'c'])).toThrow(/do not join back/);
    expect(() => splitText('abc', { minChars: 0, maxChars: 2 })).toThrow(/minChars/);
  });

  it('gives no pieces for an empty text', () => {
    expect(splitText('', { minChars: 1, maxChars: 3 })).toEqual([]);
  });
});
