#!/usr/bin/env node
// `llmguard`: the operator's command line. render and validate work offline (CI, GitOps); run
// starts the controller, which is loaded only then (so the rest works without it).
import { readFileSync, realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { CRD_HEADER, buildCrd } from '../api/v1alpha1/crd.js';
import { WasmLoadError } from '../wasm/filter_host.js';
import { WasmModuleNotFoundError } from '../wasm/module_path.js';
import { InputError, UsageError, keyServiceOption, portOption, toYaml } from './inputs.js';
import type { KeyServiceLocation } from '../render/index.js';
import { KEYS_HELP, runKeys } from './keys_command.js';
import { RENDER_HELP, runRender } from './render.js';
import { DEV_HELP, runDev } from './dev_command.js';
import { IMAGE_HELP, runImage } from './image_command.js';
import { TEST_HELP, runTest } from './test_command.js';
import { VALIDATE_HELP, runValidate } from './validate.js';

export const CLI_VERSION = '0.1.0';

export const EXIT = { ok: 0, invalid: 1, usage: 2, failure: 3 } as const;

export interface Io {
  stdout: { write(text: string): unknown };
  stderr: { write(text: string): unknown };
  readStdin: () => string;
}

export const HELP = `llmguard ${CLI_VERSION}: the LLM egress guard's operator and its offline tools

Usage: llmguard <command> [options]

Commands:
  render     print the Istio resources the operator makes for policies (multi-document YAML)
  validate   check policies against the CRD and the real filter (for CI)
  test       run a policy's test cases (requests and expected decisions) through the real filter
  crd        print the LlmGuardPolicy CustomResourceDefinition
  dev        run a policy locally in a real Envoy, as Istio would, in front of mocks or the real hosts
  image      push the filter as an OCI image Istio pulls, print its digest
  run        run the operator in a cluster
  keys       run the key service (llmguard-keys) that gives filters their provider keys
  version    print the version
  help [COMMAND]

Run 'llmguard <command> --help' for a command's options.
Exit codes: 0 ok, 1 invalid input (policy, Secret value, YAML), 2 usage error,
3 failure to run (filter module or controller could not be loaded, controller error).
`;

export const RUN_HELP = `Usage: llmguard run [options]

Runs the operator: watches LlmGuardPolicies and Secrets and keeps each policy's WasmPlugin,
EnvoyFilter, ServiceEntries and DestinationRules in line with them.

Options:
      --kubeconfig PATH     kubeconfig (default: $KUBECONFIG, ~/.kube/config, then in-cluster)
      --namespace NS        watch only this namespace (default: all)
      --leader-elect        take a Lease before reconciling (needed with more than one replica)
      --metrics-port PORT   Prometheus metrics on /metrics (default 8080)
      --health-port PORT    /healthz and /readyz (default 8081)
      --wasm PATH           the compiled filter that checks every pluginConfig before it is
                            applied; always on (default: $LLMGUARD_WASM, else the module shipped
                            beside the operator, build/llm_guard.wasm); the operator doesn't start
                            without one
      --workers N           policies reconciled at once (default 16)
      --retire-after SECONDS  how long a ServiceEntry or DestinationRule a policy no longer
                            wants stays before it is deleted, so requests the filter's previous
                            config still routes there finish (default 90; 0 deletes at once)
      --key-service HOST:PORT  where filters fetch their keys (default
                            llmguard-keys.llmguard-system.svc.cluster.local:15443)
  -h, --help

The Lease namespace and identity come from $POD_NAMESPACE and $POD_NAME.
`;

export type RunControllerOptions = {
  kubeconfig?: string;
  namespace?: string;
  leaderElect: boolean;
  metricsPort: number;
  healthPort: number;
  wasmPath?: string;
  workers?: number;
  retireAfterMs?: number;
  keyService?: KeyServiceLocation;
};

async function runOperator(args: string[], io: Io): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      kubeconfig: { type: 'string' },
      namespace: { type: 'string' },
      'leader-elect': { type: 'boolean' },
      'metrics-port': { type: 'string' },
      'health-port': { type: 'string' },
      wasm: { type: 'string' },
      workers: { type: 'string' },
      'retire-after': { type: 'string' },
      'key-service': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    allowPositionals: false,
    strict: true,
  });
  if (values.help) {
    io.stdout.write(RUN_HELP);
    return EXIT.ok;
  }
  const opts: RunControllerOptions = {
    leaderElect: values['leader-elect'] ?? false,
    metricsPort: portOption('metrics-port', values['metrics-port'], 8080),
    healthPort: portOption('health-port', values['health-port'], 8081),
  };
  if (values.kubeconfig) opts.kubeconfig = values.kubeconfig;
  if (values.namespace) opts.namespace = values.namespace;
  if (values.wasm) opts.wasmPath = values.wasm;
  if (values.workers !== undefined) {
    const n = Number(values.workers);
    if (!Number.isInteger(n) || n < 1 || n > 64) throw new UsageError(`--workers must be a whole number from 1 to 64, not "${values.workers}"`);
    opts.workers = n;
  }
  if (values['retire-after'] !== undefined) {
    const n = Number(values['retire-after']);
    if (!Number.isInteger(n) || n < 0 || n > 3600) throw new UsageError(`--retire-after must be a whole number of seconds from 0 to 3600, not "${values['retire-after']}"`);
    opts.retireAfterMs = n * 1000;
  }
  if (values['key-service']) opts.keyService = keyServiceOption(values['key-service']);
  // A variable specifier: the CLI compiles and works without the controller's sources.
  const specifier = '../controller/index.js';
  let runController: ((o: RunControllerOptions) => Promise<void>) | undefined;
  try {
    const mod = (await import(specifier)) as { runController?: (o: RunControllerOptions) => Promise<void> };
    runController = mod.runController;
  } catch (e) {
    io.stderr.write(`error: the controller could not be loaded: ${(e as Error).message}\n`);
    return EXIT.failure;
  }
  if (typeof runController !== 'function') {
    io.stderr.write('error: the controller module has no runController export\n');
    return EXIT.failure;
  }
  await runController(opts);
  return EXIT.ok;
}

/** Runs one command line; returns the exit code. Never calls process.exit. */
export async function main(argv: string[], io: Io): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case undefined:
      case '-h':
      case '--help':
        io.stdout.write(HELP);
        return command === undefined ? EXIT.usage : EXIT.ok;
      case 'help': {
        const topic = rest[0];
        io.stdout.write(topic === 'render' ? RENDER_HELP : topic === 'validate' ? VALIDATE_HELP : topic === 'test' ? TEST_HELP : topic === 'dev' ? DEV_HELP : topic === 'run' ? RUN_HELP : topic === 'image' ? IMAGE_HELP : topic === 'keys' ? KEYS_HELP : HELP);
        return EXIT.ok;
      }
      case 'version':
      case '--version':
        io.stdout.write(`${CLI_VERSION}\n`);
        return EXIT.ok;
      case 'render':
        return runRender(rest, io);
      case 'validate':
        return await runValidate(rest, io);
      case 'test':
        return await runTest(rest, io);
      case 'crd': {
        const { values } = parseArgs({ args: rest, options: { help: { type: 'boolean', short: 'h' } }, strict: true });
        io.stdout.write(values.help ? 'Usage: llmguard crd\n\nPrints the LlmGuardPolicy CustomResourceDefinition.\n' : CRD_HEADER + toYaml(buildCrd()));
        return EXIT.ok;
      }
      case 'dev':
        return await runDev(rest, io);
      case 'image':
        return await runImage(rest, io);
      case 'run':
        return await runOperator(rest, io);
      case 'keys':
        return await runKeys(rest, io);
      default:
        io.stderr.write(`error: unknown command "${command}"\n\n${HELP}`);
        return EXIT.usage;
    }
  } catch (e) {
    if (e instanceof UsageError || (e as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      io.stderr.write(`error: ${(e as Error).message}\nRun 'llmguard ${command ?? ''} --help' for usage.\n`);
      return EXIT.usage;
    }
    if (e instanceof InputError) {
      io.stderr.write(`error: ${e.message}\n`);
      return EXIT.invalid;
    }
    if (e instanceof WasmModuleNotFoundError) {
      const hint = command === 'validate' ? '\n(or skip the filter check with --skip-filter-check)' : '';
      io.stderr.write(`error: ${e.message}${hint}\n`);
      return EXIT.failure;
    }
    if (e instanceof WasmLoadError) {
      io.stderr.write(`error: the filter module could not be loaded as Envoy would load it: ${e.message}\n`);
      return EXIT.failure;
    }
    io.stderr.write(`error: ${(e as Error).stack ?? String(e)}\n`);
    return EXIT.failure;
  }
}

function isEntryPoint(): boolean {
  const entry = process.argv[1];
  if (!entry) return false;
  try {
    return realpathSync(entry) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (isEntryPoint()) {
  const io: Io = { stdout: process.stdout, stderr: process.stderr, readStdin: () => readFileSync(0, 'utf8') };
  main(process.argv.slice(2), io).then(
    (code) => {
      process.exitCode = code;
    },
    (e: unknown) => {
      process.stderr.write(`error: ${(e as Error).stack ?? String(e)}\n`);
      process.exitCode = EXIT.failure;
    },
  );
}
