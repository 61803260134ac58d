// Throughput of plugin/regex (through the Wasm test probe) over 100 kB texts, as a ratio to a
// plain literal pattern run through the same engine in the same process. Prints; never fails.
// Run: node bench/regex.bench.mjs
import { readFileSync } from "node:fs";
import { loadNormalizeProbe, loadRegexProbe } from "../plugin/testing/probes.mjs";
import { seededRandom } from "../plugin/testing/prng.mjs";

const probe = await loadRegexProbe();
const normalizeProbe = await loadNormalizeProbe();
const SIZE = 100_000;

// Prompt-like text: English words, some punctuation and a little CJK; no pattern below matches
// it, so every run scans all of it.
function promptText() {
  const rand = seededRandom(42);
  const words = ["the", "model", "should", "answer", "with", "care", "about", "user", "data", "please",
    "summarize", "this", "document", "and", "list", "key", "points", "in", "order", "总结", "文档", "内容",
    "ignore", "instructions", "prior", "context", "tokens", "api", "value", "42", "2024", "e-mail"];
  let s = "";
  while (s.length < SIZE) {
    s += words[Math.floor(rand() * words.length)];
    s += rand() < 0.1 ? ".\n" : " ";
  }
  return s.slice(0, SIZE);
}

const prompt = promptText();
const allA = "a".repeat(SIZE - 1) + "b";
const allX = "x".repeat(SIZE);

const DENY_LIST = [
  "(?i)ignore\\s+(all\\s+)?previous\\s+instructions",
  "(?i)disregard\\s+(the\\s+)?(system|above)\\s+prompt",
  "(?i)\\bapi[_-]?key\\s*[:=]\\s*\\S{16,}",
  "\\b\\d{3}-\\d{2}-\\d{4}\\b",
  "\\b(?:\\d[ -]?){13,16}\\b",
  "[a-zA-Z0-9._%+-]+@[a-zA-Z0-9.-]+\\.[a-zA-Z]{2,}",
  "(?i)password\\s*[:=]",
  "账号|密码|身份证",
  "(?i)\\bBEGIN\\s+(RSA|EC|OPENSSH)\\s+PRIVATE\\s+KEY\\b",
  "AKIA[0-9A-Z]{16}",
  "(?i)jailbreak|do anything now|\\bDAN\\b",
  "(?i)\\bsk-[a-z0-9]{32,}\\b",
];

/** @type {[name: string, patterns: string[], text: string][]} */
const cases = [
  ["literal `hello` (baseline)", ["hello"], prompt],
  ["(?i)hello", ["(?i)hello"], prompt],
  ["\\bpassword\\s*[:=]", ["\\bpassword\\s*[:=]"], prompt],
  ["[a-z]+ing\\b", ["[a-z]+ing\\b"], prompt],
  ["\\p{Han}{4,}", ["\\p{Han}{4,}"], prompt],
  [`deny list of ${DENY_LIST.length} patterns`, DENY_LIST, prompt],
  ["(a+)+$ over a…ab", ["(a+)+$"], allA],
  ["(a|aa)*c over a…ab", ["(a|aa)*c"], allA],
  ["(x+x+)+y over x…x", ["(x+x+)+y"], allX],
  ["literal `hello` over a…ab", ["hello"], allA],
];

/**
 * Milliseconds per scan of `text`: best of `rounds` batches (the lazy DFA's cache is warm after the
 * first scan). Compiles `patterns` first.
 * @param {string[]} patterns @param {string} text @param {boolean} nfaOnly
 */
function timeIt(patterns, text, nfaOnly, rounds = 3) {
  if (!probe.compile(patterns)) throw new Error(probe.errorMessage());
  let reps = 1;
  // Grow the repetition count until one batch takes at least 30 ms.
  for (;;) {
    const t0 = performance.now();
    probe.firstMatchRepeated(text, reps, nfaOnly);
    if (performance.now() - t0 >= 30 || reps >= 1 << 16) break;
    reps *= 2;
  }
  let best = Infinity;
  for (let i = 0; i < rounds; i++) {
    const t0 = performance.now();
    probe.firstMatchRepeated(text, reps, nfaOnly);
    best = Math.min(best, (performance.now() - t0) / reps);
  }
  return { ms: best, result: nfaOnly ? probe.firstMatchNFA(text) : probe.firstMatch(text) };
}

/**
 * Case and baseline timed alternately, best of each, so machine load drifts hit both alike.
 * @param {string[]} patterns @param {string} text @param {boolean} nfaOnly
 */
function compare(patterns, text, nfaOnly) {
  let ms = Infinity;
  let base = Infinity;
  let result = 0;
  for (let i = 0; i < 3; i++) {
    base = Math.min(base, timeIt(["hello"], prompt, nfaOnly).ms);
    const r = timeIt(patterns, text, nfaOnly);
    ms = Math.min(ms, r.ms);
    result = r.result;
  }
  return { ms, ratio: ms / base, result };
}

const fmt = (/** @type {number} */ ms) => ms.toFixed(3).padStart(10);
console.log(`plugin/regex, ${SIZE / 1000} kB texts, node ${process.version}. ms = best time per scan;`);
console.log("ratio = ms / the same engine's ms for the literal `hello` over the prompt text, timed alternately.");
console.log('"dfa" is the default path (lazy DFA, Pike VM if its cache thrashes); "nfa" is the Pike VM alone.');
console.log("pattern".padEnd(34) + "dfa ms".padStart(10) + "ratio".padStart(8) + "nfa ms".padStart(10) + "ratio".padStart(8) + "  result");
for (const [name, patterns, text] of cases) {
  const dfa = compare(patterns, text, false);
  const nfa = compare(patterns, text, true);
  if (dfa.result !== nfa.result) throw new Error(`dfa and nfa disagree on ${name}`);
  console.log(
    name.padEnd(34) + fmt(dfa.ms) + dfa.ratio.toFixed(2).padStart(8) +
      fmt(nfa.ms) + nfa.ratio.toFixed(2).padStart(8) + "  " + dfa.result,
  );
}

// ---- normalization (plugin/normalize) as filter/judge.ts uses it: a deny list on the text as
// written, then on its normalized form when normalization changed it. Texts of SIZE made of the
// clean multilingual corpus (plugin/normalize/testdata), of its lines that normalization leaves
// alone, of the prompt text above, and of the corpus with evasions mixed in (then the time is the
// time to find the first one). The deny list is one the corpus is clean against.
const NORMALIZE_DENY_LIST = [
  "(?i)ignore\\s+(all\\s+)?(the\\s+)?(previous|prior|above)\\s+instructions",
  "(?i)\\bpassword\\b",
  "(?i)\\bsecret\\b",
  "(?i)\\bcop\\b",
  "(?i)\\bapi[_-]?key\\s*[:=]\\s*\\S{8,}",
  "\\b\\d{3}-\\d{2}-\\d{4}\\b",
  "\\b4\\d{3}([ -]?\\d{4}){3}\\b",
  "\\bAKIA[0-9A-Z]{16}\\b",
  "(?i)\\bsk-[a-z0-9]{20,}",
  "(?i)\\bjailbreak",
  "(?i)пароль",
  "密码",
];
const corpusLines = readFileSync(new URL("../plugin/normalize/testdata/clean_prompts.txt", import.meta.url), "utf8")
  .split("\n")
  .filter((l) => l.trim() !== "" && !l.startsWith("#"));
/** @param {string[]} lines */
function fill(lines) {
  let s = "";
  for (let i = 0; s.length < SIZE; i++) s += lines[i % lines.length] + "\n";
  return s.slice(0, SIZE);
}
const unchangedLines = corpusLines.filter((l) => normalizeProbe.isUnchanged(l));
const evasions = ["раssword: hunter2", "ｉｇｎｏｒｅ ｐｒｅｖｉｏｕｓ", "se\u200bcret", "p\u0337\u0321\u0334a\u0336\u0322\u030ds\u0338\u0327\u0352s"];
const NORMALIZE_CASES = /** @type {[string, string][]} */ ([
  ["prompt text (English, a little CJK)", prompt],
  ["ASCII text", prompt.replace(/[^\x00-\x7f]/g, "x")],
  [`corpus lines left unchanged (${unchangedLines.length})`, fill(unchangedLines)],
  [`whole multilingual corpus (${corpusLines.length})`, fill(corpusLines)],
  ["corpus with an evasion every 8 lines", fill(corpusLines.flatMap((l, i) => (i % 8 === 7 ? [l, evasions[(i >> 3) % evasions.length]] : [l])))],
]);
if (!normalizeProbe.compile(NORMALIZE_DENY_LIST)) throw new Error(normalizeProbe.error());

/** Best ms per call of judgeRepeated(text, reps, withNormalization), timed like timeIt. @param {string} text @param {boolean} on */
function timeJudge(text, on, rounds = 3) {
  let reps = 1;
  for (;;) {
    const t0 = performance.now();
    normalizeProbe.judgeRepeated(text, reps, on);
    if (performance.now() - t0 >= 30 || reps >= 1 << 16) break;
    reps *= 2;
  }
  let best = Infinity;
  for (let i = 0; i < rounds; i++) {
    const t0 = performance.now();
    normalizeProbe.judgeRepeated(text, reps, on);
    best = Math.min(best, (performance.now() - t0) / reps);
  }
  return best;
}

console.log("");
console.log(`normalization: a deny list of ${NORMALIZE_DENY_LIST.length} patterns over ${SIZE / 1000} kB texts, plain match vs plain + normalized`);
console.log("(normalizeForMatching, then a second match when it changed the text); ratio = normalized ms / plain ms.");
console.log("text".padEnd(42) + "plain ms".padStart(10) + "norm ms".padStart(10) + "ratio".padStart(8) + "  changed  result");
for (const [name, text] of NORMALIZE_CASES) {
  let plain = Infinity;
  let norm = Infinity;
  for (let i = 0; i < 3; i++) {
    plain = Math.min(plain, timeJudge(text, false));
    norm = Math.min(norm, timeJudge(text, true));
  }
  const changed = normalizeProbe.isUnchanged(text) ? "no " : "yes";
  const result = `${normalizeProbe.matchPlain(text)} / ${normalizeProbe.judge(text)}`;
  console.log(name.padEnd(42) + fmt(plain) + fmt(norm) + (norm / plain).toFixed(2).padStart(8) + "  " + changed + "      " + result);
}
