// vitest globalSetup: builds build/llm_guard.wasm once per run with the project's own command
// (`asc plugin/index.ts --target release`). Set LLM_GUARD_SKIP_BUILD=1 to test an existing .wasm.

import { execFileSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));
const DEFAULT_WASM_PATH = resolve(REPO_ROOT, 'build', 'llm_guard.wasm');

export default function setup(): void {
  if (process.env.LLM_GUARD_SKIP_BUILD === '1') {
    if (!existsSync(DEFAULT_WASM_PATH)) throw new Error(`LLM_GUARD_SKIP_BUILD=1 but ${DEFAULT_WASM_PATH} does not exist`);
    return;
  }
  const asc = resolve(REPO_ROOT, 'node_modules', 'assemblyscript', 'bin', 'asc.js');
  const started = Date.now();
  try {
    execFileSync(process.execPath, [asc, 'plugin/index.ts', '--target', 'release'], {
      cwd: REPO_ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
      encoding: 'utf8',
    });
  } catch (e) {
    const err = e as { stdout?: string; stderr?: string; message: string };
    throw new Error(`asc plugin/index.ts --target release failed:\n${err.stdout ?? ''}${err.stderr ?? err.message}`);
  }
  const size = statSync(DEFAULT_WASM_PATH).size;
  console.log(`[global-setup] built ${DEFAULT_WASM_PATH} (${size} bytes) in ${Date.now() - started} ms`);
}
