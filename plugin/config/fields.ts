// Reads a JSON config object field by field, with the field's path in every error message, and
// refuses unknown or repeated fields (a misspelt field must not silently turn a control off).
import { JsonValue, JsonKind, kindName } from "../json";
import { ConfigErrors, ConfigCode } from "./errors";

export class ObjectFields {
  private seen: string[] = [];

  constructor(public readonly obj: JsonValue, public readonly path: string, public readonly errors: ConfigErrors) {}

  private join(name: string): string {
    return this.path.length == 0 ? name : this.path + "." + name;
  }

  /** The field's value, or null when absent. Repeated fields are an error. */
  get(name: string): JsonValue | null {
    this.seen.push(name);
    let found: JsonValue | null = null;
    const n = this.obj.memberCount();
    for (let i = 0; i < n; i++) {
      if (this.obj.key(i) != name) continue;
      if (found != null) { this.errors.add(this.join(name), ConfigCode.DuplicateField, "field given more than once"); return null; }
      found = this.obj.value(i);
    }
    return found;
  }

  has(name: string): bool {
    const n = this.obj.memberCount();
    for (let i = 0; i < n; i++) if (this.obj.key(i) == name) return true;
    return false;
  }

  string(name: string, fallback: string): string {
    const v = this.get(name);
    if (v == null) return fallback;
    if (v.kind != JsonKind.String) { this.errors.add(this.join(name), ConfigCode.WrongType, "expected a string, got " + kindName(v)); return fallback; }
    return v.asString();
  }

  /** A whole number within [min, max]. */
  integer(name: string, fallback: i64, min: i64, max: i64): i64 {
    const v = this.get(name);
    if (v == null) return fallback;
    if (v.kind != JsonKind.Number) { this.errors.add(this.join(name), ConfigCode.WrongType, "expected a number, got " + kindName(v)); return fallback; }
    const text = v.numberText();
    let value: i64 = 0;
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (c < 0x30 || c > 0x39 || i > 12) {
        this.errors.add(this.join(name), ConfigCode.OutOfRange, "expected a whole number between " + min.toString() + " and " + max.toString() + ", got " + text);
        return fallback;
      }
      value = value * 10 + <i64>(c - 0x30);
    }
    if (value < min || value > max) {
      this.errors.add(this.join(name), ConfigCode.OutOfRange, "must be between " + min.toString() + " and " + max.toString() + ", got " + text);
      return fallback;
    }
    return value;
  }

  boolean(name: string, fallback: bool): bool {
    const v = this.get(name);
    if (v == null) return fallback;
    if (v.kind != JsonKind.Bool) { this.errors.add(this.join(name), ConfigCode.WrongType, "expected true or false, got " + kindName(v)); return fallback; }
    return v.boolValue;
  }

  /** A list of strings; `allowSingle` also takes one string for a one-item list. */
  strings(name: string, allowSingle: bool = false): string[] {
    const out = new Array<string>();
    const v = this.get(name);
    if (v == null) return out;
    if (allowSingle && v.kind == JsonKind.String) { out.push(v.asString()); return out; }
    if (v.kind != JsonKind.Array) { this.errors.add(this.join(name), ConfigCode.WrongType, "expected a list of strings, got " + kindName(v)); return out; }
    for (let i = 0; i < v.length; i++) {
      const item = v.item(i);
      if (item.kind != JsonKind.String) {
        this.errors.add(this.join(name) + "[" + i.toString() + "]", ConfigCode.WrongType, "expected a string, got " + kindName(item));
        return out;
      }
      out.push(item.asString());
    }
    return out;
  }

  /** A nested object, or null when absent (or of the wrong type, which is recorded). */
  object(name: string): ObjectFields | null {
    const v = this.get(name);
    if (v == null) return null;
    if (v.kind != JsonKind.Object) { this.errors.add(this.join(name), ConfigCode.WrongType, "expected an object, got " + kindName(v)); return null; }
    return new ObjectFields(v, this.join(name), this.errors);
  }

  /** A list of objects. */
  objects(name: string): ObjectFields[] {
    const out = new Array<ObjectFields>();
    const v = this.get(name);
    if (v == null) return out;
    if (v.kind != JsonKind.Array) { this.errors.add(this.join(name), ConfigCode.WrongType, "expected a list of objects, got " + kindName(v)); return out; }
    for (let i = 0; i < v.length; i++) {
      const item = v.item(i);
      const itemPath = this.join(name) + "[" + i.toString() + "]";
      if (item.kind != JsonKind.Object) { this.errors.add(itemPath, ConfigCode.WrongType, "expected an object, got " + kindName(item)); return out; }
      out.push(new ObjectFields(item, itemPath, this.errors));
    }
    return out;
  }

  /** Call after reading every known field: anything else is a misspelling or an unsupported option. */
  refuseUnknown(): void {
    const n = this.obj.memberCount();
    for (let i = 0; i < n; i++) {
      const key = this.obj.key(i);
      if (!this.seen.includes(key)) { this.errors.add(this.join(key), ConfigCode.UnknownField, "unknown field"); return; }
    }
  }

  pathOf(name: string): string { return this.join(name); }
}
