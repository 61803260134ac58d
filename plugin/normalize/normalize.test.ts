// plugin/normalize, run as Wasm through the test probe (plugin/testing/normalize_probe.ts): each
// evasion it undoes, what it must leave alone, NFKC against Node's own (ICU, the same Unicode
// version), bounded growth, and pattern sets compiled with normalized literals.
import { beforeAll, describe, expect, it } from 'vitest';
// @ts-ignore -- plain ESM build helper without type declarations
import { loadNormalizeProbe } from '../testing/probes.mjs';
import { seededRandom } from '../testing/prng.mjs';

interface Probe {
  normalize(text: string): string;
  normalizeWholeText(text: string): string;
  isUnchanged(text: string): boolean;
  nfkc(text: string): string;
  literal(cp: number, inMixedWord: boolean): string;
  versions(): string;
  compile(patterns: string[]): boolean;
  error(): string;
  literalsChanged(): boolean;
  matchPlain(text: string): number;
  judge(text: string): number;
}

let probe: Probe;

beforeAll(async () => {
  probe = (await loadNormalizeProbe()) as Probe;
}, 180_000);

const norm = (s: string) => probe.normalize(s);
const cps = (s: string) => [...s].map((c) => 'U+' + c.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')).join(' ');

describe('tables', () => {
  it('are Unicode 17.0 (as Node, the reference below) and confusables.txt 18.0', () => {
    expect(probe.versions()).toBe('17.0.0 18.0.0');
    expect(process.versions.unicode).toBe('17.0');
  });
});

describe('evasions undone', () => {
  it('fullwidth, mathematical, circled and other compatibility letters (NFKC)', () => {
    expect(norm('ＰＡＳＳＷＯＲＤ')).toBe('PASSWORD');
    expect(norm('ｉｇｎｏｒｅ　ｐｒｅｖｉｏｕｓ')).toBe('ignore previous'); // U+3000 ideographic space too
    expect(norm('𝐩𝐚𝐬𝐬𝐰𝐨𝐫𝐝 𝓅𝒶𝓈𝓈 𝕤𝕖𝕔𝕣𝕖𝕥 𝚜𝚎𝚌𝚛𝚎𝚝')).toBe('password pass secret secret');
    expect(norm('ⓢⓔⓒⓡⓔⓣ ⒮⒠⒞')).toBe('secret (s)(e)(c)');
    expect(norm('ﬁle ﬂag ﬀ ǆ Ǳ')).toBe('file flag ff dž DZ');
    expect(norm('x² ₃ ½ ™ …')).toBe('x2 3 1/2 TM ...'); // NFKC gives 1⁄2, whose U+2044 looks like /
    expect(norm('１２３-４５-６７８９')).toBe('123-45-6789');
    expect(norm('ｶﾀｶﾅ')).toBe('カタカナ');
  });

  it('default-ignorable code points removed', () => {
    const invisible = [
      0x200b, 0x200c, 0x200d, 0x2060, 0x2061, 0x2062, 0x2063, 0x2064, 0xfeff, 0x00ad, 0x034f, 0x061c, 0x115f, 0x1160,
      0x17b4, 0x180b, 0x180e, 0x200e, 0x200f, 0x202a, 0x202e, 0x2066, 0x2069, 0x3164, 0xfe00, 0xfe0f, 0xffa0,
      0x1bca0, 0x1d173, 0xe0001, 0xe0041, 0xe007f, 0xe0100, 0xe01ef,
    ];
    for (const cp of invisible) {
      const c = String.fromCodePoint(cp);
      expect(norm(`pass${c}word`), `U+${cp.toString(16)}`).toBe('password');
      expect(norm(`${c}${c}secret${c}`), `U+${cp.toString(16)}`).toBe('secret');
    }
    expect(norm('\u200b\u200c\u200d')).toBe('');
    // Emoji sequences lose their joiners and selectors: matching sees the pictographs.
    expect(norm('❤️ 👩‍💻')).toBe('❤ 👩💻');
  });

  it('combining-mark stacks (Zalgo) removed from letters, whatever they are', () => {
    expect(norm('p\u0337\u0338\u0336a\u0336\u0335\u0334s\u0321\u0322\u0327s\u030d\u030e\u0304w\u0301\u0300\u0302o\u0303\u0308\u030ar\u0323\u0324\u0325d\u0350\u0351\u0352')).toBe('password');
    // Heavy Zalgo from the other generic blocks, and on precomposed letters.
    expect(norm('s\u1ab0\u1ab1\u1ab2e\u1dc0\u1dc1\u1dc2c\u20d0\u20d1\u20d2r\ufe20\ufe21\ufe22é\u0301\u0302t')).toBe('secret');
    expect(norm('ộ\u0300')).toBe('o'); // three generic marks on one letter: a stack
    // Marks that form no precomposed letter go one by one too.
    expect(norm('p\u0337a\u0338s\u0335s')).toBe('pass');
    expect(norm('x\u0301q\u0308')).toBe('xq');
    expect(norm('y\u0308')).toBe('ÿ'); // but y + U+0308 is ÿ
    // A long stack is linear: one letter, 100 000 marks.
    expect(norm('a' + '\u0301\u0316'.repeat(50_000) + 'b')).toBe('ab');
  });

  it('Cyrillic and Greek look-alikes inside words that mix in Latin letters', () => {
    expect(norm('раssword')).toBe('password'); // р, а Cyrillic
    expect(norm('ΡΑSSWΟRD')).toBe('PASSWORD'); // Ρ, Α, Ο Greek
    expect(norm('ignоre prevіous іnstructіons')).toBe('ignore previous instructions');
    expect(norm('АKIAIOSFODNN7EXAMPLE')).toBe('AKIAIOSFODNN7EXAMPLE');
    expect(norm('sеcrеt')).toBe('secret');
    // Case follows the source: Cyrillic І is I (the UTS #39 prototype would be l), і is i.
    expect(norm('ІGNORE іgnore')).toBe('IGNORE ignore');
    // The decision is per word: the mixed word is mapped, the Russian one next to it is not.
    expect(norm('сор раss сор')).toBe('сор pass сор');
    // Joiners cannot split a word to hide it: they go first.
    expect(norm('р\u200bа\u200bssword')).toBe('password');
    // Fullwidth letters count as Latin once NFKC made them ASCII.
    expect(norm('ｐаss')).toBe('pass');
  });

  it('look-alike alphabets outside everyday scripts, anywhere', () => {
    expect(norm('ꓑꓮꓢꓢꓪꓳꓣꓓ')).toBe('PASSWORD'); // Lisu
    expect(norm('ᏚᎬᏟᎡᎬᎢ')).toBe('SECRET'); // Cherokee
    expect(norm('ⲣⲁⲥⲥ')).toBe(norm('ⲣⲁⲥⲥ')); // Coptic: mapped where confusables.txt has a Latin twin
    expect(norm('ⲣ ⲟ ⲥ')).toBe('p o c');
  });

  it('punctuation look-alikes, anywhere', () => {
    expect(norm('123‐45‐6789')).toBe('123-45-6789'); // U+2010 hyphen
    expect(norm('123−45−6789')).toBe('123-45-6789'); // U+2212 minus
    expect(norm('password∶ hunter2')).toBe('password: hunter2'); // U+2236 ratio
    expect(norm('don’t “quote”')).toBe('don\'t "quote"');
    expect(norm('a∕b')).toBe('a/b');
  });
});

describe('left alone', () => {
  it('ASCII: the same instance, whatever it holds', () => {
    for (const s of ['', 'hello', 'l0l 1I| O0o rn m', 'password: 4111 1111 1111 1111', '\u0000\u007f\t\n', 'x'.repeat(10_000)]) {
      expect(probe.isUnchanged(s), JSON.stringify(s.slice(0, 40))).toBe(true);
    }
  });

  it('ASCII is never mapped: digits stay digits, l stays l', () => {
    expect(norm('1l0O|I')).toBe('1l0O|I');
    expect(norm('card 4111 1111 1111 1111 and ѕ')).toBe('card 4111 1111 1111 1111 and ѕ');
  });

  it('words written wholly in Cyrillic or Greek', () => {
    for (const s of ['сор', 'Сосо', 'рос', 'Привет, как дела? Всё хорошо.', 'ООО «Ромашка»', 'Ελληνικά: ο κόσμος, το σπίτι', 'ΑΒΓ', 'Українська мова: ґанок, їжак, єнот']) {
      expect(probe.isUnchanged(s), s).toBe(true);
    }
  });

  it('accented letters, NFC or NFD, and script-specific marks', () => {
    for (const s of ['café naïve résumé', 'Straße Größe', 'cọp cóp tiếng Việt', 'ǘ pinyin lǜ', 'Ağaç şehir', 'हिन्दी ज़रूरत', 'مَرْحَبًا', 'שָׁלוֹם', 'ปลา', 'አማርኛ']) {
      expect(probe.isUnchanged(s), s).toBe(true);
    }
    // NFD spellings compose to the same NFC text: two marks on a letter are orthography.
    expect(norm('co\u0323p')).toBe('cọp');
    expect(norm('tie\u0302\u0301ng Vie\u0323\u0302t')).toBe('tiếng Việt');
    expect(norm('cafe\u0301')).toBe('café');
    expect(norm('a <\u0338 b =\u0338 c')).toBe('a ≮ b ≠ c');
    // Latin-script look-alikes are mapped in words with ASCII letters: Turkish dotless ı reads as i.
    expect(norm('ışık Ağır')).toBe('işik Ağir');
  });

  it('CJK, Korean, emoji and numbers', () => {
    for (const s of ['请用Python写一个函数', '日本語のテキストです。〇〇', '한국어 텍스트', '📊 €1.299,00 ¥5000 ±3 °C', '二〇二四年']) {
      expect(probe.isUnchanged(s), s).toBe(true);
    }
    // Compatibility jamo are NFKC-mapped to conjoining ones (and a Hangul syllable's halves compose).
    expect(norm('ㅋㅋ')).toBe('\u110f\u110f');
    expect(norm('\u1100\u1161')).toBe('가');
  });
});

describe('the quick check and segments', () => {
  it('give what the pipeline gives on the whole text, on random mixes of everything it handles', () => {
    const rand = seededRandom(23);
    const pool = [
      ...'aeopscxyPASCOXY0189', ...'  .,;:!?-\'"<=>()\n\t', ...'аеорсхуАЕОРСХУпжш', ...'αορΑΟΡλ', ...'ıǀɑ', ...'ꓑꓮꓢ',
      '\u0301', '\u0308', '\u0323', '\u0337', '\u0338', '\u20e3', '\u093c', '\u05b4', '\u0342', '\u200b', '\u00ad', '\ufe0f',
      ...'ｐＡ１', '’', '“', '‐', '−', 'ﬁ', '①', '㌀', 'ﷺ', 'é', 'ộ', '가', '\u1100', '\u1161', '\u11a8', 'ㅋ', '中', 'ノ',
      '𝐩', '😀', '\ud800', '\udc00',
    ];
    for (let n = 0; n < 4000; n++) {
      let s = '';
      const len = Math.floor(rand() * 24);
      for (let i = 0; i < len; i++) s += pool[Math.floor(rand() * pool.length)];
      expect(cps(norm(s)), cps(s)).toBe(cps(probe.normalizeWholeText(s)));
      if (norm(s) === s) expect(probe.isUnchanged(s), cps(s)).toBe(true);
    }
  });
});

describe('NFKC', () => {
  // Node's String.prototype.normalize is ICU on the same Unicode version: an independent reference.
  it('of every assigned code point, as Node computes it', () => {
    const assigned = /^\P{Cn}$/u;
    for (let block = 0; block < 0x110000; block += 0x1000) {
      const chars: string[] = [];
      for (let cp = block; cp < block + 0x1000; cp++) {
        if (cp >= 0xd800 && cp <= 0xdfff) continue;
        const c = String.fromCodePoint(cp);
        if (assigned.test(c)) chars.push(c);
      }
      if (chars.length === 0) continue;
      // '|' composes with nothing: each character is normalized on its own.
      const text = '|' + chars.join('|');
      const got = probe.nfkc(text);
      if (got !== text.normalize('NFKC')) {
        const want = text.normalize('NFKC').split('|');
        const have = got.split('|');
        const bad = chars.map((c, i) => [c, have[i + 1], want[i + 1]]).filter(([, h, w]) => h !== w).slice(0, 5);
        throw new Error(`block ${block.toString(16)}: ${bad.map(([c, h, w]) => `${cps(c ?? '')} -> ${cps(h ?? '')}, want ${cps(w ?? '')}`).join('; ')}`);
      }
    }
  });

  it('of random mixes of letters, combining marks, jamo and compatibility characters', () => {
    const rand = seededRandom(7);
    const pool = [
      ...'aeiouAEIOUnNcCsSzZ', ...'\u0300\u0301\u0302\u0303\u0308\u030a\u030c\u0323\u0327\u0328\u031b\u0345\u0306\u0304',
      ...'αεηιουωΑΕΗΙΟΥΩ\u0313\u0314\u0342', ...'\u1100\u1101\u1161\u1162\u11a8\u11a9가각', ...'ｶﾞﾟ\u3099\u309aかは',
      ...'ﬁ①㌀ǅ', ...'\u05b0\u05b4\u05bc\u05c1\u05d1\u05e9', ...'\u0915\u093c\u094d\u0928\u0930', ...'\u0b47\u0b3e\u0b56\u0bc6\u0bbe',
    ];
    for (let n = 0; n < 3000; n++) {
      let s = '';
      const len = 1 + Math.floor(rand() * 12);
      for (let i = 0; i < len; i++) s += pool[Math.floor(rand() * pool.length)];
      expect(cps(probe.nfkc(s)), cps(s)).toBe(cps(s.normalize('NFKC')));
    }
  });

  it('reorders long runs of combining marks (counting sort) as Node does', () => {
    const marks = '\u05c2\u05c1\u05bf\u05bc\u05bb\u05b9\u05b4\u05b0\u0591\u0316\u0301\u0315';
    const s = 'ש' + marks.repeat(2000) + 'x';
    expect(probe.nfkc(s)).toBe(s.normalize('NFKC'));
  });
});

describe('bounded growth', () => {
  it('expansions past 4 code points per UTF-16 unit keep the rest as written', () => {
    const s = 'ﷺ'.repeat(1000); // 18 code points each
    const n = norm(s);
    expect(n.length).toBeLessThanOrEqual(2 * (4 * s.length + 16));
    expect(n.startsWith('صلى الله عليه وسلم')).toBe(true);
    expect(n.endsWith('ﷺ')).toBe(true);
    // Ordinary text with a few long ones expands them all.
    expect(norm('x ﷺ y ㌀ z')).toBe('x صلى الله عليه وسلم y アパート z');
  });

  it('random text of any code points: no trap, output bounded, idempotent on what it gives', () => {
    const rand = seededRandom(11);
    for (let n = 0; n < 300; n++) {
      let s = '';
      const len = Math.floor(rand() * 200);
      for (let i = 0; i < len; i++) {
        const r = rand();
        const cp = r < 0.3 ? Math.floor(rand() * 0x80) : r < 0.8 ? Math.floor(rand() * 0x3000) : Math.floor(rand() * 0x110000);
        s += String.fromCharCode(...(cp >= 0x10000 ? [0xd800 + ((cp - 0x10000) >> 10), 0xdc00 + ((cp - 0x10000) & 0x3ff)] : [cp]));
      }
      const once = norm(s);
      expect(once.length).toBeLessThanOrEqual(2 * (4 * s.length + 16));
      expect(norm(once), JSON.stringify(s)).toBe(once);
    }
  });
});

describe('pattern literals normalized the same way', () => {
  function sets(patterns: string[]): void {
    if (!probe.compile(patterns)) throw new Error(probe.error());
  }

  it('all-ASCII and wholly-Cyrillic patterns are unchanged (the plain set serves)', () => {
    sets(['(?i)ignore previous', '\\bpassword\\b', '[a-z]+\\d{3}']);
    expect(probe.literalsChanged()).toBe(false);
    sets(['(?i)пароль', 'сор', '密码|账号', 'café']);
    expect(probe.literalsChanged()).toBe(false);
  });

  it('fullwidth and compatibility literals, also under (?i)', () => {
    sets(['ｐａｓｓ']);
    expect(probe.literalsChanged()).toBe(true);
    expect(probe.judge('my pass')).toBe(0);
    expect(probe.judge('my ｐａｓｓ')).toBe(0);
    expect(probe.judge('my PASS')).toBe(-1);
    sets(['(?i)ｐａｓｓ', 'ﬁle']);
    expect(probe.judge('PaSs')).toBe(0);
    expect(probe.judge('ＰＡＳＳ')).toBe(0);
    expect(probe.judge('file')).toBe(1);
    expect(probe.judge('ﬁle')).toBe(1);
  });

  it('a look-alike inside a Latin word is mapped, a Cyrillic word is not', () => {
    sets(['pаss']); // Cyrillic а
    expect(probe.literalsChanged()).toBe(true);
    expect(probe.judge('pass')).toBe(0);
    expect(probe.judge('pаss')).toBe(0);
    expect(probe.judge('ра\u200bss')).toBe(0);
    sets(['\\bсор\\b', '(?i)пароль']);
    expect(probe.literalsChanged()).toBe(false);
    expect(probe.judge('cop')).toBe(-1);
    expect(probe.judge('ПАР\u200bОЛЬ')).toBe(1);
  });

  it('default-ignorable literals stay: a pattern naming U+200B does not match everything', () => {
    sets(['\u200b', 'a\\x{200D}b']);
    expect(probe.literalsChanged()).toBe(false);
    expect(probe.judge('x\u200by')).toBe(0);
    expect(probe.judge('a\u200db')).toBe(1);
    expect(probe.judge('plain text')).toBe(-1);
    expect(probe.judge('ab')).toBe(-1);
    expect(probe.literal(0x200b, false)).toBe('\u200b');
  });

  it('a lone generic diacritic in a pattern goes; precomposed letters keep theirs', () => {
    expect(probe.literal(0x0301, false)).toBe('');
    expect(probe.literal(0xe9, false)).toBe('é');
    sets(['café']);
    expect(probe.judge('cafe\u0301')).toBe(0); // NFD text composes to the pattern's é
    sets(['x\u0301y']);
    expect(probe.judge('xy')).toBe(0);
  });

  it('single characters in classes admit their normalized form', () => {
    sets(['[ｐq]ass', '[^ｘ]yz']);
    expect(probe.literalsChanged()).toBe(true);
    expect(probe.judge('pass')).toBe(0);
    expect(probe.judge('ｘyz')).toBe(-1); // normalized: xyz, and [^ｘ] excludes x as well
    expect(probe.judge('ayz')).toBe(1);
    // Ranges and named classes are left as written: \p{Cyrillic} must not admit Latin letters.
    sets(['^\\p{Cyrillic}+$', '[а-я]{4}']);
    expect(probe.literalsChanged()).toBe(false);
    expect(probe.judge('pass')).toBe(-1);
  });

  it('(?i) with Greek, Cyrillic and fullwidth text', () => {
    sets(['(?i)σοφία', '(?i)пароль', '(?i)password']);
    expect(probe.judge('ΣΟΦΙ\u0301Α')).toBe(0); // decomposed capital iota with tonos
    expect(probe.judge('ΣΟΦΊΑ')).toBe(0);
    expect(probe.judge('П\u00adАРОЛЬ')).toBe(1);
    expect(probe.judge('ＰＡＳＳＷＯＲＤ')).toBe(2);
    expect(probe.judge('РАSSWORD')).toBe(2); // Cyrillic Р, А
  });
});
