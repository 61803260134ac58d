// Pattern text (Go regexp / RE2 syntax) -> syntax tree. Iterative: open groups live on an explicit
// frame stack, so deep nesting cannot overflow the Wasm call stack; it is capped at MAX_NESTING
// anyway. Errors are returned as values with the UTF-16 offset of the offending construct.
import {
  AssertFlag,
  Node,
  NodeKind,
  alternate,
  assertion,
  charClass,
  concat,
  literal,
  repeat,
} from "./ast";
import {
  ClassInterner,
  MAX_CLASS_RANGES,
  appendRanges,
  isAsciiAlnumChar,
  negateRanges,
  normalizeRanges,
  perlClassRanges,
  posixClassRanges,
  MAX_RUNE,
} from "./charclass";
import { foldOrbitRanges, foldRanges } from "./casefold";
import { unicodeClassRanges } from "./unicode_classes";
import { classCharMapping } from "./literals";
import { hexDigitValue } from "../util/hex";

export const MAX_NESTING: i32 = 1000;
export const MAX_REPEAT: i32 = 1000;
/**
 * Cap on the atoms (literals, classes, assertions, ...) of one pattern. Each compiles to at least
 * one instruction, so a pattern over it could never fit the instruction budget anyway.
 */
export const MAX_ATOMS: i32 = 50000;

const FLAG_FOLD: i32 = 1; // (?i)
const FLAG_MULTILINE: i32 = 2; // (?m)
const FLAG_DOTNL: i32 = 4; // (?s)
const FLAG_UNGREEDY: i32 = 8; // (?U): accepted, irrelevant for match / no match

const NO_LIMIT: i32 = -1;

export class ParseOutcome {
  node: Node | null = null;
  offset: i32 = 0;
  message: string = "";
  /** normalizeLiterals added a mapped character to a class (literal nodes: see literals.ts). */
  classesChanged: bool = false;
}

/**
 * `classes` is shared by all the patterns of a set. With `normalizeLiterals`, a character written
 * alone in a class also admits its normalized form (see literals.ts), and every literal node
 * records the code point it was written as, for normalizePatternLiterals.
 */
export function parsePattern(pattern: string, classes: ClassInterner, normalizeLiterals: bool = false): ParseOutcome {
  const p = new Parser(pattern, classes);
  p.normalizeLiterals = normalizeLiterals;
  return p.run();
}

class Frame {
  alts: Array<Node> = [];
  items: Array<Node> = [];
  savedFlags: i32;
  open: i32; // offset of the group's "(", -1 for the whole pattern

  constructor(savedFlags: i32, open: i32) {
    this.savedFlags = savedFlags;
    this.open = open;
  }
}

function isDigit(c: i32): bool {
  return c >= 0x30 && c <= 0x39;
}

function isOctal(c: i32): bool {
  return c >= 0x30 && c <= 0x37;
}

function cpWidth(cp: i32): i32 {
  return cp >= 0x10000 ? 2 : 1;
}

class Parser {
  s: string;
  n: i32;
  pos: i32 = 0;
  flags: i32 = 0;
  failed: bool = false;
  errOffset: i32 = 0;
  errMessage: string = "";
  frames: Array<Frame> = [];
  /** Offset of the previous token when it was a repetition operator, else -1. */
  lastRepeat: i32 = -1;
  // Results of parseBraces.
  repMin: i32 = 0;
  repMax: i32 = 0;

  classes: ClassInterner;
  atoms: i32 = 0;
  normalizeLiterals: bool = false;
  classesChanged: bool = false;

  constructor(s: string, classes: ClassInterner) {
    this.s = s;
    this.classes = classes;
    this.n = s.length;
    this.frames.push(new Frame(0, -1));
  }

  run(): ParseOutcome {
    while (this.pos < this.n && !this.failed) this.step();
    const out = new ParseOutcome();
    if (!this.failed && this.frames.length > 1) {
      this.fail(this.top().open, "missing closing ) for the group opened here");
    }
    if (this.failed) {
      out.offset = this.errOffset;
      out.message = this.errMessage;
      return out;
    }
    out.classesChanged = this.classesChanged;
    const root = this.frames[0];
    root.alts.push(concat(root.items));
    out.node = alternate(root.alts);
    return out;
  }

  // ---- helpers

  fail(offset: i32, message: string): void {
    if (this.failed) return;
    this.failed = true;
    this.errOffset = offset;
    this.errMessage = message;
  }

  top(): Frame {
    return this.frames[this.frames.length - 1];
  }

  at(i: i32): i32 {
    return this.s.charCodeAt(i); // -1 past the end
  }

  cpAt(i: i32): i32 {
    return this.s.codePointAt(i); // -1 past the end; lone surrogates as themselves
  }

  text(from: i32, to: i32): string {
    return this.s.substring(from, to);
  }

  push(node: Node): void {
    if (++this.atoms > MAX_ATOMS) {
      this.fail(this.pos, "pattern too large: more than " + MAX_ATOMS.toString() + " elements, over the instruction budget");
      return;
    }
    this.top().items.push(node);
  }

  pushLiteral(cp: i32): void {
    const fold = (this.flags & FLAG_FOLD) != 0;
    let pushed = false;
    if (fold) {
      const orbit = foldOrbitRanges(cp);
      if (orbit.length > 2 || orbit[1] != orbit[0]) {
        this.pushClass(orbit);
        pushed = true;
      }
    }
    if (!pushed) this.push(literal(cp));
    if (this.failed) return;
    const items = this.top().items;
    const node = items[items.length - 1];
    node.written = cp;
    node.folded = fold;
  }

  pushClass(ranges: Array<i32>): void {
    const shared = this.classes.intern(ranges);
    if (shared == null) {
      this.fail(this.pos, "character classes too large: more than " + MAX_CLASS_RANGES.toString() + " distinct ranges in the pattern set");
      return;
    }
    this.push(charClass(shared));
  }

  // ---- main loop

  step(): void {
    const start = this.pos;
    const c = this.at(start);
    let wasRepeat = false;
    switch (c) {
      case 0x28: // (
        this.openGroup();
        break;
      case 0x7c: {
        // |
        const f = this.top();
        f.alts.push(concat(f.items));
        f.items = [];
        this.pos++;
        break;
      }
      case 0x29: // )
        this.closeGroup();
        break;
      case 0x5e: // ^
        this.push(assertion((this.flags & FLAG_MULTILINE) != 0 ? AssertFlag.BeginLine : AssertFlag.BeginText));
        this.pos++;
        break;
      case 0x24: // $
        this.push(assertion((this.flags & FLAG_MULTILINE) != 0 ? AssertFlag.EndLine : AssertFlag.EndText));
        this.pos++;
        break;
      case 0x2e: // .
        this.push(new Node((this.flags & FLAG_DOTNL) != 0 ? NodeKind.AnyChar : NodeKind.AnyNotNL));
        this.pos++;
        break;
      case 0x5b: // [
        this.parseClass();
        break;
      case 0x2a: // *
        this.pos++;
        this.applyRepeat(start, 0, NO_LIMIT);
        wasRepeat = true;
        break;
      case 0x2b: // +
        this.pos++;
        this.applyRepeat(start, 1, NO_LIMIT);
        wasRepeat = true;
        break;
      case 0x3f: // ?
        this.pos++;
        this.applyRepeat(start, 0, 1);
        wasRepeat = true;
        break;
      case 0x7b: // {
        if (this.parseBraces()) {
          if (this.failed) return;
          this.applyRepeat(start, this.repMin, this.repMax);
          wasRepeat = true;
        } else {
          // As in Go, a "{" that does not start a valid repeat is a literal.
          this.pushLiteral(0x7b);
          this.pos++;
        }
        break;
      case 0x5c: // backslash
        this.parseEscapeAtom();
        break;
      default: {
        const cp = this.cpAt(start);
        this.pos += cpWidth(cp);
        this.pushLiteral(cp);
      }
    }
    this.lastRepeat = wasRepeat ? start : -1;
  }

  // ---- repetition

  /** pos is just past the operator. */
  applyRepeat(opStart: i32, min: i32, max: i32): void {
    const next = this.at(this.pos);
    if (next == 0x3f) {
      this.pos++; // lazy: same match / no-match answer
    } else if (next == 0x2b) {
      this.fail(
        opStart,
        "possessive quantifier `" + this.text(opStart, this.pos + 1) +
          "` is not supported (RE2 syntax has no possessive quantifiers)",
      );
      return;
    }
    if (this.lastRepeat >= 0) {
      this.fail(this.lastRepeat, "invalid nested repetition operator `" + this.text(this.lastRepeat, this.pos) + "`");
      return;
    }
    const f = this.top();
    if (f.items.length == 0) {
      this.fail(opStart, "missing argument to repetition operator `" + this.text(opStart, this.pos) + "`");
      return;
    }
    const sub = f.items.pop();
    f.items.push(repeat(sub, min, max));
  }

  /** Decimal number at i (no leading zeros, as Go); -1 if none. Saturates; sets repEnd. */
  repEnd: i32 = 0;
  parseNumber(i: i32): i32 {
    if (!isDigit(this.at(i))) return -1;
    if (this.at(i) == 0x30 && isDigit(this.at(i + 1))) return -1;
    let v = 0;
    while (isDigit(this.at(i))) {
      if (v < 10000000) v = v * 10 + (this.at(i) - 0x30);
      i++;
    }
    this.repEnd = i;
    return v;
  }

  /**
   * At "{": parses {n}, {n,} or {n,m}. Returns false (nothing consumed) when the text is not a
   * repeat, true otherwise (pos moved past "}", or failed on a bad count).
   */
  parseBraces(): bool {
    const start = this.pos;
    const min = this.parseNumber(start + 1);
    if (min < 0) return false;
    let i = this.repEnd;
    let max = min;
    if (this.at(i) == 0x2c) {
      i++;
      if (this.at(i) == 0x7d) {
        max = NO_LIMIT;
      } else {
        max = this.parseNumber(i);
        if (max < 0) return false;
        i = this.repEnd;
      }
    }
    if (this.at(i) != 0x7d) return false;
    i++;
    const spelled = this.text(start, i);
    if (min > MAX_REPEAT || max > MAX_REPEAT) {
      this.fail(start, "repeat count in `" + spelled + "` exceeds RE2's limit of " + MAX_REPEAT.toString());
      return true;
    }
    if (max != NO_LIMIT && min > max) {
      this.fail(start, "invalid repeat count `" + spelled + "`: minimum is greater than maximum");
      return true;
    }
    this.repMin = min;
    this.repMax = max;
    this.pos = i;
    return true;
  }

  // ---- groups

  pushFrame(open: i32): bool {
    if (this.frames.length - 1 >= MAX_NESTING) {
      this.fail(open, "groups nested deeper than the limit of " + MAX_NESTING.toString());
      return false;
    }
    this.frames.push(new Frame(this.flags, open));
    return true;
  }

  openGroup(): void {
    const start = this.pos;
    if (this.at(start + 1) != 0x3f) {
      if (this.pushFrame(start)) this.pos = start + 1;
      return;
    }
    const c2 = this.at(start + 2);
    const c3 = this.at(start + 3);
    switch (c2) {
      case 0x3d: // (?=
        this.fail(start, "lookahead (?=...) is not supported (RE2 syntax has no lookaround)");
        return;
      case 0x21: // (?!
        this.fail(start, "negative lookahead (?!...) is not supported (RE2 syntax has no lookaround)");
        return;
      case 0x3e: // (?>
        this.fail(start, "atomic group (?>...) is not supported (RE2 syntax has no atomic groups)");
        return;
      case 0x23: // (?#
        this.fail(start, "comment group (?#...) is not supported (RE2 syntax has no inline comments)");
        return;
      case 0x28: // (?(
        this.fail(start, "conditional (?(...)...) is not supported (RE2 syntax has no conditionals)");
        return;
      case 0x7c: // (?|
        this.fail(start, "branch reset group (?|...) is not supported (RE2 syntax has no branch reset)");
        return;
      case 0x27: // (?'
        this.fail(start, "named group (?'name'...) is not supported; RE2 syntax spells it (?P<name>...) or (?<name>...)");
        return;
      case 0x52: // (?R
      case 0x26: // (?&
      case 0x2b: // (?+
        this.fail(start, "recursion / subroutine call `" + this.text(start, start + 3) + "` is not supported (RE2 syntax has no recursion)");
        return;
      case 0x50: // (?P
        if (c3 == 0x3c) {
          this.openNamedGroup(start, start + 4);
        } else if (c3 == 0x3d) {
          this.fail(start, "backreference (?P=name) is not supported (RE2 syntax has no backreferences)");
        } else if (c3 == 0x3e) {
          this.fail(start, "recursion (?P>name) is not supported (RE2 syntax has no recursion)");
        } else {
          this.fail(start, "invalid named capture `" + this.text(start, start + 4) + "`");
        }
        return;
      case 0x3c: // (?<
        if (c3 == 0x3d) {
          this.fail(start, "lookbehind (?<=...) is not supported (RE2 syntax has no lookaround)");
        } else if (c3 == 0x21) {
          this.fail(start, "negative lookbehind (?<!...) is not supported (RE2 syntax has no lookaround)");
        } else {
          this.openNamedGroup(start, start + 3);
        }
        return;
    }
    if (isDigit(c2) || (c2 == 0x2d && isDigit(c3))) {
      this.fail(start, "recursion / subroutine call `" + this.text(start, start + 3) + "` is not supported (RE2 syntax has no recursion)");
      return;
    }
    this.parseFlags(start);
  }

  openNamedGroup(start: i32, nameStart: i32): void {
    const end = this.s.indexOf(">", nameStart);
    if (end < 0) {
      this.fail(start, "invalid named capture `" + this.text(start, this.n) + "`: missing >");
      return;
    }
    const name = this.text(nameStart, end);
    let valid = name.length > 0;
    for (let i = 0; i < name.length; i++) {
      const c = name.charCodeAt(i);
      if (!isAsciiAlnumChar(c) && c != 0x5f) valid = false;
    }
    if (!valid) {
      this.fail(start, "invalid named capture `" + this.text(start, end + 1) + "`: names use letters, digits and _");
      return;
    }
    if (this.pushFrame(start)) this.pos = end + 1;
  }

  /** (?flags) or (?flags:...), start at "(". */
  parseFlags(start: i32): void {
    let flags = this.flags;
    let negated = false;
    let sawFlag = false;
    let i = start + 2;
    while (true) {
      const c = this.at(i);
      let bit = 0;
      if (c == 0x69) bit = FLAG_FOLD;
      else if (c == 0x6d) bit = FLAG_MULTILINE;
      else if (c == 0x73) bit = FLAG_DOTNL;
      else if (c == 0x55) bit = FLAG_UNGREEDY;
      if (bit != 0) {
        flags = negated ? flags & ~bit : flags | bit;
        sawFlag = true;
        i++;
        continue;
      }
      if (c == 0x2d) {
        if (negated) {
          this.fail(start, "invalid flag group `" + this.text(start, i + 1) + "`: more than one -");
          return;
        }
        negated = true;
        sawFlag = false;
        i++;
        continue;
      }
      if (c == 0x3a || c == 0x29) {
        if (negated && !sawFlag) {
          this.fail(start, "invalid flag group `" + this.text(start, i + 1) + "`: - must be followed by a flag");
          return;
        }
        if (c == 0x3a && !this.pushFrame(start)) return;
        this.flags = flags;
        this.pos = i + 1;
        return;
      }
      if (c < 0) {
        this.fail(start, "missing closing ) for the group opened here");
      } else if ((c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a)) {
        this.fail(i, "flag `" + this.text(i, i + 1) + "` is not supported (RE2 flags are i, m, s and U)");
      } else {
        this.fail(start, "invalid or unsupported group syntax `" + this.text(start, i + 1) + "`");
      }
      return;
    }
  }

  closeGroup(): void {
    const start = this.pos;
    if (this.frames.length <= 1) {
      this.fail(start, "unexpected ) without a matching (");
      return;
    }
    const f = this.frames.pop();
    f.alts.push(concat(f.items));
    this.flags = f.savedFlags;
    this.push(alternate(f.alts));
    this.pos = start + 1;
  }

  // ---- escapes

  /** Backslash outside a class. */
  parseEscapeAtom(): void {
    const start = this.pos;
    const c = this.cpAt(start + 1);
    switch (c) {
      case -1:
        this.fail(start, "trailing backslash at end of pattern");
        return;
      case 0x41: // \A
        this.push(assertion(AssertFlag.BeginText));
        this.pos += 2;
        return;
      case 0x7a: // \z
        this.push(assertion(AssertFlag.EndText));
        this.pos += 2;
        return;
      case 0x62: // \b
        this.push(assertion(AssertFlag.WordBoundary));
        this.pos += 2;
        return;
      case 0x42: // \B
        this.push(assertion(AssertFlag.NoWordBoundary));
        this.pos += 2;
        return;
      case 0x5a: // \Z
        this.fail(start, "\\Z is not supported (RE2 syntax has no \\Z; use \\z or $)");
        return;
      case 0x47: // \G
        this.fail(start, "\\G is not supported (RE2 syntax has no \\G)");
        return;
      case 0x43: // \C
        this.fail(start, "\\C (any byte) is not supported (Go's RE2 syntax has no \\C)");
        return;
      case 0x6b: // \k
        this.fail(start, "backreference \\k<name> is not supported (RE2 syntax has no backreferences)");
        return;
      case 0x67: // \g
        this.fail(start, "backreference \\g is not supported (RE2 syntax has no backreferences)");
        return;
      case 0x51: {
        // \Q...\E: everything up to \E (or the end) is literal
        const from = start + 2;
        const end = this.s.indexOf("\\E", from);
        const stop = end < 0 ? this.n : end;
        let i = from;
        while (i < stop) {
          const cp = this.cpAt(i);
          i += cpWidth(cp);
          this.pushLiteral(cp);
        }
        this.pos = end < 0 ? this.n : end + 2;
        return;
      }
      case 0x64:
      case 0x44:
      case 0x73:
      case 0x53:
      case 0x77:
      case 0x57: // \d \D \s \S \w \W
        this.pushClass(this.perlClass(c));
        this.pos += 2;
        return;
      case 0x70:
      case 0x50: {
        // \p \P
        const r = this.parseUnicodeClass();
        if (r != null) this.push(charClass(r));
        return;
      }
    }
    if (c >= 0x31 && c <= 0x39 && !(c <= 0x37 && isOctal(this.at(start + 2)))) {
      this.fail(start, "backreference `" + this.text(start, start + 2) + "` is not supported (RE2 syntax has no backreferences)");
      return;
    }
    const cp = this.parseEscapeChar();
    if (cp >= 0) this.pushLiteral(cp);
  }

  /** A backslash escape that stands for one code point; -1 after failing. */
  parseEscapeChar(): i32 {
    const start = this.pos;
    const c = this.cpAt(start + 1);
    if (c < 0) {
      this.fail(start, "trailing backslash at end of pattern");
      return -1;
    }
    this.pos = start + 1 + cpWidth(c);
    if (isOctal(c) && (c == 0x30 || isOctal(this.at(this.pos)))) {
      // \0, \0nn, \1n, \1nn ... (a lone \1-\7 is a backreference, refused earlier)
      let v = c - 0x30;
      for (let k = 0; k < 2 && isOctal(this.at(this.pos)); k++) {
        v = v * 8 + (this.at(this.pos) - 0x30);
        this.pos++;
      }
      return v;
    }
    switch (c) {
      case 0x78: {
        // \xHH or \x{H...}
        if (this.at(this.pos) == 0x7b) {
          let i = this.pos + 1;
          let v = 0;
          let digits = 0;
          while (hexDigitValue(this.at(i)) >= 0) {
            if (v <= MAX_RUNE) v = v * 16 + hexDigitValue(this.at(i));
            digits++;
            i++;
          }
          if (digits == 0 || this.at(i) != 0x7d || v > MAX_RUNE) {
            const end = this.at(i) == 0x7d ? i + 1 : i;
            this.fail(start, "invalid escape sequence `" + this.text(start, end) + "`");
            return -1;
          }
          this.pos = i + 1;
          return v;
        }
        const h1 = hexDigitValue(this.at(this.pos));
        const h2 = hexDigitValue(this.at(this.pos + 1));
        if (h1 < 0 || h2 < 0) {
          this.fail(start, "invalid escape sequence `" + this.text(start, this.pos + 2) + "`");
          return -1;
        }
        this.pos += 2;
        return h1 * 16 + h2;
      }
      case 0x61:
        return 0x07; // \a
      case 0x66:
        return 0x0c; // \f
      case 0x74:
        return 0x09; // \t
      case 0x6e:
        return 0x0a; // \n
      case 0x72:
        return 0x0d; // \r
      case 0x76:
        return 0x0b; // \v
    }
    if (c < 0x80 && !isAsciiAlnumChar(c)) return c; // escaped punctuation is itself
    this.fail(start, "invalid escape sequence `" + this.text(start, this.pos) + "`");
    return -1;
  }

  perlClass(letter: i32): Array<i32> {
    const lower = letter | 0x20;
    let r = perlClassRanges(lower);
    if (r == null) return [];
    let ranges = r;
    if ((this.flags & FLAG_FOLD) != 0) ranges = foldRanges(ranges);
    if (letter != lower) ranges = negateRanges(ranges);
    return ranges;
  }

  /** Cache key for a class spelled as text[from, to) under the current flags. */
  sourceKey(from: i32, to: i32): string {
    return ((this.flags & FLAG_FOLD) != 0 ? "i" : "-") + this.text(from, to);
  }

  /** At "\p" or "\P": the interned class; null after failing. */
  parseUnicodeClass(): Array<i32> | null {
    const start = this.pos;
    let negated = this.at(start + 1) == 0x50;
    const i = start + 2;
    let name: string;
    if (this.at(i) < 0) {
      this.fail(start, "missing Unicode class name after `" + this.text(start, i) + "`");
      return null;
    }
    if (this.at(i) == 0x7b) {
      const end = this.s.indexOf("}", i);
      if (end < 0) {
        this.fail(start, "missing closing } in `" + this.text(start, this.n) + "`");
        return null;
      }
      name = this.text(i + 1, end);
      this.pos = end + 1;
    } else {
      const cp = this.cpAt(i);
      name = String.fromCodePoint(cp);
      this.pos = i + cpWidth(cp);
    }
    const key = this.sourceKey(start, this.pos);
    const cached = this.classes.lookupSource(key);
    if (cached != null) return cached;
    const spelled = this.text(start, this.pos);
    if (name.length > 0 && name.charCodeAt(0) == 0x5e) {
      negated = !negated;
      name = name.substring(1);
    }
    const r = unicodeClassRanges(name);
    if (r == null) {
      this.fail(
        start,
        "unknown Unicode class `" + spelled +
          "` (known: general categories such as L, Lu, Nd, P or Uppercase_Letter, the scripts Han, Latin, Greek, Cyrillic, Arabic, Hebrew, Hiragana, Katakana, Hangul, Thai, Devanagari and other major ones, Any, Assigned, ASCII)",
      );
      return null;
    }
    let ranges = r;
    if ((this.flags & FLAG_FOLD) != 0) ranges = foldRanges(ranges);
    if (negated) ranges = negateRanges(ranges);
    return this.internSource(key, ranges);
  }

  /** Interns a finished class and remembers it under its spelling; null after failing. */
  internSource(key: string, ranges: Array<i32>): Array<i32> | null {
    const shared = this.classes.intern(ranges);
    if (shared == null) {
      this.fail(this.pos, "character classes too large: more than " + MAX_CLASS_RANGES.toString() + " distinct ranges in the pattern set");
      return null;
    }
    this.classes.rememberSource(key, shared);
    return shared;
  }

  // ---- character classes

  parseClass(): void {
    const start = this.pos;
    this.pos++;
    let negated = false;
    if (this.at(this.pos) == 0x5e) {
      negated = true;
      this.pos++;
    }
    const plain = new Array<i32>(); // literal ranges, folded at the end under (?i)
    const done = new Array<Array<i32>>(); // class items already folded / negated
    let first = true;
    while (true) {
      const c = this.at(this.pos);
      if (c < 0) {
        this.fail(start, "missing closing ] for the character class opened here");
        return;
      }
      if (c == 0x5d && !first) {
        this.pos++;
        break;
      }
      first = false;
      const itemStart = this.pos;
      if (c == 0x5b && this.at(itemStart + 1) == 0x3a) {
        const end = this.s.indexOf(":]", itemStart + 2);
        if (end >= 0) {
          let name = this.text(itemStart + 2, end);
          let neg = false;
          if (name.length > 0 && name.charCodeAt(0) == 0x5e) {
            neg = true;
            name = name.substring(1);
          }
          const r = posixClassRanges(name);
          if (r == null) {
            this.fail(itemStart, "unknown POSIX class `" + this.text(itemStart, end + 2) + "`");
            return;
          }
          let ranges = r;
          if ((this.flags & FLAG_FOLD) != 0) ranges = foldRanges(ranges);
          if (neg) ranges = negateRanges(ranges);
          done.push(ranges);
          this.pos = end + 2;
          continue;
        }
      }
      if (c == 0x5c) {
        const d = this.at(itemStart + 1);
        if (d == 0x64 || d == 0x44 || d == 0x73 || d == 0x53 || d == 0x77 || d == 0x57) {
          done.push(this.perlClass(d));
          this.pos += 2;
          continue;
        }
        if (d == 0x70 || d == 0x50) {
          const r = this.parseUnicodeClass();
          if (r == null) return;
          done.push(r);
          continue;
        }
      }
      const lo = this.parseClassChar();
      if (lo < 0) return;
      let hi = lo;
      let single = true;
      if (this.at(this.pos) == 0x2d && this.at(this.pos + 1) >= 0 && this.at(this.pos + 1) != 0x5d) {
        single = false;
        this.pos++;
        hi = this.parseClassChar();
        if (hi < 0) return;
        if (hi < lo) {
          this.fail(itemStart, "invalid character class range `" + this.text(itemStart, this.pos) + "`");
          return;
        }
      }
      plain.push(lo);
      plain.push(hi);
      if (single && this.normalizeLiterals && lo >= 0x80) {
        // A character written alone admits its normalized form too: [ｐ] matches p.
        const mapped = classCharMapping(lo);
        if (mapped >= 0 && mapped != lo) {
          plain.push(mapped);
          plain.push(mapped);
          this.classesChanged = true;
        }
      }
    }
    const key = this.sourceKey(start, this.pos);
    const cached = this.classes.lookupSource(key);
    if (cached != null) {
      this.push(charClass(cached));
      return;
    }
    let ranges = normalizeRanges(plain);
    if ((this.flags & FLAG_FOLD) != 0) ranges = foldRanges(ranges);
    for (let i = 0; i < done.length; i++) appendRanges(ranges, done[i]);
    ranges = normalizeRanges(ranges);
    if (negated) ranges = negateRanges(ranges);
    const shared = this.internSource(key, ranges);
    if (shared != null) this.push(charClass(shared));
  }

  /** One code point inside a class (literal or escape); -1 after failing. */
  parseClassChar(): i32 {
    const start = this.pos;
    const c = this.cpAt(start);
    if (c == 0x5c) {
      const d = this.at(start + 1);
      if (d >= 0x31 && d <= 0x39 && !(d <= 0x37 && isOctal(this.at(start + 2)))) {
        this.fail(start, "invalid escape sequence `" + this.text(start, start + 2) + "` in character class");
        return -1;
      }
      return this.parseEscapeChar();
    }
    if (c < 0) {
      this.fail(start, "missing closing ] for the character class");
      return -1;
    }
    this.pos = start + cpWidth(c);
    return c;
  }
}
