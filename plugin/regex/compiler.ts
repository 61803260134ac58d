// Syntax trees -> one Thompson NFA program for the whole pattern set; pattern i ends in Match(i).
// Iterative (explicit task and fragment stacks). Counted repeats are expanded into copies, so the
// instruction budget is checked before any expansion is queued.
import { AssertFlag, Node, NodeKind } from "./ast";
import { MAX_RUNE, normalizeRanges } from "./charclass";
import { Op, Program } from "./program";

export const MAX_PROGRAM_SIZE: i32 = 50000;

export class CompileOutcome {
  program: Program | null = null;
  /** On failure: the pattern being compiled and why. */
  patternIndex: i32 = 0;
  message: string = "";
}

export function compileProgram(roots: Array<Node>): CompileOutcome {
  const b = new Builder();
  const outcome = new CompileOutcome();
  const starts = new StaticArray<i32>(roots.length);
  const anchored = new StaticArray<u8>(roots.length);
  for (let i = 0; i < roots.length; i++) {
    const root = roots[i];
    const start = b.compilePattern(root, i);
    if (start < 0) {
      outcome.patternIndex = i;
      outcome.message = b.overBudget
        ? "pattern set too large: the compiled program exceeds the budget of " +
          MAX_PROGRAM_SIZE.toString() + " instructions"
        : "internal error while compiling the pattern";
      return outcome;
    }
    starts[i] = start;
    anchored[i] = isStartAnchored(root) ? 1 : 0;
  }
  const prog = b.finish(starts, anchored);
  if (!prog.validate()) {
    outcome.patternIndex = 0;
    outcome.message = "internal error: the compiled program is inconsistent";
    return outcome;
  }
  outcome.program = prog;
  return outcome;
}

/** True when every match must begin at the start of the text (\A, or ^ without (?m), first). */
function isStartAnchored(root: Node): bool {
  let n = root;
  while (true) {
    if (n.kind == NodeKind.Assert) return n.value == AssertFlag.BeginText;
    if (n.kind != NodeKind.Concat || n.subs.length == 0) return false;
    n = n.subs[0];
  }
  return false;
}

/** Number of copies of the repeated expression a Repeat node expands into. */
function repeatCopies(n: Node): i32 {
  if (n.max < 0) return n.min == 0 ? 1 : n.min;
  return n.max;
}

// A fragment is a partly built piece of program: its entry instruction and the list of its
// dangling exits. The list is threaded through the unfilled out/arg fields themselves; an entry
// is pc * 2 (the out field) or pc * 2 + 1 (the arg field of a Split), -1 ends the list.

class Builder {
  op: Array<i32> = [];
  out: Array<i32> = [];
  arg: Array<i32> = [];
  pat: Array<i32> = [];
  classStart: Array<i32> = [0];
  classRanges: Array<i32> = [];
  classAscii: Array<u32> = [];
  /** Class index by range list identity (the parser shares equal lists). */
  classIds: Map<usize, i32> = new Map<usize, i32>();

  currentPattern: i32 = 0;
  overBudget: bool = false;
  broken: bool = false;

  fStart: Array<i32> = [];
  fHead: Array<i32> = [];
  fTail: Array<i32> = [];

  tNode: Array<Node> = [];
  tFinish: Array<bool> = [];
  pendingEnter: i32 = 0;

  emit(op: i32, out: i32, arg: i32): i32 {
    const pc = this.op.length;
    this.op.push(op);
    this.out.push(out);
    this.arg.push(arg);
    this.pat.push(this.currentPattern);
    if (this.op.length > MAX_PROGRAM_SIZE) this.overBudget = true;
    return pc;
  }

  addClass(ranges: Array<i32>): i32 {
    const index = this.classStart.length - 1;
    let w0: u32 = 0, w1: u32 = 0, w2: u32 = 0, w3: u32 = 0;
    for (let i = 0; i + 1 < ranges.length; i += 2) {
      const lo = ranges[i];
      const hi = ranges[i + 1];
      this.classRanges.push(lo);
      this.classRanges.push(hi);
      for (let c = lo; c <= hi && c < 128; c++) {
        const bit: u32 = 1 << u32(c & 31);
        if (c < 32) w0 |= bit;
        else if (c < 64) w1 |= bit;
        else if (c < 96) w2 |= bit;
        else w3 |= bit;
      }
    }
    this.classAscii.push(w0);
    this.classAscii.push(w1);
    this.classAscii.push(w2);
    this.classAscii.push(w3);
    this.classStart.push(this.classRanges.length >> 1);
    return index;
  }

  // ---- patch lists

  setField(entry: i32, value: i32): i32 {
    const pc = entry >> 1;
    if (pc < 0 || pc >= this.op.length) {
      this.broken = true;
      return -1;
    }
    let old: i32;
    if ((entry & 1) == 0) {
      old = this.out[pc];
      this.out[pc] = value;
    } else {
      old = this.arg[pc];
      this.arg[pc] = value;
    }
    return old;
  }

  patch(head: i32, target: i32): void {
    let e = head;
    let guard = this.op.length * 2 + 2;
    while (e >= 0 && guard-- > 0 && !this.broken) e = this.setField(e, target);
  }

  // ---- fragment stack

  pushFrag(start: i32, head: i32, tail: i32): void {
    this.fStart.push(start);
    this.fHead.push(head);
    this.fTail.push(tail);
  }

  /** Fragment of one instruction whose out field is its only exit. */
  pushSingle(op: i32, arg: i32): void {
    const pc = this.emit(op, -1, arg);
    this.pushFrag(pc, pc * 2, pc * 2);
  }

  dropFrags(count: i32): void {
    const n = this.fStart.length - count;
    this.fStart.length = n;
    this.fHead.length = n;
    this.fTail.length = n;
  }

  // ---- tasks

  pushTask(node: Node, finish: bool): void {
    this.tNode.push(node);
    this.tFinish.push(finish);
    if (!finish) this.pendingEnter++;
  }

  /** Queues `count` children, refusing when the program would certainly exceed the budget. */
  canQueue(count: i32): bool {
    // Every queued subtree emits at least one instruction.
    if (this.op.length + this.pendingEnter + count > MAX_PROGRAM_SIZE) {
      this.overBudget = true;
      return false;
    }
    return true;
  }

  /** Compiles one pattern; returns its entry pc, or -1 (overBudget or broken). */
  compilePattern(root: Node, index: i32): i32 {
    this.currentPattern = index;
    this.dropFrags(this.fStart.length);
    this.tNode.length = 0;
    this.tFinish.length = 0;
    this.pendingEnter = 0;
    if (!this.canQueue(1)) return -1;
    this.pushTask(root, false);
    while (this.tNode.length > 0) {
      const node = this.tNode.pop();
      const finish = this.tFinish.pop();
      if (finish) {
        this.finishNode(node);
      } else {
        this.pendingEnter--;
        this.enterNode(node);
      }
      if (this.overBudget || this.broken) return -1;
    }
    if (this.fStart.length != 1) {
      this.broken = true;
      return -1;
    }
    const match = this.emit(Op.Match, 0, index);
    this.patch(this.fHead[0], match);
    const start = this.fStart[0];
    this.dropFrags(1);
    if (this.overBudget || this.broken) return -1;
    return start;
  }

  enterNode(n: Node): void {
    switch (n.kind) {
      case NodeKind.EmptyMatch:
        this.pushSingle(Op.Nop, 0);
        return;
      case NodeKind.NoMatch: {
        const pc = this.emit(Op.Fail, 0, 0);
        this.pushFrag(pc, -1, -1);
        return;
      }
      case NodeKind.Literal:
        this.pushSingle(Op.Rune, n.value);
        return;
      case NodeKind.Class: {
        const r = n.ranges;
        if (r == null || r.length == 0) {
          const pc = this.emit(Op.Fail, 0, 0);
          this.pushFrag(pc, -1, -1);
        } else if (r.length == 2 && r[0] == 0 && r[1] >= MAX_RUNE) {
          this.pushSingle(Op.Any, 0);
        } else if (r.length == 2 && r[0] == r[1]) {
          this.pushSingle(Op.Rune, r[0]);
        } else {
          const key = changetype<usize>(r);
          let id: i32;
          if (this.classIds.has(key)) {
            id = this.classIds.get(key);
          } else {
            id = this.addClass(r);
            this.classIds.set(key, id);
          }
          this.pushSingle(Op.Class, id);
        }
        return;
      }
      case NodeKind.AnyChar:
        this.pushSingle(Op.Any, 0);
        return;
      case NodeKind.AnyNotNL:
        this.pushSingle(Op.AnyNotNL, 0);
        return;
      case NodeKind.Assert:
        this.pushSingle(Op.Assert, n.value);
        return;
      case NodeKind.Concat:
      case NodeKind.Alternate: {
        const k = n.subs.length;
        if (k == 0) {
          if (n.kind == NodeKind.Concat) this.pushSingle(Op.Nop, 0);
          else this.pushFrag(this.emit(Op.Fail, 0, 0), -1, -1);
          return;
        }
        if (!this.canQueue(k)) return;
        this.pushTask(n, true);
        for (let i = k - 1; i >= 0; i--) this.pushTask(n.subs[i], false);
        return;
      }
      case NodeKind.Repeat: {
        const copies = repeatCopies(n);
        if (copies == 0 || n.subs.length != 1) {
          this.pushSingle(Op.Nop, 0);
          return;
        }
        if (!this.canQueue(copies)) return;
        this.pushTask(n, true);
        const sub = n.subs[0];
        for (let i = 0; i < copies; i++) this.pushTask(sub, false);
        return;
      }
    }
    this.broken = true;
  }

  finishNode(n: Node): void {
    const top = this.fStart.length;
    if (n.kind == NodeKind.Concat) {
      const k = n.subs.length;
      const base = top - k;
      if (base < 0) {
        this.broken = true;
        return;
      }
      for (let i = base; i + 1 < top; i++) this.patch(this.fHead[i], this.fStart[i + 1]);
      const start = this.fStart[base];
      const head = this.fHead[top - 1];
      const tail = this.fTail[top - 1];
      this.dropFrags(k);
      this.pushFrag(start, head, tail);
      return;
    }
    if (n.kind == NodeKind.Alternate) {
      const k = n.subs.length;
      const base = top - k;
      if (base < 0 || k < 2) {
        this.broken = true;
        return;
      }
      const first = this.op.length;
      for (let i = 0; i + 1 < k; i++) {
        const other = i + 2 < k ? first + i + 1 : this.fStart[base + k - 1];
        this.emit(Op.Split, this.fStart[base + i], other);
      }
      let head = -1;
      let tail = -1;
      for (let i = base; i < top; i++) {
        if (this.fHead[i] < 0) continue;
        if (head < 0) head = this.fHead[i];
        else this.setField(tail, this.fHead[i]);
        tail = this.fTail[i];
      }
      this.dropFrags(k);
      this.pushFrag(first, head, tail);
      return;
    }
    if (n.kind == NodeKind.Repeat) {
      this.finishRepeat(n, top);
      return;
    }
    this.broken = true;
  }

  finishRepeat(n: Node, top: i32): void {
    const copies = repeatCopies(n);
    const base = top - copies;
    if (base < 0 || copies < 1) {
      this.broken = true;
      return;
    }
    const min = n.min;
    if (n.max < 0) {
      // x* = L: split(x, exit), x -> L.   x{n,} = x{n-1} followed by x+ (x -> split(x, exit)).
      const last = top - 1;
      for (let i = base; i < last; i++) this.patch(this.fHead[i], this.fStart[i + 1]);
      const loop = this.emit(Op.Split, this.fStart[last], -1);
      this.patch(this.fHead[last], loop);
      const start = min == 0 ? loop : this.fStart[base];
      this.dropFrags(copies);
      this.pushFrag(start, loop * 2 + 1, loop * 2 + 1);
      return;
    }
    // x{n,m}: n required copies, then m-n nested optional copies: x(x(x)?)?
    let optStart = -1;
    let optHead = -1;
    let optTail = -1;
    for (let j = top - 1; j >= base + min; j--) {
      if (optStart >= 0) this.patch(this.fHead[j], optStart);
      const q = this.emit(Op.Split, this.fStart[j], -1);
      const qEntry = q * 2 + 1;
      if (optStart < 0) {
        // innermost: exits are x's exits plus the split's skip edge
        if (this.fHead[j] >= 0) {
          optHead = this.fHead[j];
          this.setField(this.fTail[j], qEntry);
        } else {
          optHead = qEntry;
        }
        optTail = qEntry;
      } else {
        this.setField(optTail, qEntry);
        optTail = qEntry;
      }
      optStart = q;
    }
    let start = optStart;
    let head = optHead;
    let tail = optTail;
    if (min > 0) {
      const lastReq = base + min - 1;
      for (let i = base; i < lastReq; i++) this.patch(this.fHead[i], this.fStart[i + 1]);
      start = this.fStart[base];
      if (optStart >= 0) {
        this.patch(this.fHead[lastReq], optStart);
      } else {
        head = this.fHead[lastReq];
        tail = this.fTail[lastReq];
      }
    }
    this.dropFrags(copies);
    this.pushFrag(start, head, tail);
  }

  finish(starts: StaticArray<i32>, anchored: StaticArray<u8>): Program {
    const first = this.firstCharRanges(starts);
    const firstClass = first != null ? this.addClass(first) : -1;
    const prog = new Program(
      StaticArray.fromArray<i32>(this.op),
      StaticArray.fromArray<i32>(this.out),
      StaticArray.fromArray<i32>(this.arg),
      StaticArray.fromArray<i32>(this.pat),
      StaticArray.fromArray<i32>(this.classStart),
      StaticArray.fromArray<i32>(this.classRanges),
      StaticArray.fromArray<u32>(this.classAscii),
      starts,
      anchored,
    );
    prog.firstClass = firstClass;
    return prog;
  }

  /**
   * Union of the code points any pattern can consume first, assuming every assertion holds;
   * null when some pattern can match without consuming or can start with any character.
   */
  firstCharRanges(starts: StaticArray<i32>): Array<i32> | null {
    const n = this.op.length;
    const seen = new StaticArray<bool>(n);
    const seenClass = new StaticArray<bool>(this.classStart.length);
    const stack = new Array<i32>();
    const ranges = new Array<i32>();
    for (let p = 0; p < starts.length; p++) stack.push(starts[p]);
    while (stack.length > 0) {
      const pc = stack.pop();
      if (pc < 0 || pc >= n || seen[pc]) continue;
      seen[pc] = true;
      switch (this.op[pc]) {
        case Op.Split:
          stack.push(this.out[pc]);
          stack.push(this.arg[pc]);
          break;
        case Op.Nop:
        case Op.Assert:
          stack.push(this.out[pc]);
          break;
        case Op.Rune:
          ranges.push(this.arg[pc]);
          ranges.push(this.arg[pc]);
          break;
        case Op.Class: {
          const c = this.arg[pc];
          if (c < 0 || c + 1 >= this.classStart.length) return null;
          if (seenClass[c]) break;
          seenClass[c] = true;
          for (let k = this.classStart[c]; k < this.classStart[c + 1]; k++) {
            ranges.push(this.classRanges[2 * k]);
            ranges.push(this.classRanges[2 * k + 1]);
          }
          break;
        }
        case Op.Fail:
          break;
        default:
          return null; // Match, Any, AnyNotNL
      }
    }
    return normalizeRanges(ranges);
  }
}
