// `llmguard test`: policy unit tests. Each case of a cases file is a request and the decision the
// policy must reach (and, for an allowed one, what the provider answers and what the app must then
// receive); they run through the real compiled filter in-process (no cluster, no Envoy).
import { readFileSync, writeFileSync } from 'node:fs';
import { API_VERSION, type LlmGuardPolicy } from '../api/v1alpha1/llm_guard_policy.js';
import { CasesError, parseCases, type TestCase } from '../policytest/cases.js';
import { toJUnit } from '../policytest/junit.js';
import { FilterConfigError, PolicyTester, formatReport, type PolicyTestResult } from '../policytest/runner.js';
import { validatePolicy } from '../validate/policy.js';
import { ensureLoadable } from '../wasm/filter_host.js';
import { parseArgs } from 'node:util';
import { INPUT_OPTIONS, InputError, policyNamespace, policyRef, readInputs, UsageError } from './inputs.js';
import type { Io } from './main.js';

export const TEST_HELP = `Usage: llmguard test -f POLICY.yaml --cases CASES.yaml [options]

Runs a policy's test cases through the real compiled filter (build/llm_guard.wasm), in-process:
each case is a request (any supported API shape) and the decision expected (allow, deny, refuse).
The policy is rendered as the operator renders it; the guard model, if any, is answered per case.
An allowed case can give the provider's answer (response: a JSON body or SSE events) and check
what the app receives (expectResponse: status, contains, notContains, code, outcome, rule) and
what the provider received after redaction (expectRequest: contains, notContains):

  - name: an address in a stream is masked
    request: { body: { stream: true, messages: [{ role: user, content: who? }] } }
    response: { events: [{ data: { choices: [{ index: 0, delta: { content: "jane.d" } }] } },
                         { data: { choices: [{ index: 0, delta: { content: "oe@example.com" } }] } }, "[DONE]"] }
    expect: allow
    expectResponse: { outcome: redacted, contains: "[REDACTED]", notContains: jane.doe@example.com }
  - name: a denied JSON answer
    request: { body: { messages: [{ role: user, content: the codes? }] } }
    response: { body: { choices: [{ index: 0, message: { role: assistant, content: the launch codes } }] } }
    expect: allow
    expectResponse: { outcome: denied, code: response_denied_by_pattern }

See docs/policy-tests.md.

Options:
  -f, --filename FILE      the policy (YAML file or directory; Secret documents there are used too)
      --cases FILE         the cases file (YAML)
      --policy NAME        which policy, when the files hold several ([namespace/]name)
      --junit FILE         also write a JUnit XML report
      --secrets FILE       YAML holding Secret documents (repeatable; default: fake keys)
      --secret REF=VALUE   [namespace/]secret-name/key=value (repeatable)
  -n, --namespace NS       namespace of documents that have none (default: default)
      --wasm PATH          the compiled filter (default: $LLMGUARD_WASM, else build/llm_guard.wasm)
  -v, --verbose            print the filter's log lines for cases that did not pass
  -h, --help

Exit codes: 0 all cases pass, 1 a case fails (or the policy or cases file is invalid), 2 usage
error, 3 the filter module could not be loaded.
`;

export async function runTest(args: string[], io: Io): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      ...INPUT_OPTIONS,
      cases: { type: 'string' },
      policy: { type: 'string' },
      junit: { type: 'string' },
      wasm: { type: 'string' },
      verbose: { type: 'boolean', short: 'v' },
    },
    allowPositionals: false,
    strict: true,
  });
  if (values.help) {
    io.stdout.write(TEST_HELP);
    return 0;
  }
  if (!values.filename?.length) throw new UsageError('test needs -f POLICY');
  if (!values.cases) throw new UsageError('test needs --cases FILE');
  const defaultNamespace = values.namespace ?? 'default';

  let casesText: string;
  try {
    casesText = readFileSync(values.cases, 'utf8');
  } catch (e) {
    throw new UsageError(`cannot read ${values.cases}: ${(e as Error).message}`);
  }
  let cases: TestCase[];
  try {
    cases = parseCases(casesText, values.cases);
  } catch (e) {
    if (e instanceof CasesError) throw new InputError(e.message);
    throw e;
  }

  const { inputs, store } = readInputs({ files: values.filename, secretFiles: values.secrets, secretFlags: values.secret, defaultNamespace, stdin: io.readStdin });

  let policies = inputs.policies;
  if (values.policy) {
    const want = values.policy.includes('/') ? values.policy : `${defaultNamespace}/${values.policy}`;
    policies = policies.filter((p) => policyRef(p.doc, defaultNamespace) === want || (!values.policy!.includes('/') && policyRef(p.doc, defaultNamespace).endsWith(`/${values.policy}`)));
  }
  if (!policies.length) throw new InputError(`no LlmGuardPolicy (${API_VERSION})${values.policy ? ` named ${values.policy}` : ''} in ${values.filename.join(', ')}`);
  if (policies.length > 1) {
    throw new InputError(`${policies.length} policies in ${values.filename.join(', ')} (${policies.map((p) => policyRef(p.doc, defaultNamespace)).join(', ')}): pick one with --policy`);
  }
  const doc = policies[0]!;
  const ref = policyRef(doc.doc, defaultNamespace);
  const v = validatePolicy(doc.doc, { defaultNamespace });
  if (v.issues.length) {
    throw new InputError(`${ref} (${doc.source}) is not a valid policy (run llmguard validate):\n${v.issues.map((i) => `  ${i.message}`).join('\n')}`);
  }
  const policy = v.policy as unknown as LlmGuardPolicy;

  const wasmPath = ensureLoadable(values.wasm);
  const tester = new PolicyTester(policy, { wasmPath, secrets: store.valuesFor(policyNamespace(doc.doc, defaultNamespace)) });
  try {
    tester.start();
  } catch (e) {
    if (e instanceof FilterConfigError) throw new InputError(`${ref}: the filter refused the config: ${e.message}`);
    throw e;
  }
  const result: PolicyTestResult = tester.run(cases);
  result.policy = ref;
  io.stdout.write(formatReport([result]));
  if (values.verbose) {
    for (const c of result.results) {
      if (c.outcome === 'pass' || !c.logs.length) continue;
      io.stdout.write(`log of "${c.name}":\n${c.logs.map((l) => `  [${l.level}] ${l.message}\n`).join('')}`);
    }
  }
  if (values.junit) {
    try {
      writeFileSync(values.junit, toJUnit([result]));
    } catch (e) {
      io.stderr.write(`error: cannot write ${values.junit}: ${(e as Error).message}\n`);
      return 3;
    }
  }
  return result.failed + result.errors > 0 ? 1 : 0;
}
