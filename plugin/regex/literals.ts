// Pattern literals normalized the way plugin/normalize normalizes text, for the pattern sets that
// are matched against normalized text (compilePatternSet(patterns, true)): a literal "ｐ" or
// "ﬁ" becomes "p" or "fi", a lone generic diacritic goes, and a Cyrillic "а" inside a word that
// also holds an ASCII letter ("pаss") becomes "a", while a word wholly in Cyrillic ("пароль")
// stays. A word here is a maximal run of literals of one concatenation (a repeated literal counts:
// "pas+"), made of letters, marks and digits. Default-ignorable code points stay as written.
// Under (?i) a rewritten literal gets the case orbit of its new code point. A character written
// alone in a class also admits its normalized form when that is one code point ([ｐ] matches p);
// ranges, \p{..} and Perl classes are left as written. Literals are mapped one by one: a pattern
// spelling a precomposed letter in decomposed form (e + U+0301) loses the accent, where text
// keeps it ("é").
import { Node, NodeKind, charClass, concat, emptyMatch, literal } from "./ast";
import { ClassInterner } from "./charclass";
import { foldOrbitRanges } from "./casefold";
import { isWordCodePoint, normalizeLiteral } from "../normalize";

/** The normalized form of a class member when it is one code point; -1 otherwise. */
export function classCharMapping(cp: i32): i32 {
  const s = normalizeLiteral(cp, false);
  const n = s.length;
  if (n == 0) return -1;
  const first = s.codePointAt(0);
  return (first >= 0x10000 ? 2 : 1) == n ? first : -1;
}

export class LiteralRewrite {
  root: Node;
  changed: bool = false;
  /** A rewritten (?i) literal's case orbit overflowed the class budget. */
  failed: bool = false;

  constructor(root: Node) {
    this.root = root;
  }
}

/** Rewrites the literals of one parsed pattern in place (iteratively: no recursion on its depth). */
export function normalizePatternLiterals(root: Node, classes: ClassInterner): LiteralRewrite {
  const out = new LiteralRewrite(root);
  const pending = new Array<Node>();
  const one = new Array<Node>(1);
  one[0] = root;
  rewriteSequence(one, out, classes, pending);
  out.root = one[0];
  while (pending.length > 0 && !out.failed) {
    const n = pending.pop();
    if (n.kind == NodeKind.Concat) {
      rewriteSequence(n.subs, out, classes, pending);
      continue;
    }
    for (let i = 0; i < n.subs.length; i++) {
      one[0] = n.subs[i];
      rewriteSequence(one, out, classes, pending);
      n.subs[i] = one[0];
    }
  }
  return out;
}

/** The code point a literal item was written as (through one Repeat), or -1. */
function writtenOf(n: Node): i32 {
  if (n.kind == NodeKind.Repeat) return n.subs.length == 1 ? n.subs[0].written : -1;
  return n.written;
}

function hasAsciiLetter(s: string): bool {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i) | 0x20;
    if (c >= 0x61 && c <= 0x7a) return true;
  }
  return false;
}

/** Rewrites the literal items of `items` (siblings in order), queueing the other nodes. */
function rewriteSequence(items: Array<Node>, out: LiteralRewrite, classes: ClassInterner, pending: Array<Node>): void {
  let i = 0;
  while (i < items.length) {
    const cp = writtenOf(items[i]);
    if (cp < 0) {
      if (items[i].subs.length > 0) pending.push(items[i]);
      i++;
      continue;
    }
    let j = i + 1;
    if (isWordCodePoint(cp)) {
      while (j < items.length) {
        const next = writtenOf(items[j]);
        if (next < 0 || !isWordCodePoint(next)) break;
        j++;
      }
    }
    let mixed = false;
    for (let k = i; k < j && !mixed; k++) {
      const w = writtenOf(items[k]);
      mixed = w < 0x80 ? ((w | 0x20) >= 0x61 && (w | 0x20) <= 0x7a) : hasAsciiLetter(normalizeLiteral(w, false));
    }
    for (let k = i; k < j; k++) items[k] = rewriteItem(items[k], mixed, out, classes);
    i = j;
  }
}

function rewriteItem(item: Node, mixed: bool, out: LiteralRewrite, classes: ClassInterner): Node {
  const repeated = item.kind == NodeKind.Repeat;
  const lit = repeated ? item.subs[0] : item;
  const cp = lit.written;
  if (cp < 0x80) return item;
  const s = normalizeLiteral(cp, mixed);
  if (s.length == (cp >= 0x10000 ? 2 : 1) && s.codePointAt(0) == cp) return item;
  out.changed = true;
  const parts = new Array<Node>();
  let i = 0;
  while (i < s.length) {
    const c = s.codePointAt(i);
    i += c >= 0x10000 ? 2 : 1;
    parts.push(literalNode(c, lit.folded, out, classes));
  }
  const replacement = parts.length == 0 ? emptyMatch() : concat(parts);
  if (!repeated) return replacement;
  item.subs[0] = replacement;
  return item;
}

function literalNode(cp: i32, folded: bool, out: LiteralRewrite, classes: ClassInterner): Node {
  if (folded) {
    const orbit = foldOrbitRanges(cp);
    if (orbit.length > 2 || orbit[1] != orbit[0]) {
      const shared = classes.intern(orbit);
      if (shared == null) {
        out.failed = true;
        return emptyMatch();
      }
      return charClass(shared);
    }
  }
  return literal(cp);
}
