// An image reference as docker and Istio write it: [oci://]registry[:port]/repository[:tag][@digest].

export interface ImageReference {
  /** host[:port] of the registry (docker.io references go to registry-1.docker.io). */
  registry: string;
  repository: string;
  tag?: string;
  digest?: string;
}

export class ReferenceError extends Error {}

const DOCKER_HUB = 'registry-1.docker.io';

export function parseReference(text: string): ImageReference {
  let rest = text.startsWith('oci://') ? text.slice('oci://'.length) : text;
  if (!rest || /\s/.test(rest) || rest.includes('://')) throw new ReferenceError(`not an image reference: ${text}`);
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!/^sha256:[a-f0-9]{64}$/.test(digest)) throw new ReferenceError(`bad digest in ${text}`);
  }
  let tag: string | undefined;
  const lastSlash = rest.lastIndexOf('/');
  const colon = rest.lastIndexOf(':');
  if (colon > lastSlash) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!/^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/.test(tag)) throw new ReferenceError(`bad tag in ${text}`);
  }
  const parts = rest.split('/');
  const first = parts[0]!;
  const hasRegistry = parts.length > 1 && (first.includes('.') || first.includes(':') || first === 'localhost');
  let registry = hasRegistry ? first : 'docker.io';
  let repository = (hasRegistry ? parts.slice(1) : parts).join('/');
  if (registry === 'docker.io' || registry === 'index.docker.io') {
    registry = DOCKER_HUB;
    if (!repository.includes('/')) repository = `library/${repository}`;
  }
  if (!/^[a-z0-9]+([._-][a-z0-9]+)*(\/[a-z0-9]+([._-][a-z0-9]+)*)*$/.test(repository)) {
    throw new ReferenceError(`bad repository name in ${text}: lower-case letters, digits and . _ - / only`);
  }
  if (!tag && !digest) tag = 'latest';
  return { registry, repository, ...(tag ? { tag } : {}), ...(digest ? { digest } : {}) };
}

/** Registries on this machine are spoken to over plain HTTP, as docker and Istio's agent do. */
export function isLoopbackRegistry(registry: string): boolean {
  const host = registry.startsWith('[') ? registry.slice(1, registry.indexOf(']')) : registry.split(':')[0]!;
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

export function formatReference(r: ImageReference): string {
  return `${r.registry}/${r.repository}${r.tag ? `:${r.tag}` : ''}${r.digest ? `@${r.digest}` : ''}`;
}
