// Reads a kustomization as `kubectl kustomize` builds it, for the features manifests/ uses:
// `resources` (files and folders, in order) and `images`. Any other field is refused, so the chart
// can't silently miss a kustomize feature (test/kube/chart_render.test.ts compares the chart with
// what kubectl kustomize prints).
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parse, parseAllDocuments, isMap, isScalar, isSeq } from 'yaml';

/** @typedef {import('yaml').Document.Parsed} YamlDocument */
/** @typedef {{ file: string, doc: YamlDocument }} Resource  file: relative to the top kustomization */
/** @typedef {{ name: string, newName?: string, newTag?: string, digest?: string }} ImageRule */

const KNOWN_FIELDS = new Set(['apiVersion', 'kind', 'resources', 'images']);

/**
 * The resources of the kustomization in `dir`, with every `images` rule applied, in the order
 * kustomize reads them.
 * @param {string} dir
 * @param {string} [prefix] the path of `dir` relative to the top kustomization
 * @returns {Resource[]}
 */
export function readKustomization(dir, prefix = '') {
  const file = join(dir, 'kustomization.yaml');
  const k = /** @type {Record<string, unknown>} */ (parse(readFileSync(file, 'utf8')));
  const unknown = Object.keys(k).filter((key) => !KNOWN_FIELDS.has(key));
  if (unknown.length) {
    throw new Error(`${file}: tools/chart/kustomize.mjs does not know ${unknown.join(', ')}; teach it before using it`);
  }
  /** @type {Resource[]} */
  const out = [];
  for (const entry of /** @type {string[]} */ (k.resources ?? [])) {
    const path = join(dir, entry);
    const rel = join(prefix, entry);
    if (statSync(path).isDirectory()) {
      out.push(...readKustomization(path, rel));
      continue;
    }
    for (const doc of parseAllDocuments(readFileSync(path, 'utf8'))) {
      if (doc.errors.length) throw new Error(`${path}: ${doc.errors[0]?.message}`);
      if (doc.contents !== null) out.push({ file: rel, doc });
    }
  }
  for (const rule of /** @type {ImageRule[]} */ (k.images ?? [])) {
    for (const r of out) applyImageRule(r.doc, rule);
  }
  return out;
}

/**
 * Kustomize's image transformer (api/filters/imagetag): a new tag drops the old digest, a digest
 * alone drops the old tag, both set both.
 * @param {YamlDocument} doc
 * @param {ImageRule} rule
 */
function applyImageRule(doc, rule) {
  for (const kind of ['containers', 'initContainers']) {
    const list = doc.getIn(['spec', 'template', 'spec', kind]);
    if (!isSeq(list)) continue;
    for (const c of list.items) {
      const image = isMap(c) ? c.get('image', true) : undefined;
      if (!isScalar(image) || typeof image.value !== 'string' || !imageMatches(image.value, rule.name)) continue;
      let { name, tag, digest } = splitImage(image.value);
      if (rule.newName) name = rule.newName;
      if (rule.newTag || rule.digest) {
        tag = rule.newTag ?? '';
        digest = rule.digest ?? '';
      }
      image.value = joinImage({ name, tag, digest });
    }
  }
}

/**
 * @param {string} image
 * @param {string} name
 */
function imageMatches(image, name) {
  const { name: own } = splitImage(image);
  return own === name;
}

/**
 * `registry/repo:tag@digest` in its parts (a registry's `host:port` is not a tag).
 * @param {string} image
 * @returns {{ name: string, tag: string, digest: string }}
 */
export function splitImage(image) {
  const at = image.indexOf('@');
  const beforeDigest = at < 0 ? image : image.slice(0, at);
  const digest = at < 0 ? '' : image.slice(at + 1);
  const colon = beforeDigest.lastIndexOf(':');
  if (colon > beforeDigest.lastIndexOf('/')) {
    return { name: beforeDigest.slice(0, colon), tag: beforeDigest.slice(colon + 1), digest };
  }
  return { name: beforeDigest, tag: '', digest };
}

/** @param {{ name: string, tag: string, digest: string }} parts */
export function joinImage({ name, tag, digest }) {
  return `${name}${tag ? `:${tag}` : ''}${digest ? `@${digest}` : ''}`;
}
