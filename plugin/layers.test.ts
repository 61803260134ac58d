// plugin/ is layered one way: abi <- (util, json, normalize) <- regex <- inspect <- (guard, keys) <- config
// <- redact <- response <- filter (reply/, the shape of the filter's own answers, below response and filter),
// with plugin/index.ts on top, and no file takes part in an import cycle. Reads the sources, runs no Wasm.
// keys/ (the key service client) sits beside guard/: both are reached by config/ (their settings) and
// filter/ (their clients), and neither knows the other (the stream hands the guard its key).

import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const REPO = fileURLToPath(new URL('..', import.meta.url));
const PLUGIN = join(REPO, 'plugin');
/** Not part of the module: a Node script that generates regex tables, and the test probes' entries. */
const IGNORED = ['regex/tools', 'testing'];
/** The layer of plugin/index.ts: a file at the top of plugin/ is a layer of its own. */
const TOP = 'plugin/index.ts';

/** Which other plugin folders each folder may import. A folder missing here may import nothing. */
const ALLOWED: Record<string, readonly string[]> = {
  abi: [],
  util: [],
  json: [],
  normalize: [],
  regex: ['normalize', 'util'],
  inspect: ['json', 'util'],
  sse: ['util'],
  guard: ['abi', 'json', 'inspect', 'util'],
  keys: ['abi', 'json'],
  config: ['util', 'json', 'regex', 'inspect', 'guard', 'keys'],
  redact: ['json', 'regex', 'inspect'],
  reply: ['json'],
  response: ['json', 'regex', 'inspect', 'sse', 'redact', 'config', 'reply'],
  filter: ['abi', 'util', 'json', 'normalize', 'regex', 'inspect', 'sse', 'guard', 'keys', 'config', 'redact', 'reply', 'response'],
  [TOP]: ['abi', 'filter'],
};

interface Import {
  /** As written: `../config/policy`. */
  specifier: string;
  /** Path under plugin/ of the file it names, or null when it names none. */
  target: string | null;
}

/** Files by path under plugin/ ("guard/verdict.ts"), each with its relative imports. */
type ImportGraph = Map<string, Import[]>;

function pluginFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    const rel = relative(PLUGIN, path).split(sep).join('/');
    if (IGNORED.includes(rel)) continue;
    if (statSync(path).isDirectory()) out.push(...pluginFiles(path));
    else if (name.endsWith('.ts') && !name.endsWith('.test.ts')) out.push(rel);
  }
  return out;
}

/** `./x` -> x.ts or x/index.ts next to the importing file, the way asc resolves it. */
function resolveImport(from: string, specifier: string): string | null {
  const base = resolve(PLUGIN, dirname(from), specifier);
  for (const candidate of [base + '.ts', join(base, 'index.ts'), base]) {
    if (candidate.endsWith('.ts') && existsSync(candidate) && statSync(candidate).isFile()) {
      return relative(PLUGIN, candidate).split(sep).join('/');
    }
  }
  return null;
}

/** Relative imports of one file: `import ... from`, `export ... from` and `import "..."`. */
function relativeImports(file: string): Import[] {
  const source = readFileSync(join(PLUGIN, file), 'utf8');
  return ts
    .preProcessFile(source, true, false)
    .importedFiles.map((f) => f.fileName)
    .filter((specifier) => specifier.startsWith('.'))
    .map((specifier) => ({ specifier, target: resolveImport(file, specifier) }));
}

function readGraph(): ImportGraph {
  const graph: ImportGraph = new Map();
  for (const file of pluginFiles(PLUGIN)) graph.set(file, relativeImports(file));
  return graph;
}

/** "guard" for guard/verdict.ts; plugin/index.ts (and any other top-level file) is its own layer. */
function layerOf(file: string): string {
  const slash = file.indexOf('/');
  return slash < 0 ? 'plugin/' + file : file.substring(0, slash);
}

/** One line per import that goes the wrong way or names no file. */
function layerViolations(graph: ImportGraph, allowed: Record<string, readonly string[]>): string[] {
  const out: string[] = [];
  for (const [file, imports] of graph) {
    const from = layerOf(file);
    const may = allowed[from] ?? [];
    for (const { specifier, target } of imports) {
      if (target === null) {
        out.push(`plugin/${file}: import "${specifier}" names no file under plugin/`);
        continue;
      }
      const to = layerOf(target);
      if (to === from || may.includes(to)) continue;
      const rule = may.length > 0 ? `${from} may import only ${may.join(', ')}` : `${from} may import no other plugin folder`;
      out.push(`plugin/${file}: import "${specifier}" (plugin/${target}) reaches ${to}; ${rule}`);
    }
  }
  return out;
}

/** Every import cycle a depth-first walk meets, each as "a.ts -> b.ts -> a.ts" (one per back edge). */
function importCycles(graph: ImportGraph): string[] {
  const done = new Set<string>();
  const onPath: string[] = [];
  const cycles: string[] = [];
  const visit = (file: string): void => {
    onPath.push(file);
    for (const { target } of graph.get(file) ?? []) {
      if (target === null || done.has(target)) continue;
      const at = onPath.indexOf(target);
      if (at >= 0) cycles.push([...onPath.slice(at), target].map((f) => 'plugin/' + f).join(' -> '));
      else visit(target);
    }
    onPath.pop();
    done.add(file);
  };
  for (const file of [...graph.keys()].sort()) if (!done.has(file)) visit(file);
  return cycles;
}

function graphOf(edges: Record<string, string[]>): ImportGraph {
  return new Map(Object.entries(edges).map(([file, targets]) => [file, targets.map((t) => ({ specifier: t, target: t }))]));
}

describe('the checks themselves', () => {
  it('name a wrong-direction import with its file, and an unresolved one', () => {
    const graph: ImportGraph = new Map([
      ['guard/client.ts', [{ specifier: '../config/policy', target: 'config/policy.ts' }]],
      ['config/policy.ts', [{ specifier: '../guard/missing', target: null }]],
    ]);
    expect(layerViolations(graph, ALLOWED)).toEqual([
      'plugin/guard/client.ts: import "../config/policy" (plugin/config/policy.ts) reaches config; guard may import only abi, json, inspect, util',
      'plugin/config/policy.ts: import "../guard/missing" names no file under plugin/',
    ]);
  });

  it('report a cycle, and none for a diamond', () => {
    expect(importCycles(graphOf({ 'a.ts': ['b.ts'], 'b.ts': ['c.ts'], 'c.ts': ['a.ts'] }))).toEqual([
      'plugin/a.ts -> plugin/b.ts -> plugin/c.ts -> plugin/a.ts',
    ]);
    expect(importCycles(graphOf({ 'a.ts': ['b.ts', 'c.ts'], 'b.ts': ['d.ts'], 'c.ts': ['d.ts'], 'd.ts': [] }))).toEqual([]);
  });
});

describe('plugin/ import layering', () => {
  const graph = readGraph();

  it('reads every plugin source and its imports', () => {
    expect(graph.has('index.ts')).toBe(true);
    expect(graph.has('filter/stream.ts')).toBe(true);
    expect([...graph.keys()].some((f) => f.startsWith('regex/tools/'))).toBe(false);
    const edges = [...graph.values()].reduce((n, imports) => n + imports.length, 0);
    expect(edges).toBeGreaterThan(50);
  });

  it('each folder imports only the folders below it', () => {
    expect(layerViolations(graph, ALLOWED)).toEqual([]);
  });

  it('no file takes part in an import cycle', () => {
    expect(importCycles(graph)).toEqual([]);
  });
});
