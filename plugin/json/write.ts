// A parsed document back to JSON text, with some strings replaced (redaction). Member order,
// duplicate members and number spellings are kept; whitespace is not, and strings are re-escaped
// (jsonString), so the output means what the input meant. Iterative: depth costs no stack.
import { JsonKind, JsonValue } from "./index";
import { jsonString } from "./encode";

/**
 * `root` as JSON text; a String value (or member name) whose text is a key of `replacements` is
 * written as the text it maps to (every such value: the same text is treated alike wherever it
 * is). Each replaced text written is added to `written`.
 */
export function writeJson(root: JsonValue, replacements: Map<string, string>, written: Set<string>): string {
  return write(root, replacements, written, null);
}

/** `root` as JSON text; the String values in `replacements` (by identity) written as the text each maps to. */
export function writeJsonReplacing(root: JsonValue, replacements: Map<usize, string>): string {
  return write(root, new Map<string, string>(), new Set<string>(), replacements);
}

function write(root: JsonValue, replacements: Map<string, string>, written: Set<string>, byNode: Map<usize, string> | null): string {
  const parts = new Array<string>();
  // Pending work, popped from the end: a value to write, or a literal (a comma, a colon, a bracket).
  const values = new Array<JsonValue | null>();
  const literals = new Array<string>();
  values.push(root);
  literals.push("");
  while (values.length > 0) {
    const v = values.pop();
    const literal = literals.pop();
    if (v == null) {
      parts.push(literal);
      continue;
    }
    switch (v.kind) {
      case JsonKind.Null: parts.push("null"); break;
      case JsonKind.Bool: parts.push(v.boolValue ? "true" : "false"); break;
      case JsonKind.Number: parts.push(v.numberText()); break;
      case JsonKind.String:
        if (byNode != null && byNode.has(changetype<usize>(v))) parts.push(jsonString(byNode.get(changetype<usize>(v))));
        else parts.push(stringOf(v, replacements, written));
        break;
      case JsonKind.Array: {
        const items = v.items;
        parts.push("[");
        pushLiteral(values, literals, "]");
        for (let i = items.length - 1; i >= 0; i--) {
          values.push(unchecked(items[i]));
          literals.push("");
          if (i > 0) pushLiteral(values, literals, ",");
        }
        break;
      }
      case JsonKind.Object: {
        const n = v.memberCount();
        parts.push("{");
        pushLiteral(values, literals, "}");
        for (let i = n - 1; i >= 0; i--) {
          values.push(v.value(i));
          literals.push("");
          pushLiteral(values, literals, ":");
          values.push(v.keyValue(i));
          literals.push("");
          if (i > 0) pushLiteral(values, literals, ",");
        }
        break;
      }
    }
  }
  return parts.join("");
}

function pushLiteral(values: Array<JsonValue | null>, literals: Array<string>, s: string): void {
  values.push(null);
  literals.push(s);
}

function stringOf(v: JsonValue, replacements: Map<string, string>, written: Set<string>): string {
  const text = v.text;
  if (replacements.size == 0 || !replacements.has(text)) return jsonString(text);
  written.add(text);
  return jsonString(replacements.get(text));
}
