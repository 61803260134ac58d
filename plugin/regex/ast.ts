// Syntax tree produced by the parser. Capture groups are not kept: the engine only answers
// "does it match", so a group is just its contents.

export enum NodeKind {
  EmptyMatch, // matches the empty string
  NoMatch, // matches nothing (e.g. an empty character class)
  Literal, // one code point
  Class, // a set of code points
  AnyChar, // any code point, including \n
  AnyNotNL, // any code point except \n
  Assert, // zero-width assertion, see AssertFlag
  Concat,
  Alternate,
  Repeat, // subs[0] repeated min..max times (max = -1: unbounded)
}

/** Zero-width conditions; an Assert node holds exactly one of them. */
export enum AssertFlag {
  BeginLine = 1,
  EndLine = 2,
  BeginText = 4,
  EndText = 8,
  WordBoundary = 16,
  NoWordBoundary = 32,
}

/**
 * The children of every node without any: one shared empty list, so a leaf costs one allocation, not
 * three (a pattern set of 1,000 patterns parses into some 10,000 leaves). Never pushed to: nodes
 * get their own lists by assignment (concat, alternate, repeat).
 */
const NO_SUBS: Array<Node> = [];

export class Node {
  kind: NodeKind;
  /** Literal: the code point. Assert: the AssertFlag. */
  value: i32 = 0;
  /** Class: normalized flat [lo0, hi0, lo1, hi1, ...]. */
  ranges: Array<i32> | null = null;
  min: i32 = 0;
  max: i32 = 0;
  subs: Array<Node> = NO_SUBS;
  /**
   * The code point this node was written as, when it is a literal of the pattern (a Literal, or
   * the Class of its case orbit under (?i)); -1 otherwise. Read by literals.ts.
   */
  written: i32 = -1;
  /** The literal was written under (?i). */
  folded: bool = false;

  constructor(kind: NodeKind) {
    this.kind = kind;
  }
}

export function emptyMatch(): Node {
  return new Node(NodeKind.EmptyMatch);
}

export function literal(cp: i32): Node {
  const n = new Node(NodeKind.Literal);
  n.value = cp;
  return n;
}

/** `ranges` must be normalized (see charclass.ts). */
export function charClass(ranges: Array<i32>): Node {
  if (ranges.length == 0) return new Node(NodeKind.NoMatch);
  const n = new Node(NodeKind.Class);
  n.ranges = ranges;
  return n;
}

export function assertion(flag: AssertFlag): Node {
  const n = new Node(NodeKind.Assert);
  n.value = flag;
  return n;
}

export function concat(items: Array<Node>): Node {
  if (items.length == 0) return emptyMatch();
  if (items.length == 1) return items[0];
  const n = new Node(NodeKind.Concat);
  n.subs = items;
  return n;
}

export function alternate(items: Array<Node>): Node {
  if (items.length == 0) return new Node(NodeKind.NoMatch);
  if (items.length == 1) return items[0];
  const n = new Node(NodeKind.Alternate);
  n.subs = items;
  return n;
}

export function repeat(sub: Node, min: i32, max: i32): Node {
  if (min == 1 && max == 1) return sub;
  const n = new Node(NodeKind.Repeat);
  n.subs = [sub];
  n.min = min;
  n.max = max;
  return n;
}
