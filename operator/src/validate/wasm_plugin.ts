// A WasmPlugin written by hand for the filter (the Alibaba ASM wasm-llm-proxy form, for drop-in
// users): its pluginConfig against the real filter, and a warning for every key it carries inline,
// since anyone who can read the WasmPlugin, and the application through Envoy's admin
// (/config_dump), can read such a key. The operator never renders one (docs/key-custody.md).
import { checkPluginConfig } from '../wasm/configure.js';
import { describeFilterRefusal, type PolicyIssue } from './index.js';

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

export function isWasmPlugin(doc: Obj): boolean {
  return typeof doc.apiVersion === 'string' && doc.apiVersion.startsWith('extensions.istio.io/') && doc.kind === 'WasmPlugin';
}

const WHY = "anyone who can read the WasmPlugin, and the application through Envoy's admin (/config_dump), can read it; " +
  'let the filter fetch keys from the key service instead (key_service, docs/key-custody.md)';

/** Where a pluginConfig (and the WasmPlugin's vmConfig) holds a key in plain text. */
export function inlineKeyWarnings(spec: Obj): string[] {
  const config = isObj(spec.pluginConfig) ? spec.pluginConfig : {};
  const out: string[] = [];
  const keyFields = (o: Obj, at: string) => {
    for (const f of ['api_key', 'api_keys']) if (o[f] !== undefined && o[f] !== '') out.push(`${at}${f} holds a key inline: ${WHY}`);
  };
  keyFields(config, 'pluginConfig.');
  if (Array.isArray(config.providers)) config.providers.forEach((p, i) => isObj(p) && keyFields(p, `pluginConfig.providers[${i}].`));
  if (isObj(config.intelligent_guard) && config.intelligent_guard.api_key) out.push(`pluginConfig.intelligent_guard.api_key holds a key inline: ${WHY}`);
  // api_key_env names environment variables; given inline in vmConfig.env they are in the WasmPlugin too.
  const envNames = new Set<string>();
  const addEnv = (v: unknown) => (Array.isArray(v) ? v : [v]).forEach((n) => typeof n === 'string' && envNames.add(n));
  addEnv(config.api_key_env);
  if (Array.isArray(config.providers)) for (const p of config.providers) if (isObj(p)) addEnv(p.api_key_env);
  const env = isObj(spec.vmConfig) && Array.isArray(spec.vmConfig.env) ? spec.vmConfig.env : [];
  env.forEach((e, i) => {
    if (isObj(e) && typeof e.name === 'string' && envNames.has(e.name) && e.valueFrom !== 'HOST') {
      out.push(`vmConfig.env[${i}] (${e.name}) holds a key inline: ${WHY}; valueFrom: HOST keeps it in the proxy's environment`);
    }
  });
  return out;
}

/** The VM's environment as Envoy would give it: inline values, and a stand-in for those from the proxy's (HOST). */
function vmEnvironment(spec: Obj): Record<string, string> {
  const env: Record<string, string> = {};
  const list = isObj(spec.vmConfig) && Array.isArray(spec.vmConfig.env) ? spec.vmConfig.env : [];
  for (const e of list) {
    if (!isObj(e) || typeof e.name !== 'string') continue;
    env[e.name] = e.valueFrom === 'HOST' ? 'llmguard-validate-host-env-value' : typeof e.value === 'string' ? e.value : '';
  }
  return env;
}

export interface WasmPluginCheck {
  issues: PolicyIssue[];
  warnings: string[];
}

/** The filter's verdict on the WasmPlugin's pluginConfig (null wasmPath: not asked), and the warnings. */
export function checkWasmPlugin(doc: Obj, wasmPath: string | null): WasmPluginCheck {
  const spec = isObj(doc.spec) ? doc.spec : {};
  const issues: PolicyIssue[] = [];
  if (wasmPath !== null) {
    const filter = checkPluginConfig(spec.pluginConfig ?? {}, { wasmPath: wasmPath ?? undefined, env: vmEnvironment(spec) });
    if (filter.refusal) issues.push({ source: 'filter', path: filter.refusal.path, message: describeFilterRefusal(filter) });
  }
  return { issues, warnings: inlineKeyWarnings(spec) };
}
