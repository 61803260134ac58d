// The operator's container image as `make images` builds it, from the staged Debian packages and
// npm dependencies (`make image-inputs`): built twice into fresh folders with the same digest, its
// layers plain deterministic tars, its config the one the manifests rely on; then unpacked, layer
// after layer, into a root folder where its entrypoint runs under chroot as uid 65532 (Debian's
// Node.js from the image, not this machine's): `--help`, then `run` as the operator's
// ServiceAccount against a real kube-apiserver, until a policy is Ready with its WasmPlugin.
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { freePort, kubectl, REPO_ROOT } from './control_plane.js';
import { chatPolicy, conditionOf, ensureWasm, eventually, installOperatorRbac, ownedObjects, putSecret, serviceAccountKubeconfig, setupKube, type KubeEnv } from './operator_env.js';
import { buildImages, OPERATOR_REPOSITORY, type BuiltImage } from '../../operator/src/image/images.js';
import { baseImageName, kustomizeOverlay } from '../../operator/src/image/kustomize_overlay.js';
import type { KubeObject } from '../../operator/src/kube/objects.js';
import { POLICY } from '../../operator/src/kube/resources.js';

const NS = 'apps';
const OPERATOR_NS = 'llmguard-system';
const STAGE = join(REPO_ROOT, 'build', 'images', 'stage');
const MANIFESTS = join(REPO_ROOT, 'manifests');
const NONROOT = ['--userspec=65532:65532', '--groups=65532'];
const VERSION = (JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string }).version;

const tmp = mkdtempSync(join(tmpdir(), 'llmguard-operator-image-'));
const root = join(tmp, 'root');
let env: KubeEnv;
let builds: BuiltImage[][] = [];
let operator: ChildProcess | undefined;
let operatorOutput = '';

interface Manifest {
  config: { digest: string };
  layers: Array<{ digest: string; mediaType: string }>;
}

const blobPath = (layout: string, digest: string) => join(layout, 'blobs', 'sha256', digest.slice('sha256:'.length));
const readJson = <T>(path: string) => JSON.parse(readFileSync(path, 'utf8')) as T;

function manifestOf(layout: string): Manifest {
  const index = readJson<{ manifests: Array<{ digest: string }> }>(join(layout, 'index.json'));
  return readJson<Manifest>(blobPath(layout, index.manifests[0]!.digest));
}

function operatorLayout(build: BuiltImage[]): BuiltImage {
  return build.find((b) => b.repository === OPERATOR_REPOSITORY)!;
}

/** `chroot` into the unpacked image as 65532 and run its entrypoint with `args`. */
function entrypoint(args: string[]): string[] {
  return [...NONROOT, root, '/usr/bin/node', '/app/build/operator/cli/main.js', ...args];
}

beforeAll(async () => {
  // Offline once `make image-inputs` ran; else this fetches the .debs and npm packages once.
  execFileSync('bash', [join(REPO_ROOT, 'tools', 'image', 'stage.sh'), STAGE, '--no-operator'], { stdio: 'pipe' });
  const operatorJs = join(tmp, 'operator-js');
  const compile = promisify(execFile)(process.execPath, [join(REPO_ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(REPO_ROOT, 'operator', 'tsconfig.json'), '--outDir', operatorJs, '--declaration', 'false', '--sourceMap', 'false'], { cwd: REPO_ROOT });
  [env] = await Promise.all([setupKube([NS, OPERATOR_NS]), compile]);
  const inputs = {
    rootfsDir: join(STAGE, 'rootfs'),
    nodeModulesDir: join(STAGE, 'deps', 'node_modules'),
    operatorJsDir: operatorJs,
    wasmPath: ensureWasm(),
    version: VERSION,
    revision: 'f00dfeedf00dfeedf00dfeedf00dfeedf00dfeed',
    source: 'https://github.com/llm-egress-guard/llm-egress-guard',
    epoch: 0,
  };
  for (const name of ['first', 'second']) builds.push(await buildImages({ outDir: join(tmp, name), manifestsDir: MANIFESTS, operator: inputs }));

  // Layers in order, bottom first (no whiteouts in these layers).
  mkdirSync(root);
  const layout = operatorLayout(builds[0]!).layoutDir;
  for (const layer of manifestOf(layout).layers) execFileSync('tar', ['-xzf', blobPath(layout, layer.digest), '-C', root]);
  chmodSync(root, 0o755); // the image's / as runtimes create it; mkdtemp made it 0700
}, 600_000);

afterAll(async () => {
  operator?.kill('SIGKILL');
  await env?.stop();
  rmSync(tmp, { recursive: true, force: true });
});

describe('make images: the operator image', () => {
  it('has the same digest, and the same bytes in every blob, from two builds into fresh folders', () => {
    const [a, b] = builds.map(operatorLayout);
    expect(a!.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(b!.digest).toBe(a!.digest);
    const blobs = readdirSync(join(a!.layoutDir, 'blobs', 'sha256')).sort();
    expect(readdirSync(join(b!.layoutDir, 'blobs', 'sha256')).sort()).toEqual(blobs);
    expect(blobs).toHaveLength(5); // three layers, the config, the manifest
    expect(builds[1]!.map((i) => i.digest)).toEqual(builds[0]!.map((i) => i.digest)); // the filter's too
  });

  it('has layers whose tar entries are sorted, owned by 0:0 and all dated the same instant', () => {
    const layout = operatorLayout(builds[0]!).layoutDir;
    for (const layer of manifestOf(layout).layers) {
      expect(layer.mediaType).toBe('application/vnd.oci.image.layer.v1.tar+gzip');
      const file = blobPath(layout, layer.digest);
      const names = execFileSync('tar', ['--quoting-style=literal', '-tzf', file], { encoding: 'utf8', maxBuffer: 64 << 20 }).trimEnd().split('\n');
      const sorted = [...names].sort((x, y) => Buffer.compare(Buffer.from(x.replace(/\/$/, '')), Buffer.from(y.replace(/\/$/, ''))));
      expect(names).toEqual(sorted);
      const verbose = execFileSync('tar', ['--numeric-owner', '--full-time', '-tvzf', file], { encoding: 'utf8', maxBuffer: 64 << 20, env: { ...process.env, TZ: 'UTC' } }).trimEnd().split('\n');
      const odd = verbose.filter((l) => !/^\S+ 0\/0 +\d+ 1970-01-01 00:00:00 /.test(l));
      expect(odd).toEqual([]);
    }
  });

  it('runs the CLI as 65532:65532 with no secret in its environment and says where it comes from', () => {
    const layout = operatorLayout(builds[0]!).layoutDir;
    const config = readJson<{ config: { User: string; Entrypoint: string[]; Env: string[]; Labels: Record<string, string> } }>(blobPath(layout, manifestOf(layout).config.digest));
    expect(config.config.User).toBe('65532:65532');
    expect(config.config.Entrypoint).toEqual(['/usr/bin/node', '/app/build/operator/cli/main.js']);
    expect(config.config.Env.filter((e) => /KEY|TOKEN|SECRET|PASSWORD|CREDENTIAL/i.test(e))).toEqual([]);
    expect(config.config.Labels).toMatchObject({
      'org.opencontainers.image.source': 'https://github.com/llm-egress-guard/llm-egress-guard',
      'org.opencontainers.image.version': VERSION,
      'org.opencontainers.image.revision': 'f00dfeedf00dfeedf00dfeedf00dfeedf00dfeed',
    });
  });

  it("holds Debian's Node.js, whose entrypoint prints the CLI's help as uid 65532", () => {
    expect(execFileSync('chroot', [...NONROOT, root, '/usr/bin/node', '-p', '`${process.version} ${process.getuid()} ${require("os").userInfo().username}`'], { encoding: 'utf8' }).trim()).toMatch(/^v20\.\d+\.\d+ 65532 nonroot$/);
    const help = execFileSync('chroot', entrypoint(['--help']), { encoding: 'utf8' });
    expect(help).toContain(`llmguard ${VERSION}: the LLM egress guard's operator and its offline tools`);
    expect(help).toMatch(/^ {2}run +run the operator in a cluster$/m);
    expect(help).toMatch(/^ {2}keys +run the key service/m);
  });

  it('runs the operator from the image, as its ServiceAccount: a policy becomes Ready with its WasmPlugin', async () => {
    await installOperatorRbac(env.cp);
    await putSecret(env.api, NS, 'openai', { 'api-key': 'sk-image-test-0001' });
    const kubeconfig = join(root, 'tmp', 'kubeconfig');
    copyFileSync(await serviceAccountKubeconfig(env.cp, OPERATOR_NS, 'llmguard-operator'), kubeconfig);
    chmodSync(kubeconfig, 0o644);
    const ports = [String(await freePort()), String(await freePort())];
    operator = spawn('chroot', entrypoint(['run', '--kubeconfig', '/tmp/kubeconfig', '--metrics-port', ports[0]!, '--health-port', ports[1]!, '--namespace', NS]), {
      env: { PATH: process.env.PATH, POD_NAMESPACE: OPERATOR_NS },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    operator.stdout!.on('data', (c: Buffer) => (operatorOutput += c.toString()));
    operator.stderr!.on('data', (c: Buffer) => (operatorOutput += c.toString()));
    const exited = new Promise<number | null>((resolve) => operator!.once('exit', (code) => resolve(code)));

    await env.api.create(POLICY, NS, chatPolicy(NS, 'guard'));
    const ready = eventually('guard Ready', async () => conditionOf(await env.api.get(POLICY, NS, 'guard'), 'Ready')?.status === 'True', 90_000);
    const early = exited.then((code) => Promise.reject(new Error(`the operator exited with ${code}`)));
    await Promise.race([ready, early]).catch((e: Error) => {
      throw new Error(`${e.message}\n--- the operator's output ---\n${operatorOutput}`);
    });
    early.catch(() => undefined);
    const owned = await ownedObjects(env.api, NS, 'guard');
    const plugins = [...owned.values()].filter((o) => o.kind === 'WasmPlugin');
    expect(plugins).toHaveLength(1);
    expect(plugins[0]!.metadata?.ownerReferences?.[0]).toMatchObject({ kind: 'LlmGuardPolicy', name: 'guard' });
    expect(JSON.stringify([...owned.values()])).not.toContain('sk-image-test-0001');

    operator.kill('SIGTERM');
    expect(await exited, operatorOutput).toBe(0);
    operator = undefined;
    expect(operatorOutput).not.toMatch(/filter module not found|ERR_|TypeError/);
  });

  it('is deployed by the overlay make images writes: both Deployments name the pushed image by its digest', async () => {
    const overlay = join(tmp, 'overlay');
    mkdirSync(overlay);
    const digest = operatorLayout(builds[0]!).digest;
    writeFileSync(join(overlay, 'kustomization.yaml'), kustomizeOverlay(relative(overlay, MANIFESTS), baseImageName(MANIFESTS), 'registry.example.com/llmguard/operator', digest));
    const rendered = (await kubectl(env.cp, ['kustomize', overlay])).stdout;
    const deployments = parseAllDocuments(rendered).map((d) => d.toJS() as KubeObject & { spec?: { template?: { spec?: { containers?: Array<{ image: string }> } } } }).filter((o) => o.kind === 'Deployment');
    expect(deployments.map((d) => d.metadata?.name).sort()).toEqual(['llmguard-keys', 'llmguard-operator']);
    for (const d of deployments) expect(d.spec!.template!.spec!.containers!.map((c) => c.image)).toEqual([`registry.example.com/llmguard/operator@${digest}`]);
    expect(existsSync(join(operatorLayout(builds[0]!).layoutDir, '..', 'kustomization.yaml'))).toBe(false); // nothing pushed, no overlay
  });
});
