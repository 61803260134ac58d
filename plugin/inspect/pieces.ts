// Where extracted text goes: the pieces, each with the role that speaks it, and the bookkeeping
// that lets the last pass find every string and member name no shape claimed.
import { JsonKind, JsonValue } from "../json/index";
import { Role } from "./roles";

export class TextPiece {
  /** One Role flag. */
  role: u32;
  text: string;
  /**
   * The body's string values whose texts, joined, are this piece, when it is that (redaction
   * rewrites them); null for text decoded out of something else (a file, a form, a data URL).
   */
  nodes: Array<JsonValue> | null;

  constructor(role: u32, text: string, nodes: Array<JsonValue> | null = null) {
    this.role = role;
    this.text = text;
    this.nodes = nodes;
  }
}

export class Extraction {
  /** Attributed pieces in document order, then the `other` pieces; empty strings are skipped. */
  pieces: Array<TextPiece> = new Array<TextPiece>();
  /** False when no known request shape matched (every string value is then user text). */
  recognized: bool = false;
  /** Inline binary contents (images, audio, PDFs, ...) found: not text, counted for the binary policy. */
  binaryParts: i32 = 0;
}

/**
 * Member names are text too, but never a user's message: in a user's context they are `other`, so
 * allow patterns (which every user piece must match) don't judge `"temperature"`.
 */
export function memberNameRoles(roles: u32): u32 {
  if ((roles & Role.User) == 0) return roles;
  return (roles & ~Role.User) | Role.Other;
}

export class PieceSink {
  pieces: Array<TextPiece> = new Array<TextPiece>();
  binaryParts: i32 = 0;
  // String values (and member names) some shape emitted or consumed, by identity. Short strings are
  // interned by the parser, so an identical short text elsewhere counts as claimed too: the same text
  // has been seen.
  private claimed: Set<usize> = new Set<usize>();
  private otherSeen: Set<string> = new Set<string>();

  /** One piece per role in `roles`, in flag order; `nodes`: the string values it joins, if it is that. */
  emit(text: string, roles: u32, nodes: Array<JsonValue> | null = null): void {
    if (text.length == 0) return;
    for (let role = Role.System; role <= Role.Other; role <<= 1) {
      if (roles & role) this.pieces.push(new TextPiece(role, text, nodes));
    }
  }

  /** A string value (or member name) emitted under `roles`, and claimed. Other kinds: nothing. */
  emitNode(v: JsonValue, roles: u32): void {
    if (v.kind != JsonKind.String) return;
    this.claim(v);
    this.emit(v.text, roles, [v]);
  }

  /** Marks a value as handled: the last pass skips it (its text was emitted, decoded or counted). */
  claim(v: JsonValue): void {
    this.claimed.add(changetype<usize>(v));
  }

  isClaimed(v: JsonValue): bool {
    return this.claimed.has(changetype<usize>(v));
  }

  /** Text in no known place: once per distinct text (member names repeat in every message). */
  emitOther(text: string, node: JsonValue | null = null): void {
    if (text.length == 0 || this.otherSeen.has(text)) return;
    this.otherSeen.add(text);
    this.pieces.push(new TextPiece(Role.Other, text, node != null ? [node] : null));
  }

  /** Every string value and member name inside `v`, in document order, claimed. Iterative. */
  walkStrings(v: JsonValue, roles: u32): void {
    const keyRoles = memberNameRoles(roles);
    const stack = new Array<JsonValue>();
    const isKey = new Array<bool>();
    stack.push(v);
    isKey.push(false);
    while (stack.length > 0) {
      const last = stack.length - 1;
      const x = unchecked(stack[last]);
      const key = unchecked(isKey[last]);
      stack.length = last;
      isKey.length = last;
      if (x.kind == JsonKind.String) {
        this.emitNode(x, key ? keyRoles : roles);
      } else if (x.kind == JsonKind.Array) {
        const items = x.items;
        for (let i = items.length - 1; i >= 0; i--) {
          stack.push(unchecked(items[i]));
          isKey.push(false);
        }
      } else if (x.kind == JsonKind.Object) {
        for (let i = x.memberCount() - 1; i >= 0; i--) {
          stack.push(x.value(i));
          isKey.push(false);
          stack.push(x.keyValue(i));
          isKey.push(true);
        }
      }
    }
  }
}
