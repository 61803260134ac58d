// The operator image's assembly on small stand-in inputs: the same digest from two fresh copies
// made at other times and in another order, the run settings the manifests rely on, layers whose
// diff_ids are their tars, an OCI layout whose blobs are what their names say, and the kustomize
// overlay that pins the pushed image.
import { execFileSync } from 'node:child_process';
import { linkSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { baseImageName, kustomizeOverlay } from './kustomize_overlay.js';
import { sha256Digest } from './oci_blob.js';
import { writeOciLayout } from './oci_layout.js';
import { buildOperatorImage, OPERATOR_ENTRYPOINT, type OperatorImageInputs } from './operator_image.js';

const dir = mkdtempSync(join(tmpdir(), 'llmguard-opimage-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Stand-ins for the staged inputs; `reversed` creates them in another order, `time` stamps every file. */
function stage(name: string, reversed: boolean, time: number): OperatorImageInputs {
  const root = join(dir, name);
  const usrBin = [
    () => mkdirSync(join(root, 'rootfs/usr/bin'), { recursive: true }),
    () => writeFileSync(join(root, 'rootfs/usr/bin/node'), 'elf', { mode: 0o755 }),
    () => symlinkSync('node', join(root, 'rootfs/usr/bin/nodejs')),
  ];
  const groups: Array<Array<() => void>> = [
    reversed ? [usrBin[0]!, usrBin[2]!, usrBin[1]!] : usrBin,
    [
      () => mkdirSync(join(root, 'rootfs/etc'), { recursive: true }),
      () => writeFileSync(join(root, 'rootfs/etc/passwd'), 'nonroot:x:65532:65532::/home/nonroot:/usr/sbin/nologin\n'),
      () => linkSync(join(root, 'rootfs/etc/passwd'), join(root, 'rootfs/etc/passwd-')),
    ],
    [() => mkdirSync(join(root, 'node_modules/yaml'), { recursive: true }), () => writeFileSync(join(root, 'node_modules/yaml/index.js'), 'export {}')],
    [() => mkdirSync(join(root, 'operator/cli'), { recursive: true }), () => writeFileSync(join(root, 'operator/cli/main.js'), 'console.log("llmguard")')],
    [() => writeFileSync(join(root, 'filter.wasm'), new Uint8Array([0, 0x61, 0x73, 0x6d]))],
  ];
  mkdirSync(root);
  for (const group of reversed ? [...groups].reverse() : groups) for (const make of group) make();
  execFileSync('find', [root, '-exec', 'touch', '-h', '-d', `@${time}`, '{}', '+']);
  utimesSync(join(root, 'filter.wasm'), time, time);
  return {
    rootfsDir: join(root, 'rootfs'),
    nodeModulesDir: join(root, 'node_modules'),
    operatorJsDir: join(root, 'operator'),
    wasmPath: join(root, 'filter.wasm'),
    version: '9.9.9',
    revision: '0123456789abcdef',
    source: 'https://example.com/llm-egress-guard',
    epoch: 0,
  };
}

const json = (b: { bytes: Uint8Array }) => JSON.parse(new TextDecoder().decode(b.bytes));

describe('the operator image', () => {
  const image = buildOperatorImage(stage('a', false, 1_000_000));

  it('has the same digest when built again from a fresh copy made at another time, in another order', () => {
    expect(buildOperatorImage(stage('b', true, 2_000_000)).manifest.digest).toBe(image.manifest.digest);
  });

  it('runs the CLI with Node as 65532:65532, with no secret in its environment, labelled with its source', () => {
    const config = json(image.config);
    expect(config).toMatchObject({ architecture: 'amd64', os: 'linux', created: '1970-01-01T00:00:00Z' });
    expect(config.config).toMatchObject({ User: '65532:65532', Entrypoint: OPERATOR_ENTRYPOINT, WorkingDir: '/app' });
    expect(OPERATOR_ENTRYPOINT).toEqual(['/usr/bin/node', '/app/build/operator/cli/main.js']);
    for (const e of config.config.Env as string[]) expect(e).not.toMatch(/KEY|TOKEN|SECRET|PASSWORD/i);
    expect(config.config.Labels).toEqual(
      expect.objectContaining({
        'org.opencontainers.image.source': 'https://example.com/llm-egress-guard',
        'org.opencontainers.image.version': '9.9.9',
        'org.opencontainers.image.revision': '0123456789abcdef',
      }),
    );
    expect(json(image.manifest).annotations).toEqual(config.config.Labels);
  });

  it('stacks the Debian base, node_modules and the app, each layer a gzipped tar whose digest is its diff_id', () => {
    const config = json(image.config);
    const manifest = json(image.manifest);
    expect(manifest.layers.map((l: { digest: string }) => l.digest)).toEqual(image.layers.map((l) => l.digest));
    const tars = image.layers.map((l) => gunzipSync(l.bytes));
    expect(config.rootfs.diff_ids).toEqual(tars.map((t) => sha256Digest(t)));
    const listing = tars.map((t, i) => {
      writeFileSync(join(dir, `layer${i}.tar`), t);
      return execFileSync('tar', ['--numeric-owner', '-tvf', join(dir, `layer${i}.tar`)], { encoding: 'utf8', env: { ...process.env, TZ: 'UTC' } });
    });
    expect(listing[0]).toMatch(/^hrw-r--r-- 0\/0 .* etc\/passwd- link to etc\/passwd$/m);
    expect(listing[0]).toMatch(/^lrwxrwxrwx 0\/0 .* usr\/bin\/nodejs -> node$/m);
    expect(listing[1]).toMatch(/^drwxr-xr-x 0\/0 .* app\/$/m);
    expect(listing[1]).toMatch(/ app\/node_modules\/yaml\/index\.js$/m);
    expect(listing[2]).toMatch(/ app\/build\/llm_guard\.wasm$/m);
    for (const l of listing.join('').trim().split('\n')) expect(l).toMatch(/^\S+ 0\/0 +\d+ 1970-01-01 00:00 /);
    const pkg = execFileSync('tar', ['-xOf', join(dir, 'layer2.tar'), 'app/package.json'], { encoding: 'utf8' });
    expect(JSON.parse(pkg)).toEqual({ name: 'llm-egress-guard', version: '9.9.9', private: true, type: 'module' });
  });

  it('is written as an OCI image layout: index.json names the manifest under its tag, blobs are named by digest', () => {
    const layout = join(dir, 'layout');
    writeOciLayout(layout, image, '9.9.9');
    const index = JSON.parse(readFileSync(join(layout, 'index.json'), 'utf8'));
    expect(index.manifests).toEqual([{ mediaType: image.manifest.mediaType, digest: image.manifest.digest, size: image.manifest.size, annotations: { 'org.opencontainers.image.ref.name': '9.9.9' } }]);
    for (const b of [image.manifest, image.config, ...image.layers]) {
      expect(sha256Digest(readFileSync(join(layout, 'blobs', 'sha256', b.digest.slice(7))))).toBe(b.digest);
    }
    expect(JSON.parse(readFileSync(join(layout, 'oci-layout'), 'utf8'))).toEqual({ imageLayoutVersion: '1.0.0' });
  });
});

describe('the kustomize overlay', () => {
  it('replaces the image name the shipped kustomization sets with the pushed repository at its digest', () => {
    const manifests = join(dir, 'manifests');
    mkdirSync(manifests);
    writeFileSync(join(manifests, 'kustomization.yaml'), 'resources: [deployment]\nimages:\n  - name: llmguard-operator\n    newName: ghcr.io/acme/operator\n    newTag: "1"\n');
    const base = baseImageName(manifests);
    expect(base).toBe('ghcr.io/acme/operator');
    const digest = `sha256:${'c'.repeat(64)}`;
    expect(parse(kustomizeOverlay('../manifests', base, 'localhost:5000/llmguard/operator', digest))).toEqual({
      apiVersion: 'kustomize.config.k8s.io/v1beta1',
      kind: 'Kustomization',
      resources: ['../manifests'],
      images: [{ name: 'ghcr.io/acme/operator', newName: 'localhost:5000/llmguard/operator', digest }],
    });
    writeFileSync(join(manifests, 'kustomization.yaml'), 'resources: [deployment]\n');
    expect(() => baseImageName(manifests)).toThrow(/no images entry named llmguard-operator/);
  });
});
