// pluginConfig JSON -> Policy. Accepts the asm-labs wasm-llm-proxy schema verbatim plus our
// extensions (docs/filter-config.md). The first problem found is reported with its field path.
import { parseJson, JsonLimits, JsonKind } from "../json";
import { compilePatternSet, PatternSet } from "../regex";
import { ObjectFields } from "./fields";
import { ConfigError, ConfigErrors, ConfigCode, gotValue } from "./errors";
import { parseHostRule } from "./hosts";
import { parseAuthStyle } from "./auth_style";
import { Policy, Provider, Uninspectable, BinaryContent, UpgradePolicy } from "./policy";
import { roleFlag, ROLE_NAMES } from "../inspect";
import { parseVerdictFormat } from "../guard/verdict";
import { GuardSettings } from "../guard/settings";
import { KeyServiceSettings } from "../keys/settings";
import { compileNormalizedPatterns } from "./normalized_patterns";
import { isHeaderSafe } from "../keys/header_safe";

export class ConfigResult {
  constructor(public readonly policy: Policy | null, public readonly error: ConfigError | null) {}
}

/** Looks up an environment variable of the VM (WasmPlugin vmConfig.env); "" when unset. */
export type EnvLookup = (name: string) => string;

/** `keyService`: the config has a key_service, so a provider may give no key of its own. */
function readProvider(f: ObjectFields, env: EnvLookup, errors: ConfigErrors, keyService: bool): Provider | null {
  const p = new Provider();
  const hosts = f.strings("hosts");
  if (hosts.length > 0) p.keyName = hosts[0];
  for (let i = 0; i < hosts.length; i++) {
    const r = parseHostRule(hosts[i]);
    if (r.rule == null) { errors.add(f.pathOf("hosts") + "[" + i.toString() + "]", ConfigCode.InvalidValue, r.error); return null; }
    p.hosts.push(r.rule!);
  }
  const style = f.string("auth_style", "bearer");
  p.authStyle = parseAuthStyle(style);
  if (p.authStyle < 0) {
    errors.add(f.pathOf("auth_style"), ConfigCode.InvalidValue, "must be one of bearer, x-api-key, api-key, x-goog-api-key, " + gotValue(style));
    return null;
  }
  const single = f.string("api_key", "");
  if (f.has("api_key") && single.length == 0 && !errors.failed) { errors.add(f.pathOf("api_key"), ConfigCode.Empty, "must not be empty"); return null; }
  if (single.length > 0) p.keys.push(single);
  const many = f.strings("api_keys");
  for (let i = 0; i < many.length; i++) {
    if (many[i].length == 0) { errors.add(f.pathOf("api_keys") + "[" + i.toString() + "]", ConfigCode.Empty, "must not be empty"); return null; }
    p.keys.push(many[i]);
  }
  const envNames = f.strings("api_key_env", true);
  for (let i = 0; i < envNames.length; i++) {
    const value = env(envNames[i]);
    if (value.length == 0) {
      errors.add(f.pathOf("api_key_env"), ConfigCode.EnvNotSet, "environment variable " + envNames[i] + " is not set or empty (set it in the WasmPlugin's vmConfig.env)");
      return null;
    }
    p.keys.push(value);
  }
  if (errors.failed) return null;
  for (let i = 0; i < p.keys.length; i++) {
    if (!isHeaderSafe(p.keys[i])) { errors.add(f.pathOf("api_key"), ConfigCode.NotHeaderSafe, "contains characters not allowed in an HTTP header"); return null; }
  }
  const inline = f.has("api_key") || f.has("api_keys") || f.has("api_key_env");
  if (p.hosts.length > 0 && p.keys.length == 0) {
    if (keyService && !inline) {
      p.keysFromService = true;
      return p;
    }
    errors.add(f.pathOf("hosts"), ConfigCode.Required, "hosts are set but no key is: give api_key, api_keys or api_key_env"
      + (keyService ? ", or none of them to take keys from the key service" : ""));
    return null;
  }
  return p;
}

/** `patterns`, read from member `name` of `f`, compiled; refusals name the pattern. */
function readPatterns(f: ObjectFields, name: string, patterns: string[], errors: ConfigErrors): PatternSet | null {
  if (errors.failed || patterns.length == 0) return null;
  const compiled = compilePatternSet(patterns);
  if (compiled.error != null) {
    const e = compiled.error!;
    errors.add(f.pathOf(name) + "[" + e.patternIndex.toString() + "]", ConfigCode.InvalidPattern, e.message + " (at offset " + e.offset.toString() + ")");
    return null;
  }
  return compiled.set;
}

/** `keyService`: the config has a key_service, so api_key may be left out. */
function readGuard(g: ObjectFields, errors: ConfigErrors, keyService: bool): GuardSettings {
  const guard = new GuardSettings();
  guard.host = g.string("host", "");
  if (guard.host.length == 0) errors.add(g.pathOf("host"), ConfigCode.Required, "required");
  guard.port = <i32>g.integer("port", 443, 1, 65535);
  guard.path = g.string("path", guard.path);
  if (!guard.path.startsWith("/")) errors.add(g.pathOf("path"), ConfigCode.InvalidValue, "must start with /");
  guard.model = g.string("model", guard.model);
  guard.apiKey = g.string("api_key", "");
  if (keyService && !g.has("api_key")) guard.keyFromService = true;
  else if (keyService && guard.apiKey.length == 0) {
    if (!errors.failed) errors.add(g.pathOf("api_key"), ConfigCode.Empty, "must not be empty (leave it out to take the guard key from the key service)");
  }
  else if (guard.apiKey.length == 0) errors.add(g.pathOf("api_key"), ConfigCode.Required, "required");
  else if (!isHeaderSafe(guard.apiKey)) errors.add(g.pathOf("api_key"), ConfigCode.NotHeaderSafe, "contains characters not allowed in an HTTP header");
  guard.cluster = g.string("cluster", "");
  if (guard.cluster.length == 0) guard.cluster = "outbound|" + guard.port.toString() + "||" + guard.host;
  guard.timeoutMs = <u32>g.integer("timeout_ms", 3000, 1, 60000);
  guard.systemPrompt = g.string("system_prompt", guard.systemPrompt);
  const format = g.string("verdict_format", "auto");
  guard.verdictFormat = parseVerdictFormat(format);
  if (guard.verdictFormat < 0) {
    errors.add(g.pathOf("verdict_format"), ConfigCode.InvalidValue, "must be one of auto, json, llama_guard, qwen_guard, openai_moderation, " + gotValue(format));
  }
  const failMode = g.string("fail_mode", "closed");
  if (failMode != "closed" && failMode != "open") errors.add(g.pathOf("fail_mode"), ConfigCode.InvalidValue, "must be closed or open, " + gotValue(failMode));
  guard.failOpen = failMode == "open";
  const controversial = g.string("controversial", "deny");
  if (controversial != "deny" && controversial != "allow") {
    errors.add(g.pathOf("controversial"), ConfigCode.InvalidValue, "must be deny or allow, " + gotValue(controversial));
  }
  guard.controversialDenies = controversial == "deny";
  guard.exposeReason = g.boolean("expose_reason", false);
  const c = g.object("cache");
  if (c != null) {
    guard.cache.enabled = c.boolean("enabled", true);
    guard.cache.ttlSeconds = <u32>c.integer("ttl_seconds", 300, 1, 86400);
    guard.cache.maxEntries = <u32>c.integer("max_entries", 1024, 1, 65536);
    c.refuseUnknown();
  }
  g.refuseUnknown();
  return guard;
}

export function parsePolicy(configBytes: Uint8Array, env: EnvLookup): ConfigResult {
  const errors = new ConfigErrors();
  const limits = new JsonLimits();
  limits.maxDepth = 32;
  const parsed = parseJson(configBytes, limits);
  if (parsed.value == null) return new ConfigResult(null, new ConfigError("", ConfigCode.InvalidJson, "not valid JSON: " + parsed.error));
  const root = parsed.value!;
  if (root.kind != JsonKind.Object) return new ConfigResult(null, new ConfigError("", ConfigCode.WrongType, "expected a JSON object"));
  const f = new ObjectFields(root, "", errors);
  const policy = new Policy();

  // Whether keys may come from the key service; the object itself is read after the other fields.
  const keyService = f.has("key_service");
  const implicit = readProvider(f, env, errors, keyService);
  if (implicit != null && implicit.hosts.length > 0) policy.providers.push(implicit);
  const listed = f.objects("providers");
  for (let i = 0; i < listed.length && !errors.failed; i++) {
    const p = readProvider(listed[i], env, errors, keyService);
    listed[i].refuseUnknown();
    if (p == null) break;
    if (p.hosts.length == 0) { errors.add(listed[i].pathOf("hosts"), ConfigCode.Required, "at least one host is required"); break; }
    policy.providers.push(p);
  }

  const denyPatterns = f.strings("deny_patterns");
  const allowPatterns = f.strings("allow_patterns");
  policy.deny = readPatterns(f, "deny_patterns", denyPatterns, errors);
  policy.allow = readPatterns(f, "allow_patterns", allowPatterns, errors);

  policy.redact = readPatterns(f, "redact_patterns", f.strings("redact_patterns"), errors);
  policy.redactToken = f.string("redact_token", policy.redactToken);
  if (policy.redactToken.length > MAX_REDACT_TOKEN) {
    errors.add(f.pathOf("redact_token"), ConfigCode.OutOfRange, "must be at most " + MAX_REDACT_TOKEN.toString() + " characters");
  }
  readResponsePatterns(f, policy, errors);
  checkRedactToken(f, policy, errors);

  if (f.has("inspect_roles")) {
    const roles = f.strings("inspect_roles");
    let mask: u32 = 0;
    for (let i = 0; i < roles.length; i++) {
      const flag = roleFlag(roles[i]);
      if (flag == 0) {
        errors.add(f.pathOf("inspect_roles") + "[" + i.toString() + "]", ConfigCode.InvalidValue,
          "unknown role (known: " + ROLE_NAMES.join(", ") + "), " + gotValue(roles[i]));
        break;
      }
      mask |= flag;
    }
    if (!errors.failed && mask == 0) errors.add(f.pathOf("inspect_roles"), ConfigCode.Required, "must name at least one role");
    policy.inspectRoles = mask;
  }

  policy.denyStatus = <u32>f.integer("deny_status", 403, 400, 599);
  const onBad = f.string("on_uninspectable", "refuse");
  if (onBad == "refuse") policy.onUninspectable = Uninspectable.Refuse;
  else if (onBad == "allow") policy.onUninspectable = Uninspectable.Allow;
  else if (onBad == "scan_raw") policy.onUninspectable = Uninspectable.ScanRaw;
  else if (!errors.failed) errors.add(f.pathOf("on_uninspectable"), ConfigCode.InvalidValue, "must be one of refuse, allow, scan_raw, " + gotValue(onBad));
  policy.normalize = f.boolean("normalize", true);
  if (!errors.failed) compileNormalizedPatterns(policy, denyPatterns, allowPatterns);
  const binary = f.string("binary_content", "allow");
  if (binary == "allow") policy.binaryContent = BinaryContent.Allow;
  else if (binary == "refuse") policy.binaryContent = BinaryContent.Refuse;
  else if (!errors.failed) errors.add(f.pathOf("binary_content"), ConfigCode.InvalidValue, "must be one of allow, refuse, " + gotValue(binary));
  const upgrade = f.string("on_upgrade", "refuse");
  if (upgrade == "refuse") policy.onUpgrade = UpgradePolicy.Refuse;
  else if (upgrade == "allow") policy.onUpgrade = UpgradePolicy.Allow;
  else if (!errors.failed) errors.add(f.pathOf("on_upgrade"), ConfigCode.InvalidValue, "must be one of refuse, allow, " + gotValue(upgrade));
  policy.maxBodyBytes = <u32>f.integer("max_body_bytes", 1048576, 1, 16777216);
  policy.maxJsonDepth = <i32>f.integer("max_json_depth", 64, 1, 512);
  policy.logPrompts = f.boolean("log_prompts", false);
  policy.requireHold = f.boolean("require_hold", false);

  const g = f.object("intelligent_guard");
  if (g != null) policy.guard = readGuard(g, errors, keyService);
  const k = f.object("key_service");
  if (k != null) policy.keyService = readKeyService(k, errors);

  f.refuseUnknown();
  checkHostsDistinct(policy, errors);
  if (errors.failed) return new ConfigResult(null, errors.first);
  return new ConfigResult(policy, null);
}

const MAX_REDACT_TOKEN = 64;

/** response_deny_patterns then response_redact_patterns, one set; refusals name the list and index. */
function readResponsePatterns(f: ObjectFields, policy: Policy, errors: ConfigErrors): void {
  const deny = f.strings("response_deny_patterns");
  const redact = f.strings("response_redact_patterns");
  policy.responseMaxHoldBack = <i32>f.integer("response_max_hold_back", 4096, 64, 65536);
  if (errors.failed || deny.length + redact.length == 0) return;
  const all = deny.concat(redact);
  const compiled = compilePatternSet(all);
  if (compiled.error != null) {
    const e = compiled.error!;
    const inDeny = e.patternIndex < deny.length;
    const name = inDeny ? "response_deny_patterns" : "response_redact_patterns";
    const index = inDeny ? e.patternIndex : e.patternIndex - deny.length;
    errors.add(f.pathOf(name) + "[" + index.toString() + "]", ConfigCode.InvalidPattern, e.message + " (at offset " + e.offset.toString() + ")");
    return;
  }
  policy.responsePatterns = compiled.set;
  policy.responseDenyCount = deny.length;
}

/** A token a pattern matches would be masked or denied again wherever it is put. */
function checkRedactToken(f: ObjectFields, policy: Policy, errors: ConfigErrors): void {
  if (errors.failed) return;
  const token = policy.redactToken;
  let hit = policy.redact != null ? policy.redact!.firstMatch(token) : -1;
  let name = "redact_patterns";
  if (hit < 0 && policy.responsePatterns != null) {
    hit = policy.responsePatterns!.firstMatch(token);
    name = hit < policy.responseDenyCount ? "response_deny_patterns" : "response_redact_patterns";
    if (hit >= policy.responseDenyCount) hit -= policy.responseDenyCount;
  }
  if (hit < 0) return;
  errors.add(f.pathOf("redact_token"), ConfigCode.InvalidValue,
    "\"" + token + "\" matches " + name + "[" + hit.toString() + "]: masked text would match again; choose a token the patterns don't match");
}

const MAX_KEY_SERVICE_PATH = 1024;

function readKeyService(k: ObjectFields, errors: ConfigErrors): KeyServiceSettings {
  const s = new KeyServiceSettings();
  s.host = k.string("host", "");
  if (!k.has("host") || s.host.length == 0) errors.add(k.pathOf("host"), ConfigCode.Required, "required");
  else if (!isLowerCaseDnsName(s.host)) {
    errors.add(k.pathOf("host"), ConfigCode.InvalidValue, "must be a lower-case DNS name such as llmguard-keys.llmguard-system.svc.cluster.local, " + gotValue(s.host));
  }
  s.port = <i32>k.integer("port", 15443, 1, 65535);
  s.cluster = k.string("cluster", "");
  if (s.cluster.length == 0) s.cluster = "outbound|" + s.port.toString() + "||" + s.host;
  s.path = k.string("path", "");
  if (!k.has("path")) errors.add(k.pathOf("path"), ConfigCode.Required, "required");
  else if (!s.path.startsWith("/")) errors.add(k.pathOf("path"), ConfigCode.InvalidValue, "must start with /");
  else if (s.path.length > MAX_KEY_SERVICE_PATH) errors.add(k.pathOf("path"), ConfigCode.InvalidValue, "must be at most " + MAX_KEY_SERVICE_PATH.toString() + " characters");
  else if (!isVisibleAscii(s.path)) errors.add(k.pathOf("path"), ConfigCode.InvalidValue, "must be printable ASCII without spaces");
  s.refreshSeconds = <u32>k.integer("refresh_seconds", 10, 1, 3600);
  s.maxStaleSeconds = <u32>k.integer("max_stale_seconds", 60, 0, 86400);
  s.timeoutMs = <u32>k.integer("timeout_ms", 2000, 1, 60000);
  k.refuseUnknown();
  return s;
}

/** Labels of a-z, 0-9 and '-' (not at either end), 1..63 long, joined by dots; at most 253 in all. */
function isLowerCaseDnsName(s: string): bool {
  if (s.length > 253) return false;
  let labelStart = 0;
  for (let i = 0; i <= s.length; i++) {
    if (i == s.length || s.charCodeAt(i) == 0x2e) {
      const n = i - labelStart;
      if (n < 1 || n > 63) return false;
      if (s.charCodeAt(labelStart) == 0x2d || s.charCodeAt(i - 1) == 0x2d) return false;
      labelStart = i + 1;
      continue;
    }
    const c = s.charCodeAt(i);
    if (!((c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39) || c == 0x2d)) return false;
  }
  return true;
}

/** 0x21..0x7e: what a request path may hold as sent. */
function isVisibleAscii(s: string): bool {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x21 || c > 0x7e) return false;
  }
  return true;
}

function checkHostsDistinct(policy: Policy, errors: ConfigErrors): void {
  for (let i = 0; i < policy.providers.length; i++) {
    const a = policy.providers[i].hosts;
    for (let j = i + 1; j < policy.providers.length; j++) {
      const b = policy.providers[j].hosts;
      for (let x = 0; x < a.length; x++) {
        for (let y = 0; y < b.length; y++) {
          if (a[x].name == b[y].name && a[x].port == b[y].port && a[x].wildcard == b[y].wildcard) {
            errors.add("providers", ConfigCode.Conflict, "host \"" + a[x].name + "\" belongs to more than one provider");
            return;
          }
        }
      }
    }
  }
}
