// The deny patterns the filter variants run: the committed 50 (bench/patterns/deny_50.txt), their
// first 10, and 1,000 = the 50 plus 950 variations generated here, deterministically (the same
// list on every run and machine): confidential code names, internal token and ID formats, secret
// assignments, prompt-injection phrasings and internal host names, the kinds of entries a real
// policy grows by.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const DENY_50_PATH = fileURLToPath(new URL('../patterns/deny_50.txt', import.meta.url));

/** The patterns of a list file: one per line; `#` comment lines and blank lines are skipped. @param {string} text */
export function parsePatternList(text) {
  return text
    .split('\n')
    .map((l) => l.replace(/\r$/, ''))
    .filter((l) => l.trim() !== '' && !l.startsWith('#'));
}

/** The committed 50. */
export function deny50() {
  const list = parsePatternList(readFileSync(DENY_50_PATH, 'utf8'));
  if (list.length !== 50) throw new Error(`${DENY_50_PATH}: expected 50 patterns, found ${list.length}`);
  return list;
}

const ADJECTIVES = ['amber', 'basalt', 'cobalt', 'crimson', 'dapper', 'ember', 'frosted', 'gilded', 'hollow', 'indigo',
  'jade', 'kinetic', 'lunar', 'molten', 'nimble', 'obsidian', 'quartz', 'rustic', 'sable', 'tundra'];
const NOUNS = ['anvil', 'badger', 'condor', 'dynamo', 'falcon', 'glacier', 'harbor', 'ibex', 'jackal', 'kestrel',
  'lynx', 'marmot', 'narwhal', 'osprey', 'pelican', 'quokka', 'raven', 'sparrow', 'tapir', 'walrus'];
const SERVICES = ['billing', 'ledger', 'payroll', 'crm', 'warehouse', 'search', 'identity', 'payments', 'risk', 'fraud',
  'shipping', 'catalog', 'pricing', 'support', 'analytics', 'reporting', 'onboarding', 'checkout', 'loyalty', 'inventory',
  'claims', 'underwriting', 'treasury', 'compliance', 'audit', 'hr', 'recruiting', 'marketing', 'growth', 'telemetry'];
const ENVIRONMENTS = ['live', 'prod', 'stg', 'test', 'dev'];
const ID_PREFIXES = ['EMP', 'CUST', 'ACCT', 'INV', 'ORD', 'CLM', 'POL', 'MRN', 'PAT', 'LOAN', 'CASE', 'VEND', 'CONT',
  'TKT', 'SUB', 'MBR', 'BKG', 'RMA', 'SHP', 'TXN', 'WO', 'PO', 'SO', 'GL', 'BAN'];
const SECRET_NAMES = ['client_secret', 'db_password', 'api_token', 'access_token', 'refresh_token', 'private_key',
  'signing_key', 'encryption_key', 'master_key', 'webhook_secret', 'session_secret', 'jwt_secret', 'smtp_password',
  'ldap_password', 'redis_password', 'admin_token', 'service_token', 'bearer_token', 'oauth_secret', 'app_secret',
  'consumer_secret', 'license_key', 'vault_token', 'registry_password', 'kafka_password'];
const VERBS = ['ignore', 'disregard', 'forget', 'override', 'skip'];
const OBJECTS = ['previous instructions', 'prior instructions', 'system prompt', 'developer message', 'safety guidelines',
  'content policy', 'earlier rules', 'above directions', 'original instructions', 'initial prompt', 'guardrails',
  'moderation rules', 'usage policies', 'system message', 'hidden rules', 'operator instructions', 'alignment rules',
  'ethical guidelines', 'policy constraints', 'prior context'];
const CORP_DOMAINS = ['corp', 'intra', 'internal', 'lan', 'priv'];
const HOST_ROLES = ['db', 'vault', 'jenkins', 'grafana', 'kibana', 'ldap', 'git', 'wiki', 'jira', 'sso'];

/** The ID shapes an internal numbering scheme takes, one per i. @param {string} p @param {number} i */
function idShape(p, i) {
  switch (i % 6) {
    case 0: return `\\b${p}-\\d{6}\\b`;
    case 1: return `\\b${p}[-_]?\\d{8}\\b`;
    case 2: return `\\b${p}-[A-Z]{2}\\d{8}\\b`;
    case 3: return `\\b${p}-\\d{4}-\\d{4}\\b`;
    case 4: return `\\b${p}\\d{10}\\b`;
    default: return `\\b${p}-[0-9A-F]{12}\\b`;
  }
}

/** The 950 generated variations, in a fixed order. */
export function generatedPatterns() {
  /** @type {string[]} */
  const out = [];
  // 400 confidential code names: case-insensitive keyword literals, with or without a separator.
  for (const a of ADJECTIVES) for (const n of NOUNS) out.push(`(?i)\\b${a}[\\s_-]?${n}\\b`);
  // 150 internal token formats: <service>_<env>_<random>.
  SERVICES.forEach((s, i) => {
    for (const e of ENVIRONMENTS) out.push(`\\b${s}_${e}_[A-Za-z0-9]{${24 + (i % 4) * 8}}\\b`);
  });
  // 150 internal ID numbers: 25 prefixes in 6 shapes.
  ID_PREFIXES.forEach((p) => {
    for (let k = 0; k < 6; k++) out.push(idShape(p, k));
  });
  // 100 secret assignments: 25 names, as `name: value`, `name = "value"`, an env var, a JSON member.
  for (const name of SECRET_NAMES) {
    const loose = name.replace('_', '[_-]?');
    out.push(`(?i)\\b${loose}\\s*[:=]\\s*\\S{12,}`);
    out.push(`(?i)\\b${loose}\\s*=\\s*["'][^"'\\s]{12,}["']`);
    out.push(`\\b${name.toUpperCase()}=\\S{12,}`);
    out.push(`"${name}"\\s*:\\s*"[^"]{12,}"`);
  }
  // 100 prompt-injection phrasings: 5 verbs x 20 objects.
  for (const v of VERBS) {
    for (const o of OBJECTS) out.push(`(?i)\\b${v}\\s+(?:all\\s+|any\\s+)?(?:the\\s+|your\\s+|my\\s+)?${o.split(' ').join('\\s+')}\\b`);
  }
  // 50 internal host names: role x domain.
  for (const r of HOST_ROLES) for (const d of CORP_DOMAINS) out.push(`(?i)\\b${r}[0-9]{0,2}(?:-[a-z0-9]+)*\\.[a-z0-9-]+\\.${d}\\b`);
  if (out.length !== 950 || new Set(out).size !== 950) throw new Error(`generated ${out.length} patterns (${new Set(out).size} distinct), expected 950`);
  return out;
}

/** The pattern sets by size: 10 (the first of the 50), 50, 1000. */
export function patternSets() {
  const fifty = deny50();
  const thousand = [...fifty, ...generatedPatterns()];
  if (new Set(thousand).size !== 1000) throw new Error('the 1,000 patterns are not distinct');
  return { 10: fifty.slice(0, 10), 50: fifty, 1000: thousand };
}
