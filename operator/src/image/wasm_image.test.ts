// The filter's OCI image: a layer GNU tar and gzip read back to the module, a manifest in the form
// Istio's agent pulls, the same digest for the same module; references as docker writes them.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { defaultWasmPath } from '../wasm/module_path.js';
import { isLoopbackRegistry, parseReference, ReferenceError } from './reference.js';
import { tarOneFile } from './tar.js';
import { sha256Digest } from './oci_blob.js';
import { buildWasmImage, LAYER_MEDIA_TYPE, MANIFEST_MEDIA_TYPE } from './wasm_image.js';

const dir = mkdtempSync(join(tmpdir(), 'llmguard-image-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('the image of the filter', () => {
  const wasm = new Uint8Array(readFileSync(defaultWasmPath()));
  const image = buildWasmImage(wasm);

  it('has one gzipped tar layer holding exactly plugin.wasm, byte for byte', () => {
    const layer = join(dir, 'layer.tar.gz');
    writeFileSync(layer, image.layer.bytes);
    expect(execFileSync('tar', ['-tvzf', layer], { encoding: 'utf8' })).toMatch(/^-rw-r--r-- 0\/0 +\d+ 1970-01-01 00:00 plugin\.wasm\n$/);
    execFileSync('tar', ['-xzf', layer, '-C', dir]);
    expect(sha256Digest(new Uint8Array(readFileSync(join(dir, 'plugin.wasm'))))).toBe(sha256Digest(wasm));
  });

  it('is an OCI image manifest whose last layer has the media type Istio extracts plugin.wasm from', () => {
    const m = JSON.parse(new TextDecoder().decode(image.manifest.bytes));
    expect(m).toMatchObject({ schemaVersion: 2, mediaType: MANIFEST_MEDIA_TYPE });
    expect(m.layers).toEqual([{ mediaType: LAYER_MEDIA_TYPE, digest: image.layer.digest, size: image.layer.size }]);
    expect(m.config).toEqual({ mediaType: 'application/vnd.oci.image.config.v1+json', digest: image.config.digest, size: image.config.size });
    const config = JSON.parse(new TextDecoder().decode(image.config.bytes));
    expect(config.rootfs.diff_ids).toEqual([sha256Digest(tarOneFile('plugin.wasm', wasm))]);
    for (const b of [image.layer, image.config, image.manifest]) expect(sha256Digest(b.bytes)).toBe(b.digest);
  });

  it('has the same digest every time for the same module, another for another', () => {
    expect(buildWasmImage(wasm.slice()).manifest.digest).toBe(image.manifest.digest);
    const other = wasm.slice();
    other[other.length - 1]! ^= 1;
    expect(buildWasmImage(other).manifest.digest).not.toBe(image.manifest.digest);
  });

  it('pads the tar to whole blocks and ends it with two empty ones', () => {
    const t = tarOneFile('plugin.wasm', new Uint8Array(513));
    expect(t.length).toBe(512 + 1024 + 1024);
    expect(t.subarray(512 + 1024).every((b) => b === 0)).toBe(true);
  });
});

describe('image references', () => {
  it('reads them as docker and Istio write them', () => {
    expect(parseReference('oci://127.0.0.1:5000/llm-guard:0.1.0')).toEqual({ registry: '127.0.0.1:5000', repository: 'llm-guard', tag: '0.1.0' });
    expect(parseReference('ghcr.io/acme/filters/llm-guard')).toEqual({ registry: 'ghcr.io', repository: 'acme/filters/llm-guard', tag: 'latest' });
    expect(parseReference(`localhost:5000/x@sha256:${'a'.repeat(64)}`)).toEqual({ registry: 'localhost:5000', repository: 'x', digest: `sha256:${'a'.repeat(64)}` });
    expect(parseReference('acme/llm-guard:1')).toEqual({ registry: 'registry-1.docker.io', repository: 'acme/llm-guard', tag: '1' });
    expect(parseReference('llm-guard')).toEqual({ registry: 'registry-1.docker.io', repository: 'library/llm-guard', tag: 'latest' });
  });

  it('refuses what is not one', () => {
    for (const bad of ['', 'https://ghcr.io/x', 'ghcr.io/Acme/x', 'ghcr.io/x:bad tag', 'ghcr.io/x@sha256:12']) {
      expect(() => parseReference(bad), bad).toThrow(ReferenceError);
    }
  });

  it('speaks plain HTTP only to registries on this machine', () => {
    expect(['127.0.0.1:5000', 'localhost:5000', '[::1]:5000', 'localhost'].map(isLoopbackRegistry)).toEqual([true, true, true, true]);
    expect(['ghcr.io', '10.0.0.1:5000', 'registry.local:5000'].map(isLoopbackRegistry)).toEqual([false, false, false]);
  });
});
