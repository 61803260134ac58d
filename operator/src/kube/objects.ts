// Typed verbs on top of KubeClient: get, list, create, replace, server-side apply, status patch,
// delete with preconditions.
import type { KubeClient } from './client.js';
import { isNotFound } from './errors.js';
import { collectionPath, objectPath, resourceTypeOf, type ResourceType } from './resources.js';

export interface ObjectMeta {
  name?: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  ownerReferences?: OwnerReference[];
  deletionTimestamp?: string;
  creationTimestamp?: string;
  [k: string]: unknown;
}

export interface OwnerReference {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  controller?: boolean;
  blockOwnerDeletion?: boolean;
}

export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata?: ObjectMeta;
  [k: string]: unknown;
}

export interface KubeList<T> {
  apiVersion?: string;
  kind?: string;
  metadata?: { resourceVersion?: string; continue?: string };
  items: T[];
}

export interface ListOptions {
  labelSelector?: string;
  fieldSelector?: string;
  limit?: number;
  signal?: AbortSignal;
  /** Only each item's metadata (PartialObjectMetadataList): a Secret's data never leaves the apiserver. */
  metadataOnly?: boolean;
}

/** What to Accept for metadata only: the apiserver answers lists and watch events without data. */
export const METADATA_ONLY_LIST = 'application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1';
export const METADATA_ONLY_OBJECT = 'application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1';

export const APPLY_PATCH = 'application/apply-patch+yaml';
export const MERGE_PATCH = 'application/merge-patch+json';

export class ObjectApi {
  constructor(readonly client: KubeClient) {}

  async get<T extends KubeObject>(rt: ResourceType, namespace: string | undefined, name: string): Promise<T | undefined> {
    try {
      return await this.client.request<T>('GET', objectPath(rt, namespace, name));
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  /** Every item, following `continue` tokens. */
  async list<T extends KubeObject>(rt: ResourceType, namespace: string | undefined, opts: ListOptions = {}): Promise<KubeList<T>> {
    const items: T[] = [];
    let cont: string | undefined;
    let last: KubeList<T> | undefined;
    do {
      last = await this.client.request<KubeList<T>>('GET', collectionPath(rt, namespace), {
        query: { labelSelector: opts.labelSelector, fieldSelector: opts.fieldSelector, limit: opts.limit ?? 500, continue: cont },
        signal: opts.signal,
        ...(opts.metadataOnly ? { accept: METADATA_ONLY_LIST } : {}),
      });
      items.push(...(last.items ?? []));
      cont = last.metadata?.continue || undefined;
    } while (cont);
    return { ...last, items };
  }

  async create<T extends KubeObject>(rt: ResourceType, namespace: string | undefined, obj: T): Promise<T> {
    return this.client.request<T>('POST', collectionPath(rt, namespace), { body: obj });
  }

  /** PUT: an optimistic-concurrency update when `obj.metadata.resourceVersion` is set. */
  async replace<T extends KubeObject>(rt: ResourceType, namespace: string | undefined, name: string, obj: T): Promise<T> {
    return this.client.request<T>('PUT', objectPath(rt, namespace, name), { body: obj });
  }

  /** Server-side apply of a whole object (JSON is YAML), under `fieldManager`. */
  async apply<T extends KubeObject>(obj: KubeObject, fieldManager: string, force = true): Promise<T> {
    if (!obj.apiVersion || !obj.kind || !obj.metadata?.name) throw new Error('apply needs apiVersion, kind and metadata.name');
    const rt = resourceTypeOf(obj.apiVersion, obj.kind);
    return this.client.request<T>('PATCH', objectPath(rt, obj.metadata.namespace, obj.metadata.name), {
      body: obj,
      contentType: APPLY_PATCH,
      query: { fieldManager, force },
    });
  }

  /** JSON merge patch of the status subresource. */
  async patchStatus<T extends KubeObject>(rt: ResourceType, namespace: string | undefined, name: string, status: unknown, fieldManager?: string): Promise<T> {
    return this.client.request<T>('PATCH', objectPath(rt, namespace, name, 'status'), {
      body: { status },
      contentType: MERGE_PATCH,
      query: { fieldManager },
    });
  }

  /** Delete; with `preconditions` the apiserver refuses if the object was replaced or changed. */
  async delete(rt: ResourceType, namespace: string | undefined, name: string, preconditions?: { uid?: string; resourceVersion?: string }): Promise<boolean> {
    try {
      await this.client.request('DELETE', objectPath(rt, namespace, name), {
        body: { apiVersion: 'v1', kind: 'DeleteOptions', propagationPolicy: 'Background', ...(preconditions ? { preconditions } : {}) },
      });
      return true;
    } catch (err) {
      if (isNotFound(err)) return false;
      throw err;
    }
  }
}
