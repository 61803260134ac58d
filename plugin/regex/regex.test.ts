// plugin/regex, run as Wasm through the test probe (plugin/testing/regex_probe.ts).
// Expected results follow Go's regexp (RE2 syntax); the tables were checked against Go.
import { beforeAll, describe, expect, it } from "vitest";
// @ts-ignore -- plain ESM build helper without type declarations
import { loadRegexProbe } from "../testing/probes.mjs";
import { seededRandom } from '../testing/prng.mjs';
import { makeGenerator, randomText, FLAG_SETS } from '../testing/regex_gen.js';

interface Probe {
  compile(patterns: string[]): boolean;
  errorIndex(): number;
  errorOffset(): number;
  errorMessage(): string;
  setSize(): number;
  firstMatch(text: string): number;
  firstMatchNFA(text: string): number;
}

let probe: Probe;

beforeAll(async () => {
  probe = (await loadRegexProbe()) as Probe;
}, 180_000);

function compileOk(patterns: string[]): void {
  if (!probe.compile(patterns)) {
    throw new Error(`pattern ${probe.errorIndex()} refused at ${probe.errorOffset()}: ${probe.errorMessage()}`);
  }
}

/** firstMatch through the default path (lazy DFA), checked against the Pike VM alone. */
function firstMatch(patterns: string[], text: string): number {
  compileOk(patterns);
  const viaDfa = probe.firstMatch(text);
  const viaNfa = probe.firstMatchNFA(text);
  if (viaDfa !== viaNfa) throw new Error(`lazy DFA says ${viaDfa}, Pike VM says ${viaNfa}`);
  return viaDfa;
}

function matches(pattern: string, text: string): boolean {
  return firstMatch([pattern], text) === 0;
}

// [pattern, text, matches anywhere in text]
const CASES: [string, string, boolean][] = [
  // literals, Unicode
  ["hello", "say hello world", true],
  ["hello", "say hell", false],
  ["账号", "请输入账号和密码", true],
  ["密码", "password", false],
  ["账号|密码", "我的密码是", true],
  ["😀", "a😀b", true],
  ["a.b", "a😀b", true],
  ["^.$", "😀", true],
  ["^..$", "😀", false],
  ["^\\x{1F600}$", "😀", true],
  ["[😀-😂]", "😁", true],
  ["é", "café", true],
  ["", "", true],
  ["", "abc", true],
  // dot
  [".", "\n", false],
  ["(?s).", "\n", true],
  ["a.c", "a\nc", false],
  ["(?s)a.c", "a\nc", true],
  ["[^a]", "\n", true],
  // classes
  ["[abc]", "xxbxx", true],
  ["[abc]", "xyz", false],
  ["[^a-z0-9_]", "abc_09", false],
  ["[^a-z0-9_]", "abc-", true],
  ["[a-cx-z]", "y", true],
  ["[]a]", "]", true],
  ["[^]a]", "]", false],
  ["[a-]", "-", true],
  ["[-a]", "-", true],
  ["[\\]]", "]", true],
  ["[\\[\\]]", "[", true],
  ["[\\d]", "5", true],
  ["[\\D]", "5", false],
  ["[\\w.]", ".", true],
  ["[\\s]", "\t", true],
  ["[\\n]", "\n", true],
  ["[\\x41-\\x43]", "B", true],
  ["[\\x{4e00}-\\x{9fff}]", "中", true],
  ["[\\p{Greek}]", "λ", true],
  ["[^\\p{Greek}]", "λ", false],
  ["[\\P{Greek}]", "a", true],
  ["[^\\x00-\\x{10FFFF}]", "abc", false],
  ["a|[^\\x00-\\x{10FFFF}]", "a", true],
  ["[^\\x00-\\x{10FFFF}]*", "", true],
  // POSIX classes
  ["[[:alpha:]]", "1a", true],
  ["[[:alpha:]]", "123", false],
  ["[[:^alpha:]]", "abc", false],
  ["[[:^alpha:]]", "ab1", true],
  ["[[:digit:]]+", "x42", true],
  ["[[:space:]]", "\v", true],
  ["[[:upper:][:digit:]]", "a1", true],
  ["^[[:xdigit:]]+$", "DeadBeef09", true],
  ["^[[:xdigit:]]+$", "xyz", false],
  ["[[:punct:]]", "!", true],
  ["[[:word:]]", "_", true],
  ["[[:upper:]]", "a", false],
  ["(?i)[[:upper:]]", "a", true],
  ["[[:alnum:][:blank:]]", "\t", true],
  ["[[:cntrl:]]", "\x7f", true],
  ["[[:graph:]]", " ", false],
  ["[[:print:]]", " ", true],
  ["[[:ascii:]]", "é", false],
  ["[[:lower:]]", "q", true],
  // Perl classes (ASCII, as RE2)
  ["\\d", "abc", false],
  ["\\d", "a1", true],
  ["\\d", "١", false],
  ["\\w", "é", false],
  ["\\w+", "foo_bar", true],
  ["\\W", "abc", false],
  ["\\W", "a-b", true],
  ["\\s", " ", true],
  ["\\s", "\v", false],
  ["\\S", "   ", false],
  ["\\D", "123", false],
  // word boundaries (ASCII)
  ["\\bfoo\\b", "a foo b", true],
  ["\\bfoo\\b", "afoo", false],
  ["\\bfoo", "foo", true],
  ["foo\\b", "foobar", false],
  ["\\Bfoo", "afoo", true],
  ["\\Bfoo", " foo", false],
  ["\\b", "", false],
  ["\\B", "", true],
  ["\\b", "a", true],
  ["\\bé", " é", false],
  ["\\b中", " 中", false],
  ["\\bsecret\\b", "top-secret!", true],
  // anchors
  ["^abc", "abcd", true],
  ["^abc", "xabc", false],
  ["abc$", "xabc", true],
  ["abc$", "abc\n", false],
  ["(?m)abc$", "abc\n", true],
  ["(?m)^abc", "x\nabc", true],
  ["^abc", "x\nabc", false],
  ["\\Aabc", "abc", true],
  ["abc\\z", "abc\n", false],
  ["(?m)\\Aabc", "x\nabc", false],
  ["(?m)^$", "a\n\nb", true],
  ["^$", "", true],
  ["^$", "\n", false],
  ["(?m)^$", "a", false],
  ["(?m)$", "", true],
  ["^*a", "a", true],
  // groups and alternation
  ["(ab)+", "xababx", true],
  ["(?:ab){2}", "abab", true],
  ["(?:ab){2}", "abxab", false],
  ["(?P<word>\\w+)@", "me@x", true],
  ["(?<user>[a-z]+):", "root:", true],
  ["()", "", true],
  ["(a|b)c", "bc", true],
  ["a(|b)c", "ac", true],
  ["a(b|)c", "abc", true],
  ["a|", "zzz", true],
  ["|", "", true],
  ["((((a))))", "a", true],
  ["(?:)", "x", true],
  // flags
  ["(?i)hello", "HeLLo", true],
  ["(?i:h)ello", "Hello", true],
  ["(?i:h)ello", "HELLO", false],
  ["(?i)h(?-i)ello", "Hello", true],
  ["(?i)h(?-i)ello", "HELLO", false],
  ["(?i)straße", "STRAẞE", true],
  ["(?i)straße", "STRASSE", false],
  ["(?i)ΣΑΣ", "σας", true],
  ["(?i)σ", "ς", true],
  ["(?i)k", "\u212a", true],
  ["(?i)ǅ", "ǆ", true],
  ["(?i)[a-z]+", "ABC", true],
  ["(?i)[^a-z]", "ABC", false],
  ["(?i)é", "É", true],
  ["(?i)i", "İ", false],
  ["(?i)ı", "I", false],
  ["(?i)Straße", "sTRAẞE", true],
  ["(?im)^x$", "a\nX\nb", true],
  ["(?i)\\x{41}", "a", true],
  ["(?i)\\Qa.B\\E", "A.b", true],
  ["(a(?i)b)c", "aBc", true],
  ["(a(?i)b)c", "aBC", false],
  ["(?i)a|b", "B", true],
  ["(?U)a+", "aaa", true],
  ["(?i-s:.)", "\n", false],
  ["(?si-i:A.)", "a\n", false],
  ["(?is:A.)", "a\n", true],
  ["(?i)\\w", "\u212a", true],
  ["(?i)\\W", "\u212a", false],
  ["(?)a", "a", true],
  ["(?P<n>a)(?P<n>b)", "ab", true],
  // quantifiers
  ["ab*c", "ac", true],
  ["ab+c", "ac", false],
  ["ab?c", "abc", true],
  ["ab?c", "abbc", false],
  ["a{3}", "aa", false],
  ["a{3}", "aaa", true],
  ["^a{2,3}$", "aaaa", false],
  ["^a{2,3}$", "aaa", true],
  ["^a{2,}$", "aaaaaa", true],
  ["^a{2,}$", "a", false],
  ["^a{0}$", "", true],
  ["^a{0,0}b$", "b", true],
  ["^(ab){0,2}$", "ababab", false],
  ["^(ab){0,2}$", "abab", true],
  ["a*?b", "aab", true],
  ["a+?", "a", true],
  ["a??b", "b", true],
  ["a{2}?", "aa", true],
  ["a{2,}?", "aa", true],
  ["x{1000}", "x".repeat(1000), true],
  ["x{1000}", "x".repeat(999), false],
  ["(?:a{2}){3}", "aaaaaa", true],
  ["^(?:a{2}){3}$", "aaaaa", false],
  ["^(a*)*$", "aaa", true],
  ["^(a*)+b$", "aab", true],
  ["^(?:a?){3}a{3}$", "aaa", true],
  // "{" that does not start a repeat is a literal (as in Go)
  ["a{,5}", "a{,5}", true],
  ["a{", "a{", true],
  ["{", "{", true],
  ["a{x}", "a{x}", true],
  ["a{1,2", "a{1,2", true],
  ["x{01}", "x{01}", true],
  ["}", "}", true],
  ["a{2}", "a{2}", false],
  // escapes
  ["\\t", "\t", true],
  ["\\n", "\n", true],
  ["\\r", "\r", true],
  ["\\f", "\f", true],
  ["\\v", "\v", true],
  ["\\a", "\x07", true],
  ["\\x41", "A", true],
  ["\\x{10FFFF}", "\u{10FFFF}", true],
  ["\\x{4E2D}", "中", true],
  ["\\101", "A", true],
  ["\\0", "\0", true],
  ["\\012", "\n", true],
  ["\\1234", "S4", true],
  ["\\Qa.b*c\\E", "a.b*c", true],
  ["\\Qa.b*c\\E", "aXbbc", false],
  ["\\Qab", "ab", true],
  ["\\Q\\E", "", true],
  ["\\Qa\\E+", "aaa", true],
  ["\\.", ".", true],
  ["\\.", "a", false],
  ["\\*\\+\\?\\(\\)\\[\\]\\{\\}\\|\\^\\$\\\\", "*+?()[]{}|^$\\", true],
  ["\\-\\#\\ \\!\\/", "-# !/", true],
  // Unicode classes
  ["\\pL", "中", true],
  ["\\pL", "1", false],
  ["\\p{L}", "é", true],
  ["\\p{Lu}", "É", true],
  ["\\p{Lu}", "é", false],
  ["\\p{Ll}", "é", true],
  ["\\p{N}", "Ⅻ", true],
  ["\\p{Nd}", "٣", true],
  ["\\p{Nd}", "Ⅻ", false],
  ["\\p{P}", "。", true],
  ["\\p{S}", "€", true],
  ["\\p{Z}", "\u3000", true],
  ["\\p{Han}", "中", true],
  ["\\p{Han}", "あ", false],
  ["\\p{Hiragana}", "あ", true],
  ["\\p{Katakana}", "ア", true],
  ["\\p{Hangul}", "한", true],
  ["\\p{Latin}", "ß", true],
  ["\\p{Greek}", "Ω", true],
  ["\\p{Cyrillic}", "Ж", true],
  ["\\p{Arabic}", "ع", true],
  ["\\p{Hebrew}", "ש", true],
  ["\\p{Thai}", "ก", true],
  ["\\p{Devanagari}", "क", true],
  ["\\P{L}", "abc", false],
  ["\\P{L}", "ab1", true],
  ["\\p{^L}", "abc", false],
  ["\\P{^L}", "a", true],
  ["\\PL", "1", true],
  ["^\\p{Han}+$", "中文字", true],
  ["^\\p{Han}+$", "中文x", false],
  ["(?i)\\p{Lu}", "a", true],
  ["\\p{Lu}", "a", false],
  ["\\p{Any}", "x", true],
  ["\\p{Greek}\\p{Greek}", "αβ", true],
  ["\\p{Cc}", "\x01", true],
  ["\\p{C}", "\u200b", true],
  ["\\p{M}", "\u0301", true],
  // Unicode class names as Go 1.26 spells them: any case, "_" / "-" / " " ignored, long aliases
  ["\\p{han}", "中", true],
  ["\\p{lu}", "a", false],
  ["\\pl", "a", true],
  ["\\p{Uppercase_Letter}", "A", true],
  ["\\p{decimal-number}", "7", true],
  ["\\p{Letter}", "中", true],
  ["\\p{ASCII}", "é", false],
  ["\\p{Assigned}", "a", true],
  ["\\p{Cn}", "\u0378", true],
  ["\\p{C}", "\u0378", true],
  ["\\p{LC}", "ǅ", true],
  ["\\p{Lc}", "中", false],
  // typical guard patterns
  ["(?i)ignore\\s+(all\\s+)?previous\\s+instructions", "Please IGNORE all previous   instructions now", true],
  ["(?i)ignore\\s+(all\\s+)?previous\\s+instructions", "ignore the previous instructions", false],
  ["\\b\\d{3}-\\d{2}-\\d{4}\\b", "ssn 123-45-6789.", true],
  ["\\b\\d{3}-\\d{2}-\\d{4}\\b", "ssn 0123-45-6789", false],
  ["(?i)\\bapi[_-]?key\\b\\s*[:=]", "my API-KEY = x", true],
  ["[a-zA-Z0-9._%+-]+@[a-zA-Z0-9.-]+\\.[a-zA-Z]{2,}", "mail bob.smith@example.co.uk today", true],
  ["(?:账号|帐号)\\s*[:：]\\s*\\S+", "账号：zhangsan", true],
];

const show = (s: string) => JSON.stringify(s.length > 24 ? s.slice(0, 12) + "…" + s.slice(-4) : s);

describe("regex: single-pattern table (Go semantics)", () => {
  it.each(CASES.map(([pattern, text, expected]) => ({ pattern, text, expected, title: `${show(pattern)} on ${show(text)} -> ${expected}` })))(
    "$title",
    ({ pattern, text, expected }) => {
      expect(matches(pattern, text)).toBe(expected);
    },
  );
});

describe("regex: UTF-16 input", () => {
  it("treats a lone surrogate as its own code point", () => {
    expect(matches("^.$", "\ud800")).toBe(true);
    expect(matches("^a.b$", "a\udc00b")).toBe(true);
    expect(matches("\\x{D800}", "x\ud800y")).toBe(true);
    expect(matches("^..$", "\ud800\ud800")).toBe(true);
    expect(matches("^.$", "\ud83d\ude00")).toBe(true);
    expect(matches("\\x{D83D}", "\ud83d\ude00")).toBe(false);
  });

  it("decodes supplementary characters in classes and repeats", () => {
    expect(matches("^[\\x{1F600}-\\x{1F64F}]{3}$", "😀😁😂")).toBe(true);
    expect(matches("^[^a]{2}$", "😀😁")).toBe(true);
    expect(matches("^[^a]{3}$", "😀😁")).toBe(false);
  });
});

describe("regex: pattern sets", () => {
  it("returns the lowest-numbered matching pattern, not the leftmost match", () => {
    expect(firstMatch(["foo", "bar", "baz"], "xxbazbar")).toBe(1);
    expect(firstMatch(["foo", "bar", "baz"], "xxbaz")).toBe(2);
    expect(firstMatch(["foo", "bar", "baz"], "nothing")).toBe(-1);
    expect(firstMatch(["^x", "y$"], "ay")).toBe(1);
    expect(firstMatch(["a", ""], "")).toBe(1);
    expect(firstMatch(["\\bk\\b", "(?i)K"], "xk")).toBe(1);
  });

  it("reports its size and handles the empty set", () => {
    compileOk(["a", "b", "c"]);
    expect(probe.setSize()).toBe(3);
    compileOk([]);
    expect(probe.setSize()).toBe(0);
    expect(probe.firstMatch("anything")).toBe(-1);
  });

  it("matches many literal patterns in one pass", () => {
    const words = Array.from({ length: 300 }, (_, i) => `w${i}x`);
    compileOk(words);
    expect(probe.firstMatch("a w150x b")).toBe(150);
    expect(probe.firstMatch("a w150x w7x b")).toBe(7);
    expect(probe.firstMatch("w299x")).toBe(299);
    expect(probe.firstMatch("w300x")).toBe(-1);
  });

  it("gives the same answers when reused across texts", () => {
    compileOk(["(?i)secret", "\\d{4}", "^start"]);
    for (let round = 0; round < 2; round++) {
      expect(probe.firstMatch("start")).toBe(2);
      expect(probe.firstMatch("x start 1234")).toBe(1);
      expect(probe.firstMatch("SECRET 1234")).toBe(0);
      expect(probe.firstMatch("")).toBe(-1);
      expect(probe.firstMatchNFA("x start 1234")).toBe(1);
    }
  });

  it("falls back to the Pike VM when the lazy DFA's cache overflows", () => {
    // (a|b)*a(a|b){15} needs 2^16 DFA states, more than the cache holds.
    let seed = 1;
    const rand = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x80000000;
    let text = "";
    for (let i = 0; i < 100_000; i++) text += rand() < 0.5 ? "a" : "b";
    const sixteenthFromEnd = text[text.length - 16] === "a";
    compileOk(["(a|b)*a(a|b){15}c", "(a|b)*a(a|b){15}$"]);
    // More rounds than the overflow limit, after which the DFA stays off for this set.
    for (let round = 0; round < 5; round++) {
      expect(probe.firstMatch(text)).toBe(sixteenthFromEnd ? 1 : -1);
      expect(probe.firstMatch(text + "c")).toBe(0);
    }
    expect(probe.firstMatch(text.slice(0, -1) + (sixteenthFromEnd ? "b" : "a"))).toBeGreaterThanOrEqual(-1);
  });

  it("keeps its answers across lazy DFA cache resets", () => {
    // Each new "a" makes a new, large DFA state until a{1000} saturates, so the cache fills
    // and is emptied mid-text.
    const pats = ["(a+)+$", "(x+x+)+y", "a{1000}b", "a{999}c"];
    for (const n of [999, 1000, 1500, 2000, 5000, 10_000]) {
      const expected = n >= 1000 ? 2 : -1;
      compileOk(pats);
      expect(probe.firstMatch("a".repeat(n) + "b")).toBe(expected);
      expect(probe.firstMatch("a".repeat(n) + "b")).toBe(expected);
      if (n <= 2000) expect(probe.firstMatchNFA("a".repeat(n) + "b")).toBe(expected);
      expect(probe.firstMatch("a".repeat(n))).toBe(0);
    }
  });

  it("handles classes with many code point ranges", () => {
    const pats = ["\\p{L}{3}\\p{Nd}", "(?i)[\\p{Greek}\\p{Cyrillic}]+ω", "\\P{L}\\p{Han}{2}\\P{Han}"];
    expect(firstMatch(pats, "abc1")).toBe(0);
    expect(firstMatch(pats, "ЖЖΩ")).toBe(1);
    expect(firstMatch(pats, "1中文x")).toBe(2);
    expect(firstMatch(pats, "中文中文")).toBe(-1);
  });
});

// [pattern, offset, message fragment]
const REFUSED: [string, number, string][] = [
  ["(a)\\1", 3, "backreference `\\1` is not supported (RE2 syntax has no backreferences)"],
  ["\\9", 0, "backreference"],
  ["(?P<n>a)\\k<n>", 8, "backreference \\k<name> is not supported"],
  ["(?P<n>a)(?P=n)", 8, "backreference (?P=name) is not supported"],
  ["a\\g1", 1, "backreference"],
  ["(?=a)", 0, "lookahead (?=...) is not supported (RE2 syntax has no lookaround)"],
  ["x(?!a)", 1, "negative lookahead (?!...) is not supported (RE2 syntax has no lookaround)"],
  ["(?<=a)b", 0, "lookbehind (?<=...) is not supported (RE2 syntax has no lookaround)"],
  ["(?<!a)b", 0, "negative lookbehind (?<!...) is not supported (RE2 syntax has no lookaround)"],
  ["(?>a+)b", 0, "atomic group (?>...) is not supported (RE2 syntax has no atomic groups)"],
  ["a*+", 1, "possessive quantifier `*+` is not supported (RE2 syntax has no possessive quantifiers)"],
  ["a++", 1, "possessive quantifier `++`"],
  ["a?+", 1, "possessive quantifier `?+`"],
  ["a{2}+", 1, "possessive quantifier `{2}+`"],
  ["a\\Z", 1, "\\Z is not supported (RE2 syntax has no \\Z; use \\z or $)"],
  ["\\Ga", 0, "\\G is not supported (RE2 syntax has no \\G)"],
  ["a\\C", 1, "\\C (any byte) is not supported"],
  ["(?(1)a|b)", 0, "conditional (?(...)...) is not supported (RE2 syntax has no conditionals)"],
  ["(?#note)a", 0, "comment group (?#...) is not supported"],
  ["(?R)", 0, "recursion"],
  ["(a(?1))", 2, "recursion"],
  ["(?|a)", 0, "branch reset"],
  ["(?'n'a)", 0, "(?P<name>...)"],
  // plain syntax errors
  ["(ab", 0, "missing closing )"],
  ["a(b(c)", 1, "missing closing )"],
  ["ab)", 2, "unexpected )"],
  ["*a", 0, "missing argument to repetition operator `*`"],
  ["a|*", 2, "missing argument to repetition operator `*`"],
  ["(*)", 1, "missing argument to repetition operator `*`"],
  ["{2}", 0, "missing argument to repetition operator `{2}`"],
  ["a**", 1, "invalid nested repetition operator `**`"],
  ["a+?*", 1, "invalid nested repetition operator `+?*`"],
  ["a{2}{3}", 1, "invalid nested repetition operator `{2}{3}`"],
  ["[z-a]", 1, "invalid character class range `z-a`"],
  ["\\q", 0, "invalid escape sequence `\\q`"],
  ["[\\q]", 1, "invalid escape sequence `\\q`"],
  ["\\8", 0, "backreference"],
  ["\\x{110000}", 0, "invalid escape sequence `\\x{110000}`"],
  ["\\xZZ", 0, "invalid escape sequence"],
  ["\\x{}", 0, "invalid escape sequence"],
  ["\\é", 0, "invalid escape sequence"],
  ["[abc", 0, "missing closing ]"],
  ["x[]", 1, "missing closing ]"],
  ["[a-", 0, "missing closing ]"],
  ["ab\\", 2, "trailing backslash"],
  ["a{1001}", 1, "repeat count in `{1001}` exceeds RE2's limit of 1000"],
  ["a{2,1001}", 1, "exceeds RE2's limit of 1000"],
  ["a{1001,}", 1, "exceeds RE2's limit of 1000"],
  ["a{3,2}", 1, "invalid repeat count `{3,2}`"],
  ["\\p{Foo}", 0, "unknown Unicode class `\\p{Foo}`"],
  ["\\pX", 0, "unknown Unicode class `\\pX`"],
  ["\\p{Han", 0, "missing closing }"],
  ["\\p{Hani}", 0, "unknown Unicode class"],
  ["\\p{Script=Han}", 0, "unknown Unicode class"],
  ["[[:foo:]]", 1, "unknown POSIX class `[:foo:]`"],
  ["(?x)a", 2, "flag `x` is not supported (RE2 flags are i, m, s and U)"],
  ["(?i-)a", 0, "- must be followed by a flag"],
  ["(?i-m-s)a", 0, "more than one -"],
  ["(?i", 0, "missing closing )"],
  ["(?P<>a)", 0, "invalid named capture"],
  ["(?P<a-b>x)", 0, "invalid named capture"],
  ["(?P<n", 0, "invalid named capture"],
  ["(?*a)", 0, "invalid or unsupported group syntax"],
];

describe("regex: refused patterns", () => {
  it.each(REFUSED)("%j refused at %i: %s", (pattern, offset, message) => {
    expect(probe.compile([pattern])).toBe(false);
    expect(probe.errorIndex()).toBe(0);
    expect(probe.errorMessage()).toContain(message);
    expect(probe.errorOffset()).toBe(offset);
  });

  it("names the pattern that failed", () => {
    expect(probe.compile(["ok", "fine", "(?=x)", "(?<=y)"])).toBe(false);
    expect(probe.errorIndex()).toBe(2);
    expect(probe.errorMessage()).toContain("lookahead");
  });

  it("refuses a program over the instruction budget, naming the budget", () => {
    expect(probe.compile(["(?:(?:a{1000}){1000}){1000}"])).toBe(false);
    expect(probe.errorMessage()).toContain("50000 instructions");
    const many = Array.from({ length: 60 }, () => "x{1000}");
    expect(probe.compile(many)).toBe(false);
    expect(probe.errorMessage()).toContain("50000 instructions");
    expect(probe.errorIndex()).toBeGreaterThan(40);
    expect(probe.errorIndex()).toBeLessThan(60);
    compileOk(Array.from({ length: 40 }, () => "x{1000}"));
  });

  it("refuses class data and pattern sizes over their budgets", () => {
    let distinct = "";
    for (let i = 0; i < 400; i++) distinct += `[\\p{L}\\x{${(0x1f300 + i).toString(16)}}]`;
    expect(probe.compile([distinct])).toBe(false);
    expect(probe.errorMessage()).toContain("character classes too large");
    // the same class many times is stored once
    compileOk(["\\p{L}".repeat(3000)]);
    expect(probe.compile(["a".repeat(60_000)])).toBe(false);
    expect(probe.errorMessage()).toContain("pattern too large");
    compileOk(["a".repeat(40_000)]);
  });

  it("bounds group nesting at 1000", () => {
    const ok = "(".repeat(1000) + "a" + ")".repeat(1000);
    expect(firstMatch([ok], "xa")).toBe(0);
    const deep = "(".repeat(1001) + "a" + ")".repeat(1001);
    expect(probe.compile([deep])).toBe(false);
    expect(probe.errorMessage()).toContain("nested deeper than the limit of 1000");
    expect(probe.errorOffset()).toBe(1000);
    const unclosed = "(?:".repeat(100000);
    expect(probe.compile([unclosed])).toBe(false);
  });

  it("never traps on junk patterns", () => {
    const pieces = ["(", ")", "[", "]", "{", "}", "*", "+", "?", "|", "\\", "^", "$", ".", "-", ":", "<", ">", "=", "!", "P", "a", "1", ",", "#", "Q", "E", "p", "x", "\ud800"];
    let compiled = 0;
    for (const a of pieces) {
      for (const b of pieces) {
        for (const c of pieces) {
          if (probe.compile([a + b + c])) {
            compiled++;
            probe.firstMatch("a1(x)[]{}\n" + a + b + c);
          } else {
            expect(probe.errorMessage().length).toBeGreaterThan(0);
          }
        }
      }
    }
    expect(compiled).toBeGreaterThan(1000);
  });
});

describe("regex: linear time on pathological patterns", () => {
  const N = 100_000;
  it.each([
    ["(a+)+$", "a".repeat(N) + "b", -1],
    ["(a+)+$", "a".repeat(N), 0],
    ["(a|aa)*c", "a".repeat(N), -1],
    ["(a|aa)*c", "a".repeat(N) + "c", 0],
    ["(x+x+)+y", "x".repeat(N), -1],
    ["(x+x+)+y", "x".repeat(N) + "y", 0],
    ["^(a*)*$", "a".repeat(N) + "!", -1],
    ["(?:a?){30}a{30}$", "a".repeat(N) + "b", -1],
    ["(.*a){12}", "a".repeat(N - 1) + "b", 0],
    ["(?i)(\\w+\\s*)+=$", "word ".repeat(N / 5), -1],
  ] as [string, string, number][])("%j over %#", (pattern, text, expected) => {
    expect(firstMatch([pattern], text)).toBe(expected);
    expect(probe.firstMatch(text)).toBe(expected); // again, with the DFA cache warm
  });

  it("runs a set of pathological patterns together", () => {
    const text = "a".repeat(N) + "b";
    expect(firstMatch(["(a+)+$", "(a|aa)*c", "(x+x+)+y", "a{1000}b"], text)).toBe(3);
  });
});

// ---- differential test against Node's RegExp (flag u), over the syntax both share


describe("regex: differential against Node's RegExp", () => {
  it("agrees on 1,500 random patterns x 6 texts (fixed seed)", () => {
    const rand = seededRandom(20240611);
    let compared = 0;
    const failures: string[] = [];
    for (let i = 0; i < 1500; i++) {
      const [goFlags, jsFlags] = FLAG_SETS[i % FLAG_SETS.length]!;
      const g = makeGenerator(rand, jsFlags.includes("i"))();
      const re = new RegExp(g.js, "u" + jsFlags);
      compileOk([goFlags + g.go]);
      for (let k = 0; k < 6; k++) {
        const text = randomText(rand);
        const ours = probe.firstMatch(text) === 0;
        const nfa = probe.firstMatchNFA(text) === 0;
        const node = re.test(text);
        compared++;
        if ((ours !== node || nfa !== node) && failures.length < 10) {
          failures.push(`${JSON.stringify(goFlags + g.go)} on ${JSON.stringify(text)}: DFA ${ours}, NFA ${nfa}, RegExp ${node}`);
        }
      }
    }
    expect(failures).toEqual([]);
    expect(compared).toBeGreaterThanOrEqual(5000);
  });

  it("agrees on firstMatch over 300 random sets of 4 patterns", () => {
    const rand = seededRandom(7);
    const failures: string[] = [];
    for (let i = 0; i < 300; i++) {
      const gen = makeGenerator(rand, false);
      const pats = [gen(), gen(), gen(), gen()];
      const res = pats.map((p) => new RegExp(p.js, "u"));
      compileOk(pats.map((p) => p.go));
      for (let k = 0; k < 4; k++) {
        const text = randomText(rand) + randomText(rand);
        const expected = res.findIndex((re) => re.test(text));
        const ours = probe.firstMatch(text);
        if ((ours !== expected || probe.firstMatchNFA(text) !== expected) && failures.length < 10) {
          failures.push(`${JSON.stringify(pats.map((p) => p.go))} on ${JSON.stringify(text)}: ours ${ours}, RegExp ${expected}`);
        }
      }
    }
    expect(failures).toEqual([]);
  });
});
