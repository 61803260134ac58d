// Render-time checks, beyond what the CRD's schema and CEL rules already enforce at admission:
// the policy must render, what it renders must be valid, distinct Kubernetes objects, and the
// filter must accept the rendered pluginConfig. A reconcile renders once (renderChecked) and both
// checks and the apply use that rendering.
import { createHash } from 'node:crypto';
import type { LlmGuardPolicy } from '../api/v1alpha1/llm_guard_policy.js';
import { pluginConfigJson } from '../api/pluginconfig/index.js';
import { errorMessage } from '../kube/errors.js';
import { DEFAULT_KEY_SERVICE, renderPolicy, type KeyServiceLocation, type RenderedObject } from '../render/index.js';
import { describeFilterRefusal } from '../validate/index.js';
import { checkPluginConfig } from '../wasm/configure.js';
import { ensureLoadable } from '../wasm/filter_host.js';

const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const LABEL_VALUE_MAX = 63;

export interface CheckedRendering {
  /** The rendered objects; undefined when the policy does not render. */
  objects?: RenderedObject[];
  /** Problems with the spec, each a sentence; empty when the policy is acceptable. */
  problems: string[];
}

/** Renders the policy once (no Secret is needed: no key is rendered) and checks what it renders. */
export function renderChecked(policy: LlmGuardPolicy, keyService: KeyServiceLocation = DEFAULT_KEY_SERVICE): CheckedRendering {
  const problems: string[] = [];
  const name = policy.metadata.name;
  if (name.length > LABEL_VALUE_MAX) {
    problems.push(`metadata.name must be at most ${LABEL_VALUE_MAX} characters: it labels every object the policy owns`);
  }
  const plugin = policy.spec.plugin;
  if (plugin && /^https?:\/\//i.test(plugin.url) && !plugin.sha256) {
    problems.push('spec.plugin.sha256 is required for an http(s) plugin URL');
  }
  let objects: RenderedObject[];
  try {
    objects = renderPolicy(policy, keyService);
  } catch (err) {
    problems.push(`cannot render: ${errorMessage(err)}`);
    return { problems };
  }
  const seen = new Map<string, string>();
  for (const o of objects) {
    const n = o.metadata.name;
    if (n.length > 253 || !DNS_SUBDOMAIN.test(n)) problems.push(`renders ${o.kind} with invalid name "${n}"`);
    const id = `${o.kind}/${n}`;
    const what = describe(o);
    const other = seen.get(id);
    if (other !== undefined) problems.push(`${other} and ${what} both render ${o.kind} "${n}"`);
    else seen.set(id, what);
  }
  return { objects, problems };
}

function describe(o: RenderedObject): string {
  const spec = o.spec as { hosts?: string[]; host?: string } | undefined;
  const host = spec?.hosts?.[0] ?? spec?.host;
  return host ? `host "${host}"` : `${o.kind}`;
}

/** The pluginConfig of the rendered WasmPlugin. */
export function pluginConfigOf(objects: RenderedObject[]): unknown {
  const wasm = objects.find((o) => o.kind === 'WasmPlugin');
  return (wasm?.spec as { pluginConfig?: unknown } | undefined)?.pluginConfig;
}

/**
 * The filter's own verdict on a rendered pluginConfig (the real .wasm, configured in-process as
 * Envoy would: operator/src/wasm): a refusal's reason with the policy field it is about, or
 * undefined when it accepts. Verdicts are cached by config text.
 */
export class FilterConfigCheck {
  private readonly cache = new Map<string, string | undefined>();

  constructor(private readonly wasmPath: string, private readonly maxEntries = 256) {}

  /** Checks that the module loads (throws WasmModuleNotFoundError or WasmLoadError otherwise). */
  static async load(wasmPath: string): Promise<FilterConfigCheck> {
    return new FilterConfigCheck(ensureLoadable(wasmPath));
  }

  async check(pluginConfig: unknown): Promise<string | undefined> {
    const text = pluginConfigJson(pluginConfig);
    const key = createHash('sha256').update(text).digest('hex');
    if (this.cache.has(key)) return this.cache.get(key);
    const result = checkPluginConfig(text, { wasmPath: this.wasmPath });
    const reason = result.ok ? undefined : describeFilterRefusal(result);
    if (this.cache.size >= this.maxEntries) this.cache.delete(this.cache.keys().next().value as string);
    this.cache.set(key, reason);
    return reason;
  }
}
