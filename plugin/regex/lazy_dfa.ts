// Lazy DFA over the NFA program: DFA states (sets of NFA pcs) and their transitions are built
// on demand while scanning and cached per pattern set, so a warm scan costs a few loads per code
// point. Building a state costs about one Pike VM step, so the time stays linear either way.
//
// A state holds the pcs reached by consuming the previous code point, before their epsilon
// closure, plus the kind of that code point. The closure is taken when the next code point is
// known, because assertions ($, \b, ...) depend on both neighbours. Code points are grouped into
// classes that no instruction tells apart; transitions are per (state, class).
//
// When the cache fills up mid-search it is emptied and the search goes on from the current
// state. If that happens again too soon (states are being built faster than one per
// RESET_CHARS_PER_STATE code points) the search is handed to the Pike VM, which resumes from
// the current position and state (resumeAt, resumeState, resumeBest).
import { Op, Program } from "./program";
import { MAX_RUNE, isWordChar } from "./charclass";
import { AssertFlag } from "./ast";
import { SparseSet, addClosure } from "./threads";
import { decodeAt, widthOf } from "./pike_vm";

export const DFA_GAVE_UP: i32 = -3;

// What precedes a position, and what follows it: all an assertion can look at.
const PREV_BEGIN: i32 = 0;
const PREV_NEWLINE: i32 = 1;
const PREV_WORD: i32 = 2;
const PREV_OTHER: i32 = 3;
const NEXT_NEWLINE: i32 = 0;
const NEXT_WORD: i32 = 1;
const NEXT_OTHER: i32 = 2;
const NEXT_END: i32 = 3;

/** Bytes of transition rows, state lists and match slots one pattern set may cache (the state
 *  lookup map adds about half of the state lists again). */
const MEMORY_BUDGET: i32 = 2 << 20;
const MAX_STATES: i32 = 10000;
/** Below this many states per cache the DFA is not worth it (too many code point classes). */
const MIN_STATES: i32 = 64;
/** A cache reset must pay for itself with this many code points per state built since the last one. */
const RESET_CHARS_PER_STATE: i32 = 10;
/** After this many searches handed to the Pike VM the DFA is switched off for the pattern set. */
const MAX_GIVE_UPS: i32 = 3;

const UNKNOWN: i32 = -2;
const NO_MATCH: i32 = -1;
/**
 * Set on a cached transition whose source state matches before the code point it consumes, so the
 * scan reads the match slot only then: one load per code point on the common path. Row offsets
 * (see firstMatch) stay far below this bit (MEMORY_BUDGET).
 */
const MATCH_BIT: i32 = 1 << 30;
/** Above every class number: a DFA with 65536 classes or more has too few states to be enabled. */
const ASCII_SKIP: i32 = 1 << 16;
const CLASS_CACHE_SLOTS: i32 = 512;

function kindFlags(prev: i32, next: i32): i32 {
  let f = 0;
  if (prev == PREV_BEGIN) f |= AssertFlag.BeginText | AssertFlag.BeginLine;
  else if (prev == PREV_NEWLINE) f |= AssertFlag.BeginLine;
  if (next == NEXT_END) f |= AssertFlag.EndText | AssertFlag.EndLine;
  else if (next == NEXT_NEWLINE) f |= AssertFlag.EndLine;
  f |= (prev == PREV_WORD) != (next == NEXT_WORD) ? AssertFlag.WordBoundary : AssertFlag.NoWordBoundary;
  return f;
}

function nextKindOf(cp: i32): i32 {
  if (cp == 0x0a) return NEXT_NEWLINE;
  return isWordChar(cp) ? NEXT_WORD : NEXT_OTHER;
}

function compareI32(a: i32, b: i32): i32 {
  return i32(a > b) - i32(a < b);
}

export class LazyDFA {
  private prog: Program;
  enabled: bool = true;

  // Code point classes: class of cp = number of bounds <= cp.
  private bounds: StaticArray<i32>;
  /**
   * Per ASCII code point, its info: its class, with ASCII_SKIP set when it cannot begin a match (the
   * first-character filter) and then the empty state it leads to in bits 17 and up. Other code
   * points: infoOf, cached.
   */
  private asciiInfo: StaticArray<i32> = new StaticArray<i32>(128);
  private classLo: StaticArray<i32>;
  private cacheCp: StaticArray<i32> = new StaticArray<i32>(CLASS_CACHE_SLOTS).fill(-1);
  private cacheInfo: StaticArray<i32> = new StaticArray<i32>(CLASS_CACHE_SLOTS);
  private classNext: StaticArray<i32>;
  private classCount: i32;
  private maxStates: i32;

  // The cache.
  private ids: Map<string, i32> = new Map<string, i32>();
  private statePrev: Array<i32> = [];
  private listStart: Array<i32> = [];
  private listLen: Array<i32> = [];
  private pool: Array<i32> = [];
  /** classCount entries per state: next state's row offset (| MATCH_BIT, see above), or -1 while unknown. */
  private trans: Array<i32> = [];
  /** 4 entries per state, by NEXT_* kind: lowest pattern matching there, NO_MATCH or UNKNOWN. */
  private matchAt: Array<i32> = [];
  private giveUps: i32 = 0;

  /** Where a search that returned DFA_GAVE_UP stopped: UTF-16 index, pending pcs, best so far. */
  resumeAt: i32 = 0;
  resumeState: Array<i32> = [];
  resumeBest: i32 = 0;

  // Scratch space for building states.
  private set: SparseSet;
  private targets: SparseSet;
  private stack: StaticArray<i32>;
  private list: Array<i32> = [];

  constructor(prog: Program) {
    this.prog = prog;
    const n = prog.length;
    this.set = new SparseSet(n);
    this.targets = new SparseSet(n);
    this.stack = new StaticArray<i32>(n);

    const points = new Array<i32>();
    // \n and the ASCII word characters must get classes of their own for the assertions.
    points.push(0x0a);
    points.push(0x0b);
    points.push(0x30);
    points.push(0x3a);
    points.push(0x41);
    points.push(0x5b);
    points.push(0x5f);
    points.push(0x60);
    points.push(0x61);
    points.push(0x7b);
    for (let pc = 0; pc < n; pc++) {
      if (prog.op[pc] == Op.Rune) {
        points.push(prog.arg[pc]);
        points.push(prog.arg[pc] + 1);
      }
    }
    // Every class (the first-character filter too, harmlessly), each once.
    for (let r = 0; r < prog.classRanges.length; r += 2) {
      points.push(prog.classRanges[r]);
      points.push(prog.classRanges[r + 1] + 1);
    }
    points.sort(compareI32);
    const uniq = new Array<i32>();
    for (let i = 0; i < points.length; i++) {
      const v = points[i];
      if (v <= 0 || v > MAX_RUNE) continue;
      if (uniq.length == 0 || uniq[uniq.length - 1] != v) uniq.push(v);
    }
    this.bounds = StaticArray.fromArray<i32>(uniq);
    const k = uniq.length + 1;
    this.classCount = k;
    this.classLo = new StaticArray<i32>(k);
    this.classNext = new StaticArray<i32>(k);
    for (let c = 0; c < k; c++) {
      const lo = c == 0 ? 0 : uniq[c - 1];
      this.classLo[c] = lo;
      this.classNext[c] = nextKindOf(lo);
    }
    for (let cp = 0; cp < 128; cp++) this.asciiInfo[cp] = this.infoOf(cp);

    let states = MEMORY_BUDGET / (4 * (k + 4) + 64);
    if (states > MAX_STATES) states = MAX_STATES;
    this.maxStates = states;
    // State keys store pcs as UTF-16 units, which the instruction budget keeps below 65536.
    this.enabled = states >= MIN_STATES && prog.patternCount > 0 && n < 65536;
    this.reset();
  }

  /** The info (as asciiInfo's) of a non-ASCII code point, through a small direct-mapped cache. */
  @inline private cachedInfoOf(cp: i32): i32 {
    const slot = cp & (CLASS_CACHE_SLOTS - 1);
    if (unchecked(this.cacheCp[slot]) == cp) return unchecked(this.cacheInfo[slot]);
    const info = this.infoOf(cp);
    unchecked(this.cacheCp[slot] = cp);
    unchecked(this.cacheInfo[slot] = info);
    return info;
  }

  /** A code point's class, and ASCII_SKIP with the empty state it leads to when it can't begin a match. */
  private infoOf(cp: i32): i32 {
    const prog = this.prog;
    let info = this.classOf(cp);
    if (prog.firstClass >= 0 && !prog.inClass(prog.firstClass, cp)) {
      const empty = prog.hasAsserts ? (cp == 0x0a ? PREV_NEWLINE : isWordChar(cp) ? PREV_WORD : PREV_OTHER) : PREV_OTHER;
      info |= ASCII_SKIP | (empty << 17);
    }
    return info;
  }

  private classOf(cp: i32): i32 {
    const b = this.bounds;
    let lo = 0;
    let hi = b.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (unchecked(b[mid]) <= cp) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Empties the cache; states 0-3 are the empty states after each PREV_* kind. */
  private reset(): void {
    this.ids.clear();
    this.statePrev.length = 0;
    this.listStart.length = 0;
    this.listLen.length = 0;
    this.pool.length = 0;
    this.trans.length = 0;
    this.matchAt.length = 0;
    const saved = this.list;
    this.list = [];
    for (let kind = PREV_BEGIN; kind <= PREV_OTHER; kind++) this.intern(kind);
    this.list = saved;
    if (this.statePrev.length != 4) this.enabled = false; // cannot happen with MIN_STATES >= 4
  }

  /** Id of the state (prev, this.list), creating it; -1 when the cache is full. */
  private intern(prev: i32): i32 {
    const list = this.list;
    // pcs are below 65536 (checked in the constructor), so each fits one UTF-16 unit of the
    // key; the list is sorted, so equal pc sets get equal keys.
    const key = String.fromCharCode(prev) + String.fromCharCodes(list);
    if (this.ids.has(key)) return this.ids.get(key);
    const id = this.statePrev.length;
    const bytes = 4 * (this.trans.length + this.pool.length + this.matchAt.length + this.classCount + list.length + 4);
    if (id >= this.maxStates || bytes > MEMORY_BUDGET) return -1;
    this.statePrev.push(prev);
    this.listStart.push(this.pool.length);
    this.listLen.push(list.length);
    for (let i = 0; i < list.length; i++) this.pool.push(list[i]);
    for (let i = 0; i < this.classCount; i++) this.trans.push(-1);
    for (let i = 0; i < 4; i++) this.matchAt.push(UNKNOWN);
    this.ids.set(key, id);
    return id;
  }

  /** Sorts this.list, whose pcs are also the members of this.targets. */
  private sortList(): void {
    const list = this.list;
    const len = list.length;
    if (len <= 32) {
      for (let i = 1; i < len; i++) {
        const v = list[i];
        let j = i - 1;
        while (j >= 0 && list[j] > v) {
          list[j + 1] = list[j];
          j--;
        }
        list[j + 1] = v;
      }
      return;
    }
    let lo = list[0];
    let hi = lo;
    for (let i = 1; i < len; i++) {
      const v = list[i];
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
    if (hi - lo > 16 * len) {
      list.sort(compareI32);
      return;
    }
    // Dense enough: read the set back in pc order.
    const targets = this.targets;
    let w = 0;
    for (let pc = lo; pc <= hi && w < len; pc++) {
      if (targets.has(pc)) list[w++] = pc;
    }
  }

  /** A copy of state s's pending pcs. */
  private pendingOf(s: i32): Array<i32> {
    const out = new Array<i32>();
    const start = this.listStart[s];
    const end = start + this.listLen[s];
    for (let i = start; i < end; i++) out.push(this.pool[i]);
    return out;
  }

  /** Epsilon closure of state s (plus the pattern starts) before a code point of kind `next`. */
  private closure(s: i32, next: i32): void {
    const prog = this.prog;
    const count = prog.patternCount;
    const prev = this.statePrev[s];
    const flags = kindFlags(prev, next);
    const set = this.set;
    set.size = 0;
    let best = count;
    const start = this.listStart[s];
    const end = start + this.listLen[s];
    for (let i = start; i < end; i++) best = addClosure(prog, set, this.stack, this.pool[i], flags, best);
    for (let p = 0; p < count; p++) {
      if (prev == PREV_BEGIN || prog.anchored[p] == 0) {
        best = addClosure(prog, set, this.stack, prog.start[p], flags, best);
      }
    }
    this.matchAt[4 * s + next] = best < count ? best : NO_MATCH;
  }

  /** Builds the transition of state s on class cls (with MATCH_BIT); -1 when the cache is full. */
  private transition(s: i32, cls: i32): i32 {
    const prog = this.prog;
    const next = this.classNext[cls];
    this.closure(s, next);
    const c = this.classLo[cls];
    const set = this.set;
    const targets = this.targets;
    targets.size = 0;
    const list = this.list;
    list.length = 0;
    for (let j = 0; j < set.size; j++) {
      const pc = set.dense[j];
      if (prog.consumes(pc, c)) {
        const t = prog.out[pc];
        if (!targets.has(t)) {
          targets.insert(t);
          list.push(t);
        }
      }
    }
    this.sortList();
    let prev = PREV_OTHER;
    if (prog.hasAsserts) prev = next == NEXT_NEWLINE ? PREV_NEWLINE : next == NEXT_WORD ? PREV_WORD : PREV_OTHER;
    const ns = this.intern(prev);
    if (ns < 0) return ns;
    const row = (ns * this.classCount) << 2; // premultiplied: see firstMatch
    const t = this.matchAt[4 * s + next] >= 0 ? row | MATCH_BIT : row;
    this.trans[s * this.classCount + cls] = t;
    return t;
  }

  /** Like PikeVM.firstMatch, or DFA_GAVE_UP when the cache overflowed. */
  firstMatch(text: string): i32 {
    if (!this.enabled) return DFA_GAVE_UP;
    const prog = this.prog;
    const count = prog.patternCount;
    const firstUnanchored = prog.firstUnanchored;
    const k = this.classCount;
    const asciiInfo = this.asciiInfo;
    const classNext = this.classNext;
    const len = text.length;
    const base = changetype<usize>(text);
    // Raw row pointers; reloaded whenever a transition is built (the arrays may move).
    let trans = this.trans.dataStart;
    // The scan holds a state as the byte offset of its transition row (state * rowBytes), as the
    // transitions do: one add and one load per code point.
    const rowBytes = k << 2;
    const emptyLimit = 4 * rowBytes;
    let best = count;
    let s = 0;
    let p = 0;
    let resets = 0;
    let resetAt = 0;
    const asciiClasses = changetype<usize>(asciiInfo);
    while (p < len) {
      // The hot loop: ASCII code points through cached transitions, until a pattern matches (when
      // the early exit below starts to matter), a transition is missing or a code point isn't ASCII.
      // Every branch in it is predictable; skipping the code points that can't begin a match, as
      // the loop below does, costs more than it saves in prose (the skip decision follows the text).
      if (best == count) {
        while (p < len) {
          const c = u32(load<u16>(base + (usize(p) << 1)));
          if (c >= 128) break;
          const next = load<i32>(trans + usize(s) + (usize(load<i32>(asciiClasses + (usize(c) << 2)) & 0xffff) << 2));
          if (u32(next) >= u32(MATCH_BIT)) break; // unknown (-1) or matching
          s = next;
          p++;
        }
        if (p >= len) break;
      }
      let cp = i32(load<u16>(base + (usize(p) << 1)));
      let info: i32;
      // Once a pattern has matched (the early exit below can end the scan), in the empty state
      // (s < emptyLimit: nothing in flight) a code point that cannot begin a match leads to the
      // empty state for its kind, without a transition built for it.
      if (cp < 128) {
        info = unchecked(asciiInfo[cp]);
      } else {
        if ((cp & 0xf800) == 0xd800) cp = decodeAt(base, len, p);
        info = this.cachedInfoOf(cp);
      }
      if (s < emptyLimit && (info & ASCII_SKIP) != 0 && best < count) {
        if (p > 0 && firstUnanchored >= best) break;
        s = (info >>> 17) * rowBytes;
        p += widthOf(cp);
        continue;
      }
      if (s < emptyLimit && p > 0 && firstUnanchored >= best) break;
      const cls = info & 0xffff;
      let t = load<i32>(trans + usize(s) + (usize(cls) << 2));
      if (t < 0) {
        const state = s / rowBytes;
        t = this.transition(state, cls);
        if (t < 0) {
          // Cache full: empty it and carry on from the current state, unless it filled too fast.
          const tooSoon = resets > 0 && p - resetAt < RESET_CHARS_PER_STATE * (this.statePrev.length - 4);
          const prev = this.statePrev[state];
          const pending = this.pendingOf(state);
          this.reset();
          resets++;
          resetAt = p;
          this.list = pending.slice(0);
          const again = tooSoon ? -1 : this.intern(prev);
          if (again >= 0) {
            s = again * rowBytes;
            t = this.transition(again, cls);
          }
          if (again < 0 || t < 0) {
            this.giveUps++;
            if (this.giveUps >= MAX_GIVE_UPS) this.enabled = false;
            this.resumeAt = p;
            this.resumeState = pending;
            this.resumeBest = best;
            this.reset();
            return DFA_GAVE_UP;
          }
        }
        trans = this.trans.dataStart;
      }
      if (t >= MATCH_BIT) {
        const m = unchecked(this.matchAt[((s / rowBytes) << 2) + unchecked(classNext[cls])]);
        if (m >= 0 && m < best) {
          best = m;
          if (best == 0) return 0;
        }
        t &= ~MATCH_BIT;
      }
      s = t;
      p += widthOf(cp);
    }
    if (p >= len) {
      const state = s / rowBytes;
      let m = this.matchAt[4 * state + NEXT_END];
      if (m == UNKNOWN) {
        this.closure(state, NEXT_END);
        m = this.matchAt[4 * state + NEXT_END];
      }
      if (m >= 0 && m < best) best = m;
    }
    return best < count ? best : -1;
  }

  /**
   * For a text that goes on (streams): the last UTF-16 index at which no match was under way (the
   * state was empty), `text.length` when none is at the end; DFA_GAVE_UP when some pattern matches
   * inside the text, or the cache overflowed (ask the span VM then). `prev` is what precedes the
   * text: -1 for the start of the input, else the code point. Matches that would end exactly at the
   * end are under way (the text goes on), so they show as a state that is not empty there.
   */
  lastIdle(text: string, prev: i32): i32 {
    if (!this.enabled) return DFA_GAVE_UP;
    const k = this.classCount;
    const rowBytes = k << 2;
    const emptyLimit = 4 * rowBytes;
    const len = text.length;
    const base = changetype<usize>(text);
    const kind = prev < 0 ? PREV_BEGIN : !this.prog.hasAsserts ? PREV_OTHER : prev == 0x0a ? PREV_NEWLINE : isWordChar(prev) ? PREV_WORD : PREV_OTHER;
    let s = kind * rowBytes;
    let idle = 0;
    let p = 0;
    let trans = this.trans.dataStart;
    const asciiClasses = changetype<usize>(this.asciiInfo);
    while (p < len) {
      // ASCII through cached transitions, as in firstMatch: one add and one load per code point.
      while (p < len) {
        const c = u32(load<u16>(base + (usize(p) << 1)));
        if (c >= 128) break;
        const next = load<i32>(trans + usize(s) + (usize(load<i32>(asciiClasses + (usize(c) << 2)) & 0xffff) << 2));
        if (u32(next) >= u32(MATCH_BIT)) break; // unknown (-1) or matching
        if (s < emptyLimit) idle = p;
        s = next;
        p++;
      }
      if (p >= len) break;
      if (s < emptyLimit) idle = p;
      let cp = i32(load<u16>(base + (usize(p) << 1)));
      if ((cp & 0xf800) == 0xd800) cp = decodeAt(base, len, p);
      const cls = (cp < 128 ? unchecked(this.asciiInfo[cp]) : this.cachedInfoOf(cp)) & 0xffff;
      let t = load<i32>(trans + usize(s) + (usize(cls) << 2));
      if (t < 0) {
        t = this.transition(s / rowBytes, cls);
        if (t < 0) {
          this.reset();
          return DFA_GAVE_UP;
        }
        trans = this.trans.dataStart;
      }
      if (t >= MATCH_BIT) return DFA_GAVE_UP;
      s = t;
      p += widthOf(cp);
    }
    return s < emptyLimit ? len : idle;
  }
}
