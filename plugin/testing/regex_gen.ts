// Random RE2 patterns written twice, for Go's syntax and for Node's RegExp (flag u), over the
// syntax both share; and short texts to run them on. For differential tests of plugin/regex.

// Texts draw from this alphabet; it avoids characters where Go and JS disagree
// (\r, \u2028, \v, non-ASCII spaces, ſ and the Kelvin sign).
const ALPHABET = ["a", "b", "c", "A", "B", "é", "É", "中", "😀", " ", "\n", "0", "1", "_", "-", "."];

export interface Gen {
  go: string;
  js: string;
}

export function makeGenerator(rand: () => number, fold: boolean) {
  const pick = <T,>(xs: T[]): T => xs[Math.floor(rand() * xs.length)]!;
  let groupId = 0;
  const same = (s: string): Gen => ({ go: s, js: s });
  const atoms = (): Gen => {
    const r = rand();
    if (r < 0.35) return same(pick(["a", "b", "c", "A", "é", "中", "😀", " ", "0", "_", "-"]));
    if (r < 0.45) return same(pick([".", "\\.", "\\n", "\\d", "\\w", "\\s", "\\D", "\\W", "\\S"]));
    if (r < 0.55) return same(pick(["^", "$", "\\b", "\\B"]));
    if (r < 0.75) {
      const items = pick([["a", "b"], ["a-c"], ["0-9"], ["A-Z", "_"], ["\\d", "a"], ["\\w", "-"], ["é", "中"], ["\\s", "."], ["a-z", "é"]]);
      const negate = rand() < 0.3 && !(fold && items.some((i) => i.startsWith("\\")));
      return same(`[${negate ? "^" : ""}${items.join("")}]`);
    }
    if (r < 0.85) {
      const name = pick(["L", "Lu", "Ll", "N", "Nd", "P", "Han", "Latin"]);
      const js = ["Han", "Latin"].includes(name) ? `Script=${name}` : name;
      const negate = !fold && rand() < 0.3;
      return { go: `\\${negate ? "P" : "p"}{${name}}`, js: `\\${negate ? "P" : "p"}{${js}}` };
    }
    if (r < 0.9) return { go: "\\x{4E2D}", js: "\\u{4E2D}" };
    return same(pick(["\\x41", "\\*", "\\+", "\\(", "\\)", "\\[", "\\|"]));
  };
  const gen = (depth: number): Gen => {
    const r = rand();
    if (depth >= 4 || r < 0.3) return atoms();
    if (r < 0.5) {
      const a = gen(depth + 1);
      const b = gen(depth + 1);
      return { go: a.go + b.go, js: a.js + b.js };
    }
    if (r < 0.6) {
      const a = rand() < 0.15 ? same("") : gen(depth + 1);
      const b = rand() < 0.15 ? same("") : gen(depth + 1);
      return { go: `(?:${a.go}|${b.go})`, js: `(?:${a.js}|${b.js})` };
    }
    if (r < 0.7) {
      const a = gen(depth + 1);
      if (rand() < 0.3) {
        const name = `g${groupId++}`;
        return { go: `(?P<${name}>${a.go})`, js: `(?<${name}>${a.js})` };
      }
      return { go: `(${a.go})`, js: `(${a.js})` };
    }
    const a = gen(depth + 1);
    const q = pick(["*", "+", "?", "*?", "+?", "??", "{2}", "{0,2}", "{1,}", "{0}", "{1,3}", "{2,}?"]);
    return { go: `(?:${a.go})${q}`, js: `(?:${a.js})${q}` };
  };
  return () => {
    groupId = 0;
    return gen(0);
  };
}

export function randomText(rand: () => number): string {
  let s = "";
  const n = Math.floor(rand() * 9);
  for (let i = 0; i < n; i++) s += ALPHABET[Math.floor(rand() * ALPHABET.length)];
  return s;
}

export const FLAG_SETS: [string, string][] = [
  ["", ""],
  ["(?i)", "i"],
  ["(?m)", "m"],
  ["(?s)", "s"],
  ["(?ims)", "ims"],
];
