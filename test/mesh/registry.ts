// A real OCI registry on loopback: the CNCF distribution registry (what `registry:2` runs), with
// its storage in a temp folder, spoken to over plain HTTP as a registry on this machine is. Like a
// team's registry it is private: every request needs the user below (HTTP Basic, htpasswd).
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ManagedProcess, freePort, httpGet, waitFor } from '../kube/processes.js';
import { meshBin } from './mesh_tools.js';

/** The registry's one user. Its password's bcrypt hash (cost 10) is in the htpasswd file below. */
export const REGISTRY_USER = { username: 'mesh-puller', password: 'mesh-pull-secret-6b1f' };
const REGISTRY_USER_BCRYPT = '$2b$10$K/T2TVLooS7ai.hBfHnd4u0GHhR2JvbBm3QQvQhmZvzx3bkswPj2K';

export interface Registry {
  /** 127.0.0.1:PORT, the host part of image references. */
  host: string;
  /** A Docker config (what `docker login` writes) holding the user's credentials for this registry. */
  dockerConfigJson: string;
  logs(): string;
  stop(): Promise<void>;
}

export async function startRegistry(): Promise<Registry> {
  const dir = await mkdtemp(join(tmpdir(), 'mesh-registry-'));
  const port = await freePort();
  const config = join(dir, 'config.yml');
  const htpasswd = join(dir, 'htpasswd');
  await writeFile(htpasswd, `${REGISTRY_USER.username}:${REGISTRY_USER_BCRYPT}\n`);
  await writeFile(
    config,
    [
      'version: 0.1',
      'log: {level: warn, accesslog: {disabled: true}}',
      `storage: {filesystem: {rootdirectory: ${JSON.stringify(join(dir, 'data'))}}, delete: {enabled: true}}`,
      `http: {addr: "127.0.0.1:${port}"}`,
      // Istio's agent refuses any 401 whose realm is not an http(s) URL on a public host (its SSRF
      // guard reads Basic challenges too): a label like distribution's "Registry Realm" fails the pull.
      `auth: {htpasswd: {realm: "https://registry.mesh-test.example/", path: ${JSON.stringify(htpasswd)}}}`,
      '',
    ].join('\n'),
  );
  const proc = new ManagedProcess('registry', meshBin('registry'), ['serve', config], join(dir, 'registry.log'), dir, {
    ...process.env,
    OTEL_TRACES_EXPORTER: 'none',
  });
  try {
    // Up, and refusing anonymous requests.
    await waitFor('registry /v2/', Date.now() + 60_000, [proc], async () => (await httpGet(`http://127.0.0.1:${port}/v2/`)).status === 401);
  } catch (e) {
    await proc.stop(2_000);
    await rm(dir, { recursive: true, force: true });
    throw new Error(`${(e as Error).message}\n${proc.tail()}`);
  }
  const auth = Buffer.from(`${REGISTRY_USER.username}:${REGISTRY_USER.password}`).toString('base64');
  return {
    host: `127.0.0.1:${port}`,
    dockerConfigJson: JSON.stringify({ auths: { [`127.0.0.1:${port}`]: { auth } } }),
    logs: () => proc.logs(),
    stop: async () => {
      await proc.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
