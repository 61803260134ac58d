// Where patterns match, not only whether: the union of every match of every pattern, as disjoint
// spans. One pass over the text (the Pike VM with a start position per thread): when two threads
// reach the same instruction, the one that started earlier is kept, since everything the later one
// could still match lies inside what the earlier one would. So the work stays O(text x program).
// A scan can be told the text goes on (streams): matches that could still grow are then left
// undecided, and `settled` says up to where the spans are final.
import { Op, Program } from "./program";
import { SparseSet, contextFlags } from "./threads";
import { AssertFlag } from "./ast";
import { decodeAt, widthOf } from "./pike_vm";

/** Every assertion holds: used at the end of a text that goes on, where the next code point is unknown. */
const ANY_CONTEXT: i32 = AssertFlag.BeginText | AssertFlag.BeginLine | AssertFlag.EndText | AssertFlag.EndLine
  | AssertFlag.WordBoundary | AssertFlag.NoWordBoundary;

export class Spans {
  /** Disjoint, sorted, non-empty [start, end) UTF-16 ranges; touching matches are one span. */
  starts: Array<i32> = new Array<i32>();
  ends: Array<i32> = new Array<i32>();
  /** The lowest pattern index among the matches in each span. */
  patterns: Array<i32> = new Array<i32>();
  /**
   * Up to where the result is final: the text's length after a final scan; otherwise the start of
   * the earliest match that may still be under way (never inside a span: a span it would split
   * starts it instead). Spans from there on are found again when the text is scanned with more.
   */
  settled: i32 = 0;

  get length(): i32 {
    return this.starts.length;
  }

  clear(): void {
    this.starts.length = 0;
    this.ends.length = 0;
    this.patterns.length = 0;
    this.settled = 0;
  }

  /** Adds the match [start, end) of `pattern`; matches arrive in order of their end. */
  add(start: i32, end: i32, pattern: i32): void {
    let n = this.starts.length;
    let lowest = pattern;
    // An earlier span this one reaches (touching counts) merges into it.
    while (n > 0 && start <= unchecked(this.ends[n - 1])) {
      n--;
      if (unchecked(this.starts[n]) < start) start = unchecked(this.starts[n]);
      if (unchecked(this.patterns[n]) < lowest) lowest = unchecked(this.patterns[n]);
    }
    this.starts.length = n;
    this.ends.length = n;
    this.patterns.length = n;
    this.starts.push(start);
    this.ends.push(end);
    this.patterns.push(lowest);
  }
}

export class SpanVM {
  prog: Program;
  private clist: SparseSet;
  private nlist: SparseSet;
  /** Start position of the thread at each pc, for clist and nlist (indexed by pc). */
  private cstart: StaticArray<i32>;
  private nstart: StaticArray<i32>;
  private stack: StaticArray<i32>;
  // The leftmost match reached at the position being closed, and its pattern.
  private matchStart: i32 = 0;
  private matchPattern: i32 = 0;

  constructor(prog: Program) {
    this.prog = prog;
    const n = prog.length;
    this.clist = new SparseSet(n);
    this.nlist = new SparseSet(n);
    this.cstart = new StaticArray<i32>(n);
    this.nstart = new StaticArray<i32>(n);
    this.stack = new StaticArray<i32>(n);
  }

  /**
   * The spans of `text` into `out` (cleared first). `before` is the code point just before the text
   * (-1: none), `atStart` whether the text begins the whole input (`^` and `\A` hold there), `final`
   * whether it ends it (`$` and `\z` can hold at the end; otherwise matches that may go on are left
   * undecided: see Spans.settled).
   */
  scan(text: string, before: i32, atStart: bool, final: bool, out: Spans): void {
    out.clear();
    const prog = this.prog;
    const count = prog.patternCount;
    const len = text.length;
    out.settled = len;
    if (count == 0) return;
    const ops = prog.op;
    const outs = prog.out;
    const starts = prog.start;
    const anchored = prog.anchored;
    const filter = prog.firstClass;
    const hasAsserts = prog.hasAsserts;
    const base = changetype<usize>(text);

    let clist = this.clist;
    let nlist = this.nlist;
    let cstart = this.cstart;
    let nstart = this.nstart;
    clist.size = 0;
    nlist.size = 0;

    let p = 0;
    let prev = before;
    let cur = decodeAt(base, len, 0);
    while (true) {
      if (clist.size == 0 && filter >= 0) {
        while (cur >= 0 && !prog.inClass(filter, cur)) {
          prev = cur;
          p += widthOf(cur);
          cur = decodeAt(base, len, p);
        }
        if (cur < 0) break;
      }
      // New threads start here, after every thread already under way: the sets stay ordered by start.
      let flags = hasAsserts ? contextFlags(prev, cur) : 0;
      if (cur < 0 && !final) flags = ANY_CONTEXT;
      if (p > 0 || !atStart) flags &= ~AssertFlag.BeginText;
      if (hasAsserts && !atStart && prev < 0) flags &= ~AssertFlag.BeginLine;
      for (let i = 0; i < count; i++) {
        if (unchecked(anchored[i]) != 0 && (p > 0 || !atStart)) continue;
        const st = unchecked(starts[i]);
        if (clist.has(st)) continue;
        this.close(clist, cstart, st, p, flags);
      }
      if (cur < 0) break; // (matches reached here are empty: only the step below finds matches)

      const p2 = p + widthOf(cur);
      const next = decodeAt(base, len, p2);
      let flags2 = hasAsserts ? contextFlags(cur, next) : 0;
      if (next < 0 && !final) flags2 = ANY_CONTEXT & ~AssertFlag.BeginText;
      this.matchStart = -1;
      const dense = clist.dense;
      for (let j = 0; j < clist.size; j++) {
        const pc = unchecked(dense[j]);
        if (!prog.consumes(pc, cur)) continue;
        const t = unchecked(outs[pc]);
        if (nlist.has(t)) continue;
        this.close(nlist, nstart, t, unchecked(cstart[pc]), flags2);
      }
      // A match ending at the end of a text that goes on may still grow: it stays undecided.
      if (this.matchStart >= 0 && (next >= 0 || final)) out.add(this.matchStart, p2, this.matchPattern);
      const t = clist;
      clist = nlist;
      nlist = t;
      nlist.size = 0;
      const ts = cstart;
      cstart = nstart;
      nstart = ts;
      prev = cur;
      cur = next;
      p = p2;
    }
    if (final) return;
    let settled = len;
    const dense = clist.dense;
    for (let j = 0; j < clist.size; j++) {
      const s = unchecked(cstart[unchecked(dense[j])]);
      if (s < settled) settled = s;
    }
    for (let i = out.length - 1; i >= 0; i--) {
      if (unchecked(out.ends[i]) <= settled) break;
      if (unchecked(out.starts[i]) < settled) settled = unchecked(out.starts[i]);
    }
    out.settled = settled;
  }

  /** Adds pc0 and what it reaches without consuming, all started at `start`; notes matches reached. */
  private close(set: SparseSet, startOf: StaticArray<i32>, pc0: i32, start: i32, flags: i32): void {
    if (set.has(pc0)) return;
    const prog = this.prog;
    const ops = prog.op;
    const outs = prog.out;
    const args = prog.arg;
    const stack = this.stack;
    set.insert(pc0);
    unchecked((startOf[pc0] = start));
    unchecked((stack[0] = pc0));
    let sp = 1;
    while (sp > 0) {
      const pc = unchecked(stack[--sp]);
      const op = unchecked(ops[pc]);
      let a = -1;
      let b = -1;
      if (op == Op.Split) {
        a = unchecked(outs[pc]);
        b = unchecked(args[pc]);
      } else if (op == Op.Nop || (op == Op.Assert && (unchecked(args[pc]) & flags) != 0)) {
        a = unchecked(outs[pc]);
      } else if (op == Op.Match) {
        const pattern = unchecked(args[pc]);
        if (this.matchStart < 0 || start < this.matchStart || (start == this.matchStart && pattern < this.matchPattern)) {
          this.matchStart = start;
          this.matchPattern = pattern;
        }
      }
      if (a >= 0 && !set.has(a)) {
        set.insert(a);
        unchecked((startOf[a] = start));
        unchecked((stack[sp++] = a));
      }
      if (b >= 0 && !set.has(b)) {
        set.insert(b);
        unchecked((startOf[b] = start));
        unchecked((stack[sp++] = b));
      }
    }
  }
}
