// plugin/json: strict, bounded JSON parser (AssemblyScript), exercised through
// the plugin/testing/json_probe.ts probe.
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { beforeAll, describe, expect, it } from "vitest";
// @ts-ignore: plain ESM helper without type declarations
import { loadJsonProbe } from "../testing/probes.mjs";
import { seededRandom } from '../testing/prng.mjs';

type Probe = {
  parse(bytes: Uint8Array, maxDepth: number, maxNodes: number, withValue: boolean): string;
  lookup(bytes: Uint8Array, key: string): string;
  extract(bytes: Uint8Array, maxDepth: number, maxNodes: number): string;
};

let probe: Probe;

beforeAll(async () => {
  probe = (await loadJsonProbe()) as Probe;
}, 300_000);

const utf8 = new TextEncoder();

function bytesOf(input: string | Uint8Array | number[]): Uint8Array {
  if (typeof input === "string") return utf8.encode(input);
  return input instanceof Uint8Array ? input : new Uint8Array(input);
}

type ParseOk = { ok: true; value?: unknown };
type ParseErr = { ok: false; error: string; offset: number };

function parse(input: string | Uint8Array | number[], maxDepth = -1, maxNodes = -1, withValue = true): ParseOk | ParseErr {
  return JSON.parse(probe.parse(bytesOf(input), maxDepth, maxNodes, withValue));
}

/** Latin-1 style: each char code is one byte (to write invalid UTF-8 literally). */
function raw(s: string): Uint8Array {
  return Uint8Array.from(s, (c) => c.charCodeAt(0));
}

const OBJ = Symbol("obj");

/**
 * Tagged probe output -> JS value shaped like JSON.parse's result:
 * numbers via Number(raw), objects last-wins (like JSON.parse).
 */
function untag(t: unknown): unknown {
  if (t === null || typeof t === "boolean" || typeof t === "string") return t;
  if (Array.isArray(t)) return t.map(untag);
  const o = t as { n?: string; o?: [string, unknown][] };
  if (typeof o.n === "string") return Number(o.n);
  const out: Record<string, unknown> = {};
  for (const [k, v] of o.o!) {
    Object.defineProperty(out, k, { value: untag(v), enumerable: true, writable: true, configurable: true });
  }
  return out;
}

function value(input: string | Uint8Array | number[]): unknown {
  const r = parse(input);
  if (!r.ok) throw new Error(`expected success for ${JSON.stringify(input)}: ${(r as ParseErr).error}`);
  return (r as ParseOk).value;
}

// ---------------------------------------------------------------------------
// JSONTestSuite-style tables (cases written for this project).

const Y: Record<string, string> = {
  y_array_empty: "[]",
  y_array_empty_string: '[""]',
  y_array_arraysWithSpaces: "[[]   ]",
  y_array_heterogeneous: '[null, 1, "1", {}]',
  y_array_with_leading_space: " [1]",
  y_array_with_trailing_space: "[2] ",
  y_array_with_several_null: "[1,null,null,null,2]",
  y_array_false: "[false]",
  y_array_nested_empty: "[[[[[]]]]]",
  y_array_whitespace_all_kinds: "\t[\r\n 1 \n,\t2\r]\n",
  y_number_simple_int: "[123]",
  y_number_negative_int: "[-123]",
  y_number_negative_one: "[-1]",
  y_number_minus_zero: "[-0]",
  y_number_zero: "0",
  y_number_real_capital_e: "[1E22]",
  y_number_real_capital_e_neg_exp: "[1E-2]",
  y_number_real_capital_e_pos_exp: "[1E+2]",
  y_number_real_exponent: "[123e45]",
  y_number_real_fraction_exponent: "[123.456e78]",
  y_number_real_neg_exp: "[1e-2]",
  y_number_real_pos_exponent: "[1e+2]",
  y_number_0e1: "[0e1]",
  y_number_0e_plus_1: "[0e+1]",
  y_number_after_space: "[ 4]",
  y_number_double_close_to_zero: "[-0.000000000000000000000000000000000000000000000000000000000000000000000000000001]",
  y_number_int_with_exp: "[20e1]",
  y_number_simple_real: "[123.456789]",
  y_number_huge_exp: "[1e400]",
  y_number_neg_huge_exp: "[-1e-400]",
  y_number_big_int: "[100000000000000000000000000000000000000000]",
  y_number_minus_zero_frac_exp: "[-0.0e-0]",
  y_object_basic: '{"asd":"sdf", "dfg":"fgh"}',
  y_object_duplicated_key: '{"a":"b","a":"c"}',
  y_object_duplicated_key_and_value: '{"a":"b","a":"b"}',
  y_object_empty: "{}",
  y_object_empty_key: '{"":0}',
  y_object_escaped_null_in_key: '{"foo\\u0000bar": 42}',
  y_object_extreme_numbers: '{ "min": -1.0e+28, "max": 1.0e+28 }',
  y_object_long_strings: '{"x":[{"id": "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"}], "id": "xxx"}',
  y_object_simple: '{"a":[]}',
  y_object_string_unicode: '{"title":"\\u041f\\u043e\\u043b\\u0442\\u043e\\u0440\\u0430" }',
  y_object_with_newlines: '{\n"a": "b"\n}',
  y_object_nested: '{"a":{"b":{"c":{}}}}',
  y_string_1_2_3_bytes_UTF8_sequences: '["\\u0060\\u012a\\u12AB"]',
  y_string_accepted_surrogate_pair: '["\\uD801\\udc37"]',
  y_string_accepted_surrogate_pairs: '["\\ud83d\\ude39\\ud83d\\udc8d"]',
  y_string_allowed_escapes: '["\\"\\\\\\/\\b\\f\\n\\r\\t"]',
  y_string_backslash_and_u_escaped_zero: '["\\\\u0000"]',
  y_string_backslash_doublequotes: '["\\""]',
  y_string_comments: '["a/*b*/c/*d//e"]',
  y_string_double_escape_a: '["\\\\a"]',
  y_string_double_escape_n: '["\\\\n"]',
  y_string_escaped_control_character: '["\\u0012"]',
  y_string_escaped_noncharacter: '["\\uFFFF"]',
  y_string_in_array: '["asd"]',
  y_string_in_array_with_leading_space: '[ "asd"]',
  y_string_last_surrogates_1_and_2: '["\\uDBFF\\uDFFF"]',
  y_string_nbsp_uescaped: '["new\\u00A0line"]',
  y_string_nonCharacterInUTF_8_U_10FFFF: '["\u{10FFFF}"]',
  y_string_nonCharacterInUTF_8_U_FFFF: '["\uFFFF"]',
  y_string_null_escape: '["\\u0000"]',
  y_string_one_byte_utf_8: '["\\u002c"]',
  y_string_pi: '["π"]',
  y_string_reservedCharacterInUTF_8_U_1BFFF: '["\u{1BFFF}"]',
  y_string_simple_ascii: '["asd "]',
  y_string_space: '" "',
  y_string_surrogates_U_1D11E_MUSICAL_SYMBOL_G_CLEF: '["\\uD834\\uDd1e"]',
  y_string_three_byte_utf_8: '["\\u0821"]',
  y_string_two_byte_utf_8: '["\\u0123"]',
  y_string_u_2028_line_sep: '["\u2028"]',
  y_string_u_2029_par_sep: '["\u2029"]',
  y_string_uEscape: '["\\u0061\\u30af\\u30EA\\u30b9"]',
  y_string_uescaped_newline: '["new\\u000Aline"]',
  y_string_unescaped_char_delete: '["\u007f"]',
  y_string_unicode: '["\\uA66D"]',
  y_string_unicodeEscapedBackslash: '["\\u005C"]',
  y_string_unicode_2: '["⍂㈴⍂"]',
  y_string_unicode_escaped_double_quote: '["\\u0022"]',
  y_string_utf8: '["€𝄞"]',
  y_string_with_del_character: '["a\u007fa"]',
  y_string_mixed_ascii_then_escape: '"abcdefghijklmnopqrstuvwxyz\\n0123456789"',
  y_string_long_ascii_then_utf8: `"${"a".repeat(37)}é${"b".repeat(40)}"`,
  y_structure_lonely_false: "false",
  y_structure_lonely_int: "42",
  y_structure_lonely_negative_real: "-0.1",
  y_structure_lonely_null: "null",
  y_structure_lonely_string: '"asd"',
  y_structure_lonely_true: "true",
  y_structure_string_empty: '""',
  y_structure_trailing_newline: '["a"]\n',
  y_structure_true_in_array: "[true]",
  y_structure_whitespace_array: " [] ",
};

// Inputs given as strings are UTF-8 encoded; Uint8Array inputs are raw bytes.
const N: Record<string, string | Uint8Array> = {
  n_array_1_true_without_comma: "[1 true]",
  n_array_colon_instead_of_comma: '["": 1]',
  n_array_comma_after_close: '[""],',
  n_array_comma_and_number: "[,1]",
  n_array_double_comma: "[1,,2]",
  n_array_double_extra_comma: '["x",,]',
  n_array_extra_close: '["x"]]',
  n_array_extra_comma: '["",]',
  n_array_incomplete: '["x"',
  n_array_incomplete_invalid_value: "[x",
  n_array_inner_array_no_comma: "[3[4]]",
  n_array_items_separated_by_semicolon: "[1:2]",
  n_array_just_comma: "[,]",
  n_array_just_minus: "[-]",
  n_array_missing_value: '[   , ""]',
  n_array_newlines_unclosed: '["a",\n4\n,1,',
  n_array_number_and_comma: "[1,]",
  n_array_number_and_several_commas: "[1,,]",
  n_array_star_inside: "[*]",
  n_array_unclosed: '[""',
  n_array_unclosed_trailing_comma: "[1,",
  n_array_unclosed_with_new_lines: "[1,\n1\n,1",
  n_array_unclosed_with_object_inside: "[{}",
  n_array_formfeed_whitespace: "[\f]",
  n_array_nbsp_whitespace: "[\u00a01]",
  n_incomplete_false: "[fals]",
  n_incomplete_null: "[nul]",
  n_incomplete_true: "[tru]",
  n_literal_capitalized: "[True]",
  n_literal_too_long: "nulll",
  n_number_plus_plus: "[++1234]",
  n_number_plus_1: "[+1]",
  n_number_plus_Inf: "[+Inf]",
  n_number_minus_01: "[-01]",
  n_number_minus_1_0_dot: "[-1.0.]",
  n_number_minus_2_dot: "[-2.]",
  n_number_minus_NaN: "[-NaN]",
  n_number_dot_minus_1: "[.-1]",
  n_number_dot_2e_minus_3: "[.2e-3]",
  n_number_0_1_2: "[0.1.2]",
  n_number_0_3e_plus: "[0.3e+]",
  n_number_0_3e: "[0.3e]",
  n_number_0_dot_e1: "[0.e1]",
  n_number_0_capital_E_plus: "[0E+]",
  n_number_0_capital_E: "[0E]",
  n_number_0e_plus: "[0e+]",
  n_number_0e: "[0e]",
  n_number_1_0e_plus: "[1.0e+]",
  n_number_1_0e_minus: "[1.0e-]",
  n_number_1_0e: "[1.0e]",
  n_number_1_000: "[1 000.0]",
  n_number_1eE2: "[1eE2]",
  n_number_2_dot_e_plus_3: "[2.e+3]",
  n_number_2_dot_e_minus_3: "[2.e-3]",
  n_number_2_dot_e3: "[2.e3]",
  n_number_9_dot_e_plus: "[9.e+]",
  n_number_Inf: "[Inf]",
  n_number_NaN: "[NaN]",
  n_number_infinity: "[Infinity]",
  n_number_minus_infinity: "[-Infinity]",
  n_number_hex_1_digit: "[0x1]",
  n_number_hex_2_digits: "[0x42]",
  n_number_with_leading_zero: "[012]",
  n_number_neg_with_leading_zero: "[-012]",
  n_number_leading_zeros_top_level: "00",
  n_number_real_without_fractional_part: "[1.]",
  n_number_starting_with_dot: "[.123]",
  n_number_expression: "[1+2]",
  n_number_invalid_exponent_letter: "[1ea]",
  n_number_minus_space_1: "[- 1]",
  n_number_minus_sign_with_trailing_garbage: "[-foo]",
  n_number_fullwidth_digit: "[\uff11]",
  n_number_real_garbage_after_e: "[1.2a-3]",
  n_number_with_alpha: "[1.8011670033376514H-308]",
  n_number_then_x: "[-1x]",
  n_number_top_level_trailing_nul: raw("123\x00"),
  n_number_invalid_utf8_after_e: raw("[1e\xe5]"),
  n_object_comma_instead_of_colon: '{"x", null}',
  n_object_double_colon: '{"x"::"b"}',
  n_object_emoji: "{🇨🇭}",
  n_object_garbage_at_end: '{"a":"a" 123}',
  n_object_key_with_single_quotes: "{key: 'value'}",
  n_object_missing_colon: '{"a" b}',
  n_object_missing_key: '{:"b"}',
  n_object_missing_semicolon: '{"a" "b"}',
  n_object_missing_value: '{"a":',
  n_object_no_colon: '{"a"',
  n_object_non_string_key: "{1:1}",
  n_object_non_string_key_but_huge_number_instead: "{9999E9999:1}",
  n_object_repeated_null_null: "{null:null,null:null}",
  n_object_several_trailing_commas: '{"id":0,,,,,}',
  n_object_single_quote: "{'a':0}",
  n_object_trailing_comma: '{"id":0,}',
  n_object_trailing_comment: '{"a":"b"}/**/',
  n_object_trailing_comment_open: '{"a":"b"}/**//',
  n_object_trailing_comment_slash_open: '{"a":"b"}//',
  n_object_trailing_comment_slash_open_incomplete: '{"a":"b"}/',
  n_object_two_commas_in_a_row: '{"a":"b",,"c":"d"}',
  n_object_unquoted_key: '{a: "b"}',
  n_object_unterminated_value: '{"a":"a',
  n_object_with_single_string: '{ "foo" : "bar", "a" }',
  n_object_with_trailing_garbage: '{"a":"b"}#',
  n_object_close_twice: '{"a":"b"}}',
  n_object_just_comma: "{,}",
  n_object_lone_open: "{",
  n_string_1_surrogate_then_escape: '["\\uD800\\"]',
  n_string_1_surrogate_then_escape_u: '["\\uD800\\u"]',
  n_string_1_surrogate_then_escape_u1: '["\\uD800\\u1"]',
  n_string_1_surrogate_then_escape_u1x: '["\\uD800\\u1x"]',
  n_string_accentuated_char_no_quotes: "[é]",
  n_string_backslash_00: raw('["\\\x00"]'),
  n_string_escape_x: '["\\x00"]',
  n_string_escaped_backslash_bad: '["\\\\\\"]',
  n_string_escaped_ctrl_char_tab: raw('["\\\t"]'),
  n_string_escaped_emoji: '["\\🌀"]',
  n_string_incomplete_escape: '["\\"]',
  n_string_incomplete_escaped_character: '["\\u00A"]',
  n_string_incomplete_surrogate: '["\\uD834\\uDd"]',
  n_string_invalid_backslash_esc: '["\\a"]',
  n_string_invalid_unicode_escape: '["\\uqqqq"]',
  n_string_capital_U_escape: '["\\UA66D"]',
  n_string_leading_uescaped_thinspace: '[\\u0020"asd"]',
  n_string_no_quotes_with_bad_escape: "[\\n]",
  n_string_single_doublequote: '"',
  n_string_single_quote: "['single quote']",
  n_string_single_string_no_double_quotes: "abc",
  n_string_start_escape_unclosed: '["\\',
  n_string_unescaped_ctrl_char: raw('["a\x00a"]'),
  n_string_unescaped_newline: '["new\nline"]',
  n_string_unescaped_tab: '["\t"]',
  n_string_unescaped_0x1f: raw('["\x1f"]'),
  n_string_unicode_CapitalU: '"\\UA66D"',
  n_string_with_trailing_garbage: '""x',
  n_string_three_quotes: '"""',
  n_structure_empty: "",
  n_structure_whitespace_only: " \t\r\n",
  n_structure_angle_bracket_dot: "<.>",
  n_structure_angle_bracket_null: "[<null>]",
  n_structure_array_trailing_garbage: "[1]x",
  n_structure_array_with_extra_array_close: "[1]]",
  n_structure_array_with_unclosed_string: '["asd]',
  n_structure_ascii_unicode_identifier: "aå",
  n_structure_two_values: "true false",
  n_structure_two_arrays: "[][]",
  n_structure_two_objects: "{}{}",
  n_structure_two_numbers: "2 3",
  n_structure_capitalized_True: "True",
  n_structure_NULL: "NULL",
  n_structure_UTF8_BOM_no_data: raw("\xef\xbb\xbf"),
  n_structure_UTF8_BOM_object: raw("\xef\xbb\xbf{}"),
  n_structure_partial_BOM: raw("\xef\xbb{}"),
  n_structure_nbsp_before_value: "\u00a0[]",
  n_structure_nul: raw("\x00"),
  n_structure_trailing_nul: raw("[1]\x00"),
  n_structure_trailing_ctrl_z: raw('{"a":1}\x1a'),
  n_structure_open_array: "[",
  n_structure_close_array: "]",
  n_structure_close_object: "}",
  n_structure_nul_in_array: raw('["a"\x00]'),
  n_structure_word_joiner: "[\u2060]",
  n_structure_comment_before: "/* */[]",
  n_structure_line_comment_before: "// x\n[]",
  n_structure_single_star: "*",
  n_structure_hash: "#",
  n_structure_uescaped_LF_before_string: '[\\u000A""]',
  n_structure_object_with_comment: '{"a":/*comment*/"b"}',
  n_structure_unclosed_object_in_array: '[{"a":1]',
  n_structure_mismatched_close: '{"a":[1}',
  // Invalid UTF-8 (inside and outside strings).
  n_utf8_invalid_byte_ff: raw('["\xff"]'),
  n_utf8_invalid_byte_fe: raw('["\xfe"]'),
  n_utf8_lone_continuation: raw('["\x80"]'),
  n_utf8_overlong_2_byte_c0: raw('["\xc0\xaf"]'),
  n_utf8_overlong_2_byte_c1: raw('["\xc1\xbf"]'),
  n_utf8_overlong_3_byte: raw('["\xe0\x80\xaf"]'),
  n_utf8_overlong_3_byte_max: raw('["\xe0\x9f\xbf"]'),
  n_utf8_overlong_4_byte: raw('["\xf0\x80\x80\xaf"]'),
  n_utf8_overlong_4_byte_max: raw('["\xf0\x8f\xbf\xbf"]'),
  n_utf8_surrogate_high: raw('["\xed\xa0\x80"]'),
  n_utf8_surrogate_low: raw('["\xed\xbf\xbf"]'),
  n_utf8_surrogate_pair_encoded: raw('["\xed\xa0\xbd\xed\xb8\x80"]'),
  n_utf8_above_10FFFF: raw('["\xf4\x90\x80\x80"]'),
  n_utf8_f5_lead: raw('["\xf5\x80\x80\x80"]'),
  n_utf8_5_byte_form: raw('["\xf8\x88\x80\x80\x80"]'),
  n_utf8_6_byte_form: raw('["\xfc\x84\x80\x80\x80\x80"]'),
  n_utf8_truncated_2_byte: raw('["\xc3"]'),
  n_utf8_truncated_3_byte: raw('["\xe2\x82"]'),
  n_utf8_truncated_4_byte: raw('["\xf0\x9f\x98"]'),
  n_utf8_truncated_at_end_of_input: raw('"\xf0\x9f'),
  n_utf8_bad_continuation_2: raw('["\xc3\x28"]'),
  n_utf8_bad_continuation_3: raw('["\xe2\x28\xa1"]'),
  n_utf8_bad_continuation_4: raw('["\xf0\x9f\x28\x80"]'),
  n_utf8_in_key: raw('{"\xff":1}'),
  n_utf8_outside_string: raw("[\xc3\xa9]"),
  n_utf8_invalid_in_long_ascii: raw(`"${"a".repeat(20)}\xff${"b".repeat(20)}"`),
};

describe("JSONTestSuite-style tables", () => {
  for (const [name, text] of Object.entries(Y)) {
    it(`accepts ${name}`, () => {
      const r = parse(text);
      expect(r, JSON.stringify(text)).toMatchObject({ ok: true });
      expect(untag((r as ParseOk).value)).toEqual(JSON.parse(text));
    });
  }
  for (const [name, input] of Object.entries(N)) {
    it(`rejects ${name}`, () => {
      const bytes = bytesOf(input);
      const r = parse(bytes);
      expect(r.ok, JSON.stringify(typeof input === "string" ? input : Array.from(input))).toBe(false);
      const e = r as ParseErr;
      expect(e.error.length).toBeGreaterThan(0);
      expect(e.offset).toBeGreaterThanOrEqual(0);
      expect(e.offset).toBeLessThanOrEqual(bytes.length);
    });
  }
});

describe("error messages and offsets", () => {
  const cases: [string | Uint8Array, string, number][] = [
    ['{"a":1,"b":x}', "unexpected character 'x' at byte 11, expected a value", 11],
    ["[1,]", "unexpected character ']' at byte 3, expected a value", 3],
    ["[1 2]", "unexpected character '2' at byte 3, expected ',' or ']'", 3],
    ['{"a" 1}', "unexpected character '1' at byte 5, expected ':'", 5],
    ["{1:1}", "unexpected character '1' at byte 1, expected a string (object key)", 1],
    ['{"a":1,}', "unexpected character '}' at byte 7, expected a string (object key)", 7],
    ["[1", "unexpected end of input at byte 2, expected ',' or ']'", 2],
    ["", "empty input", 0],
    ["   ", "empty input", 3],
    ["[1] [2]", "trailing data after the JSON value at byte 4", 4],
    ["01", "leading zero in number at byte 0", 0],
    ["[-01]", "leading zero in number at byte 2", 2],
    ["1.", "unexpected end of input at byte 2, expected a digit after '.'", 2],
    ["1e+", "unexpected end of input at byte 3, expected a digit in the exponent", 3],
    ["tRue", "unexpected character 'R' at byte 1, expected 'true'", 1],
    ['"ab\\qc"', "invalid escape '\\q' at byte 3", 3],
    ['"ab\\u12G4"', "invalid \\u escape at byte 3", 3],
    ['"ab\\u12"', "invalid \\u escape at byte 3", 3],
    ['"abc', "unterminated string starting at byte 0", 0],
    ['["abc\\', "unterminated string starting at byte 1", 1],
    ['"a\nb"', "control character 0x0a in string at byte 2", 2],
    [raw('"ab\xc3\x28"'), "invalid UTF-8 at byte 3", 3],
    [raw('[1, "\xed\xa0\x80"]'), "invalid UTF-8 at byte 5", 5],
    [raw("\xef\xbb\xbf[]"), "UTF-8 BOM is not allowed at byte 0", 0],
    [raw("[\x01]"), "unexpected byte 0x01 at byte 1, expected a value", 1],
    [raw("[\xc3\xa9]"), "unexpected byte 0xc3 at byte 1, expected a value", 1],
  ];
  for (const [input, error, offset] of cases) {
    it(`${JSON.stringify(typeof input === "string" ? input : Array.from(input))} -> ${error}`, () => {
      expect(parse(input)).toEqual({ ok: false, error, offset });
    });
  }
});

describe("strings, escapes and surrogates", () => {
  it("decodes every simple escape", () => {
    expect(value('"\\"\\\\\\/\\b\\f\\n\\r\\t"')).toBe('"\\/\b\f\n\r\t');
  });
  it("decodes \\u escapes, upper and lower case hex", () => {
    expect(value('"\\u0041\\u00e9\\u00E9\\u4e2D"')).toBe("Aéé中");
  });
  it("joins surrogate pairs into one code point", () => {
    const s = value('"\\ud83d\\ude00"') as string;
    expect(s).toBe("😀");
    expect(s.codePointAt(0)).toBe(0x1f600);
    expect(s.length).toBe(2);
  });
  it("keeps lone surrogates as lone UTF-16 units", () => {
    expect(value('"\\ud800"')).toBe("\ud800");
    expect(value('"a\\udc00b"')).toBe("a\udc00b");
    expect(value('"\\ude00\\ud83d"')).toBe("\ude00\ud83d"); // reversed pair stays two lone units
    expect(value('"\\ud83d\\u0041"')).toBe("\ud83dA");
    expect(value('"\\ud83dx"')).toBe("\ud83dx");
  });
  it("decodes raw UTF-8 of every length", () => {
    const s = "a é € 中 😀 \u{10FFFF} \u0080 \u07FF \u0800 \uFFFF \u{10000}";
    expect(value(JSON.stringify(s))).toBe(s);
  });
  it("mixes ASCII runs, escapes and UTF-8 in long strings", () => {
    const s = `${"x".repeat(100)}\n${"é".repeat(50)}"\\${"y".repeat(13)}😀${"z".repeat(7)}`;
    expect(value(JSON.stringify(s))).toBe(s);
  });
  it("handles quote, backslash and controls at every position of the 8-byte scan", () => {
    for (let pad = 0; pad < 20; pad++) {
      const p = "a".repeat(pad);
      expect(value(`"${p}\\"${p}"`)).toBe(`${p}"${p}`);
      expect(value(`"${p}\\\\"`)).toBe(`${p}\\`);
      expect(value(`"${p}é"`)).toBe(`${p}é`);
      expect(value(`"${p}"`)).toBe(p);
      expect(parse(raw(`"${p}\x1f"`)).ok).toBe(false);
      expect(parse(raw(`"${p}\x80"`)).ok).toBe(false);
      expect(parse(`"${p}`).ok).toBe(false);
    }
  });
  it("after an escape, reads plain runs 8 bytes at a time at every alignment, past the scratch's first size", () => {
    const rand = seededRandom(7);
    const pieces = ["\n", "\t", "é", "😀", '"', "\\"];
    for (let pad = 0; pad < 17; pad++) {
      let s = "a".repeat(pad);
      while (s.length < 6000) s += pieces[Math.floor(rand() * pieces.length)] + "b".repeat(Math.floor(rand() * 40));
      expect(value(JSON.stringify(s))).toBe(s);
      // a run that reaches the end of the input: unterminated, nothing read past the end
      expect(parse(`"\\n${"c".repeat(8 * (pad + 1))}`).ok).toBe(false);
      expect(parse(`"\\n${"c".repeat(pad)}\\`).ok).toBe(false);
    }
  });
  it("a NUL escape is data, a raw NUL is an error", () => {
    expect(value('"a\\u0000b"')).toBe("a\u0000b");
    expect(parse(raw('"a\x00b"'))).toMatchObject({ ok: false, offset: 2 });
  });
  it("decodes escaped member names: \"m\\u0065ssages\" IS messages", () => {
    const r = JSON.parse(probe.lookup(bytesOf('{"m\\u0065ssages":[1],"x":2,"messages":"dup"}'), "messages"));
    expect(r.has).toBe(true);
    expect(r.all).toEqual([[{ n: "1" }], "dup"]);
    expect(r.length).toBe(3);
  });
  it("decodes UTF-8 and surrogate escapes in member names", () => {
    expect(untag(value('{"\\ud83d\\ude00":1,"é":2}'))).toEqual({ "😀": 1, é: 2 });
  });
  it("keeps all duplicate members in order", () => {
    const r = parse('{"a":1,"b":2,"a":3,"a":{"a":4}}') as ParseOk;
    expect(r.value).toEqual({
      o: [
        ["a", { n: "1" }],
        ["b", { n: "2" }],
        ["a", { n: "3" }],
        ["a", { o: [["a", { n: "4" }]] }],
      ],
    });
    const all = JSON.parse(probe.lookup(bytesOf('{"a":1,"b":2,"a":3}'), "a"));
    expect(all.all).toEqual([{ n: "1" }, { n: "3" }]);
    expect(JSON.parse(probe.lookup(bytesOf('{"a":1}'), "zz"))).toMatchObject({ has: false, all: [] });
  });
  it("out-of-range accessors return neutral values instead of trapping", () => {
    expect(JSON.parse(probe.lookup(bytesOf('{"a":1}'), "a")).outOfRange).toEqual(["", "", true, true]);
    expect(JSON.parse(probe.lookup(bytesOf("[1,2]"), "a"))).toMatchObject({ has: false, all: [], length: 2 });
  });
});

describe("numbers", () => {
  const valid = ["0", "-0", "1", "-1", "10", "1234567890", "0.5", "-0.5", "1.25", "1e5", "1E5", "1e+5", "1e-5", "1E+05",
    "0e0", "-0.0e-0", "123.456e-789", "1e999", "99999999999999999999999999999", "0.000001", "2.5E+10"];
  for (const t of valid) {
    it(`keeps the raw text of ${t}`, () => {
      expect(parse(t)).toEqual({ ok: true, value: { n: t } });
      expect(parse(`[${t}]`)).toEqual({ ok: true, value: [{ n: t }] });
    });
  }
  const invalid = ["+1", "01", "-", "-a", "1.", ".1", "1e", "1e+", "1.e1", "0x10", "1_000", "--1", "1..2", "1e1.5",
    "Infinity", "NaN", "-Infinity", "1E--2", "0.e", "00.1", "-00"];
  for (const t of invalid) {
    it(`rejects ${t}`, () => {
      expect(parse(t).ok).toBe(false);
      expect(parse(`[${t}]`).ok).toBe(false);
    });
  }
});

describe("limits", () => {
  it("100,000 '[' is an error value, not a crash", () => {
    const r = parse("[".repeat(100_000));
    expect(r).toEqual({ ok: false, error: "nesting deeper than 64", offset: 64 });
    // the VM is still usable afterwards
    expect(parse("[1]")).toEqual({ ok: true, value: [{ n: "1" }] });
  });
  it("deep objects hit the same limit", () => {
    const r = parse('{"a":'.repeat(50_000));
    expect(r).toMatchObject({ ok: false, error: "nesting deeper than 64" });
  });
  it("depth 64 is accepted, 65 is rejected (default limit)", () => {
    expect(parse("[".repeat(64) + "]".repeat(64)).ok).toBe(true);
    expect(parse("[".repeat(65) + "]".repeat(65))).toEqual({ ok: false, error: "nesting deeper than 64", offset: 64 });
  });
  it("honours a custom depth limit", () => {
    expect(parse("[[[]]]", 3).ok).toBe(true);
    expect(parse("[[[[]]]]", 3)).toEqual({ ok: false, error: "nesting deeper than 3", offset: 3 });
    expect(parse('{"a":{"b":1}}', 1)).toMatchObject({ ok: false, error: "nesting deeper than 1" });
    expect(parse("1", 0).ok).toBe(true);
    expect(parse("[]", 0).ok).toBe(false);
  });
  it("parses 100,000 levels iteratively when the limit allows it", () => {
    const deep = "[".repeat(100_000) + '"x"' + "]".repeat(100_000);
    expect(parse(deep, 200_000, -1, false)).toEqual({ ok: true });
    const obj = '{"a":'.repeat(100_000) + "1" + "}".repeat(100_000);
    expect(parse(obj, 200_000, -1, false)).toEqual({ ok: true });
    // and the whole-document string walk of the extractor is iterative too
    const x = JSON.parse(probe.extract(bytesOf(deep), 200_000, -1));
    expect(x).toEqual({ recognized: false, binary: 0, pieces: [["user", "x"]] });
  });
  it("bounds the number of values", () => {
    expect(parse("[1,2,3]", -1, 4).ok).toBe(true);
    expect(parse("[1,2,3]", -1, 3)).toEqual({ ok: false, error: "more than 3 values", offset: 5 });
    expect(parse('{"a":[],"b":{}}', -1, 2)).toMatchObject({ ok: false, error: "more than 2 values" });
    const many = "[" + Array(250_000).fill("0").join(",") + "]";
    expect(parse(many, -1, -1, false)).toMatchObject({ ok: false, error: "more than 200000 values" });
    const fits = "[" + Array(199_999).fill("0").join(",") + "]";
    expect(parse(fits, -1, -1, false)).toEqual({ ok: true });
  });
  it("handles a 1 MiB body", () => {
    const body = JSON.stringify({ messages: [{ role: "user", content: "lorem ipsum é 😀 ".repeat(60_000) }] });
    expect(utf8.encode(body).length).toBeGreaterThan(1 << 20);
    const r = parse(body) as ParseOk;
    expect(r.ok).toBe(true);
    expect(untag(r.value)).toEqual(JSON.parse(body));
  });
});

// ---------------------------------------------------------------------------
// Differential testing against JSON.parse.


class Gen {
  constructor(private rnd: () => number) {}
  int(n: number) {
    return Math.floor(this.rnd() * n);
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)]!;
  }
  ws(): string {
    if (this.rnd() < 0.6) return "";
    let s = "";
    const n = 1 + this.int(3);
    for (let i = 0; i < n; i++) s += this.pick([" ", "\t", "\n", "\r"]);
    return s;
  }
  digits(min: number): string {
    let s = "";
    const n = min + this.int(6);
    for (let i = 0; i < n; i++) s += String(this.int(10));
    return s;
  }
  number(): string {
    let s = this.rnd() < 0.3 ? "-" : "";
    s += this.rnd() < 0.2 ? "0" : String(1 + this.int(9)) + this.digits(0);
    if (this.rnd() < 0.3) s += "." + this.digits(1);
    if (this.rnd() < 0.25) s += this.pick(["e", "E"]) + this.pick(["", "+", "-"]) + this.digits(1);
    return s;
  }
  hex4(cp: number): string {
    const h = cp.toString(16).padStart(4, "0");
    return this.rnd() < 0.5 ? h : h.toUpperCase();
  }
  stringBody(): string {
    let s = "";
    const n = this.int(12);
    for (let i = 0; i < n; i++) {
      const r = this.rnd();
      if (r < 0.4) s += String.fromCharCode(0x20 + this.int(0x5f)).replace(/["\\]/, "a");
      else if (r < 0.5) s += this.pick(['\\"', "\\\\", "\\/", "\\b", "\\f", "\\n", "\\r", "\\t"]);
      else if (r < 0.6) s += "\\u" + this.hex4(this.int(0x10000));
      else if (r < 0.65) {
        const cp = 0x10000 + this.int(0x100000);
        const hi = 0xd800 + ((cp - 0x10000) >> 10);
        const lo = 0xdc00 + ((cp - 0x10000) & 0x3ff);
        s += "\\u" + this.hex4(hi) + "\\u" + this.hex4(lo);
      } else if (r < 0.7) s += "\\u" + this.hex4(0xd800 + this.int(0x800)); // lone surrogate escape
      else if (r < 0.8) s += this.pick(["é", "ß", "ж", "中", "€", "\u2028", "\u007f", "\uffff", "\u0800", "\u07ff"]);
      else if (r < 0.85) s += String.fromCodePoint(0x10000 + this.int(0x100000));
      else s += "abcdefghijklmnop".slice(0, 1 + this.int(16));
    }
    return s;
  }
  string(): string {
    return '"' + this.stringBody() + '"';
  }
  value(depth: number): string {
    const r = this.rnd();
    const leaf = depth >= 5 || r < 0.45;
    if (leaf) {
      const k = this.int(6);
      if (k === 0) return this.pick(["null", "true", "false"]);
      if (k <= 2) return this.number();
      return this.string();
    }
    const n = this.int(5);
    const parts: string[] = [];
    if (this.rnd() < 0.5) {
      for (let i = 0; i < n; i++) parts.push(this.ws() + this.value(depth + 1) + this.ws());
      return "[" + (n === 0 ? this.ws() : parts.join(",")) + "]";
    }
    for (let i = 0; i < n; i++) {
      const key = this.rnd() < 0.3 ? this.pick(['"a"', '"b"', '"role"', '"c\\u006fntent"']) : this.string();
      parts.push(this.ws() + key + this.ws() + ":" + this.ws() + this.value(depth + 1) + this.ws());
    }
    return "{" + (n === 0 ? this.ws() : parts.join(",")) + "}";
  }
  document(): string {
    return this.ws() + this.value(0) + this.ws();
  }
  mutate(s: string): string {
    const nasty = ["{", "}", "[", "]", ",", ":", '"', "\\", " ", "0", "1", "-", "+", ".", "e", "E", "t", "n", "f",
      "u", "x", "\u0000", "\u0001", "\n", "\u001f", "é", "\u00a0", "\ufeff", "/", "*", "'", "\\u", "\\ud800", "00"];
    const ops = 1 + this.int(3);
    for (let k = 0; k < ops; k++) {
      const i = this.int(s.length + 1);
      const op = this.int(5);
      if (op === 0) s = s.slice(0, i) + s.slice(i + 1);
      else if (op === 1) s = s.slice(0, i) + this.pick(nasty) + s.slice(i);
      else if (op === 2) s = s.slice(0, i) + this.pick(nasty) + s.slice(i + 1);
      else if (op === 3) s = s.slice(0, i);
      else s = s.slice(0, i) + s.slice(i, i + 1 + this.int(8)).repeat(2) + s.slice(i + 1 + this.int(8));
    }
    return s;
  }
}

function jsonParseOrError(text: string): { ok: true; value: unknown } | { ok: false } {
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch {
    return { ok: false };
  }
}

const strictDecoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/** Compares one input with JSON.parse; returns a description of a mismatch or null. */
function differential(bytes: Uint8Array): string | null {
  let text: string | null;
  try {
    text = strictDecoder.decode(bytes);
  } catch {
    text = null;
  }
  const ours = parse(bytes);
  if (text === null) {
    return ours.ok ? "accepted invalid UTF-8" : null;
  }
  const theirs = jsonParseOrError(text);
  if (theirs.ok !== ours.ok) {
    return `JSON.parse ${theirs.ok ? "accepts" : "rejects"}, ours ${ours.ok ? "accepts" : `rejects (${(ours as ParseErr).error})`}`;
  }
  if (theirs.ok) {
    try {
      expect(untag((ours as ParseOk).value)).toEqual(theirs.value);
    } catch {
      return "different decoded value";
    }
  }
  return null;
}

describe("differential against JSON.parse (fixed seed)", () => {
  it("agrees on 12,000 generated documents (valid and mutated)", () => {
    const g = new Gen(seededRandom(0x5eed1234));
    let accepted = 0;
    let rejected = 0;
    const failures: string[] = [];
    for (let i = 0; i < 12_000; i++) {
      let doc = g.document();
      if (i % 3 === 2) doc = g.mutate(doc);
      const bytes = utf8.encode(doc); // lone surrogates from mutations become U+FFFD here
      const d = differential(bytes);
      if (d) failures.push(`#${i} ${JSON.stringify(new TextDecoder().decode(bytes))}: ${d}`);
      if (jsonParseOrError(new TextDecoder().decode(bytes)).ok) accepted++;
      else rejected++;
    }
    expect(failures.slice(0, 10)).toEqual([]);
    // the corpus exercises both outcomes
    expect(accepted).toBeGreaterThan(7_000);
    expect(rejected).toBeGreaterThan(2_000);
  });

  it("agrees on 4,000 byte-level mutations (invalid UTF-8 included)", () => {
    const g = new Gen(seededRandom(0xb17e5));
    const rnd = seededRandom(0xc0ffee);
    const failures: string[] = [];
    let invalidUtf8 = 0;
    for (let i = 0; i < 4_000; i++) {
      const bytes = Array.from(utf8.encode(g.document()));
      const ops = 1 + Math.floor(rnd() * 3);
      for (let k = 0; k < ops; k++) {
        const at = Math.floor(rnd() * (bytes.length + 1));
        const b = [0x00, 0x22, 0x5c, 0x7f, 0x80, 0xbf, 0xc0, 0xc2, 0xe0, 0xed, 0xef, 0xf0, 0xf4, 0xf5, 0xff][
          Math.floor(rnd() * 15)
        ];
        if (rnd() < 0.5) bytes.splice(at, 0, b!);
        else bytes[at] = b!;
      }
      const u8 = Uint8Array.from(bytes);
      try {
        strictDecoder.decode(u8);
      } catch {
        invalidUtf8++;
      }
      const d = differential(u8);
      if (d) failures.push(`#${i} [${bytes.join(",")}]: ${d}`);
    }
    expect(failures.slice(0, 10)).toEqual([]);
    expect(invalidUtf8).toBeGreaterThan(1_000);
  });

  it("never traps on random bytes", () => {
    const rnd = seededRandom(42);
    for (let i = 0; i < 2_000; i++) {
      const n = Math.floor(rnd() * 64);
      const bytes = new Uint8Array(n);
      const alphabet = rnd() < 0.5;
      for (let j = 0; j < n; j++) {
        bytes[j] = alphabet ? '[]{}",:\\0123456789-+.eEtrufalsn \t\n'.charCodeAt(Math.floor(rnd() * 36)) : Math.floor(rnd() * 256);
      }
      expect(differential(bytes)).toBeNull();
    }
  });
});

describe("source hygiene", () => {
  it("plugin/json and plugin/inspect contain no throw / abort / unreachable", () => {
    const root = fileURLToPath(new URL("../..", import.meta.url));
    for (const dir of ["plugin/json", "plugin/inspect"]) {
      for (const f of readdirSync(join(root, dir))) {
        if (!f.endsWith(".ts") || f.endsWith(".test.ts")) continue;
        const src = readFileSync(join(root, dir, f), "utf8");
        expect(src, `${dir}/${f}`).not.toMatch(/\bthrow\b/);
        expect(src, `${dir}/${f}`).not.toMatch(/\babort\s*\(/);
        expect(src, `${dir}/${f}`).not.toMatch(/\bunreachable\s*\(/);
      }
    }
  });
});
