// Pushes an image to an OCI registry over the distribution API (blob uploads, then the manifest),
// with the authentication registries use: none, Basic, or a Bearer token from the realm the
// registry names in WWW-Authenticate (Docker Hub, GHCR, ECR, Artifact Registry, Harbor, Quay...).
import type { Credentials } from './credentials.js';
import { isLoopbackRegistry, type ImageReference } from './reference.js';
import type { Blob } from './oci_blob.js';
import type { OciImage } from './oci_image.js';

export class RegistryError extends Error {}

export interface PushOptions {
  credentials?: Credentials;
  /** Speak plain HTTP (default only for registries on this machine). */
  plainHttp?: boolean;
  fetchImpl?: typeof fetch;
}

export interface PushResult {
  /** The manifest's digest, as the registry reports it (and as we computed it). */
  digest: string;
  /** Blobs the registry already had. */
  skipped: string[];
}

function challengeParams(header: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of header.matchAll(/(\w+)="([^"]*)"/g)) out[m[1]!.toLowerCase()] = m[2]!;
  return out;
}

class RegistryClient {
  private authorization: string | undefined;
  private readonly base: string;
  private readonly fetch: typeof fetch;

  constructor(
    private readonly ref: ImageReference,
    private readonly opts: PushOptions,
  ) {
    const plain = opts.plainHttp ?? isLoopbackRegistry(ref.registry);
    this.base = `${plain ? 'http' : 'https'}://${ref.registry}`;
    this.fetch = opts.fetchImpl ?? fetch;
  }

  url(path: string): string {
    return path.startsWith('http') ? path : `${this.base}${path}`;
  }

  /** One request, authenticating once if the registry asks. */
  async request(method: string, path: string, init: { headers?: Record<string, string>; body?: Uint8Array } = {}): Promise<Response> {
    const send = () =>
      this.fetch(this.url(path), {
        method,
        headers: { ...(init.headers ?? {}), ...(this.authorization ? { authorization: this.authorization } : {}) },
        body: init.body as Uint8Array<ArrayBuffer> | undefined,
        redirect: 'follow',
      });
    let res = await send();
    if (res.status !== 401 || (this.authorization !== undefined && !res.headers.get('www-authenticate'))) return res;
    const challenge = res.headers.get('www-authenticate') ?? '';
    await res.arrayBuffer().catch(() => undefined);
    this.authorization = await this.authenticate(challenge);
    res = await send();
    return res;
  }

  private async authenticate(challenge: string): Promise<string> {
    const creds = this.opts.credentials;
    const basic = creds ? `Basic ${Buffer.from(`${creds.username}:${creds.password}`).toString('base64')}` : undefined;
    if (/^basic/i.test(challenge)) {
      if (!basic) throw new RegistryError(`${this.ref.registry} asks for credentials: run \`docker login ${this.ref.registry}\` first`);
      return basic;
    }
    if (!/^bearer/i.test(challenge)) throw new RegistryError(`${this.ref.registry} answered 401 with an unsupported challenge: ${challenge || '(none)'}`);
    const p = challengeParams(challenge);
    if (!p.realm) throw new RegistryError(`${this.ref.registry}: Bearer challenge without a realm`);
    const u = new URL(p.realm);
    if (p.service) u.searchParams.set('service', p.service);
    u.searchParams.set('scope', p.scope ?? `repository:${this.ref.repository}:pull,push`);
    const res = await this.fetch(u, { headers: basic ? { authorization: basic } : {} });
    if (!res.ok) throw new RegistryError(`${this.ref.registry}: the token service answered ${res.status}${basic ? '' : ' (no credentials found: run `docker login` first)'}`);
    const body = (await res.json()) as { token?: string; access_token?: string };
    const token = body.token ?? body.access_token;
    if (!token) throw new RegistryError(`${this.ref.registry}: the token service gave no token`);
    return `Bearer ${token}`;
  }
}

async function failure(res: Response, what: string): Promise<RegistryError> {
  const text = await res.text().catch(() => '');
  return new RegistryError(`${what}: ${res.status} ${res.statusText}${text ? `: ${text.slice(0, 300)}` : ''}`);
}

async function pushBlob(client: RegistryClient, repo: string, b: Blob): Promise<boolean> {
  const head = await client.request('HEAD', `/v2/${repo}/blobs/${b.digest}`);
  if (head.ok) return false;
  const start = await client.request('POST', `/v2/${repo}/blobs/uploads/`);
  if (start.status !== 202) throw await failure(start, `starting the upload of ${b.digest}`);
  await start.arrayBuffer().catch(() => undefined);
  const location = start.headers.get('location');
  if (!location) throw new RegistryError(`the registry gave no upload location for ${b.digest}`);
  const target = new URL(client.url(location));
  target.searchParams.set('digest', b.digest);
  const put = await client.request('PUT', target.toString(), {
    headers: { 'content-type': 'application/octet-stream' },
    body: b.bytes,
  });
  if (put.status !== 201) throw await failure(put, `uploading ${b.digest}`);
  await put.arrayBuffer().catch(() => undefined);
  return true;
}

/** Pushes the image's blobs (layers, then config) and its manifest under the reference's tag (or its digest). */
export async function pushImage(image: OciImage, ref: ImageReference, opts: PushOptions = {}): Promise<PushResult> {
  if (ref.digest && ref.digest !== image.manifest.digest) {
    throw new RegistryError(`the reference names ${ref.digest}, but this image is ${image.manifest.digest}`);
  }
  const client = new RegistryClient(ref, opts);
  const skipped: string[] = [];
  for (const b of [...image.layers, image.config]) if (!(await pushBlob(client, ref.repository, b))) skipped.push(b.digest);
  const res = await client.request('PUT', `/v2/${ref.repository}/manifests/${ref.tag ?? image.manifest.digest}`, {
    headers: { 'content-type': image.manifest.mediaType },
    body: image.manifest.bytes,
  });
  if (res.status !== 201) throw await failure(res, 'pushing the manifest');
  await res.arrayBuffer().catch(() => undefined);
  const reported = res.headers.get('docker-content-digest');
  if (reported && reported !== image.manifest.digest) {
    throw new RegistryError(`the registry stored the manifest as ${reported}, not ${image.manifest.digest}`);
  }
  return { digest: image.manifest.digest, skipped };
}
