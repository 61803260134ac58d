// A container image (linux/amd64) from its layers and run settings: the image config the runtime
// reads (user, entrypoint, environment, labels, the layers' diff_ids) and its manifest. `created`
// and every history entry carry one fixed time, so the same layers give the same digest.
import type { Layer } from './layer.js';
import { ociImage, type OciImage } from './oci_image.js';

export interface RunSettings {
  /** uid:gid. */
  user: string;
  entrypoint: string[];
  cmd?: string[];
  env: string[];
  workingDir: string;
  /** Also set as the manifest's annotations, where registries (GHCR, for one) read them. */
  labels: Record<string, string>;
}

export interface ContainerLayer extends Layer {
  /** What the layer holds, for the image's history (`docker history`, `crane config`). */
  description: string;
}

export interface ContainerImageInput {
  layers: readonly ContainerLayer[];
  run: RunSettings;
  /** Seconds since the epoch: SOURCE_DATE_EPOCH, or 0. */
  created: number;
}

export function buildContainerImage({ layers, run, created }: ContainerImageInput): OciImage {
  const createdAt = new Date(created * 1000).toISOString().replace(/\.000Z$/, 'Z');
  const configJson = {
    created: createdAt,
    architecture: 'amd64',
    os: 'linux',
    config: {
      User: run.user,
      Env: run.env,
      Entrypoint: run.entrypoint,
      ...(run.cmd ? { Cmd: run.cmd } : {}),
      WorkingDir: run.workingDir,
      Labels: run.labels,
    },
    rootfs: { type: 'layers', diff_ids: layers.map((l) => l.diffId) },
    history: layers.map((l) => ({ created: createdAt, created_by: l.description })),
  };
  return ociImage(
    configJson,
    layers.map((l) => l.blob),
    run.labels,
  );
}
