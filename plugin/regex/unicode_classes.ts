// Name lookup for \p{...} classes over the generated tables, with Go's (1.26) name rules: case,
// "_", "-" and spaces are ignored, and the long Unicode category aliases are accepted.
import { CATEGORY_COUNT, CLASS_NAMES, CLASS_OFFSETS, CLASS_RANGES } from "./unicode_tables";
import { MAX_RUNE, negateRanges, normalizeRanges } from "./charclass";

// Unicode's long names for general categories (PropertyValueAliases.txt), plus the POSIX-ish
// aliases Go also accepts, as [canonical alias, category] pairs.
const ALIASES: StaticArray<string> = [
  "Casedletter", "Lc",
  "Closepunctuation", "Pe",
  "Combiningmark", "M",
  "Connectorpunctuation", "Pc",
  "Control", "Cc",
  "Currencysymbol", "Sc",
  "Dashpunctuation", "Pd",
  "Decimalnumber", "Nd",
  "Enclosingmark", "Me",
  "Finalpunctuation", "Pf",
  "Format", "Cf",
  "Initialpunctuation", "Pi",
  "Letter", "L",
  "Letternumber", "Nl",
  "Lineseparator", "Zl",
  "Lowercaseletter", "Ll",
  "Mark", "M",
  "Mathsymbol", "Sm",
  "Modifierletter", "Lm",
  "Modifiersymbol", "Sk",
  "Nonspacingmark", "Mn",
  "Number", "N",
  "Openpunctuation", "Ps",
  "Other", "C",
  "Otherletter", "Lo",
  "Othernumber", "No",
  "Otherpunctuation", "Po",
  "Othersymbol", "So",
  "Paragraphseparator", "Zp",
  "Privateuse", "Co",
  "Punctuation", "P",
  "Separator", "Z",
  "Spaceseparator", "Zs",
  "Spacingmark", "Mc",
  "Surrogate", "Cs",
  "Symbol", "S",
  "Titlecaseletter", "Lt",
  "Unassigned", "Cn",
  "Uppercaseletter", "Lu",
  "Cntrl", "Cc",
  "Digit", "Nd",
  "Punct", "P",
];

/** Go's canonical form: separators dropped, first letter upper case, the rest lower case. */
function canonicalName(name: string): string {
  let out = "";
  let first = true;
  for (let i = 0; i < name.length; i++) {
    let c = name.charCodeAt(i);
    if (c == 0x5f || c == 0x2d || c == 0x20) continue;
    if (first) {
      if (c >= 0x61 && c <= 0x7a) c -= 0x20;
      first = false;
    } else if (c >= 0x41 && c <= 0x5a) {
      c += 0x20;
    }
    out += String.fromCharCode(c);
  }
  return out;
}

function appendTable(dst: Array<i32>, index: i32): void {
  const start = CLASS_OFFSETS[index];
  const end = CLASS_OFFSETS[index + 1];
  for (let i = start; i < end && i < CLASS_RANGES.length; i++) {
    const packed = CLASS_RANGES[i];
    const lo = i32(packed & 0x1fffff);
    dst.push(lo);
    dst.push(lo + i32(packed >>> 21));
  }
}

/** Union of the two-letter categories whose names start with `letter` (all of them for 0). */
function categoriesStartingWith(letter: i32): Array<i32> {
  const out = new Array<i32>();
  for (let i = 0; i < CATEGORY_COUNT; i++) {
    if (letter == 0 || CLASS_NAMES[i].charCodeAt(0) == letter) appendTable(out, i);
  }
  return normalizeRanges(out);
}

function categoryRanges(name: string): Array<i32> | null {
  if (name == "Cn") return negateRanges(categoriesStartingWith(0));
  if (name == "C") {
    const r = categoriesStartingWith(0x43);
    const unassigned = negateRanges(categoriesStartingWith(0));
    for (let i = 0; i < unassigned.length; i++) r.push(unassigned[i]);
    return normalizeRanges(r);
  }
  if (name == "Lc") {
    const out = new Array<i32>();
    for (let i = 0; i < CATEGORY_COUNT; i++) {
      const n = CLASS_NAMES[i];
      if (n == "Lu" || n == "Ll" || n == "Lt") appendTable(out, i);
    }
    return normalizeRanges(out);
  }
  if (name.length == 1) {
    const r = categoriesStartingWith(name.charCodeAt(0));
    return r.length > 0 ? r : null;
  }
  for (let i = 0; i < CATEGORY_COUNT; i++) {
    if (CLASS_NAMES[i] == name) {
      const out = new Array<i32>();
      appendTable(out, i);
      return out;
    }
  }
  return null;
}

/**
 * Normalized ranges for a \p{name}: a general category (Lu, Nd, Uppercase_Letter, ...), a
 * one-letter category union (L, N, ...), a script (Han, Latin, ...), Any, Assigned or ASCII.
 * Null when the name is unknown.
 */
export function unicodeClassRanges(spelled: string): Array<i32> | null {
  const name = canonicalName(spelled);
  if (name.length == 0) return null;
  if (name == "Any") return [0, MAX_RUNE];
  if (name == "Ascii") return [0, 0x7f];
  if (name == "Assigned") return categoriesStartingWith(0);
  const category = categoryRanges(name);
  if (category != null) return category;
  for (let i = CATEGORY_COUNT; i < CLASS_NAMES.length; i++) {
    if (CLASS_NAMES[i] == name) {
      const out = new Array<i32>();
      appendTable(out, i);
      return out;
    }
  }
  for (let i = 0; i + 1 < ALIASES.length; i += 2) {
    if (ALIASES[i] == name) return categoryRanges(ALIASES[i + 1]);
  }
  return null;
}
