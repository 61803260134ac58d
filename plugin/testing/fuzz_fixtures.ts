// Fuzz failures kept as fixtures: a fuzzer saves the input that failed under
// test/fixtures/fuzz/<kind>/, and the same fuzzer replays every saved input of its kind first, so
// a failure found once (by `make fuzz`, a CI run, a seed someone tried) stays a regression test
// once it is committed. Inputs are JSON; byte arrays are kept as base64.
//
// Each fuzzer checks one case with one function, used both for the saved inputs and for the random
// ones; FuzzFailures keeps what failed (saving random cases' inputs, naming the files in the
// messages) and prints the run's result line that tools/fuzz/run.mjs reads. Saved inputs are
// replayed in a VM of their own: a failure that needed what the random run's VM had seen before
// (a leak, a trap after thousands of requests) may pass alone; its seed and count reproduce it.
// A saved input that fails is not to be committed until the bug is fixed.
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const FIXTURES = resolve(REPO_ROOT, 'test', 'fixtures', 'fuzz');

export interface SavedInput<T> {
  /** The file's name without .json: `seed<seed>-<index>` for fuzzer finds, a word for hand-made ones. */
  name: string;
  /** Why it was saved: the failure seen when it was found. */
  why: string;
  input: T;
  /** The file, relative to the repository (for messages). */
  file: string;
}

const BYTES = '$bytes';

// `this[key]` is the value before toJSON: a Buffer (which has one) is kept as bytes too.
function encode(this: unknown, key: string, value: unknown): unknown {
  const raw = (this as Record<string, unknown>)[key];
  if (raw instanceof Uint8Array) return { [BYTES]: Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).toString('base64') };
  return value;
}

function decode(_key: string, value: unknown): unknown {
  if (value && typeof value === 'object' && !Array.isArray(value)) {
    const o = value as Record<string, unknown>;
    const keys = Object.keys(o);
    if (keys.length === 1 && keys[0] === BYTES && typeof o[BYTES] === 'string') return new Uint8Array(Buffer.from(o[BYTES], 'base64'));
  }
  return value;
}

export function fixtureDir(kind: string): string {
  return resolve(FIXTURES, kind);
}

/** A path relative to the repository, for messages. */
export function repoPath(file: string): string {
  return relative(REPO_ROOT, file);
}

/** Saves a failing input (once per name) and returns the file's path, for the failure message. */
export function saveFailure(kind: string, name: string, why: string, input: unknown): string {
  const dir = fixtureDir(kind);
  mkdirSync(dir, { recursive: true });
  const file = resolve(dir, `${name}.json`);
  if (!existsSync(file)) writeFileSync(file, `${JSON.stringify({ why, input }, encode, 2)}\n`);
  return file;
}

/** Every input saved for a kind, in name order (none when the folder doesn't exist). */
export function savedFailures<T>(kind: string): SavedInput<T>[] {
  const dir = fixtureDir(kind);
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => {
      const path = resolve(dir, f);
      const saved = JSON.parse(readFileSync(path, 'utf8'), decode) as { why: string; input: T };
      return { name: f.slice(0, -'.json'.length), why: saved.why, input: saved.input, file: repoPath(path) };
    });
}

/** FUZZ_REPLAY=0 skips the saved inputs (tools/fuzz/run.mjs: only the first job of a kind replays them). */
export function replaySaved(): boolean {
  return process.env.FUZZ_REPLAY !== '0';
}

/** Random cases whose inputs are saved in one run at most (a bug every case hits would write thousands). */
export const MAX_SAVED = 20;
/** Messages kept for the assertion at most. */
const MAX_MESSAGES = 20;

/**
 * What failed in one fuzzer's run: saved inputs that fail again, and random cases, whose inputs
 * are saved as `seed<seed>-<index>` (a `prefix` keeps a fuzzer's second loop apart).
 */
export class FuzzFailures {
  readonly messages: string[] = [];
  /** Files written by this run (relative to the repository). */
  readonly saved: string[] = [];
  /** Saved inputs replayed, and how many of them failed. */
  replayed = 0;
  replayFailures = 0;
  /** Random cases that failed (all of them, saved or not). */
  randomFailures = 0;
  private readonly started = performance.now();

  constructor(
    readonly kind: string,
    readonly seed: number,
    readonly prefix = '',
  ) {}

  get count(): number {
    return this.replayFailures + this.randomFailures;
  }

  /** A saved input checked again: `reasons` empty when it passes now. */
  replay(saved: SavedInput<unknown>, reasons: string[]): void {
    this.replayed++;
    if (reasons.length === 0) return;
    this.replayFailures++;
    this.note(`saved input ${saved.file} fails again: ${reasons.join('; ')} (saved because: ${saved.why.slice(0, 200)})`);
  }

  /**
   * A random case checked: when `reasons` isn't empty its whole input is saved and the message
   * names the file. `input` and `detail` (for the message) are made only then.
   */
  random(index: number, reasons: string[], input: () => unknown, detail: () => string = () => ''): void {
    if (reasons.length === 0) return;
    this.randomFailures++;
    const why = reasons.join('; ');
    let where = `(not saved: ${MAX_SAVED} inputs saved already)`;
    if (this.saved.length < MAX_SAVED) {
      const file = repoPath(saveFailure(this.kind, `seed${this.seed}-${this.prefix}${index}`, why, input()));
      this.saved.push(file);
      where = `input saved to ${file}`;
    }
    if (this.messages.length >= MAX_MESSAGES) return;
    const more = detail();
    this.note(`#${index} ${why}; ${where}${more ? `\n   ${more}` : ''}`);
  }

  private note(message: string): void {
    if (this.messages.length < MAX_MESSAGES) this.messages.push(message);
  }

  /** The line tools/fuzz/run.mjs reads (it sets FUZZ_REPORT=1): kind, seed, inputs, failures, seconds since this was made, saved files. */
  report(inputs: number): void {
    if (process.env.FUZZ_REPORT !== '1') return;
    const seconds = Math.round(performance.now() - this.started) / 1000;
    const result = { kind: this.kind, seed: this.seed, inputs, replayed: this.replayed, failures: this.count, seconds, saved: this.saved };
    console.log(`FUZZ_RESULT ${JSON.stringify(result)}`);
  }
}
