// Throughput of plugin/regex (through the Wasm test probe) over 100 kB texts, as a ratio to a
// plain literal pattern run through the same engine in the same process. Prints; never fails.
// Run: node bench/regex.bench.mjs
import { loadRegexProbe } from "../plugin/testing/probes.mjs";
import { seededRandom } from "../plugin/testing/prng.mjs";

const probe = await loadRegexProbe();
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
