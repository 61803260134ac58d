// The pluginConfig contract, held from every side: the field table (fields.ts) against
// docs/filter-config.md, against the real compiled filter (it enforces every bound and value the
// table states and reports refusals with the codes refusal.ts lists), and against the CRD (the
// same bounds and values); the filter accepts whatever the renderer makes of a valid policy at
// the CRD's edges, and refuses what the CRD refuses when such a value reaches it anyway.
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { Schema } from '../openapi.js';
import { policySchema } from '../v1alpha1/llm_guard_policy_schema.js';
import type { LlmGuardPolicy } from '../v1alpha1/llm_guard_policy.js';
import { renderPluginConfig, secretRefKey } from '../../render/plugin_config.js';
import { secretRefs } from '../../render/index.js';
import { validatePolicy } from '../../validate/policy.js';
import { fullPolicy } from '../../validate/testdata/invalid_policies.js';
import { checkPluginConfig, configureFilter } from '../../wasm/configure.js';
import { AUTH_HEADERS, CREDENTIAL_HEADERS } from './auth.js';
import { FIELDS, policyFieldOf, typeText, type DocTable, type FieldSpec } from './fields.js';
import { CONFIG_REFUSAL_CODES } from './refusal.js';
import type { PluginConfig } from './types.js';
import { AUTH_STYLES } from './values.js';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', '..');
const DOCS = readFileSync(resolve(REPO, 'docs/filter-config.md'), 'utf8');

// ---- helpers ----------------------------------------------------------------------------------

type Obj = Record<string, any>;

/** Sets `value` at a table path (`providers[].auth_style` -> providers[0].auth_style). */
function setAt(root: Obj, path: string, value: unknown): void {
  const steps = path.replace(/\[\]/g, '.0').split('.');
  let o = root;
  for (const step of steps.slice(0, -1)) o = o[step] ??= /^\d+$/.test(step) ? {} : {};
  o[steps[steps.length - 1]!] = value;
}

/** The path the filter reports for a field set as setAt sets it. */
const reportedPath = (path: string) => path.replace(/\[\]/g, '[0]');

/** A config with every object the table's paths go through. */
function baseConfig(): Obj {
  return {
    hosts: ['a.example'],
    api_key: 'k-top',
    providers: [{ hosts: ['b.example'], api_keys: ['k-b'] }],
    intelligent_guard: { host: 'guard.example', api_key: 'k-guard', cache: {} },
    key_service: { host: 'llmguard-keys.llmguard-system.svc.cluster.local', path: '/v1/keys/apps/example' },
  };
}

/** A field's value in a form the filter takes (for list fields of values, a one-item list). */
function valueFor(f: FieldSpec, v: unknown): unknown {
  return f.type === 'string[]' ? [v] : v;
}

/** The schema node at a policy path (`spec.providers[].authStyle`). */
function schemaAt(path: string): Schema | undefined {
  let s: Schema | undefined = policySchema;
  for (const step of path.replace(/\[\]/g, '.[]').split('.')) {
    if (!s) return undefined;
    s = step === '[]' ? s.items : s.properties?.[step];
  }
  return s;
}

/** The docs' tables: field name -> [type cell, default cell], per table. */
function docTables(): Map<DocTable, Map<string, [string, string]>> {
  const sections: [DocTable, string][] = [
    ['asm-labs', '## Fields accepted verbatim from asm-labs wasm-llm-proxy'],
    ['extensions', '## Extensions'],
    ['guard', '## The intelligent guard'],
    ['key_service', '## The key service'],
  ];
  const out = new Map<DocTable, Map<string, [string, string]>>();
  for (const [table, heading] of sections) {
    const start = DOCS.indexOf(heading);
    expect(start, heading).toBeGreaterThanOrEqual(0);
    const lines = DOCS.slice(start).split('\n');
    const header = lines.findIndex((l) => /^\| field \| type \| default \| meaning \|/.test(l));
    const rows = new Map<string, [string, string]>();
    for (const line of lines.slice(header + 2)) {
      if (!line.startsWith('|')) break;
      const cells = line.split(/(?<!\\)\|/).slice(1, -1).map(clean);
      rows.set(cells[0]!, [cells[1]!, cells[2]!]);
    }
    out.set(table, rows);
  }
  return out;
}

/** A markdown cell as plain text: no backticks, `\|` unescaped, spaces collapsed. */
function clean(cell: string): string {
  return cell.replace(/`/g, '').replace(/\\\|/g, '|').replace(/\s+/g, ' ').trim();
}

/** The name a table path has in its docs table. */
const docName = (f: FieldSpec) =>
  f.table === 'guard' ? f.path.replace(/^intelligent_guard\./, '') : f.table === 'key_service' ? f.path.replace(/^key_service\./, '') : f.path;

/** fullPolicy() with `value` at a policy path; a value for a list of values (`roles[]`) replaces the list. */
function policyWith(path: string, value: unknown): Obj {
  const p = fullPolicy() as Obj;
  if (path.endsWith('[]')) setAt(p, path.slice(0, -2), [value]);
  else setAt(p, path, value);
  return p;
}

function renderUnchecked(doc: Obj): unknown {
  return renderPluginConfig(doc as unknown as LlmGuardPolicy);
}

// ---- the table and the docs --------------------------------------------------------------------

describe('docs/filter-config.md', () => {
  const tables = docTables();

  for (const table of ['asm-labs', 'extensions', 'guard', 'key_service'] as const) {
    it(`lists exactly the ${table} fields of the table, with their types and defaults`, () => {
      const documented = tables.get(table)!;
      const fields = FIELDS.filter((f) => f.table === table);
      expect([...documented.keys()].sort()).toEqual(fields.map(docName).sort());
      for (const f of fields) expect(documented.get(docName(f)), f.path).toEqual([typeText(f), f.default]);
    });
  }

  it('lists every refusal code', () => {
    const section = DOCS.slice(DOCS.indexOf('## When a configuration is refused'));
    const codes = [...section.slice(0, section.indexOf('\n## ')).matchAll(/^\| `([a-z_]+)` \|/gm)].map((m) => m[1]);
    expect(codes).toEqual([...CONFIG_REFUSAL_CODES]);
  });
});

describe('the refusal codes', () => {
  it('are the ones plugin/config/errors.ts defines', () => {
    const src = readFileSync(resolve(REPO, 'plugin/config/errors.ts'), 'utf8');
    const namespace = src.slice(src.indexOf('export namespace ConfigCode'), src.indexOf('}', src.indexOf('export namespace ConfigCode')));
    expect([...namespace.matchAll(/= "([a-z_]+)";/g)].map((m) => m[1])).toEqual([...CONFIG_REFUSAL_CODES]);
  });
});

// ---- the table and the filter ------------------------------------------------------------------

describe('the filter enforces the table', () => {
  it('accepts the base config every case starts from', () => {
    expect(checkPluginConfig(baseConfig()).reason).toBeUndefined();
  });

  for (const f of FIELDS.filter((x) => x.range)) {
    const [min, max] = f.range!;
    it(`${f.path}: accepts ${min} and ${max}, refuses ${min - 1} and ${max + 1} as out_of_range`, () => {
      for (const ok of [min, max]) {
        const c = baseConfig();
        setAt(c, f.path, ok);
        expect(checkPluginConfig(c).reason, `${f.path} = ${ok}`).toBeUndefined();
      }
      for (const bad of [min - 1, max + 1]) {
        const c = baseConfig();
        setAt(c, f.path, bad);
        expect(checkPluginConfig(c).refusal, `${f.path} = ${bad}`).toMatchObject({ path: reportedPath(f.path), code: 'out_of_range' });
      }
    });
  }

  for (const f of FIELDS.filter((x) => x.values)) {
    it(`${f.path}: accepts ${f.values!.join(', ')}; refuses anything else as invalid_value`, () => {
      for (const v of f.values!) {
        const c = baseConfig();
        setAt(c, f.path, valueFor(f, v));
        expect(checkPluginConfig(c).reason, `${f.path} = ${v}`).toBeUndefined();
      }
      const c = baseConfig();
      setAt(c, f.path, valueFor(f, 'nope'));
      const at = f.type === 'string[]' ? `${reportedPath(f.path)}[0]` : reportedPath(f.path);
      expect(checkPluginConfig(c).refusal).toMatchObject({ path: at, code: 'invalid_value' });
    });
  }

  for (const f of FIELDS) {
    it(`${f.path}: a value of the wrong JSON type is refused as wrong_type`, () => {
      const c = baseConfig();
      setAt(c, f.path, f.type === 'bool' ? 'yes' : f.type === 'int' ? '10' : f.type.startsWith('object') ? 7 : true);
      expect(checkPluginConfig(c).refusal).toMatchObject({ path: reportedPath(f.path), code: 'wrong_type' });
    });
  }

  it('knows no field the table lacks: an extra field anywhere is refused as unknown_field', () => {
    for (const at of ['colour', 'providers[].colour', 'intelligent_guard.colour', 'intelligent_guard.cache.colour', 'key_service.colour']) {
      const c = baseConfig();
      setAt(c, at, 1);
      expect(checkPluginConfig(c).refusal).toMatchObject({ path: reportedPath(at), code: 'unknown_field' });
    }
  });

  it.each([...AUTH_STYLES])('auth_style %s: removes every client credential and sends the key as AUTH_HEADERS says', (style) => {
    const { host } = configureFilter({ hosts: ['api.example'], api_key: 'sk-provider', auth_style: style });
    const s = host!.request({
      headers: [[':method', 'GET'], [':path', '/v1/models'], [':authority', 'api.example'], [':scheme', 'http'], ...CREDENTIAL_HEADERS.map((h) => [h, 'client-secret'] as [string, string])],
    });
    const sent = (s.upstreamHeaders ?? []).filter(([k]) => (CREDENTIAL_HEADERS as readonly string[]).includes(k));
    expect(sent).toEqual([[AUTH_HEADERS[style].name, AUTH_HEADERS[style].value('sk-provider')]]);
  });
});

describe('the types state when keys may be left out', () => {
  it('a guard without api_key only with key_service, as the filter has it', () => {
    const withService: PluginConfig = {
      providers: [{ hosts: ['a.example'] }],
      key_service: { host: 'llmguard-keys.llmguard-system.svc.cluster.local', path: '/v1/keys/apps/example' },
      intelligent_guard: { host: 'guard.example' },
    };
    // @ts-expect-error: without key_service the guard needs its api_key
    const inline: PluginConfig = { providers: [{ hosts: ['a.example'], api_key: 'k' }], intelligent_guard: { host: 'guard.example' } };
    expect(checkPluginConfig(withService).reason).toBeUndefined();
    expect(checkPluginConfig(inline).refusal).toMatchObject({ path: 'intelligent_guard.api_key', code: 'required' });
    expect(checkPluginConfig({ providers: [{ hosts: ['a.example'] }] }).refusal).toMatchObject({ path: 'providers[0].hosts', code: 'required' });
  });
});

// ---- the table and the CRD ---------------------------------------------------------------------

describe('the CRD states what the filter enforces', () => {
  for (const f of FIELDS.filter((x) => x.policy)) {
    it(`${f.policy} (-> ${f.path}) exists in the schema${f.range ? ' with the same bounds' : ''}${f.values ? ' with the same values' : ''}`, () => {
      const node = schemaAt(f.policy!);
      expect(node, f.policy).toBeDefined();
      if (f.range) expect([node!.minimum, node!.maximum]).toEqual([...f.range]);
      if (f.values) expect([...(node!.enum ?? [])].sort()).toEqual([...f.values].sort());
    });
  }
});

describe('what the renderer makes of a valid policy, the filter accepts', () => {
  const edges: [string, unknown][] = [];
  for (const f of FIELDS.filter((x) => x.policy)) {
    if (f.range) edges.push([f.policy!, f.range[0]], [f.policy!, f.range[1]]);
    for (const v of f.values ?? []) edges.push([f.policy!, v]);
  }

  it('at every bound and every value of a field that reaches the filter', () => {
    expect(edges.length).toBeGreaterThan(30);
    for (const [path, value] of edges) {
      const doc = policyWith(path, value);
      const v = validatePolicy(doc);
      expect(v.issues, `${path} = ${String(value)}`).toEqual([]);
      expect(checkPluginConfig(renderUnchecked(v.policy)).reason, `${path} = ${String(value)}`).toBeUndefined();
    }
  });
});

describe('what the CRD refuses, the filter refuses too, about the same field', () => {
  const past: [string, unknown][] = [];
  for (const f of FIELDS.filter((x) => x.policy)) {
    if (f.range) past.push([f.policy!, f.range[0] - 1], [f.policy!, f.range[1] + 1]);
    if (f.values) past.push([f.policy!, 'nope']);
  }

  it("spec.redactToken longer than 64 characters (the CRD's maxLength, the filter's limit)", () => {
    const doc = policyWith('spec.redactToken', 'x'.repeat(65));
    expect(validatePolicy(doc).issues.map((i) => i.path)).toContain('spec.redactToken');
    const r = checkPluginConfig(renderUnchecked(doc));
    expect(r.refusal).toMatchObject({ path: 'redact_token', code: 'out_of_range' });
    expect(policyFieldOf(r.refusal!.path)).toBe('spec.redactToken');
    const edge = validatePolicy(policyWith('spec.redactToken', 'x'.repeat(64)));
    expect(edge.issues).toEqual([]);
    expect(checkPluginConfig(renderUnchecked(edge.policy)).reason).toBeUndefined();
  });

  for (const [path, value] of past) {
    it(`${path} = ${String(value)}`, () => {
      const doc = policyWith(path, value);
      const field = path.replace(/\[\]/g, '[0]');
      expect(validatePolicy(doc).issues.map((i) => i.path)).toContain(field);
      const r = checkPluginConfig(renderUnchecked(doc));
      expect(r.ok).toBe(false);
      expect(policyFieldOf(r.refusal!.path)).toBe(field);
    });
  }
});

describe('policyFieldOf', () => {
  it('maps filter fields back to policy fields', () => {
    expect(policyFieldOf('deny_patterns[2]')).toBe('spec.denyPatterns[2]');
    expect(policyFieldOf('allow_patterns[0]')).toBe('spec.allowPatterns[0]');
    expect(policyFieldOf('redact_patterns[0]')).toBe('spec.redactPatterns[0]');
    expect(policyFieldOf('redact_token')).toBe('spec.redactToken');
    expect(policyFieldOf('response_deny_patterns[1]')).toBe('spec.response.denyPatterns[1]');
    expect(policyFieldOf('response_redact_patterns[3]')).toBe('spec.response.redactPatterns[3]');
    expect(policyFieldOf('response_max_hold_back')).toBe('spec.response.maxHoldBack');
    expect(policyFieldOf('inspect_roles[1]')).toBe('spec.inspection.roles[1]');
    expect(policyFieldOf('intelligent_guard.timeout_ms')).toBe('spec.intelligentGuard.timeoutMs');
    expect(policyFieldOf('intelligent_guard.cache.ttl_seconds')).toBe('spec.intelligentGuard.cache.ttlSeconds');
    expect(policyFieldOf('intelligent_guard.api_key')).toBe('spec.intelligentGuard.apiKeySecretRef');
    expect(policyFieldOf('providers[1].hosts[0]')).toBe('spec.providers[1].host');
    expect(policyFieldOf('providers[1].api_key')).toBe('spec.providers[1].apiKeys');
    expect(policyFieldOf('deny_status')).toBe('spec.inspection.denyStatus');
    expect(policyFieldOf('intelligent_guard.cache.colour')).toBe('spec.intelligentGuard.cache');
    expect(policyFieldOf('providers')).toBe('spec.providers');
    expect(policyFieldOf('')).toBeUndefined();
    expect(policyFieldOf('api_key_env')).toBeUndefined();
  });
});
