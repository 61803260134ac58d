// The compiled form of a pattern set: one instruction list for all patterns (Thompson NFA),
// stored as parallel arrays. Every instruction belongs to exactly one pattern.

// The consuming ops come first: op <= Op.AnyNotNL means "consumes a code point".
export enum Op {
  Rune, // consume the code point `arg`
  Class, // consume a code point in class `arg`
  Any, // consume any code point
  AnyNotNL, // consume any code point but \n
  Split, // continue at both `out` and `arg`
  Assert, // continue at `out` when the AssertFlag `arg` holds here
  Nop, // continue at `out`
  Match, // pattern `arg` matched
  Fail, // dead end
}

export class Program {
  op: StaticArray<i32>;
  out: StaticArray<i32>;
  arg: StaticArray<i32>;
  /** Pattern index of each instruction. */
  pattern: StaticArray<i32>;

  /** Class c has ranges classRanges[2*classStart[c] ..< 2*classStart[c+1]] (lo, hi pairs). */
  classStart: StaticArray<i32>;
  classRanges: StaticArray<i32>;
  /** 128-bit ASCII membership bitmap per class: 4 words per class. */
  classAscii: StaticArray<u32>;

  /** Entry instruction of each pattern. */
  start: StaticArray<i32>;
  /** 1 when a pattern can only match at the start of the text (leading \A or ^ without (?m)). */
  anchored: StaticArray<u8>;
  /** Smallest index of a pattern that is not anchored (patternCount if none). */
  firstUnanchored: i32;
  /**
   * Class holding every code point that can begin a match of any pattern, or -1 when no such
   * filter is possible (some pattern can match without consuming, or can start with anything).
   */
  firstClass: i32;
  /** True when the program contains assertions (so positions need their context flags). */
  hasAsserts: bool;

  constructor(
    op: StaticArray<i32>,
    out: StaticArray<i32>,
    arg: StaticArray<i32>,
    pattern: StaticArray<i32>,
    classStart: StaticArray<i32>,
    classRanges: StaticArray<i32>,
    classAscii: StaticArray<u32>,
    start: StaticArray<i32>,
    anchored: StaticArray<u8>,
  ) {
    this.op = op;
    this.out = out;
    this.arg = arg;
    this.pattern = pattern;
    this.classStart = classStart;
    this.classRanges = classRanges;
    this.classAscii = classAscii;
    this.start = start;
    this.anchored = anchored;
    let first = anchored.length;
    for (let i = 0; i < anchored.length; i++) {
      if (anchored[i] == 0) {
        first = i;
        break;
      }
    }
    this.firstUnanchored = first;
    this.firstClass = -1;
    let asserts = false;
    for (let i = 0; i < op.length; i++) if (op[i] == Op.Assert) asserts = true;
    this.hasAsserts = asserts;
  }

  /** Class c contains cp (c < classCount and cp >= 0, which validate() and callers ensure). */
  @inline inClass(c: i32, cp: i32): bool {
    if (cp < 128) {
      return ((unchecked(this.classAscii[(c << 2) + (cp >> 5)]) >>> u32(cp & 31)) & 1) != 0;
    }
    const ranges = this.classRanges;
    let lo = unchecked(this.classStart[c]);
    let hi = unchecked(this.classStart[c + 1]);
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (cp < unchecked(ranges[mid << 1])) hi = mid;
      else if (cp > unchecked(ranges[(mid << 1) + 1])) lo = mid + 1;
      else return true;
    }
    return false;
  }

  /** Whether the consuming instruction at pc accepts cp (false for non-consuming ones). */
  @inline consumes(pc: i32, cp: i32): bool {
    switch (unchecked(this.op[pc])) {
      case Op.Rune:
        return unchecked(this.arg[pc]) == cp;
      case Op.Class:
        return this.inClass(unchecked(this.arg[pc]), cp);
      case Op.Any:
        return true;
      case Op.AnyNotNL:
        return cp != 0x0a;
    }
    return false;
  }

  get length(): i32 {
    return this.op.length;
  }

  get patternCount(): i32 {
    return this.start.length;
  }

  get classCount(): i32 {
    return this.classStart.length - 1;
  }

  /**
   * Checks every index the matcher will follow, so that it can use unchecked loads. A failure
   * means a compiler bug; the caller reports it as an error instead of trapping later.
   */
  validate(): bool {
    const n = this.op.length;
    if (this.out.length != n || this.arg.length != n || this.pattern.length != n) return false;
    const classes = this.classStart.length - 1;
    if (classes < 0 || this.classAscii.length != 4 * classes) return false;
    if (this.classStart[0] != 0) return false;
    for (let c = 0; c < classes; c++) {
      if (this.classStart[c + 1] < this.classStart[c]) return false;
    }
    if (2 * this.classStart[classes] != this.classRanges.length) return false;
    const patterns = this.start.length;
    if (this.anchored.length != patterns) return false;
    for (let p = 0; p < patterns; p++) {
      if (u32(this.start[p]) >= u32(n)) return false;
    }
    if (this.firstClass >= classes) return false;
    for (let pc = 0; pc < n; pc++) {
      const op = this.op[pc];
      const out = this.out[pc];
      const arg = this.arg[pc];
      if (u32(this.pattern[pc]) >= u32(patterns)) return false;
      switch (op) {
        case Op.Rune:
        case Op.Any:
        case Op.AnyNotNL:
        case Op.Nop:
        case Op.Assert:
          if (u32(out) >= u32(n)) return false;
          break;
        case Op.Class:
          if (u32(out) >= u32(n) || u32(arg) >= u32(classes)) return false;
          break;
        case Op.Split:
          if (u32(out) >= u32(n) || u32(arg) >= u32(n)) return false;
          break;
        case Op.Match:
          if (u32(arg) >= u32(patterns)) return false;
          break;
        case Op.Fail:
          break;
        default:
          return false;
      }
    }
    return true;
  }
}
