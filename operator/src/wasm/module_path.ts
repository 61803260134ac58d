// Where the compiled filter is, for every in-process host (validate, test, the operator's check)
// and for the local mesh: $LLMGUARD_WASM, else build/llm_guard.wasm of this checkout (found from
// this file, as TypeScript source in operator/src/wasm or compiled in build/operator/wasm: both
// are three levels below the repository), else ./build/llm_guard.wasm.
import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const WASM_ENV = 'LLMGUARD_WASM';

export class WasmModuleNotFoundError extends Error {
  constructor(readonly tried: string[]) {
    super(`filter module not found (build it with \`npx asc plugin/index.ts --target release\`); looked for: ${tried.join(', ')}`);
    this.name = 'WasmModuleNotFoundError';
  }
}

/** The places looked at, in order. */
export function wasmPathCandidates(): string[] {
  const env = process.env[WASM_ENV];
  if (env) return [resolve(env)];
  const checkout = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
  return [...new Set([resolve(checkout, 'build', 'llm_guard.wasm'), resolve(process.cwd(), 'build', 'llm_guard.wasm')])];
}

/** The first candidate that exists; throws WasmModuleNotFoundError when none does. */
export function defaultWasmPath(): string {
  const candidates = wasmPathCandidates();
  const found = candidates.find((p) => existsSync(p));
  if (!found) throw new WasmModuleNotFoundError(candidates);
  return found;
}
