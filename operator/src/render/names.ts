// Names of the resources a policy owns: stable, valid Kubernetes names (<= 63 chars, DNS label
// characters), distinct per host.
import { createHash } from 'node:crypto';

const MAX = 63;

export function slug(text: string): string {
  return text.toLowerCase().replace(/[^a-z0-9-]+/g, '-').replace(/^-+|-+$/g, '');
}

/** `<policy>-<part>`, shortened with a hash suffix when too long. */
export function childName(policyName: string, part: string): string {
  const full = `${policyName}-${slug(part)}`;
  if (full.length <= MAX) return full;
  const hash = createHash('sha256').update(full).digest('hex').slice(0, 8);
  return `${full.slice(0, MAX - 9).replace(/-+$/, '')}-${hash}`;
}
