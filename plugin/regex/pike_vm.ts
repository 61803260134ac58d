// Thompson NFA simulation ("Pike VM" without captures): all patterns advance together over the
// text one code point at a time, so the work is O(text length x program size) whatever the
// pattern. Every buffer is allocated once per PatternSet; the loop itself allocates nothing.
import { Op, Program } from "./program";
import { SparseSet, addClosure, contextFlags } from "./threads";

/** Code point at UTF-16 index q (surrogate pairs combined, lone surrogates as is); -1 at the end. */
@inline export function decodeAt(base: usize, len: i32, q: i32): i32 {
  if (q >= len) return -1;
  const c = i32(load<u16>(base + (usize(q) << 1)));
  if ((c & 0xfc00) == 0xd800 && q + 1 < len) {
    const d = i32(load<u16>(base + (usize(q + 1) << 1)));
    if ((d & 0xfc00) == 0xdc00) return 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00);
  }
  return c;
}

/** Code point ending just before UTF-16 index q (q > 0). */
@inline function decodeBefore(base: usize, q: i32): i32 {
  const c = i32(load<u16>(base + (usize(q - 1) << 1)));
  if ((c & 0xfc00) == 0xdc00 && q >= 2) {
    const h = i32(load<u16>(base + (usize(q - 2) << 1)));
    if ((h & 0xfc00) == 0xd800) return 0x10000 + ((h - 0xd800) << 10) + (c - 0xdc00);
  }
  return c;
}

@inline export function widthOf(cp: i32): i32 {
  return cp >= 0x10000 ? 2 : 1;
}

export class PikeVM {
  prog: Program;
  private clist: SparseSet;
  private nlist: SparseSet;
  private stack: StaticArray<i32>;

  constructor(prog: Program) {
    this.prog = prog;
    const n = prog.length;
    this.clist = new SparseSet(n);
    this.nlist = new SparseSet(n);
    this.stack = new StaticArray<i32>(n);
  }

  /** Lowest index of a pattern matching anywhere in text, or -1. */
  firstMatch(text: string): i32 {
    return this.search(text, 0, null, this.prog.patternCount);
  }

  /**
   * firstMatch, resumed at UTF-16 index `from` (0 <= from <= length, on a code point boundary)
   * with `seed` the pcs reached by consuming the code point before it, and only patterns below
   * `bestSoFar` still of interest. This is how a search the lazy DFA gave up on continues.
   */
  search(text: string, from: i32, seed: Array<i32> | null, bestSoFar: i32): i32 {
    const prog = this.prog;
    const count = prog.patternCount;
    if (count == 0) return -1;
    const ops = prog.op;
    const outs = prog.out;
    const pats = prog.pattern;
    const starts = prog.start;
    const anchored = prog.anchored;
    const filter = prog.firstClass;
    const firstUnanchored = prog.firstUnanchored;
    const hasAsserts = prog.hasAsserts;
    const stack = this.stack;
    const len = text.length;
    const base = changetype<usize>(text);

    let clist = this.clist;
    let nlist = this.nlist;
    clist.size = 0;
    nlist.size = 0;
    let best = bestSoFar < count ? bestSoFar : count;

    let p = from > 0 ? (from < len ? from : len) : 0;
    let prev = p > 0 ? decodeBefore(base, p) : -1;
    let cur = decodeAt(base, len, p);
    if (seed != null) {
      const flags = hasAsserts ? contextFlags(prev, cur) : 0;
      for (let i = 0; i < seed.length; i++) {
        const pc = seed[i];
        if (u32(pc) < u32(prog.length)) best = addClosure(prog, clist, stack, pc, flags, best);
      }
    }
    while (true) {
      if (clist.size == 0) {
        if (filter >= 0) {
          // Nothing in flight: jump to the next code point that can begin a match.
          while (cur >= 0 && !prog.inClass(filter, cur)) {
            prev = cur;
            p += widthOf(cur);
            cur = decodeAt(base, len, p);
          }
          if (cur < 0) break; // the filter implies no pattern matches the empty string
        }
        if (p > 0 && firstUnanchored >= best) break;
      }
      const flags = hasAsserts ? contextFlags(prev, cur) : 0;
      for (let i = 0; i < best; i++) {
        if (p > 0 && unchecked(anchored[i]) != 0) continue;
        const st = unchecked(starts[i]);
        if (clist.has(st)) continue;
        if (unchecked(ops[st]) <= Op.AnyNotNL) clist.insert(st); // consuming: closure is itself
        else best = addClosure(prog, clist, stack, st, flags, best);
      }
      if (best == 0) return 0;
      if (cur < 0) break;

      const p2 = p + widthOf(cur);
      const next = decodeAt(base, len, p2);
      const flags2 = hasAsserts ? contextFlags(cur, next) : 0;
      const dense = clist.dense;
      for (let j = 0; j < clist.size; j++) {
        const pc = unchecked(dense[j]);
        // Threads of patterns at or above the best match so far cannot improve the answer.
        if (unchecked(pats[pc]) >= best) continue;
        if (!prog.consumes(pc, cur)) continue;
        const t = unchecked(outs[pc]);
        if (nlist.has(t)) continue;
        if (unchecked(ops[t]) <= Op.AnyNotNL) nlist.insert(t); // consuming: closure is itself
        else best = addClosure(prog, nlist, stack, t, flags2, best);
      }
      const t = clist;
      clist = nlist;
      nlist = t;
      nlist.size = 0;
      if (best == 0) return 0;
      prev = cur;
      cur = next;
      p = p2;
    }
    return best < count ? best : -1;
  }
}
