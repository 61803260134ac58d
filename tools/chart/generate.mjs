// Generates the Helm chart from manifests/, so the two can't drift:
//   node tools/chart/generate.mjs [--out build/chart/llm-egress-guard] [--manifests manifests]
// crds/ gets the CRD as it is; templates/ gets every other object, its file laid out as in
// manifests/, with only the fields parameters.mjs names turned into values; values.yaml gets the
// defaults manifests/ sets. The Namespace is left out: Helm installs into the release's.
// Chart.yaml's version and appVersion are package.json's.
import { copyFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { parseDocument, stringify } from 'yaml';
import { readKustomization } from './kustomize.mjs';
import { templatize } from './parameters.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(HERE, '..', '..');
const NAME = 'llm-egress-guard';

const { values: flags } = parseArgs({
  options: {
    out: { type: 'string', default: join(ROOT, 'build', 'chart', NAME) },
    manifests: { type: 'string', default: join(ROOT, 'manifests') },
  },
});
const out = resolve(/** @type {string} */ (flags.out));
const manifests = resolve(/** @type {string} */ (flags.manifests));
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));

const resources = readKustomization(manifests);
const crds = resources.filter((r) => r.doc.get('kind') === 'CustomResourceDefinition');
const namespaces = resources.filter((r) => r.doc.get('kind') === 'Namespace');
if (namespaces.length !== 1) throw new Error(`manifests/ must hold one Namespace (the release's), not ${namespaces.length}`);
const namespace = String(namespaces[0]?.doc.getIn(['metadata', 'name']));
const { templates, defaults } = templatize(
  resources.filter((r) => !crds.includes(r) && !namespaces.includes(r)),
  namespace,
);

// From scratch: nothing of a file removed from manifests/ may linger.
rmSync(out, { recursive: true, force: true });
mkdirSync(join(out, 'crds'), { recursive: true });
for (const { file } of crds) copyFileSync(join(manifests, file), join(out, 'crds', basename(file)));
for (const [file, text] of templates) {
  mkdirSync(dirname(join(out, 'templates', file)), { recursive: true });
  writeFileSync(join(out, 'templates', file), text);
}
copyFileSync(join(HERE, 'files', '_helpers.tpl'), join(out, 'templates', '_helpers.tpl'));
copyFileSync(join(HERE, 'files', 'NOTES.txt'), join(out, 'templates', 'NOTES.txt'));
copyFileSync(join(HERE, 'files', 'values.schema.json'), join(out, 'values.schema.json'));
writeFileSync(join(out, 'values.yaml'), valuesYaml());
writeFileSync(
  join(out, 'Chart.yaml'),
  stringify({
    apiVersion: 'v2',
    name: NAME,
    description: 'LLM egress guard for Istio: the LlmGuardPolicy operator and its key service',
    type: 'application',
    version: pkg.version,
    appVersion: pkg.version,
    keywords: ['istio', 'envoy', 'wasm', 'llm', 'egress'],
  }),
);
console.log(`${NAME} ${pkg.version} -> ${out}`);

/** files/values.yaml (the layout and its comments) with each `~` set to manifests/' default. */
function valuesYaml() {
  const doc = parseDocument(readFileSync(join(HERE, 'files', 'values.yaml'), 'utf8'));
  for (const [path, value] of leaves(defaults)) {
    if (doc.getIn(path) !== null) throw new Error(`files/values.yaml has no \`~\` at ${path.join('.')} for manifests/' default`);
    doc.setIn(path, value);
  }
  const text = doc.toString({ lineWidth: 0 });
  if (/: ~$/m.test(text)) throw new Error('files/values.yaml has a `~` manifests/ sets no default for');
  return text;
}

/**
 * The values' paths, down to the resources blocks (set whole).
 * @param {object} o
 * @param {string[]} at
 * @returns {Array<[string[], unknown]>}
 */
function leaves(o, at = []) {
  return Object.entries(o).flatMap(([k, v]) =>
    v !== null && typeof v === 'object' && k !== 'resources' ? leaves(v, [...at, k]) : [/** @type {[string[], unknown]} */ ([[...at, k], v])],
  );
}
