// Configures a fresh VM of the filter with a pluginConfig exactly as Envoy does (context_create,
// vm_start, configure with the plugin configuration buffer) and says whether the filter took it:
// the config check behind `llmguard validate`, `llmguard test` and the operator. A refusal carries
// the filter's own report (field path, code, message), read from its llm_guard_config_error export.
import { describeRefusal, pluginConfigJson, parseRefusal, type ConfigRefusal } from '../api/pluginconfig/index.js';
import { FilterHost, WasmLoadError, type FilterHostOptions } from './filter_host.js';

export const CONFIG_ERROR_EXPORT = 'llm_guard_config_error';

export const LOG_LEVEL_NAMES = ['trace', 'debug', 'info', 'warn', 'error', 'critical'] as const;

export interface FilterLogLine {
  level: (typeof LOG_LEVEL_NAMES)[number];
  message: string;
}

export interface ConfigureOptions {
  /** The compiled filter (default: defaultWasmPath()). */
  wasmPath?: string;
  /** The VM's environment (WasmPlugin vmConfig.env), for `api_key_env`. */
  env?: Record<string, string>;
  /** Clusters the filter may call (`outbound|80||guard.example`), as Istio's ServiceEntries make them. */
  clusters?: string[];
  /** Properties Envoy would give the filter (e.g. `xds.virtual_host_metadata`). */
  properties?: FilterHostOptions['properties'];
  /** The response hold is installed (FilterHostOptions.holdJsonReplies). */
  holdJsonReplies?: boolean;
}

export interface ConfigCheckResult {
  ok: boolean;
  /** Why not, when not ok. */
  refusal?: ConfigRefusal;
  /** The refusal as the filter's log line says it: `deny_patterns[2]: lookahead ...`. */
  reason?: string;
  /** What the filter logged (proxy_log and WASI stdout/stderr). */
  logs: FilterLogLine[];
  /** The configuration text the filter was given. */
  configText: string;
}

/** An object is serialised as istiod does; a string is handed over as it is. */
export function configText(pluginConfig: unknown): string {
  return typeof pluginConfig === 'string' ? pluginConfig : pluginConfigJson(pluginConfig);
}

/**
 * Loads the module and configures it. The host is returned only when the filter accepted the
 * config (ready for requests). Throws WasmModuleNotFoundError when there is no module at all; a
 * module Envoy would refuse to load is a refusal with code module_not_loadable.
 */
export function configureFilter(pluginConfig: unknown, opts: ConfigureOptions = {}): { host?: FilterHost; result: ConfigCheckResult } {
  const text = configText(pluginConfig);
  let host: FilterHost;
  try {
    host = FilterHost.loadSync({ wasmPath: opts.wasmPath, pluginConfig: text, env: opts.env, clusters: opts.clusters, properties: opts.properties, holdJsonReplies: opts.holdJsonReplies });
  } catch (e) {
    if (!(e instanceof WasmLoadError)) throw e;
    const refusal: ConfigRefusal = { path: '', code: 'module_not_loadable', message: e.message };
    return { result: { ok: false, refusal, reason: describeRefusal(refusal), logs: [], configText: text } };
  }
  const ok = host.configure();
  const logs = host.logRecords
    .filter((r) => r.source !== 'host')
    .map((r) => ({ level: LOG_LEVEL_NAMES[Math.min(Math.max(r.level, 0), 5)]!, message: r.message }));
  if (ok) return { host, result: { ok, logs, configText: text } };
  const refusal = refusalOf(host);
  return { result: { ok, refusal, reason: describeRefusal(refusal), logs, configText: text } };
}

export function checkPluginConfig(pluginConfig: unknown, opts: ConfigureOptions = {}): ConfigCheckResult {
  return configureFilter(pluginConfig, opts).result;
}

function refusalOf(host: FilterHost): ConfigRefusal {
  const trap = host.traps[0];
  if (trap) return { path: '', code: 'vm_failed', message: `the filter trapped in ${trap.callback}: ${trap.message}` };
  const report = host.readDiagnostic(CONFIG_ERROR_EXPORT);
  const parsed = report === undefined ? undefined : parseRefusal(report);
  if (parsed) return parsed;
  return { path: '', code: 'vm_failed', message: 'proxy_on_configure returned false without a report (not an llm-guard filter?)' };
}
