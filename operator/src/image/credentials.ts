// Registry credentials as `docker login` leaves them: $DOCKER_CONFIG/config.json (default
// ~/.docker/config.json), from `auths` (base64 user:password, or an identity token) or from a
// credential helper (`credHelpers` for the registry, else `credsStore`: docker-credential-<name> get).
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

export interface Credentials {
  username: string;
  password: string;
}

interface DockerConfig {
  auths?: Record<string, { auth?: string; username?: string; password?: string; identitytoken?: string }>;
  credHelpers?: Record<string, string>;
  credsStore?: string;
}

export function dockerConfigPath(env: NodeJS.ProcessEnv = process.env): string {
  return join(env.DOCKER_CONFIG ?? join(homedir(), '.docker'), 'config.json');
}

function readConfig(path: string): DockerConfig | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
  try {
    return JSON.parse(text) as DockerConfig;
  } catch (e) {
    throw new Error(`${path} is not valid JSON: ${(e as Error).message}`);
  }
}

/** The keys docker uses for a registry in `auths` (Docker Hub is filed under its index URL). */
function configKeys(registry: string): string[] {
  if (registry === 'registry-1.docker.io') return ['https://index.docker.io/v1/', 'index.docker.io', 'docker.io', registry];
  return [registry, `https://${registry}`, `http://${registry}`];
}

/** Credentials for `registry`, or undefined to go anonymous. */
export function credentialsFor(registry: string, configPath = dockerConfigPath()): Credentials | undefined {
  const config = readConfig(configPath);
  if (!config) return undefined;
  const keys = configKeys(registry);
  const helper = keys.map((k) => config.credHelpers?.[k]).find(Boolean) ?? config.credsStore;
  for (const k of keys) {
    const a = config.auths?.[k];
    if (!a) continue;
    if (a.identitytoken) return { username: '<token>', password: a.identitytoken };
    if (a.username && a.password) return { username: a.username, password: a.password };
    if (a.auth) {
      const plain = Buffer.from(a.auth, 'base64').toString('utf8');
      const colon = plain.indexOf(':');
      if (colon > 0) return { username: plain.slice(0, colon), password: plain.slice(colon + 1) };
    }
  }
  if (!helper) return undefined;
  return fromHelper(helper, keys[0]!);
}

function fromHelper(helper: string, serverUrl: string): Credentials | undefined {
  let out: string;
  try {
    out = execFileSync(`docker-credential-${helper}`, ['get'], { input: serverUrl, encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'], timeout: 30_000 });
  } catch {
    return undefined; // no credentials stored for this registry
  }
  const r = JSON.parse(out) as { Username?: string; Secret?: string };
  if (!r.Secret) return undefined;
  return { username: r.Username ?? '<token>', password: r.Secret };
}
