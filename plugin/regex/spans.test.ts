// PatternSet.spans: where a set matches (the union of all matches), run as Wasm through the
// regex probe, and checked against Node's RegExp trying every start and end.
import { beforeAll, describe, expect, it } from "vitest";
// @ts-ignore -- plain ESM build helper without type declarations
import { loadRegexProbe } from "../testing/probes.mjs";
import { seededRandom } from "../testing/prng.mjs";
import { makeGenerator, randomText, FLAG_SETS } from "../testing/regex_gen.js";

interface Probe {
  compile(patterns: string[]): boolean;
  spans(text: string, before: number, atStart: boolean, final: boolean): string;
  idleFrom(text: string, before: number): number;
}

let probe: Probe;

beforeAll(async () => {
  probe = (await loadRegexProbe()) as Probe;
}, 180_000);

interface Scan {
  spans: [number, number, number][];
  settled: number;
}

function scan(patterns: string[], text: string, opts: { before?: number; atStart?: boolean; final?: boolean } = {}): Scan {
  if (!probe.compile(patterns)) throw new Error(`refused: ${JSON.stringify(patterns)}`);
  const out = probe.spans(text, opts.before ?? -1, opts.atStart ?? true, opts.final ?? true);
  const [list, settled] = out.split("|");
  const spans = list!.length === 0 ? [] : list!.split(",").map((s) => {
    const [range, pattern] = s.split(":");
    const [a, b] = range!.split("-");
    return [Number(a), Number(b), Number(pattern)] as [number, number, number];
  });
  return { spans, settled: Number(settled) };
}

/** The spans' text, for readable expectations. */
function matched(patterns: string[], text: string): string[] {
  return scan(patterns, text).spans.map(([a, b]) => text.slice(a, b));
}

describe("regex spans: the union of all matches", () => {
  it("finds each match, in order, with the lowest pattern in it", () => {
    expect(scan(["\\d{3}"], "call 555 or 123-4")).toEqual({ spans: [[5, 8, 0], [12, 15, 0]], settled: 17 });
    expect(matched(["[a-z]+@[a-z]+\\.com", "\\d{4}"], "mail bob@x.com, pin 1234.")).toEqual(["bob@x.com", "1234"]);
    expect(scan(["x", "b"], "abc").spans).toEqual([[1, 2, 1]]);
  });

  it("merges overlapping and touching matches into one span", () => {
    expect(matched(["abc", "cde"], "zabcdez")).toEqual(["abcde"]);
    expect(matched(["ab", "cd"], "abcd")).toEqual(["abcd"]);
    expect(scan(["b+c", "a"], "abbbc").spans).toEqual([[0, 5, 0]]);
  });

  it("takes the longest reach of each match, not the first way to match", () => {
    expect(matched(["a|ab|abc"], "xabcx")).toEqual(["abc"]);
    expect(matched(["a+?"], "baaab")).toEqual(["aaa"]);
  });

  it("skips empty matches", () => {
    expect(scan(["x*"], "abc").spans).toEqual([]);
    expect(scan(["\\b"], "a b").spans).toEqual([]);
  });

  it("counts UTF-16 units, surrogate pairs whole", () => {
    expect(scan(["😀+"], "a😀😀b").spans).toEqual([[1, 5, 0]]);
    expect(scan(["."], "😀").spans).toEqual([[0, 2, 0]]);
  });

  it("honours the context before the text and whether it starts the input", () => {
    expect(scan(["^a"], "ab", { atStart: false, before: 0x78 }).spans).toEqual([]);
    expect(scan(["(?m)^a"], "ab", { atStart: false, before: 0x0a }).spans).toEqual([[0, 1, 0]]);
    expect(scan(["\\bfoo"], "foo", { atStart: false, before: 0x61 }).spans).toEqual([]);
    expect(scan(["\\bfoo"], "foo", { atStart: false, before: 0x20 }).spans).toEqual([[0, 3, 0]]);
  });

  it("leaves a match that may still grow undecided when the text goes on", () => {
    // "4111 1111" could be the start of a card number: nothing from its start is settled.
    expect(scan(["\\d{4} \\d{4} \\d{4}"], "card 4111 1111", { final: false })).toEqual({ spans: [], settled: 5 });
    // A finished match stays, and what follows it is settled.
    expect(scan(["\\d{3}"], "a 123 b", { final: false })).toEqual({ spans: [[2, 5, 0]], settled: 7 });
    // A match that reaches the end could go on: held from its start.
    const held = scan(["\\d+"], "a 123", { final: false });
    expect(held.settled).toBe(2);
    expect(held.spans.filter(([, b]) => b <= held.settled)).toEqual([]);
    // $ and \b at the end depend on what comes next.
    expect(scan(["end$"], "the end", { final: false })).toEqual({ spans: [], settled: 4 });
    expect(scan(["end$"], "the end", { final: true })).toEqual({ spans: [[4, 7, 0]], settled: 7 });
    expect(scan(["\\bfoo\\b"], "a foo", { final: false }).settled).toBe(2);
  });

  it("never settles inside a span: a pending match that touches one holds it whole", () => {
    const r = scan(["ab", "bcd"], "xabc", { final: false });
    expect(r.settled).toBe(1);
    expect(r.spans.filter(([, b]) => b <= r.settled)).toEqual([]);
  });
});

/** Every UTF-16 unit some non-empty match of some pattern covers, found by trying each start and end with RegExp. */
function coveredByRegExp(res: RegExp[], text: string): boolean[] {
  const cps = Array.from(text);
  const unitAt: number[] = [0];
  for (const cp of cps) unitAt.push(unitAt[unitAt.length - 1]! + cp.length);
  const covered = new Array<boolean>(text.length).fill(false);
  for (const re of res) {
    for (let i = 0; i < cps.length; i++) {
      for (let j = i + 1; j <= cps.length; j++) {
        // Sticky at i, ending exactly j code points in: what follows is left for lookaround.
        const ending = new RegExp(`(?:${re.source})(?=[\\s\\S]{${cps.length - j}}(?![\\s\\S]))`, `y${re.flags}`);
        ending.lastIndex = unitAt[i]!;
        if (ending.test(text)) for (let u = unitAt[i]!; u < unitAt[j]!; u++) covered[u] = true;
      }
    }
  }
  return covered;
}

function coveredBySpans(spans: [number, number, number][], length: number, from = 0, upTo = length): boolean[] {
  const covered = new Array<boolean>(length).fill(false);
  for (const [a, b] of spans) for (let u = a; u < b; u++) if (u + from < upTo) covered[u + from] = true;
  return covered;
}

describe("regex spans: differential against Node's RegExp", () => {
  it("covers the same text on 1,200 random patterns and sets x 4 texts (fixed seed)", () => {
    const rand = seededRandom(20261203);
    const failures: string[] = [];
    let compared = 0;
    for (let i = 0; i < 1200; i++) {
      const [goFlags, jsFlags] = FLAG_SETS[i % FLAG_SETS.length]!;
      const gen = makeGenerator(rand, jsFlags.includes("i"));
      const pats = i % 3 === 0 ? [gen(), gen(), gen()] : [gen()];
      const res = pats.map((p) => new RegExp(p.js, "u" + jsFlags));
      for (let k = 0; k < 4; k++) {
        const text = randomText(rand) + randomText(rand);
        const ours = coveredBySpans(scan(pats.map((p) => goFlags + p.go), text).spans, text.length);
        const expected = coveredByRegExp(res, text);
        compared++;
        if (JSON.stringify(ours) !== JSON.stringify(expected) && failures.length < 10) {
          failures.push(`${JSON.stringify(pats.map((p) => goFlags + p.go))} on ${JSON.stringify(text)}: ${JSON.stringify(ours)} vs ${JSON.stringify(expected)}`);
        }
      }
    }
    expect(failures).toEqual([]);
    expect(compared).toBe(4800);
  });

  it("a text scanned in two parts (the first not final, the rest from where it settled) covers what one scan does", () => {
    const rand = seededRandom(31337);
    const failures: string[] = [];
    for (let i = 0; i < 1500; i++) {
      const [goFlags] = FLAG_SETS[i % FLAG_SETS.length]!;
      const gen = makeGenerator(rand, goFlags.includes("i"));
      const pats = [goFlags + gen().go, goFlags + gen().go];
      const text = randomText(rand) + randomText(rand) + randomText(rand);
      let cut = Math.floor(rand() * (text.length + 1));
      if (cut > 0 && cut < text.length && (text.charCodeAt(cut) & 0xfc00) === 0xdc00) cut--;
      const whole = coveredBySpans(scan(pats, text).spans, text.length);
      const first = scan(pats, text.slice(0, cut), { final: false });
      const settled = first.settled;
      const head = coveredBySpans(first.spans, text.length, 0, settled);
      const before = settled > 0 ? text.codePointAt(settled - 1 - ((text.charCodeAt(settled - 1) & 0xfc00) === 0xdc00 ? 1 : 0))! : -1;
      const rest = scan(pats, text.slice(settled), { before, atStart: settled === 0 });
      const tail = coveredBySpans(rest.spans, text.length, settled);
      const both = head.map((c, u) => c || tail[u]!);
      if (JSON.stringify(both) !== JSON.stringify(whole) && failures.length < 10) {
        failures.push(`${JSON.stringify(pats)} on ${JSON.stringify(text)} cut at ${cut} (settled ${settled}): ${JSON.stringify(both)} vs ${JSON.stringify(whole)}`);
      }
    }
    expect(failures).toEqual([]);
  });
});

describe('regex idleFrom: the lazy DFA\'s shortcut for texts that go on', () => {
  it('agrees with the span VM: where it answers, nothing matched and the VM settles at or after it, the same from there on', () => {
    const rand = seededRandom(4242);
    const failures: string[] = [];
    let answered = 0;
    for (let i = 0; i < 1500; i++) {
      const [goFlags] = FLAG_SETS[i % FLAG_SETS.length]!;
      const gen = makeGenerator(rand, goFlags.includes('i'));
      const pats = [goFlags + gen().go, goFlags + gen().go];
      const text = randomText(rand) + randomText(rand);
      const atStart = rand() < 0.5;
      const before = atStart ? -1 : 'a _\n'.codePointAt(Math.floor(rand() * 4))!;
      const whole = scan(pats, text, { before, atStart, final: false });
      const idle = probe.idleFrom(text, atStart ? -1 : before);
      if (idle === -1) continue;
      answered++;
      const rest = idle < text.length ? scan(pats, text.slice(idle), { before: idle > 0 ? text.codePointAt(idle - 1 - ((text.charCodeAt(idle - 1) & 0xfc00) === 0xdc00 ? 1 : 0))! : before, atStart: atStart && idle === 0, final: false }) : { spans: [], settled: 0 };
      const ok = whole.spans.filter(([, b]) => b <= whole.settled).length === 0 && rest.spans.length === 0 && whole.settled >= idle && rest.settled + idle === whole.settled;
      if (!ok && failures.length < 10) failures.push(`${JSON.stringify(pats)} on ${JSON.stringify(text)} (before ${before}): idle ${idle}, VM ${JSON.stringify(whole)}, rest ${JSON.stringify(rest)}`);
    }
    expect(failures).toEqual([]);
    expect(answered).toBeGreaterThan(200);
  });
});
