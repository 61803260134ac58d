// One policy, checked the way the cluster would see it: the CRD's schema and CEL rules (as the
// apiserver applies them), then the filter's own config check on the pluginConfig the operator
// would render (the real .wasm, in-process). Used by `llmguard validate`; usable by the controller.
import type { LlmGuardPolicy } from '../api/v1alpha1/llm_guard_policy.js';
import { describeRefusal, policyFieldOf } from '../api/pluginconfig/index.js';
import { resolveSecrets } from '../controller/secrets.js';
import { secretsFromValues } from '../keyservice/answer.js';
import { renderPluginConfig, secretRefKey, type SecretValues } from '../render/plugin_config.js';
import { checkPluginConfig, type ConfigCheckResult } from '../wasm/configure.js';
import { validatePolicy } from './policy.js';
import type { SchemaIssue } from './structural.js';

export { validatePolicy } from './policy.js';
export type { SchemaIssue } from './structural.js';

export interface PolicyIssue {
  /** The CRD, the filter, or a given Secret value the key service would refuse to hand out. */
  source: 'schema' | 'filter' | 'secret';
  /** Field path: `spec.providers[0].host`; for the filter, its own (`deny_patterns[2]`). */
  path: string;
  message: string;
}

export interface PolicyCheck {
  /** The policy with the CRD's defaults, when the schema accepts it. */
  policy?: LlmGuardPolicy;
  issues: PolicyIssue[];
  warnings: string[];
  /** The filter's answer, when it was asked. */
  filter?: ConfigCheckResult;
}

export interface PolicyCheckOptions {
  defaultNamespace?: string;
  /** Secret values to check as the key service would serve them (e.g. a key with a line break inside). */
  secrets?: SecretValues;
  /** The compiled filter (default: defaultWasmPath()); null skips the filter check. */
  wasmPath?: string | null;
}

/** Settings that are valid but weaken the guard: reported, never refused. */
export function policyWarnings(policy: LlmGuardPolicy): string[] {
  const s = policy.spec;
  const out: string[] = [];
  const inspects =
    !!s.denyPatterns?.length ||
    !!s.allowPatterns?.length ||
    !!s.redactPatterns?.length ||
    !!s.response?.denyPatterns?.length ||
    !!s.response?.redactPatterns?.length ||
    !!s.intelligentGuard;
  if (!inspects) {
    out.push('no denyPatterns, allowPatterns or intelligentGuard: the policy only injects keys, nothing is inspected');
  }
  if (s.intelligentGuard?.failMode === 'open') out.push('intelligentGuard.failMode is open: requests pass unjudged when the guard is down');
  if (s.inspection?.onUninspectable === 'allow') out.push('inspection.onUninspectable is allow: bodies that cannot be inspected pass unchecked');
  if (s.inspection?.normalize === false) out.push('inspection.normalize is false: look-alike letters, invisible characters and fullwidth forms can hide text from the patterns');
  if (s.inspection?.logPrompts) out.push('inspection.logPrompts is true: denied prompt text is logged (debug level)');
  if (s.plugin.failStrategy === 'FAIL_OPEN') out.push('plugin.failStrategy is FAIL_OPEN: traffic passes unguarded (and without keys) when the module cannot load');
  return out;
}

export function checkPolicy(doc: unknown, opts: PolicyCheckOptions): PolicyCheck {
  const v = validatePolicy(doc, { defaultNamespace: opts.defaultNamespace });
  const issues: PolicyIssue[] = v.issues.map((i: SchemaIssue) => ({ source: 'schema', path: i.path, message: i.message }));
  if (issues.length) return { issues, warnings: [] };
  const policy = v.policy as unknown as LlmGuardPolicy;
  const result: PolicyCheck = { policy, issues, warnings: policyWarnings(policy) };
  if (opts.secrets) issues.push(...secretIssues(policy, opts.secrets));
  if (opts.wasmPath === null) return result;
  // What the operator renders holds no key (the filter fetches them), so no Secret value is needed.
  const filter = checkPluginConfig(renderPluginConfig(policy), { wasmPath: opts.wasmPath ?? undefined });
  result.filter = filter;
  if (filter.refusal) issues.push({ source: 'filter', path: filter.refusal.path, message: describeFilterRefusal(filter) });
  return result;
}

/** The given values the key service would not hand out (by the operator's rule, controller/secrets.ts). */
function secretIssues(policy: LlmGuardPolicy, given: SecretValues): PolicyIssue[] {
  const res = resolveSecrets(policy, (_ns, name) => secretsFromValues(given)(name));
  return res.unresolved
    .filter((u) => given.has(secretRefKey(u.name, u.key)))
    .map((u) => ({ source: 'secret' as const, path: `Secret ${u.name}/${u.key}`, message: u.message }));
}

/** The filter's reason, with the policy field it is about: `deny_patterns[2]: ... (spec.denyPatterns[2])`. */
export function describeFilterRefusal(filter: ConfigCheckResult): string {
  const r = filter.refusal;
  if (!r) return '';
  const field = policyFieldOf(r.path);
  return field ? `${describeRefusal(r)} (${field})` : describeRefusal(r);
}
