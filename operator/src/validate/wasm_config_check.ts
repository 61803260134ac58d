// The filter's own config check, run in-process: a minimal proxy-wasm host loads the real compiled
// module (build/llm_guard.wasm), hands it a pluginConfig the way Envoy does (plugin configuration
// buffer, type 7) and calls proxy_on_configure. A config the filter would refuse in a sidecar is
// refused here with the filter's own words, e.g.
//   deny_patterns[2]: lookahead (?=...) is not supported (RE2 syntax has no lookaround) (at offset 3)
//
// The host does only what configuring needs: logs are captured, metrics and shared data are
// accepted and forgotten, WASI gives the environment (WasmPlugin vmConfig.env), a clock and
// random bytes. Any other host call answers Unimplemented; none is made while configuring.
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Guest, type FilterLog } from '../wasm/guest.js';

export type { FilterLog } from '../wasm/guest.js';

/** proxy-wasm buffer type of the plugin configuration (Envoy: the WasmPlugin's pluginConfig). */
export const PLUGIN_CONFIGURATION_BUFFER = 7;
const ROOT_CONTEXT_ID = 1;

// proxy-wasm WasmResult and WASI errno values.
const OK = 0;
const NOT_FOUND = 1;
const BAD_ARGUMENT = 2;


export interface ConfigCheckResult {
  /** What proxy_on_configure returned (false also when the module trapped). */
  ok: boolean;
  /** On refusal, the filter's reason without its `llm-guard: config rejected: ` prefix. */
  reason?: string;
  /** Everything the module logged (proxy_log, and WASI stdout/stderr). */
  logs: FilterLog[];
  /** The configuration text the module was given. */
  configText: string;
}

export class WasmModuleNotFoundError extends Error {
  constructor(readonly tried: string[]) {
    super(`filter module not found (build it with \`npx asc plugin/index.ts --target release\`); looked for: ${tried.join(', ')}`);
  }
}

/**
 * Where the compiled filter is: $LLMGUARD_WASM, else build/llm_guard.wasm next to the compiled
 * operator (build/operator/validate -> build/llm_guard.wasm) or from the sources
 * (operator/src/validate -> build/llm_guard.wasm), else ./build/llm_guard.wasm.
 */
export function defaultWasmPath(): string {
  const candidates = wasmPathCandidates();
  const found = candidates.find((p) => existsSync(p));
  if (!found) throw new WasmModuleNotFoundError(candidates);
  return found;
}

function wasmPathCandidates(): string[] {
  const here = dirname(fileURLToPath(import.meta.url));
  const list = [
    resolve(here, '..', '..', 'llm_guard.wasm'),
    resolve(here, '..', '..', '..', 'build', 'llm_guard.wasm'),
    resolve(process.cwd(), 'build', 'llm_guard.wasm'),
  ];
  const env = process.env.LLMGUARD_WASM;
  return env ? [resolve(env)] : [...new Set(list)];
}

const modules = new Map<string, Promise<WebAssembly.Module>>();

/** Compiles the module once per path (and process). */
export function loadFilterModule(path: string = defaultWasmPath()): Promise<WebAssembly.Module> {
  const key = resolve(path);
  let m = modules.get(key);
  if (!m) {
    m = readFile(key).then(
      (bytes) => WebAssembly.compile(bytes),
      (e: NodeJS.ErrnoException) => {
        throw e.code === 'ENOENT' ? new WasmModuleNotFoundError([key]) : e;
      },
    );
    m.catch(() => modules.delete(key));
    modules.set(key, m);
  }
  return m;
}

/**
 * The JSON text Envoy hands the filter for a pluginConfig: istiod marshals the WasmPlugin's
 * pluginConfig (a protobuf Struct) with protojson, which sorts object keys.
 */
export function pluginConfigText(pluginConfig: unknown): string {
  return JSON.stringify(sortKeys(pluginConfig));
}

function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (v !== null && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(v as object).sort()) out[k] = sortKeys((v as Record<string, unknown>)[k]);
    return out;
  }
  return v;
}

export interface CheckOptions {
  /** The module; default: loadFilterModule(defaultWasmPath()). */
  module?: WebAssembly.Module;
  wasmPath?: string;
  /** The VM's environment variables (WasmPlugin vmConfig.env), for `api_key_env`. */
  env?: Record<string, string>;
}

/**
 * Configures a fresh instance of the filter with `pluginConfig` (an object, serialised as istiod
 * does, or the exact text to hand over) and reports whether it accepted it.
 */
export async function checkPluginConfig(pluginConfig: unknown, opts: CheckOptions = {}): Promise<ConfigCheckResult> {
  const module = opts.module ?? (await loadFilterModule(opts.wasmPath ?? defaultWasmPath()));
  const configText = typeof pluginConfig === 'string' ? pluginConfig : pluginConfigText(pluginConfig);
  const host = new ConfigHost(module, new TextEncoder().encode(configText), opts.env ?? {});
  return host.run(configText);
}

type Exports = {
  memory: WebAssembly.Memory;
  _initialize?: () => void;
  proxy_on_memory_allocate: (size: number) => number;
  proxy_on_context_create: (id: number, parent: number) => void;
  proxy_on_vm_start: (rootId: number, vmConfigSize: number) => number;
  proxy_on_configure: (rootId: number, pluginConfigSize: number) => number;
};

class ConfigHost {
  private nextMetricId = 1;

  private readonly guest: Guest;

  constructor(
    private readonly module: WebAssembly.Module,
    private readonly config: Uint8Array,
    env: Record<string, string>,
  ) {
    this.guest = new Guest(env);
  }

  run(configText: string): ConfigCheckResult {
    let ok = false;
    let trap: string | undefined;
    try {
      const instance = new WebAssembly.Instance(this.module, this.imports());
      const ex = instance.exports as unknown as Exports;
      this.guest.exports = ex;
      for (const name of ['memory', 'proxy_on_memory_allocate', 'proxy_on_context_create', 'proxy_on_vm_start', 'proxy_on_configure'] as const) {
        if (!(name in ex)) throw new Error(`the module does not export ${name}: not a proxy-wasm filter`);
      }
      ex._initialize?.();
      ex.proxy_on_context_create(ROOT_CONTEXT_ID, 0);
      if (ex.proxy_on_vm_start(ROOT_CONTEXT_ID, 0) === 0) {
        trap = 'proxy_on_vm_start returned false';
      } else {
        ok = ex.proxy_on_configure(ROOT_CONTEXT_ID, this.config.length) !== 0;
      }
    } catch (e) {
      trap = e instanceof Error ? `${e.name === 'RuntimeError' ? 'the module trapped: ' : ''}${e.message}` : String(e);
    }
    this.guest.flushStdio();
    if (ok) return { ok, logs: this.guest.logs, configText };
    return { ok: false, reason: trap ? this.trapReason(trap) : this.refusalReason(), logs: this.guest.logs, configText };
  }

  private refusalReason(): string {
    const marker = 'config rejected: ';
    for (const l of this.guest.logs) {
      const at = l.message.indexOf(marker);
      if (at >= 0) return l.message.slice(at + marker.length);
    }
    const err = [...this.guest.logs].reverse().find((l) => l.level === 'error' || l.level === 'critical');
    return err ? err.message : 'proxy_on_configure returned false';
  }

  private trapReason(trap: string): string {
    const said = this.guest.logs.filter((l) => l.level === 'error' || l.level === 'critical').map((l) => l.message);
    return said.length ? `${trap}: ${said.join('; ')}` : trap;
  }

  private imports(): WebAssembly.Imports {
    const proxy: Record<string, (...args: never[]) => number | void> = {
      proxy_log: (level: number, ptr: number, len: number) => {
        this.guest.log(level, this.guest.text(ptr, len));
        return OK;
      },
      proxy_get_log_level: (retPtr: number) => {
        this.guest.view().setUint32(retPtr, 0, true);
        return OK;
      },
      proxy_get_buffer_bytes: (type: number, start: number, maxSize: number, retPtrPtr: number, retLenPtr: number) => {
        if (type !== PLUGIN_CONFIGURATION_BUFFER) return NOT_FOUND;
        if (start > this.config.length) return BAD_ARGUMENT;
        this.guest.give(this.config.subarray(start, Math.min(this.config.length, start + maxSize)), retPtrPtr, retLenPtr);
        return OK;
      },
      proxy_define_metric: (_type: number, _namePtr: number, _nameLen: number, retIdPtr: number) => {
        this.guest.view().setUint32(retIdPtr, this.nextMetricId++, true);
        return OK;
      },
      proxy_increment_metric: () => OK,
      proxy_record_metric: () => OK,
      proxy_get_metric: () => NOT_FOUND,
      proxy_set_tick_period_milliseconds: () => OK,
      proxy_set_effective_context: () => OK,
      proxy_get_shared_data: () => NOT_FOUND,
      proxy_set_shared_data: () => OK,
      proxy_get_property: () => NOT_FOUND,
    };
    const imports = this.guest.link(this.module, proxy);
    return imports;
  }
}
