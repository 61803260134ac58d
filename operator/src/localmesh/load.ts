// Reading a user's policy and Secret files and rendering them, as `llmguard render` does (same
// input code), for the local dev loop and the mesh e2e test; and what the key service would answer
// each policy's filter, from the given Secret values (a local key service serves it).
import type { LlmGuardPolicy } from '../api/v1alpha1/llm_guard_policy.js';
import { InputError, policyRef, readInputs } from '../cli/inputs.js';
import { buildAnswer, secretsFromValues, type KeysAnswer } from '../keyservice/answer.js';
import { keyServicePath, renderPolicy, secretRefs } from '../render/index.js';
import { secretRefKey } from '../render/plugin_config.js';
import { validatePolicy } from '../validate/policy.js';

export interface LoadOptions {
  /** Policy files (Secret documents in them are used too). */
  files: string[];
  /** More files holding Secret documents. */
  secretFiles?: string[];
  /** `[namespace/]name/key=value` overrides, as `llmguard render --secret`. */
  secretFlags?: string[];
  namespace?: string;
}

export interface Loaded {
  policies: LlmGuardPolicy[];
  /** Every policy's rendered objects. */
  objects: Record<string, unknown>[];
  /** The key service's answer for each policy, by its path (/v1/keys/<ns>/<name>). */
  keyAnswers: Map<string, KeysAnswer>;
}

const noStdin = (): string => {
  throw new InputError('reading policies from stdin is not supported here');
};

export function loadAndRender(opts: LoadOptions): Loaded {
  const ns = opts.namespace ?? 'default';
  const { inputs, store } = readInputs({ files: opts.files, secretFiles: opts.secretFiles, secretFlags: opts.secretFlags, defaultNamespace: ns, stdin: noStdin });
  if (!inputs.policies.length) throw new InputError(`no LlmGuardPolicy in ${opts.files.join(', ')}`);
  const policies: LlmGuardPolicy[] = [];
  const objects: Record<string, unknown>[] = [];
  const keyAnswers = new Map<string, KeysAnswer>();
  for (const p of inputs.policies) {
    const v = validatePolicy(p.doc, { defaultNamespace: ns });
    if (v.issues.length) {
      throw new InputError(`${policyRef(p.doc, ns)} (${p.source}) is invalid:\n${v.issues.map((i) => `  ${i.message}`).join('\n')}`);
    }
    const policy = v.policy as unknown as LlmGuardPolicy;
    const values = store.valuesFor(policy.metadata.namespace);
    const missing = secretRefs(policy)
      .map((r) => secretRefKey(r.name, r.key))
      .filter((k) => !values.get(k));
    if (missing.length) throw new InputError(`${policy.metadata.namespace}/${policy.metadata.name}: missing Secret values: ${missing.join(', ')}`);
    policies.push(policy);
    objects.push(...(renderPolicy(policy) as Record<string, unknown>[]));
    keyAnswers.set(keyServicePath(policy), buildAnswer(policy, secretsFromValues(values)));
  }
  return { policies, objects, keyAnswers };
}

/** The external hosts the rendered objects make ServiceEntries for. */
export function serviceEntryHosts(objects: Record<string, unknown>[]): string[] {
  const hosts: string[] = [];
  for (const o of objects) {
    if (o.kind !== 'ServiceEntry') continue;
    const spec = (o.spec ?? {}) as { hosts?: unknown };
    for (const h of Array.isArray(spec.hosts) ? spec.hosts : []) if (typeof h === 'string' && !hosts.includes(h)) hosts.push(h);
  }
  return hosts;
}
