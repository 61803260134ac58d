// Reading the CLI's inputs: YAML files (or directories of them, or `-` for stdin) holding
// LlmGuardPolicy and Secret documents, in any order and any mix, plus `--secret` flags.
import { parseKeyServiceLocation, type KeyServiceLocation } from '../render/index.js';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments, stringify } from 'yaml';
import { KIND } from '../api/v1alpha1/llm_guard_policy.js';
import { secretRefKey, type SecretValues } from '../render/plugin_config.js';

/** The options every command that reads policies and Secrets takes (parseArgs form). */
export const INPUT_OPTIONS = {
  filename: { type: 'string', short: 'f', multiple: true },
  secrets: { type: 'string', multiple: true },
  secret: { type: 'string', multiple: true },
  namespace: { type: 'string', short: 'n' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** Problems with the invocation itself (exit code 2). */
export class UsageError extends Error {}
/** Problems with what the inputs say (exit code 1). */
export class InputError extends Error {}

/** A `--key-service HOST:PORT` value. */
export function keyServiceOption(text: string): KeyServiceLocation {
  const at = parseKeyServiceLocation(text);
  if (!at) throw new UsageError(`--key-service ${text}: expected HOST:PORT, e.g. llmguard-keys.llmguard-system.svc.cluster.local:15443`);
  return at;
}

/** A `--flag PORT` value (1..65535), or `dflt` when the flag is absent. */
export function portOption(flag: string, text: string | undefined, dflt: number): number {
  if (text === undefined) return dflt;
  const n = Number(text);
  if (!/^\d+$/.test(text) || n < 1 || n > 65535) throw new UsageError(`--${flag} ${text}: expected a port number 1..65535`);
  return n;
}

export interface SourcedDoc {
  /** `file.yaml#2` (1-based document index; `stdin#1` for `-f -`). */
  source: string;
  doc: Record<string, unknown>;
}

export interface Inputs {
  policies: SourcedDoc[];
  secrets: SourcedDoc[];
  /** Documents of other kinds, skipped. */
  others: SourcedDoc[];
}

// Kubernetes reads manifests as YAML 1.1 (`yes` is true, `0777` is octal): so do we, and we
// write strings that 1.1 would misread (`"on"`, `"0777"`) quoted.
const YAML_VERSION = '1.1' as const;

function expandPaths(paths: string[]): string[] {
  const out: string[] = [];
  for (const p of paths) {
    if (p === '-') {
      out.push(p);
      continue;
    }
    let st;
    try {
      st = statSync(p);
    } catch {
      throw new UsageError(`cannot read ${p}: no such file or directory`);
    }
    if (st.isDirectory()) {
      const files = readdirSync(p)
        .filter((f) => /\.ya?ml$/.test(f))
        .sort()
        .map((f) => join(p, f));
      out.push(...files);
    } else {
      out.push(p);
    }
  }
  return out;
}

function readText(path: string, stdin: () => string): string {
  if (path === '-') return stdin();
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    throw new UsageError(`cannot read ${path}: ${(e as Error).message}`);
  }
}

/** Parses every document of every file; `List` documents are flattened into their items. */
export function readDocuments(paths: string[], stdin: () => string): SourcedDoc[] {
  const docs: SourcedDoc[] = [];
  for (const path of expandPaths(paths)) {
    const text = readText(path, stdin);
    const parsed = parseAllDocuments(text, { version: YAML_VERSION, merge: true, prettyErrors: true });
    const list = Array.isArray(parsed) ? parsed : [parsed];
    list.forEach((d, i) => {
      const source = `${path === '-' ? 'stdin' : path}#${i + 1}`;
      if (d.errors.length) throw new InputError(`${source}: not valid YAML: ${d.errors[0]!.message.split('\n')[0]}`);
      const value: unknown = d.toJS();
      if (value === null || value === undefined) return;
      if (typeof value !== 'object' || Array.isArray(value)) throw new InputError(`${source}: expected a Kubernetes object (a YAML mapping)`);
      const obj = value as Record<string, unknown>;
      if (obj.kind === 'List' && Array.isArray(obj.items)) {
        obj.items.forEach((item, j) => {
          if (item && typeof item === 'object' && !Array.isArray(item)) docs.push({ source: `${source}.items[${j}]`, doc: item as Record<string, unknown> });
        });
        return;
      }
      docs.push({ source, doc: obj });
    });
  }
  return docs;
}

export function classify(docs: SourcedDoc[]): Inputs {
  const out: Inputs = { policies: [], secrets: [], others: [] };
  for (const d of docs) {
    if (d.doc.kind === KIND && typeof d.doc.apiVersion === 'string' && d.doc.apiVersion.startsWith('llmguard.io/')) out.policies.push(d);
    else if (d.doc.kind === 'Secret' && d.doc.apiVersion === 'v1') out.secrets.push(d);
    else out.others.push(d);
  }
  return out;
}

export interface ReadInputsOptions {
  files: string[];
  /** `--secrets` files: only their Secret documents count. */
  secretFiles?: string[];
  /** `--secret [namespace/]name/key=value` flags. */
  secretFlags?: string[];
  defaultNamespace: string;
  stdin: () => string;
  /** Called for each document of a `--secrets` file that is not a Secret. */
  onNonSecretInSecretFiles?: (d: SourcedDoc) => void;
}

/** The documents of `-f`, and every Secret value from them, from `--secrets` files and from `--secret` flags. */
export function readInputs(opts: ReadInputsOptions): { inputs: Inputs; store: SecretStore } {
  const inputs = classify(readDocuments(opts.files, opts.stdin));
  const store = new SecretStore();
  for (const s of inputs.secrets) store.addDocument(s, opts.defaultNamespace);
  if (opts.secretFiles?.length) {
    const extra = classify(readDocuments(opts.secretFiles, opts.stdin));
    for (const s of extra.secrets) store.addDocument(s, opts.defaultNamespace);
    if (opts.onNonSecretInSecretFiles) for (const o of [...extra.policies, ...extra.others]) opts.onNonSecretInSecretFiles(o);
  }
  for (const flag of opts.secretFlags ?? []) store.addFlag(flag);
  return { inputs, store };
}

export function describe(d: SourcedDoc): string {
  const meta = (d.doc.metadata ?? {}) as Record<string, unknown>;
  return `${String(d.doc.kind ?? '?')} ${typeof meta.name === 'string' ? meta.name : '(no name)'} (${d.source})`;
}

/**
 * Secret values by namespace. Later sources win: Secret documents, then `--secret name/key=value`
 * flags, then `--secret namespace/name/key=value` flags (flags override files; the more specific
 * flag overrides the general one).
 */
export class SecretStore {
  private readonly documents = new Map<string, Map<string, string>>();
  private readonly flags = new Map<string, Map<string, string>>();
  private readonly anyNamespace = new Map<string, string>();

  addDocument(d: SourcedDoc, defaultNamespace: string): void {
    const meta = (d.doc.metadata ?? {}) as Record<string, unknown>;
    const name = meta.name;
    if (typeof name !== 'string' || !name) throw new InputError(`${d.source}: Secret without metadata.name`);
    const ns = typeof meta.namespace === 'string' && meta.namespace ? meta.namespace : defaultNamespace;
    const values = new Map<string, string>();
    const data = d.doc.data;
    if (data !== undefined && data !== null) {
      if (typeof data !== 'object') throw new InputError(`${d.source}: Secret ${name}: data must be a map`);
      for (const [k, v] of Object.entries(data as Record<string, unknown>)) {
        if (typeof v !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(v.replace(/\s+/g, ''))) {
          throw new InputError(`${d.source}: Secret ${name}: data.${k} is not base64`);
        }
        values.set(k, Buffer.from(v, 'base64').toString('utf8'));
      }
    }
    const stringData = d.doc.stringData;
    if (stringData !== undefined && stringData !== null) {
      if (typeof stringData !== 'object') throw new InputError(`${d.source}: Secret ${name}: stringData must be a map`);
      // As the apiserver does: stringData is merged over data.
      for (const [k, v] of Object.entries(stringData as Record<string, unknown>)) values.set(k, String(v));
    }
    const target = namespaceMap(this.documents, ns);
    for (const [k, v] of values) target.set(secretRefKey(name, k), v);
  }

  /** `[namespace/]name/key=value`. */
  addFlag(flag: string): void {
    const eq = flag.indexOf('=');
    const usage = `--secret ${flag}: expected [namespace/]name/key=value`;
    if (eq <= 0) throw new UsageError(usage);
    const ref = flag.slice(0, eq).split('/');
    const value = flag.slice(eq + 1);
    if ((ref.length !== 2 && ref.length !== 3) || ref.some((p) => !p)) throw new UsageError(usage);
    if (ref.length === 3) namespaceMap(this.flags, ref[0]!).set(secretRefKey(ref[1]!, ref[2]!), value);
    else this.anyNamespace.set(secretRefKey(ref[0]!, ref[1]!), value);
  }

  /** The values a policy in namespace `ns` sees. */
  valuesFor(ns: string): SecretValues {
    return new Map([...(this.documents.get(ns) ?? []), ...this.anyNamespace, ...(this.flags.get(ns) ?? [])]);
  }
}

function namespaceMap(m: Map<string, Map<string, string>>, ns: string): Map<string, string> {
  let inner = m.get(ns);
  if (!inner) {
    inner = new Map();
    m.set(ns, inner);
  }
  return inner;
}

export function policyNamespace(doc: Record<string, unknown>, defaultNamespace: string): string {
  const meta = (doc.metadata ?? {}) as Record<string, unknown>;
  return typeof meta.namespace === 'string' && meta.namespace ? meta.namespace : defaultNamespace;
}

export function policyRef(doc: Record<string, unknown>, defaultNamespace: string): string {
  const meta = (doc.metadata ?? {}) as Record<string, unknown>;
  return `${policyNamespace(doc, defaultNamespace)}/${typeof meta.name === 'string' ? meta.name : '(no name)'}`;
}

/** Multi-document YAML, byte-stable: keys sorted (as istiod's protojson and Go's encoders do). */
export function toYamlDocuments(objects: unknown[]): string {
  return objects.map((o) => stringify(o, { version: YAML_VERSION, sortMapEntries: true, lineWidth: 0 })).join('---\n');
}

export function toYaml(object: unknown): string {
  return stringify(object, { version: YAML_VERSION, lineWidth: 0 });
}
