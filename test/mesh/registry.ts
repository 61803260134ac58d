// A real OCI registry on loopback: the CNCF distribution registry (what `registry:2` runs), with
// its storage in a temp folder, spoken to over plain HTTP as a registry on this machine is.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ManagedProcess, freePort, httpGet, waitFor } from '../kube/processes.js';
import { meshBin } from './mesh_tools.js';

export interface Registry {
  /** 127.0.0.1:PORT, the host part of image references. */
  host: string;
  logs(): string;
  stop(): Promise<void>;
}

export async function startRegistry(): Promise<Registry> {
  const dir = await mkdtemp(join(tmpdir(), 'mesh-registry-'));
  const port = await freePort();
  const config = join(dir, 'config.yml');
  await writeFile(
    config,
    [
      'version: 0.1',
      'log: {level: warn, accesslog: {disabled: true}}',
      `storage: {filesystem: {rootdirectory: ${JSON.stringify(join(dir, 'data'))}}, delete: {enabled: true}}`,
      `http: {addr: "127.0.0.1:${port}"}`,
      '',
    ].join('\n'),
  );
  const proc = new ManagedProcess('registry', meshBin('registry'), ['serve', config], join(dir, 'registry.log'), dir, {
    ...process.env,
    OTEL_TRACES_EXPORTER: 'none',
  });
  try {
    await waitFor('registry /v2/', Date.now() + 60_000, [proc], async () => (await httpGet(`http://127.0.0.1:${port}/v2/`)).status === 200);
  } catch (e) {
    await proc.stop(2_000);
    await rm(dir, { recursive: true, force: true });
    throw new Error(`${(e as Error).message}\n${proc.tail()}`);
  }
  return {
    host: `127.0.0.1:${port}`,
    logs: () => proc.logs(),
    stop: async () => {
      await proc.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
