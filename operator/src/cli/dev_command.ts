// `llmguard dev`: a user's policy, rendered and translated as istiod would, in a real local Envoy
// in front of built-in HTTPS mocks (or the real hosts), to try it before deploying.
import { parseArgs } from 'node:util';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { startEnvoy, type EnvoyProcess } from '../localmesh/envoy.js';
import { translate, type Upstream } from '../localmesh/istio_translate.js';
import { loadAndRender, serviceEntryHosts } from '../localmesh/load.js';
import { startMockKeyService } from '../localmesh/mock_key_service.js';
import { makePki, type Pki } from '../localmesh/tls.js';
import { defaultWasmPath, WasmModuleNotFoundError } from '../wasm/module_path.js';
import { UNSAFE_WORD, startDevGuard, startDevProvider } from './dev_mocks.js';
import { INPUT_OPTIONS, UsageError } from './inputs.js';
import type { Io } from './main.js';

export const DEV_HELP = `Usage: llmguard dev -f FILE [-f FILE ...] [--secrets FILE] [--port PORT] [--upstream mock|real]

Runs a policy locally the way Istio would: renders it, translates the WasmPlugin, EnvoyFilter,
ServiceEntries and DestinationRules as istiod does, and starts a real Envoy ($ENVOY_BIN or
.venv/bin/envoy) with an outbound listener on 127.0.0.1:PORT. Send requests there as an app would:
plain HTTP, the provider's host in the Host header, no key. Ctrl-C stops everything.

Options:
  -f, --filename FILE     policy YAML (Secret documents in it are used too; repeatable)
      --secrets FILE      YAML holding Secret documents (repeatable)
      --secret REF=VALUE  a Secret value: [namespace/]name/key=value (repeatable)
  -n, --namespace NS      namespace of documents that have none (default: default)
      --port PORT         the listener's port (default 10000)
      --upstream MODE     mock (default): built-in HTTPS mock provider and guard, with a generated CA;
                          the mock guard flags any prompt containing "${UNSAFE_WORD}".
                          real: the real hosts (DNS, port 443, the system's CAs)
      --wasm PATH         the compiled filter (default: $LLMGUARD_WASM, else build/llm_guard.wasm of this checkout)
  -h, --help
`;

/** --wasm, else $LLMGUARD_WASM, else this checkout's build/llm_guard.wasm. */
function wasmPathOf(flag: string | undefined): string {
  const build = 'build it: npx asc plugin/index.ts --target release, or give --wasm';
  if (flag) {
    const wasmPath = path.resolve(flag);
    if (!existsSync(wasmPath)) throw new UsageError(`no filter module at ${wasmPath} (${build})`);
    return wasmPath;
  }
  try {
    return defaultWasmPath();
  } catch (e) {
    if (e instanceof WasmModuleNotFoundError) throw new UsageError(`no filter module at ${e.tried.join(' or ')} (${build})`);
    throw e;
  }
}

/** Resolves on SIGINT/SIGTERM (or when `stop` is called, for tests). */
function untilStopped(): Promise<string> {
  return new Promise((resolve) => {
    const on = (sig: string) => () => {
      process.removeListener('SIGINT', onInt);
      process.removeListener('SIGTERM', onTerm);
      resolve(sig);
    };
    const onInt = on('SIGINT');
    const onTerm = on('SIGTERM');
    process.once('SIGINT', onInt);
    process.once('SIGTERM', onTerm);
  });
}

export async function runDev(args: string[], io: Io): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      ...INPUT_OPTIONS,
      port: { type: 'string' },
      upstream: { type: 'string' },
      wasm: { type: 'string' },
    },
    allowPositionals: false,
    strict: true,
  });
  if (values.help) {
    io.stdout.write(DEV_HELP);
    return 0;
  }
  if (!values.filename?.length) throw new UsageError('dev needs -f FILE');
  const portText = values.port ?? '10000';
  const port = Number(portText);
  if (!/^\d+$/.test(portText) || port < 1 || port > 65535) throw new UsageError(`--port ${portText}: expected a port number 1..65535`);
  const mode = values.upstream ?? 'mock';
  if (mode !== 'mock' && mode !== 'real') throw new UsageError(`--upstream ${mode}: expected mock or real`);
  const wasmPath = wasmPathOf(values.wasm);

  const { policies, objects, keyAnswers } = loadAndRender({ files: values.filename, secretFiles: values.secrets ?? [], secretFlags: values.secret ?? [], namespace: values.namespace });
  const hosts = serviceEntryHosts(objects);
  const guardHosts = new Set(policies.map((p) => p.spec.intelligentGuard?.host).filter((h): h is string => !!h));
  const providerHosts = hosts.filter((h) => !guardHosts.has(h));
  const guardFormat = policies.find((p) => p.spec.intelligentGuard)?.spec.intelligentGuard?.verdictFormat ?? 'auto';

  const print = (line: string) => io.stdout.write(`${line}\n`);

  let pki: Pki | undefined;
  const mocks: { close(): Promise<void> }[] = [];
  let envoy: EnvoyProcess | undefined;
  const cleanup = async () => {
    await envoy?.stop().catch(() => {});
    for (const m of mocks) await m.close().catch(() => {});
    pki?.remove();
  };
  try {
    // The keys come from a local key service, as in the mesh they come from llmguard-keys: the
    // filter's config holds none (docs/key-custody.md).
    const keys = await startMockKeyService();
    mocks.push(keys);
    for (const [path, answer] of keyAnswers) keys.set(path, { ...answer });
    const upstreams: Record<string, Upstream> = {};
    if (mode === 'mock') {
      pki = makePki(hosts);
      const provider = await startDevProvider(pki, print);
      mocks.push(provider);
      for (const h of providerHosts) upstreams[h] = { address: '127.0.0.1', portMap: { 443: provider.port }, caPem: pki.caPem };
      if (guardHosts.size) {
        const guard = await startDevGuard(pki, guardFormat, print);
        mocks.push(guard);
        for (const h of guardHosts) upstreams[h] = { address: '127.0.0.1', portMap: { 443: guard.port }, caPem: pki.caPem };
      }
    }
    const t = translate(objects, { wasmPath, listenerPort: port, upstreams, keyService: { address: '127.0.0.1', port: keys.port } });
    for (const u of t.unmatchedPatches) io.stderr.write(`warning: ${u}\n`);
    envoy = await startEnvoy(t.bootstrap, { componentLogLevel: 'wasm:info' });

    const host = providerHosts[0] ?? 'api.openai.com';
    const curl = (prompt: string) =>
      `  curl -sS http://127.0.0.1:${port}/v1/chat/completions -H 'Host: ${host}' -H 'content-type: application/json' \\\n` +
      `    -d '${JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: prompt }] })}'\n`;
    io.stdout.write(
      `llmguard dev: ${policies.map((p) => `${p.metadata.namespace}/${p.metadata.name}`).join(', ')} on http://127.0.0.1:${port} ` +
        `(upstream: ${mode === 'mock' ? 'built-in HTTPS mocks' : 'the real hosts'}; Envoy admin on http://127.0.0.1:${envoy.adminPort})\n` +
        `Hosts: ${providerHosts.join(', ')}${guardHosts.size ? `; guard: ${[...guardHosts].join(', ')}` : ''}\n` +
        'Send requests as an app would (plain HTTP, Host = the provider, no key):\n' +
        curl('Hello!') +
        (guardHosts.size && mode === 'mock' ? `A prompt the mock guard refuses (it flags "${UNSAFE_WORD}"):\n${curl(`Something ${UNSAFE_WORD}, please.`)}` : '') +
        'Ctrl-C stops.\n',
    );
    const stopped = untilStopped();
    const running = envoy;
    const died = running.exited.then(() => `envoy exited (${String(running.exitCode ?? running.exitSignal)})`);
    const why = await Promise.race([stopped, died]);
    if (why.startsWith('envoy')) {
      io.stderr.write(`error: ${why}\n${await envoy.logTail(30)}\n`);
      await cleanup();
      return 3;
    }
    io.stdout.write(`llmguard dev: stopping (${why})\n`);
    await cleanup();
    return 0;
  } catch (e) {
    await cleanup();
    throw e;
  }
}
