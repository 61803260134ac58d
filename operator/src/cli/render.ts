// `llmguard render`: the Istio resources the operator would create for some policies, as
// multi-document YAML on stdout, byte for byte the same for the same input.
import { parseArgs } from 'node:util';
import { API_VERSION, type LlmGuardPolicy } from '../api/v1alpha1/llm_guard_policy.js';
import { renderPolicy, secretRefs } from '../render/index.js';
import { secretRefKey } from '../render/plugin_config.js';
import { validatePolicy } from '../validate/policy.js';
import { describe, INPUT_OPTIONS, InputError, policyRef, readInputs, toYamlDocuments, UsageError } from './inputs.js';
import type { Io } from './main.js';

export const RENDER_HELP = `Usage: llmguard render -f FILE [-f FILE ...] [secret options] [-n NAMESPACE]

Prints the Istio resources (WasmPlugin, EnvoyFilter, ServiceEntry, DestinationRule) the operator
creates for each LlmGuardPolicy in the files, as multi-document YAML. Policies are checked against
the CRD first and rendered with the CRD's defaults applied, in namespace/name order; keys are sorted.

Options:
  -f, --filename FILE        YAML file, directory of *.yaml/*.yml, or - for stdin (repeatable).
                             Secret documents in these files are used too.
      --secrets FILE         more YAML holding Secret documents (repeatable)
      --secret REF=VALUE     a value: [namespace/]secret-name/key=value (repeatable); flags
                             override Secret documents, namespaced flags override the others
      --placeholder-secrets  render every reference nobody gave a value for as the text
                             \${SECRET:secret-name/key}, for a later step to replace
  -n, --namespace NS         namespace of documents that have none (default: default)
  -h, --help

Exit codes: 0 rendered, 1 invalid policy / missing Secret value / bad YAML, 2 usage error.
`;

/** What a reference becomes with --placeholder-secrets. */
export function secretPlaceholder(name: string, key: string): string {
  return `\${SECRET:${name}/${key}}`;
}

export function runRender(args: string[], io: Io): number {
  const { values } = parseArgs({
    args,
    options: {
      ...INPUT_OPTIONS,
      'placeholder-secrets': { type: 'boolean' },
    },
    allowPositionals: false,
    strict: true,
  });
  if (values.help) {
    io.stdout.write(RENDER_HELP);
    return 0;
  }
  if (!values.filename?.length) throw new UsageError('render needs at least one -f FILE');
  const defaultNamespace = values.namespace ?? 'default';
  const { inputs, store } = readInputs({
    files: values.filename,
    secretFiles: values.secrets,
    secretFlags: values.secret,
    defaultNamespace,
    stdin: io.readStdin,
    onNonSecretInSecretFiles: (o) => io.stderr.write(`warning: --secrets: skipping ${describe(o)}: not a Secret\n`),
  });
  for (const o of inputs.others) io.stderr.write(`warning: skipping ${describe(o)}: not an LlmGuardPolicy or Secret\n`);
  if (!inputs.policies.length) throw new InputError(`no LlmGuardPolicy (${API_VERSION}) in ${values.filename.join(', ')}`);

  // Check everything first: nothing is printed unless every policy renders.
  const problems: string[] = []; // lines; details start with two spaces
  const seen = new Map<string, string>();
  const policies: LlmGuardPolicy[] = [];
  for (const p of inputs.policies) {
    const ref = policyRef(p.doc, defaultNamespace);
    const v = validatePolicy(p.doc, { defaultNamespace });
    if (v.issues.length) {
      problems.push(`${ref} (${p.source}) is invalid:`, ...v.issues.map((i) => `  ${i.message}`));
      continue;
    }
    const other = seen.get(ref);
    if (other) {
      problems.push(`${ref} (${p.source}) is defined twice (also ${other})`);
      continue;
    }
    seen.set(ref, p.source);
    policies.push(v.policy as unknown as LlmGuardPolicy);
  }
  policies.sort((a, b) => compare(a.metadata.namespace, b.metadata.namespace) || compare(a.metadata.name, b.metadata.name));

  const objects: unknown[] = [];
  const placeholders: string[] = [];
  for (const policy of policies) {
    const ref = `${policy.metadata.namespace}/${policy.metadata.name}`;
    const resolved = new Map(store.valuesFor(policy.metadata.namespace));
    const missing: string[] = [];
    for (const r of secretRefs(policy)) {
      const key = secretRefKey(r.name, r.key);
      if (resolved.get(key)) continue;
      if (values['placeholder-secrets']) {
        resolved.set(key, secretPlaceholder(r.name, r.key));
        placeholders.push(`${policy.metadata.namespace}/${key}`);
      } else {
        missing.push(key);
      }
    }
    if (missing.length) {
      problems.push(
        `${ref}: missing Secret values: ${missing.join(', ')} (give Secret documents with -f or --secrets, ` +
          '--secret name/key=value, or render placeholders with --placeholder-secrets)',
      );
      continue;
    }
    objects.push(...renderPolicy(policy, resolved));
  }
  if (problems.length) {
    io.stderr.write(problems.map((l) => (l.startsWith('  ') ? `     ${l}\n` : `error: ${l}\n`)).join(''));
    return 1;
  }
  if (placeholders.length) {
    io.stderr.write(`note: rendered ${placeholders.length} Secret reference(s) as \${SECRET:name/key} placeholders: ${[...new Set(placeholders)].join(', ')}\n`);
  }
  io.stdout.write(toYamlDocuments(objects));
  return 0;
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
