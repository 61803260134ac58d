// The two Envoys under test: the local-mesh kit's sidecar bootstrap without the filter, and with
// build/llm_guard.wasm configured with a key for the provider host (and the request hold, as the
// operator installs it), the provider's cluster on the bench's upstream. Started fresh each time,
// pinned by the floor's launcher; the filter's token counters say whether it read every stream.
import { buildBootstrap, startEnvoy } from '../../build/operator/localmesh/index.js';
import { PROVIDER_HOST } from './client.mjs';

export const API_KEY = 'sk-bench-stream-0000000000000000000000';
export const BASELINE = 'no-filter';

/**
 * Response patterns as a policy would set them: personal data and keys redacted, a phrase denied.
 * The bench's prose holds no match: this measures reading every delta, not rewriting.
 */
export const RESPONSE_PATTERNS = {
  response_deny_patterns: ['(?i)ignore (all )?previous instructions'],
  response_redact_patterns: ['[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\\.[A-Za-z]{2,}', 'sk-[A-Za-z0-9_-]{20,}', '\\b\\d{4}(?: ?\\d{4}){3}\\b'],
};

/**
 * @typedef {object} Variant
 * @property {string} id
 * @property {string} label
 * @property {string | null} wasmPath
 * @property {boolean} [responsePatterns]
 */

/** @param {string} wasmPath @returns {Variant[]} */
export function variantList(wasmPath) {
  return [
    { id: BASELINE, label: 'no filter', wasmPath: null },
    { id: 'llm-guard', label: 'llm_guard', wasmPath },
    { id: 'llm-guard-response', label: 'llm_guard + response patterns', wasmPath, responsePatterns: true },
  ];
}

/** @param {Variant} v @param {number} upstreamPort */
export function variantBootstrap(v, upstreamPort) {
  const pluginConfig = { hosts: [PROVIDER_HOST], api_key: API_KEY, ...(v.responsePatterns ? RESPONSE_PATTERNS : {}) };
  const wasm = v.wasmPath ? { wasmPath: v.wasmPath, namespace: 'bench', name: 'llm-guard', pluginConfig } : null;
  return buildBootstrap({ mockPort: upstreamPort, providerHosts: [PROVIDER_HOST], listeners: [{ name: 'outbound', wasm }] });
}

/** @param {Variant} v @param {number} upstreamPort @param {string} launcher */
export function startVariant(v, upstreamPort, launcher) {
  return startEnvoy(variantBootstrap(v, upstreamPort), { bin: launcher, componentLogLevel: 'wasm:warning', timeoutMs: 120_000 });
}

/**
 * Output tokens the filter has counted from responses' usage (all providers and models): the
 * usage chunk comes last, so each stream read to its end adds its completion tokens.
 * @param {import('../../build/operator/localmesh/index.js').EnvoyProcess} envoy
 */
export async function outputTokensCounted(envoy) {
  let sum = 0;
  for (const [k, v] of await envoy.stats('llm_guard\\.provider\\..*\\.output_tokens')) if (k.endsWith('.output_tokens')) sum += v;
  return sum;
}
