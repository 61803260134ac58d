// A kustomization that deploys the shipped manifests with the operator image pinned by digest:
// what `kustomize edit set image` would do, written beside the built images so committed files
// never change. The Deployments name the image `llmguard-operator`; manifests/kustomization.yaml
// maps that name to the default release location, so this overlay, applied after it, matches
// that location's name and replaces it.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';

/** The image name the Deployments use, which manifests/kustomization.yaml maps to a registry. */
export const OPERATOR_IMAGE_NAME = 'llmguard-operator';

export class OverlayError extends Error {}

interface KustomizeImage {
  name?: string;
  newName?: string;
}

/** The name the manifests' kustomization gives the operator image (its newName, else the name). */
export function baseImageName(manifestsDir: string): string {
  const k = parse(readFileSync(join(manifestsDir, 'kustomization.yaml'), 'utf8')) as { images?: KustomizeImage[] } | null;
  const entry = k?.images?.find((i) => i.name === OPERATOR_IMAGE_NAME);
  if (!entry) throw new OverlayError(`${join(manifestsDir, 'kustomization.yaml')} has no images entry named ${OPERATOR_IMAGE_NAME}`);
  return entry.newName ?? entry.name!;
}

/**
 * The overlay's kustomization.yaml. `manifestsPath` is the manifests folder relative to the
 * overlay's folder; `repository` is registry/repository of the pushed operator image.
 */
export function kustomizeOverlay(manifestsPath: string, baseName: string, repository: string, digest: string): string {
  const kustomization = {
    apiVersion: 'kustomize.config.k8s.io/v1beta1',
    kind: 'Kustomization',
    resources: [manifestsPath],
    images: [{ name: baseName, newName: repository, digest }],
  };
  return `# Written by \`make images\`: the shipped manifests, the operator image pinned by digest.\n#   kubectl apply -k <this folder>\n${stringify(kustomization)}`;
}
