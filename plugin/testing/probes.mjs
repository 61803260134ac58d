// Builds (when stale) and loads the test probes: small AssemblyScript entry points that export
// internals of the plugin (json + inspect, regex, normalize, sse) to JavaScript, for their tests and benchmarks:
//   asc plugin/testing/<name>.ts --config plugin/testing/<name>.asconfig.json -o build/test/<name>.wasm
// The explicit --config keeps the repository's asconfig.json (plugin entry, WASI shim) out of it.
// Safe to call from several vitest workers at once: the build runs under a mkdir lock, into a
// temporary directory, and the outputs are renamed into place (the .wasm, on whose age freshness
// is judged, last). Standalone: `node plugin/testing/probes.mjs` builds them all.

import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, "../..");
const outDir = join(root, "build/test");
const STALE_LOCK_MS = 5 * 60 * 1000;

/**
 * The plugin sources a probe compiles, tests left out.
 * @param {string} dir
 * @returns {string[]}
 */
function tsFilesUnder(dir) {
  if (!existsSync(dir)) return [];
  const out = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...tsFilesUnder(p));
    else if (e.name.endsWith(".ts") && !e.name.endsWith(".test.ts")) out.push(p);
  }
  return out;
}

const sleep = (/** @type {number} */ ms) => new Promise((r) => setTimeout(r, ms));

/** @param {string} lockDir @param {() => void} fn */
async function withLock(lockDir, fn) {
  mkdirSync(outDir, { recursive: true });
  const deadline = Date.now() + 2 * STALE_LOCK_MS;
  for (;;) {
    try {
      mkdirSync(lockDir);
      break;
    } catch (e) {
      if (/** @type {NodeJS.ErrnoException} */ (e).code !== "EEXIST") throw e;
      try {
        if (Date.now() - statSync(lockDir).mtimeMs > STALE_LOCK_MS) rmSync(lockDir, { recursive: true, force: true });
      } catch {
        // released meanwhile: retry
      }
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${lockDir}`);
      await sleep(200);
    }
  }
  try {
    fn();
  } finally {
    rmSync(lockDir, { recursive: true, force: true });
  }
}

/**
 * Builds the probe `name` if any of its sources is newer than it; returns its ESM bindings' path.
 * @param {string} name            json_probe | regex_probe | normalize_probe | sse_probe
 * @param {string[]} sourceDirs    plugin folders it compiles (relative to the repository)
 */
export async function buildProbe(name, sourceDirs) {
  const outWasm = join(outDir, `${name}.wasm`);
  const outJs = join(outDir, `${name}.js`);
  const sources = [
    ...sourceDirs.flatMap((d) => tsFilesUnder(join(root, d))),
    join(here, `${name}.ts`),
    join(here, `${name}.asconfig.json`),
    fileURLToPath(import.meta.url),
  ];
  const fresh = () => existsSync(outWasm) && existsSync(outJs) && sources.every((f) => statSync(f).mtimeMs <= statSync(outWasm).mtimeMs);
  if (fresh()) return outJs;
  await withLock(join(outDir, `.${name}.lock`), () => {
    if (fresh()) return;
    const tmp = join(outDir, `.${name}.tmp-${process.pid}`);
    rmSync(tmp, { recursive: true, force: true });
    mkdirSync(tmp, { recursive: true });
    try {
      execFileSync(
        process.execPath,
        [join(root, "node_modules/assemblyscript/bin/asc.js"), `plugin/testing/${name}.ts`, "--config", `plugin/testing/${name}.asconfig.json`, "-o", join(tmp, `${name}.wasm`)],
        { cwd: root, stdio: ["ignore", "pipe", "pipe"] },
      );
    } catch (e) {
      const err = /** @type {{stdout?: Buffer, stderr?: Buffer}} */ (e);
      throw new Error(`asc failed for plugin/testing/${name}.ts:\n${err.stdout ?? ""}${err.stderr ?? ""}`);
    }
    for (const f of [`${name}.d.ts`, `${name}.js`, `${name}.wasm`]) renameSync(join(tmp, f), join(outDir, f));
    rmSync(tmp, { recursive: true, force: true });
  });
  return outJs;
}

/** The plugin folders each probe compiles (for freshness). */
const PROBE_SOURCES = {
  json_probe: ["plugin/json", "plugin/inspect", "plugin/util"],
  regex_probe: ["plugin/regex", "plugin/normalize", "plugin/util"],
  normalize_probe: ["plugin/normalize", "plugin/regex", "plugin/util"],
  sse_probe: ["plugin/sse", "plugin/util"],
};

/** plugin/json and plugin/inspect, exported to JavaScript. */
export async function loadJsonProbe() {
  return import(pathToFileURL(await buildProbe("json_probe", PROBE_SOURCES.json_probe)).href);
}

/** plugin/regex, exported to JavaScript. */
export async function loadRegexProbe() {
  return import(pathToFileURL(await buildProbe("regex_probe", PROBE_SOURCES.regex_probe)).href);
}

/** plugin/normalize, and pattern sets with normalized literals, exported to JavaScript. */
export async function loadNormalizeProbe() {
  return import(pathToFileURL(await buildProbe("normalize_probe", PROBE_SOURCES.normalize_probe)).href);
}

/** plugin/sse, exported to JavaScript. */
export async function loadSseProbe() {
  return import(pathToFileURL(await buildProbe("sse_probe", PROBE_SOURCES.sse_probe)).href);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  for (const [name, dirs] of Object.entries(PROBE_SOURCES)) console.log(`built ${await buildProbe(name, dirs)}`);
}
