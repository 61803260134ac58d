// @ts-check
/** Locations shared by the e2e tests, the demo and the bench. */
import { fileURLToPath } from 'node:url';
import path from 'node:path';

/** The repository root (two levels above test/support). */
export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/** The release build of the filter (`npx asc plugin/index.ts --target release`). */
export const WASM_PATH = process.env.LLM_GUARD_WASM ?? path.join(REPO_ROOT, 'build', 'llm_guard.wasm');

/** The Envoy binary: ENVOY_BIN, else the venv the Makefile creates. */
export const ENVOY_BIN = process.env.ENVOY_BIN ?? path.join(REPO_ROOT, '.venv', 'bin', 'envoy');
