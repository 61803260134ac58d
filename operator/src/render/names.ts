// Names of the resources a policy owns: stable, valid Kubernetes names (<= 63 chars, DNS label
// characters) that no other policy's or host's can take.
import { createHash } from 'node:crypto';

const MAX = 63;
const HASH_LENGTH = 8;

export function slug(text: string): string {
  return text.toLowerCase().replace(/[^a-z0-9-]+/g, '-').replace(/^-+|-+$/g, '');
}

function shortHash(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, HASH_LENGTH);
}

function withSuffix(prefix: string, suffix: string): string {
  return `${prefix.slice(0, MAX - suffix.length - 1).replace(/-+$/, '')}-${suffix}`;
}

/** `<policy>-<part>`, shortened with a hash suffix when too long. Unique per policy only while `part` is a fixed word. */
export function childName(policyName: string, part: string): string {
  const full = `${policyName}-${slug(part)}`;
  if (full.length <= MAX) return full;
  return withSuffix(full, shortHash(full));
}

/**
 * `<policy>-<host slug>-<hash of policy and host>`: the slug alone is ambiguous (policy `team` with
 * host `a-api.example.com` and policy `team-a` with `api.example.com`; `api.example.com` and
 * `api-example.com` in one policy), the hash of both exact strings is not.
 */
export function hostObjectName(policyName: string, host: string): string {
  return withSuffix(`${policyName}-${slug(host)}`, shortHash(`${policyName}\0${host.toLowerCase()}`));
}
