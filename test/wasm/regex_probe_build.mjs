// Builds (when stale) and loads the plugin/regex test probe:
//   asc test/wasm/regex_probe.ts --config test/wasm/regex_probe.asconfig.json -o build/test/regex_probe.wasm
// The explicit --config keeps the repository's asconfig.json (plugin entry, WASI shim) out of it.
// Concurrent callers are serialized by a lock directory; outputs are written to a temporary
// directory and renamed into place, the .wasm (which freshness is judged on) last.
// Standalone: `node test/wasm/regex_probe_build.mjs`.

import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, "../..");
const outDir = join(root, "build/test");
const outWasm = join(outDir, "regex_probe.wasm");
const outJs = join(outDir, "regex_probe.js");
const lockDir = join(outDir, ".regex_probe.lock");
const LOCK_STALE_MS = 5 * 60 * 1000;

function inputs() {
  const dir = join(root, "plugin/regex");
  const files = readdirSync(dir)
    .filter((f) => f.endsWith(".ts"))
    .map((f) => join(dir, f));
  return [...files, join(here, "regex_probe.ts"), join(here, "regex_probe.asconfig.json"), fileURLToPath(import.meta.url)];
}

function upToDate() {
  if (!existsSync(outWasm) || !existsSync(outJs)) return false;
  const builtAt = statSync(outWasm).mtimeMs;
  return inputs().every((f) => statSync(f).mtimeMs <= builtAt);
}

async function locked(fn) {
  mkdirSync(outDir, { recursive: true });
  const giveUpAt = Date.now() + 2 * LOCK_STALE_MS;
  while (true) {
    try {
      mkdirSync(lockDir);
      break;
    } catch (err) {
      if (err.code !== "EEXIST") throw err;
      try {
        if (Date.now() - statSync(lockDir).mtimeMs > LOCK_STALE_MS) rmSync(lockDir, { recursive: true, force: true });
      } catch {
        // released meanwhile
      }
      if (Date.now() > giveUpAt) throw new Error(`gave up waiting for ${lockDir}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  try {
    return await fn();
  } finally {
    rmSync(lockDir, { recursive: true, force: true });
  }
}

function runAsc() {
  const tmp = join(outDir, `.regex_probe.tmp-${process.pid}`);
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  try {
    execFileSync(
      process.execPath,
      [
        join(root, "node_modules/assemblyscript/bin/asc.js"),
        "test/wasm/regex_probe.ts",
        "--config", "test/wasm/regex_probe.asconfig.json",
        "-o", join(tmp, "regex_probe.wasm"),
      ],
      { cwd: root, stdio: ["ignore", "pipe", "pipe"] },
    );
  } catch (err) {
    throw new Error(`asc failed for test/wasm/regex_probe.ts:\n${err.stdout ?? ""}${err.stderr ?? ""}`);
  }
  for (const f of ["regex_probe.d.ts", "regex_probe.js", "regex_probe.wasm"]) {
    renameSync(join(tmp, f), join(outDir, f));
  }
  rmSync(tmp, { recursive: true, force: true });
}

/** Builds the probe unless it is newer than all its sources; returns the bindings' path. */
export async function buildRegexProbe() {
  if (!upToDate()) {
    await locked(async () => {
      if (!upToDate()) runAsc();
    });
  }
  return outJs;
}

/** Builds when needed, then imports the ESM bindings. */
export async function loadRegexProbe() {
  return import(pathToFileURL(await buildRegexProbe()).href);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  await buildRegexProbe();
  console.log(`built ${outWasm}`);
}
