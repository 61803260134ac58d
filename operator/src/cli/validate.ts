// `llmguard validate`: each policy against the CRD's schema and CEL rules, then its pluginConfig
// against the real compiled filter, so CI refuses what the cluster or the sidecar would refuse,
// with the same messages.
import { parseArgs } from 'node:util';
import { API_VERSION } from '../api/v1alpha1/llm_guard_policy.js';
import { checkPolicy, type PolicyIssue } from '../validate/index.js';
import { checkWasmPlugin, isWasmPlugin } from '../validate/wasm_plugin.js';
import { ensureLoadable } from '../wasm/filter_host.js';
import { describe, INPUT_OPTIONS, InputError, policyNamespace, policyRef, readInputs, UsageError } from './inputs.js';
import type { Io } from './main.js';

export const VALIDATE_HELP = `Usage: llmguard validate -f FILE [-f FILE ...] [options]

Checks each LlmGuardPolicy in the files:
  1. against the CRD (manifests/crd): types, bounds, enums, patterns, defaults and the CEL rules,
     with the apiserver's messages;
  2. against the filter itself: the pluginConfig the operator would render is given to the real
     compiled module (build/llm_guard.wasm), which refuses what a sidecar would refuse, e.g.
     "deny_patterns[2]: lookahead (?=...) is not supported (RE2 syntax has no lookaround)".
Secret values are not needed (nothing the operator renders holds a key); given ones are checked
as the key service would serve them. WasmPlugins written by hand for the filter are checked by the
filter too, with a warning for every key they hold inline (docs/key-custody.md).

Options:
  -f, --filename FILE      YAML file, directory of *.yaml/*.yml, or - for stdin (repeatable)
      --secrets FILE       YAML holding Secret documents (repeatable)
      --secret REF=VALUE   [namespace/]secret-name/key=value (repeatable)
  -n, --namespace NS       namespace of documents that have none (default: default)
      --wasm PATH          the compiled filter (default: $LLMGUARD_WASM, else build/llm_guard.wasm)
      --skip-filter-check  only the CRD checks
  -o, --output FORMAT      text (default) or json
  -h, --help

Exit codes: 0 all valid, 1 a policy is invalid (or none found, or bad YAML), 2 usage error,
3 the filter module could not be loaded.
`;

interface Report {
  source: string;
  policy: string;
  valid: boolean;
  issues: PolicyIssue[];
  warnings: string[];
}

export async function runValidate(args: string[], io: Io): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      ...INPUT_OPTIONS,
      wasm: { type: 'string' },
      'skip-filter-check': { type: 'boolean' },
      output: { type: 'string', short: 'o' },
    },
    allowPositionals: false,
    strict: true,
  });
  if (values.help) {
    io.stdout.write(VALIDATE_HELP);
    return 0;
  }
  if (!values.filename?.length) throw new UsageError('validate needs at least one -f FILE');
  const output = values.output ?? 'text';
  if (output !== 'text' && output !== 'json') throw new UsageError(`--output ${output}: expected text or json`);
  const defaultNamespace = values.namespace ?? 'default';

  const { inputs, store } = readInputs({ files: values.filename, secretFiles: values.secrets, secretFlags: values.secret, defaultNamespace, stdin: io.readStdin });
  const wasmPlugins = inputs.others.filter((o) => isWasmPlugin(o.doc));
  const others = inputs.others.filter((o) => !isWasmPlugin(o.doc));
  if (!inputs.policies.length && !wasmPlugins.length) throw new InputError(`no LlmGuardPolicy (${API_VERSION}) or WasmPlugin in ${values.filename.join(', ')}`);

  const wasmPath = values['skip-filter-check'] ? null : ensureLoadable(values.wasm);

  const reports: Report[] = [];
  const seen = new Map<string, string>();
  for (const p of inputs.policies) {
    const ref = policyRef(p.doc, defaultNamespace);
    const check = checkPolicy(p.doc, {
      defaultNamespace,
      secrets: store.valuesFor(policyNamespace(p.doc, defaultNamespace)),
      wasmPath,
    });
    const other = seen.get(ref);
    if (other) check.issues.push({ source: 'schema', path: 'metadata.name', message: `metadata.name: Duplicate value: ${ref} is also defined in ${other}` });
    else seen.set(ref, p.source);
    reports.push({ source: p.source, policy: ref, valid: check.issues.length === 0, issues: check.issues, warnings: check.warnings });
  }
  for (const w of wasmPlugins) {
    const check = checkWasmPlugin(w.doc, wasmPath);
    reports.push({ source: w.source, policy: `WasmPlugin ${policyRef(w.doc, defaultNamespace)}`, valid: check.issues.length === 0, issues: check.issues, warnings: check.warnings });
  }
  const invalid = reports.filter((r) => !r.valid).length;

  if (output === 'json') {
    io.stdout.write(`${JSON.stringify({ valid: invalid === 0, policies: reports, skipped: others.map(describe) }, null, 2)}\n`);
  } else {
    for (const o of others) io.stderr.write(`warning: skipping ${describe(o)}: not an LlmGuardPolicy, WasmPlugin or Secret\n`);
    for (const r of reports) {
      io.stdout.write(`${r.valid ? 'ok     ' : 'INVALID'} ${r.policy} (${r.source})\n`);
      for (const i of r.issues) io.stdout.write(`  ${i.source === 'filter' ? 'filter refused the config: ' : ''}${i.message}\n`);
      for (const w of r.warnings) io.stdout.write(`  warning: ${w}\n`);
    }
    const checked = wasmPath ? 'CRD schema and filter' : 'CRD schema only';
    io.stdout.write(`${reports.length} ${reports.length === 1 ? 'document' : 'documents'} checked (${checked}): ${reports.length - invalid} valid, ${invalid} invalid\n`);
  }
  return invalid ? 1 : 0;
}
