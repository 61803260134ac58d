// Pieces shared by the NFA simulation and the lazy DFA: pc sets and epsilon closure.
// Indexes are unchecked because Program.validate() proved every pc in range.
import { AssertFlag } from "./ast";
import { isWordChar } from "./charclass";
import { Op, Program } from "./program";

/** Set of pcs with O(1) insert, membership and clear (Briggs & Torczon sparse set). */
export class SparseSet {
  dense: StaticArray<i32>;
  sparse: StaticArray<i32>;
  size: i32 = 0;

  constructor(capacity: i32) {
    this.dense = new StaticArray<i32>(capacity);
    this.sparse = new StaticArray<i32>(capacity);
  }

  @inline has(pc: i32): bool {
    const i = unchecked(this.sparse[pc]);
    return u32(i) < u32(this.size) && unchecked(this.dense[i]) == pc;
  }

  /** pc must not be in the set yet, so size stays below capacity. */
  @inline insert(pc: i32): void {
    const i = this.size;
    unchecked((this.dense[i] = pc));
    unchecked((this.sparse[pc] = i));
    this.size = i + 1;
  }
}

/** Assertions that hold between code points prev and next (-1 = text edge). */
@inline export function contextFlags(prev: i32, next: i32): i32 {
  let f = 0;
  if (prev < 0) f |= AssertFlag.BeginText | AssertFlag.BeginLine;
  else if (prev == 0x0a) f |= AssertFlag.BeginLine;
  if (next < 0) f |= AssertFlag.EndText | AssertFlag.EndLine;
  else if (next == 0x0a) f |= AssertFlag.EndLine;
  f |= isWordChar(prev) != isWordChar(next) ? AssertFlag.WordBoundary : AssertFlag.NoWordBoundary;
  return f;
}

/**
 * Adds pc0 and every pc reachable from it without consuming input (assertions checked against
 * `flags`) to `set`. Returns the lowest of `best` and the patterns whose Match was reached.
 * `stack` needs room for the program length: each pc enters the set at most once.
 */
export function addClosure(prog: Program, set: SparseSet, stack: StaticArray<i32>, pc0: i32, flags: i32, best: i32): i32 {
  if (set.has(pc0)) return best;
  const ops = prog.op;
  const outs = prog.out;
  const args = prog.arg;
  set.insert(pc0);
  unchecked((stack[0] = pc0));
  let sp = 1;
  while (sp > 0) {
    const pc = unchecked(stack[--sp]);
    switch (unchecked(ops[pc])) {
      case Op.Split: {
        const a = unchecked(outs[pc]);
        if (!set.has(a)) {
          set.insert(a);
          unchecked((stack[sp++] = a));
        }
        const b = unchecked(args[pc]);
        if (!set.has(b)) {
          set.insert(b);
          unchecked((stack[sp++] = b));
        }
        break;
      }
      case Op.Assert:
        if ((unchecked(args[pc]) & flags) == 0) break;
      // fall through
      case Op.Nop: {
        const a = unchecked(outs[pc]);
        if (!set.has(a)) {
          set.insert(a);
          unchecked((stack[sp++] = a));
        }
        break;
      }
      case Op.Match: {
        const p = unchecked(args[pc]);
        if (p < best) best = p;
        break;
      }
    }
  }
  return best;
}
