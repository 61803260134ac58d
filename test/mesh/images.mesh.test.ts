// `make images REGISTRY=...` as a release runs it, against a private registry (the CNCF
// distribution registry, HTTP Basic auth, credentials from a Docker config as `docker login`
// leaves them): both images pushed, each printed with the digest the registry stores it under,
// and the overlay it writes deploys the manifests with the pushed operator image pinned by digest
// (rendered by the real kubectl). Pushing again sends no blob twice and gives the same digests.
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { KUBE_BIN_DIR, REPO_ROOT } from '../kube/control_plane.js';
import { REGISTRY_USER, startRegistry, type Registry } from './registry.js';

const run = promisify(execFile);
let registry: Registry;
let dir: string;
let first: { stdout: string; stderr: string };

function makeImages(outDir: string) {
  return run('make', ['--silent', '--no-print-directory', 'images', `REGISTRY=${registry.host}/llmguard`, `IMAGES_DIR=${outDir}`, 'IMAGE_REVISION=0000000000000000000000000000000000000001'], {
    cwd: REPO_ROOT,
    env: { ...process.env, DOCKER_CONFIG: dir, MAKEFLAGS: '' },
    maxBuffer: 16 << 20,
  });
}

beforeAll(async () => {
  [registry, dir] = await Promise.all([startRegistry(), mkdtemp(join(tmpdir(), 'llmguard-images-'))]);
  await writeFile(join(dir, 'config.json'), registry.dockerConfigJson);
  first = await makeImages(join(dir, 'first'));
}, 600_000);

afterAll(async () => {
  await registry?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function registryGet(path: string, accept: string): Promise<Response> {
  const auth = Buffer.from(`${REGISTRY_USER.username}:${REGISTRY_USER.password}`).toString('base64');
  return fetch(`http://${registry.host}${path}`, { headers: { authorization: `Basic ${auth}`, accept } });
}

describe('make images REGISTRY=...', () => {
  it('pushes the operator and the filter and prints each reference with the digest the registry serves', async () => {
    const lines = first.stdout.trim().split('\n');
    const version = (JSON.parse(await readFile(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string }).version;
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(new RegExp(`^${registry.host}/llmguard/operator:${version.replace(/\./g, '\\.')}@sha256:[0-9a-f]{64}$`));
    expect(lines[1]).toMatch(new RegExp(`^${registry.host}/llmguard/llm-guard:${version.replace(/\./g, '\\.')}@sha256:[0-9a-f]{64}$`));
    for (const line of lines) {
      const [name, digest] = line.split('@') as [string, string];
      const [repository, tag] = name.slice(registry.host.length + 1).split(':') as [string, string];
      const byTag = await registryGet(`/v2/${repository}/manifests/${tag}`, 'application/vnd.oci.image.manifest.v1+json');
      expect(byTag.status).toBe(200);
      expect(byTag.headers.get('docker-content-digest')).toBe(digest);
      const manifest = (await byTag.json()) as { layers: Array<{ digest: string }>; config: { digest: string } };
      for (const b of [...manifest.layers, manifest.config]) expect((await registryGet(`/v2/${repository}/blobs/${b.digest}`, '*/*')).status, b.digest).toBe(200);
    }
  });

  it('writes an overlay with which kubectl deploys both Deployments with the pushed operator image, by digest', async () => {
    const operator = first.stdout.trim().split('\n')[0]!;
    const pinned = operator.replace(/:[^:/@]+@/, '@');
    const { stdout } = await run(join(KUBE_BIN_DIR, 'kubectl'), ['kustomize', join(dir, 'first')], { maxBuffer: 16 << 20 });
    const images = parseAllDocuments(stdout)
      .map((d) => d.toJS() as { kind?: string; spec?: { template?: { spec?: { containers?: Array<{ image: string }> } } } })
      .filter((o) => o.kind === 'Deployment')
      .flatMap((o) => o.spec!.template!.spec!.containers!.map((c) => c.image));
    expect(images).toEqual([pinned, pinned]);
  });

  it('gives the same digests when run again into a fresh folder, and sends no blob the registry has', async () => {
    const again = await makeImages(join(dir, 'second'));
    expect(again.stdout).toBe(first.stdout);
    expect(again.stderr).toMatch(/pushed .*\/llmguard\/operator:\S+ \(4 blob\(s\) already there\)/);
  });
});
