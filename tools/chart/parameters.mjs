// What the chart's values change in manifests/, and nothing else: every other field of a template
// is written as kustomize builds it. Each rule also reads the default it replaces, for values.yaml.
import { Pair, Scalar, isMap, isScalar, isSeq, visit } from 'yaml';
import { Placeholders } from './templating.mjs';
import { splitImage } from './kustomize.mjs';

/** @typedef {import('./kustomize.mjs').Resource} Resource */
/** @typedef {import('yaml').Document.Parsed} YamlDocument */
/** @typedef {{ requests?: Record<string, string>, limits?: Record<string, string> }} Resources */
/**
 * @typedef {object} Defaults  what manifests/ sets, as values.yaml's defaults
 * @property {{ repository: string, tag: string, digest: string, pullPolicy: string }} image
 * @property {{ leaderElection: { enabled: boolean }, resources: Resources }} operator
 * @property {{ resources: Resources }} keyService
 */

/** The Deployments, by name, and the values key of their resources. */
const DEPLOYMENTS = new Map([
  ['llmguard-operator', 'operator'],
  ['llmguard-keys', 'keyService'],
]);
const OPERATOR = 'llmguard-operator';
/** The Service the operator names to filters (`--key-service`). */
const KEY_SERVICE = 'llmguard-keys';
/**
 * ClusterRoleBindings whose roles only need the watched namespace: with one watched namespace
 * they become RoleBindings there, so neither the operator nor the key service reads Secrets
 * elsewhere. A new ClusterRoleBinding must be added here, or to a list of its own.
 */
const WATCHED_NAMESPACE_BINDINGS = new Set(['llmguard-operator', 'llmguard-keys']);
/** Objects that exist only for leader election. */
const LEADER_ELECTION_ONLY = new Set(['Role/llmguard-operator-leader-election', 'RoleBinding/llmguard-operator-leader-election']);

const LEADER_ELECTION = '.Values.operator.leaderElection.enabled';
const WATCH_NAMESPACE = '.Values.operator.watchNamespace';

/**
 * The templates of `resources` (the CRDs and the Namespace taken out), by file, and the defaults
 * they were made from.
 * @param {Resource[]} resources
 * @param {string} namespace the manifests' namespace, which becomes the release's
 * @returns {{ templates: Map<string, string>, defaults: Defaults }}
 */
export function templatize(resources, namespace) {
  /** @type {Partial<Record<string, { image: string, pullPolicy: string, resources: Resources }>>} */
  const containers = {};
  let leaderElect = false;
  const keyService = resources.find((r) => kindName(r.doc) === `Service/${KEY_SERVICE}`);
  const keyPort = keyService?.doc.getIn(['spec', 'ports', 0, 'port']);
  if (typeof keyPort !== 'number') throw new Error(`no Service ${KEY_SERVICE} with a port in manifests/`);

  /** @type {Map<string, string[]>} */
  const docs = new Map();
  for (const { file, doc } of resources) {
    const ph = new Placeholders();
    const kind = String(doc.get('kind'));
    const name = String(doc.getIn(['metadata', 'name']));
    releaseNamespace(doc, namespace, ph);
    appVersion(doc, ph);
    if (kind === 'Deployment') {
      const key = DEPLOYMENTS.get(name);
      if (!key) throw new Error(`${file}: Deployment ${name} has no values key in tools/chart/parameters.mjs`);
      containers[key] = container(doc, key, ph);
      if (name === OPERATOR) leaderElect = operatorArgs(doc, ph, namespace, `${KEY_SERVICE}.{{ .Release.Namespace }}.svc.cluster.local:${keyPort}`);
    }
    if (kind === 'ClusterRoleBinding') {
      if (!WATCHED_NAMESPACE_BINDINGS.has(name)) throw new Error(`${file}: decide in tools/chart/parameters.mjs whether ClusterRoleBinding ${name} follows the watched namespace`);
      boundInWatchedNamespace(doc, ph);
    }
    let text = ph.write(doc.toString({ lineWidth: 0, flowCollectionPadding: false }).replace(/^---\n/, ''));
    if (LEADER_ELECTION_ONLY.has(`${kind}/${name}`)) text = `{{- if ${LEADER_ELECTION} }}\n${text}{{- end }}\n`;
    docs.set(file, [...(docs.get(file) ?? []), text]);
  }

  const { operator, keyService: keys } = containers;
  if (!operator || !keys) throw new Error(`manifests/ lacks a Deployment: ${[...DEPLOYMENTS.keys()].join(', ')}`);
  // One image value for both: the key service is the same CLI (`llmguard keys`).
  if (operator.image !== keys.image || operator.pullPolicy !== keys.pullPolicy) {
    throw new Error(`the two Deployments run different images (${operator.image}, ${keys.image}): the chart has one image value`);
  }
  const { name: repository, tag, digest } = splitImage(operator.image);
  return {
    templates: new Map([...docs].map(([file, texts]) => [file, texts.join('---\n')])),
    defaults: {
      image: { repository, tag, digest, pullPolicy: operator.pullPolicy },
      operator: { leaderElection: { enabled: leaderElect }, resources: operator.resources },
      keyService: { resources: keys.resources },
    },
  };
}

/**
 * A new scalar node for a placeholder: written unquoted, whatever style the node it replaces had.
 * @param {string} token
 */
function plain(token) {
  const node = new Scalar(token);
  node.type = Scalar.PLAIN;
  return node;
}

/** @param {YamlDocument} doc */
function kindName(doc) {
  return `${doc.get('kind')}/${doc.getIn(['metadata', 'name'])}`;
}

/**
 * Every mention of the manifests' namespace (as a whole DNS label, e.g. in a Service's host
 * name) becomes the release's.
 * @param {YamlDocument} doc
 * @param {string} namespace
 * @param {Placeholders} ph
 */
function releaseNamespace(doc, namespace, ph) {
  /** @type {string | undefined} */
  let token;
  const label = new RegExp(`(?<![a-z0-9-])${namespace.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(?![a-z0-9-])`, 'g');
  visit(doc, {
    Scalar(_key, node) {
      if (typeof node.value === 'string' && label.test(node.value)) {
        token ??= ph.inline('{{ .Release.Namespace }}');
        node.value = node.value.replace(label, token);
      }
    },
  });
}

/**
 * @param {YamlDocument} doc
 * @param {Placeholders} ph
 */
function appVersion(doc, ph) {
  const labels = doc.getIn(['metadata', 'labels']);
  if (isMap(labels) && labels.has('app.kubernetes.io/version')) {
    labels.set('app.kubernetes.io/version', plain(ph.inline('{{ .Chart.AppVersion | quote }}')));
  }
}

/**
 * The container's image, pull policy and resources, from values; returns what manifests/ set.
 * @param {YamlDocument} doc
 * @param {string} key
 * @param {Placeholders} ph
 */
function container(doc, key, ph) {
  const list = doc.getIn(['spec', 'template', 'spec', 'containers']);
  const c = isSeq(list) && list.items.length === 1 ? list.items[0] : undefined;
  if (!isMap(c)) throw new Error(`${kindName(doc)} must have exactly one container`);
  const resources = c.get('resources', true);
  const found = {
    image: String(c.get('image')),
    pullPolicy: String(c.get('imagePullPolicy')),
    resources: /** @type {Resources} */ (isMap(resources) ? resources.toJSON() : {}),
  };
  c.set('image', plain(ph.inline('{{ include "llm-egress-guard.image" . | quote }}')));
  // What manifests/ says about where its image comes from is not how the chart sets it.
  const imageKey = c.items.find((p) => isScalar(p.key) && p.key.value === 'image')?.key;
  if (isScalar(imageKey)) imageKey.commentBefore = undefined;
  c.set('imagePullPolicy', plain(ph.inline('{{ .Values.image.pullPolicy }}')));
  c.set('resources', plain(ph.toYaml(`.Values.${key}.resources`)));
  return found;
}

/**
 * The operator's flags from values: --leader-elect, --namespace, and --key-service when the
 * release namespace isn't the manifests' (the operator's default names the Service there).
 * Returns whether manifests/ elects a leader.
 * @param {YamlDocument} doc
 * @param {Placeholders} ph
 * @param {string} namespace
 * @param {string} keyService the `--key-service` template text
 */
function operatorArgs(doc, ph, namespace, keyService) {
  const args = doc.getIn(['spec', 'template', 'spec', 'containers', 0, 'args']);
  if (!isSeq(args)) throw new Error(`Deployment ${OPERATOR} has no args`);
  const flags = args.items.map((a) => (isScalar(a) ? a.value : undefined));
  for (const owned of ['--namespace', '--key-service']) {
    if (flags.includes(owned)) throw new Error(`Deployment ${OPERATOR}: ${owned} is the chart's to set`);
  }
  const at = flags.indexOf('--leader-elect');
  const leaderElect = plain(ph.when(LEADER_ELECTION, '--leader-elect'));
  if (at >= 0) args.items[at] = leaderElect;
  else args.items.push(leaderElect);
  args.items.push(plain(ph.lines(`with ${WATCH_NAMESPACE}`, '--namespace', '{{ . | quote }}')));
  args.items.push(plain(ph.lines(`if ne .Release.Namespace ${JSON.stringify(namespace)}`, '--key-service', keyService)));
  return at >= 0;
}

/**
 * A RoleBinding in the watched namespace when there is one, else the ClusterRoleBinding.
 * @param {YamlDocument} doc
 * @param {Placeholders} ph
 */
function boundInWatchedNamespace(doc, ph) {
  doc.set('kind', plain(ph.inline(`{{ if ${WATCH_NAMESPACE} }}RoleBinding{{ else }}ClusterRoleBinding{{ end }}`)));
  const metadata = doc.get('metadata');
  if (!isMap(metadata)) throw new Error(`${kindName(doc)} has no metadata`);
  metadata.items.splice(1, 0, new Pair(new Scalar('namespace'), plain(ph.lines(`with ${WATCH_NAMESPACE}`, '{{ . }}'))));
}
