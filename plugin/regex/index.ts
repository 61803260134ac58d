// RE2-syntax (Go regexp) multi-pattern matcher with linear-time matching. No function in this
// module traps: bad patterns come back as RegexError values.
import { Node } from "./ast";
import { ClassInterner, MAX_CLASS_RANGES } from "./charclass";
import { parsePattern } from "./parser";
import { compileProgram } from "./compiler";
import { PikeVM } from "./pike_vm";
import { DFA_GAVE_UP, LazyDFA } from "./lazy_dfa";
import { normalizePatternLiterals } from "./literals";
import { SpanVM, Spans } from "./span_vm";

export { Spans } from "./span_vm";

export { MAX_PROGRAM_SIZE } from "./compiler";
export { MAX_ATOMS, MAX_NESTING, MAX_REPEAT } from "./parser";
export { MAX_CLASS_RANGES } from "./charclass";

/** Why a pattern was refused. */
export class RegexError {
  /** Index in the list given to compilePatternSet. */
  patternIndex: i32;
  /** UTF-16 offset (JS string index) in that pattern where the problem is. */
  offset: i32;
  message: string;

  constructor(patternIndex: i32, offset: i32, message: string) {
    this.patternIndex = patternIndex;
    this.offset = offset;
    this.message = message;
  }
}

export class CompileResult {
  /** Non-null when every pattern compiled. */
  set: PatternSet | null = null;
  /** The first error otherwise. */
  error: RegexError | null = null;
  /** With normalizeLiterals: some literal or class changed (else the plain set is the same). */
  literalsChanged: bool = false;
}

export class PatternSet {
  private vm: PikeVM;
  private dfa: LazyDFA;
  /** Made on first use: only sets that redact need match positions. */
  private spanVM: SpanVM | null = null;

  /** Use compilePatternSet. */
  constructor(vm: PikeVM, dfa: LazyDFA) {
    this.vm = vm;
    this.dfa = dfa;
  }

  get size(): i32 {
    return this.vm.prog.patternCount;
  }

  /**
   * Index of the lowest-numbered pattern that matches anywhere in `text` (unanchored search,
   * like Go's regexp.MatchString), or -1. One pass over the text for all patterns together.
   */
  firstMatch(text: string): i32 {
    const dfa = this.dfa;
    const r = dfa.firstMatch(text);
    if (r != DFA_GAVE_UP) return r;
    return this.vm.search(text, dfa.resumeAt, dfa.resumeState, dfa.resumeBest);
  }

  /**
   * Where the patterns match in `text`: the union of all their matches as disjoint spans (see
   * span_vm.ts for `before`, `atStart` and `final`). Linear in the text like firstMatch.
   */
  spans(text: string, out: Spans, before: i32 = -1, atStart: bool = true, final: bool = true): void {
    let vm = this.spanVM;
    if (vm == null) {
      vm = new SpanVM(this.vm.prog);
      this.spanVM = vm;
    }
    vm.scan(text, before, atStart, final, out);
  }

  /**
   * For a text that goes on: where a match may still be under way from, when none is complete in
   * it, found with the lazy DFA (a few loads per code point) instead of the span VM; the text's
   * length when nothing is under way at its end. -1 when some pattern matches in the text or the
   * DFA can't tell: use spans() then. `before` as for spans(); -1 is the start of the input.
   */
  idleFrom(text: string, before: i32): i32 {
    const r = this.dfa.lastIdle(text, before);
    return r == DFA_GAVE_UP ? -1 : r;
  }

  /** firstMatch without the DFA cache (for tests and comparisons). */
  firstMatchNFA(text: string): i32 {
    return this.vm.firstMatch(text);
  }
}

/**
 * Compiles `patterns` into one set. With `normalizeLiterals`, literal characters are normalized
 * as plugin/normalize normalizes text (see literals.ts), for matching normalized text.
 */
export function compilePatternSet(patterns: string[], normalizeLiterals: bool = false): CompileResult {
  const result = new CompileResult();
  const roots = new Array<Node>();
  const classes = new ClassInterner();
  for (let i = 0; i < patterns.length; i++) {
    const parsed = parsePattern(patterns[i], classes, normalizeLiterals);
    let node = parsed.node;
    if (node == null) {
      result.error = new RegexError(i, parsed.offset, parsed.message);
      return result;
    }
    if (normalizeLiterals) {
      const rewrite = normalizePatternLiterals(node, classes);
      if (rewrite.failed) {
        result.error = new RegexError(i, 0, "character classes too large: more than " + MAX_CLASS_RANGES.toString() + " distinct ranges in the pattern set");
        return result;
      }
      node = rewrite.root;
      if (rewrite.changed || parsed.classesChanged) result.literalsChanged = true;
    }
    roots.push(node);
  }
  const compiled = compileProgram(roots);
  const prog = compiled.program;
  if (prog == null) {
    result.error = new RegexError(compiled.patternIndex, 0, compiled.message);
    return result;
  }
  result.set = new PatternSet(new PikeVM(prog), new LazyDFA(prog));
  return result;
}
