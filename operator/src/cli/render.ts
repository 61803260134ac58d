// `llmguard render`: the Istio resources the operator would create for some policies, as
// multi-document YAML on stdout, byte for byte the same for the same input. They hold no key (the
// filter fetches keys from the key service at run time), so the output is safe to commit.
import { parseArgs } from 'node:util';
import { API_VERSION, type LlmGuardPolicy } from '../api/v1alpha1/llm_guard_policy.js';
import { DEFAULT_KEY_SERVICE, renderPolicy } from '../render/index.js';
import { validatePolicy } from '../validate/policy.js';
import { describe, INPUT_OPTIONS, InputError, keyServiceOption, policyRef, readInputs, toYamlDocuments, UsageError } from './inputs.js';
import type { Io } from './main.js';

export const RENDER_HELP = `Usage: llmguard render -f FILE [-f FILE ...] [-n NAMESPACE] [--key-service HOST:PORT]

Prints the Istio resources (WasmPlugin, EnvoyFilter, ServiceEntry, DestinationRule) the operator
creates for each LlmGuardPolicy in the files, as multi-document YAML. Policies are checked against
the CRD first and rendered with the CRD's defaults applied, in namespace/name order; keys are sorted.
No key is rendered: the WasmPlugin names the key service the filter fetches keys from at run time
(docs/key-custody.md), so the output can go into Git as it is, and no Secret is needed.

Options:
  -f, --filename FILE        YAML file, directory of *.yaml/*.yml, or - for stdin (repeatable).
                             Secret documents in these files are skipped.
  -n, --namespace NS         namespace of documents that have none (default: default)
      --key-service HOST:PORT  where filters fetch keys (default ${DEFAULT_KEY_SERVICE.host}:${DEFAULT_KEY_SERVICE.port})
  -h, --help

--secrets, --secret and --placeholder-secrets are accepted and ignored (render needs no Secret).

Exit codes: 0 rendered, 1 invalid policy / bad YAML, 2 usage error.
`;

export function runRender(args: string[], io: Io): number {
  const { values } = parseArgs({
    args,
    options: {
      ...INPUT_OPTIONS,
      'placeholder-secrets': { type: 'boolean' },
      'key-service': { type: 'string' },
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
  const keyService = values['key-service'] ? keyServiceOption(values['key-service']) : DEFAULT_KEY_SERVICE;
  if (values.secrets?.length || values.secret?.length || values['placeholder-secrets']) {
    io.stderr.write('note: render needs no Secret values and ignores them: the output holds no key (docs/key-custody.md)\n');
  }
  const { inputs } = readInputs({
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

  if (problems.length) {
    io.stderr.write(problems.map((l) => (l.startsWith('  ') ? `     ${l}\n` : `error: ${l}\n`)).join(''));
    return 1;
  }
  const objects = policies.flatMap((policy) => renderPolicy(policy, keyService));
  io.stdout.write(toYamlDocuments(objects));
  return 0;
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
