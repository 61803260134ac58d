// Builds (when stale) and loads the plugin/json + plugin/inspect test probe:
//   asc test/wasm/json_probe.ts --runtime incremental --bindings esm -O3 -o build/test/json_probe.wasm
//
// Safe to call from several vitest workers at once: the build runs under a
// mkdir lock, into a temporary directory, and the outputs are renamed into
// place (bindings first, .wasm last; freshness is judged on the .wasm).
//
// Usable standalone too: `node test/wasm/json_probe_build.mjs`.

import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, "../..");
const outDir = join(root, "build/test");
const outWasm = join(outDir, "json_probe.wasm");
const outJs = join(outDir, "json_probe.js");
const lockDir = join(outDir, ".json_probe.lock");
const STALE_LOCK_MS = 5 * 60 * 1000;

function tsFilesUnder(dir) {
  if (!existsSync(dir)) return [];
  const out = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...tsFilesUnder(p));
    else if (e.name.endsWith(".ts")) out.push(p);
  }
  return out;
}

function sources() {
  return [
    ...tsFilesUnder(join(root, "plugin/json")),
    ...tsFilesUnder(join(root, "plugin/inspect")),
    join(here, "json_probe.ts"),
    join(here, "json_probe.asconfig.json"),
    fileURLToPath(import.meta.url),
  ];
}

function isFresh() {
  if (!existsSync(outWasm) || !existsSync(outJs)) return false;
  const built = statSync(outWasm).mtimeMs;
  return sources().every((f) => statSync(f).mtimeMs <= built);
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function withLock(fn) {
  mkdirSync(outDir, { recursive: true });
  const deadline = Date.now() + 2 * STALE_LOCK_MS;
  for (;;) {
    try {
      mkdirSync(lockDir);
      break;
    } catch (e) {
      if (e.code !== "EEXIST") throw e;
      try {
        if (Date.now() - statSync(lockDir).mtimeMs > STALE_LOCK_MS) rmSync(lockDir, { recursive: true, force: true });
      } catch {
        // lock vanished meanwhile: retry
      }
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${lockDir}`);
      await sleep(200);
    }
  }
  try {
    return await fn();
  } finally {
    rmSync(lockDir, { recursive: true, force: true });
  }
}

function compile() {
  const tmp = join(outDir, `.json_probe.tmp-${process.pid}`);
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  const asc = join(root, "node_modules/assemblyscript/bin/asc.js");
  // An explicit --config keeps the repository's asconfig.json (plugin entry,
  // WASI shim, output files) out of the probe build.
  execFileSync(
    process.execPath,
    [
      asc,
      "test/wasm/json_probe.ts",
      "--config", "test/wasm/json_probe.asconfig.json",
      "--runtime", "incremental",
      "--bindings", "esm",
      "-O3",
      "-o", join(tmp, "json_probe.wasm"),
    ],
    { cwd: root, stdio: ["ignore", "pipe", "pipe"] },
  );
  for (const f of ["json_probe.d.ts", "json_probe.js", "json_probe.wasm"]) {
    renameSync(join(tmp, f), join(outDir, f));
  }
  rmSync(tmp, { recursive: true, force: true });
}

/** Builds the probe if any source is newer than it. Returns the bindings path. */
export async function buildJsonProbe() {
  if (!isFresh()) {
    await withLock(async () => {
      if (!isFresh()) {
        try {
          compile();
        } catch (e) {
          const out = `${e.stdout ?? ""}${e.stderr ?? ""}`;
          throw new Error(`asc failed for test/wasm/json_probe.ts:\n${out}`);
        }
      }
    });
  }
  return outJs;
}

/** Builds if needed, then imports the ESM bindings. */
export async function loadJsonProbe() {
  const js = await buildJsonProbe();
  return import(pathToFileURL(js).href);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  await buildJsonProbe();
  console.log(`built ${outWasm}`);
}
