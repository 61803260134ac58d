// Which request authorities a provider serves. Case-insensitive; a configured host without a port
// matches any port; "*.example.com" matches any subdomain (not the apex).
import { gotValue } from "./errors";
import { trimmed } from "../util/trim";

export class HostRule {
  constructor(
    public readonly name: string,      // lower-cased host, without "*." for wildcards
    public readonly port: string,      // "" = any port
    public readonly wildcard: bool,
  ) {}

  matches(host: string, port: string): bool {
    // An authority whose port isn't a number is no host's: a router would not route it to the
    // provider (its route table names real ports), so it must not get the provider's key.
    if (!isPort(port)) return false;
    if (this.port.length > 0 && this.port != port) return false;
    if (!this.wildcard) return host == this.name;
    return host.length > this.name.length + 1 && host.endsWith("." + this.name);
  }
}

/** "" (no port given) or 1 to 5 ASCII digits. */
function isPort(port: string): bool {
  if (port.length > 5) return false;
  for (let i = 0; i < port.length; i++) {
    const c = port.charCodeAt(i);
    if (c < 0x30 || c > 0x39) return false;
  }
  return true;
}

export class Authority {
  constructor(public readonly host: string, public readonly port: string) {}
}

/** Splits an :authority ("Host:80", "[::1]:8080") into a lower-cased host and its port ("" if none). */
export function parseAuthority(authority: string): Authority {
  let a = trimmed(authority).toLowerCase();
  if (a.endsWith(".")) a = a.substring(0, a.length - 1);
  if (a.startsWith("[")) {
    const close = a.indexOf("]");
    if (close < 0) return new Authority(a, "");
    const port = close + 1 < a.length && a.charAt(close + 1) == ":" ? a.substring(close + 2) : "";
    return new Authority(a.substring(0, close + 1), port);
  }
  const colon = a.lastIndexOf(":");
  if (colon < 0 || a.indexOf(":") != colon) return new Authority(a, "");
  let host = a.substring(0, colon);
  if (host.endsWith(".")) host = host.substring(0, host.length - 1);
  return new Authority(host, a.substring(colon + 1));
}

export class HostRuleResult {
  constructor(public readonly rule: HostRule | null, public readonly error: string) {}
}

function fail(reason: string): HostRuleResult { return new HostRuleResult(null, reason); }

/** Parses a configured host such as "api.openai.com", "llm.internal:8080" or "*.openai.azure.com". */
export function parseHostRule(spec: string): HostRuleResult {
  const s = trimmed(spec);
  let wildcard = false;
  let rest = s;
  if (rest.startsWith("*.")) { wildcard = true; rest = rest.substring(2); }
  const a = parseAuthority(rest);
  if (a.host.length == 0) return fail("empty host");
  for (let i = 0; i < a.host.length; i++) {
    const c = a.host.charCodeAt(i);
    const ok = (c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39) || c == 0x2d || c == 0x2e || c == 0x5f
      || c == 0x5b || c == 0x5d || c == 0x3a;
    if (!ok) return fail("invalid character '" + a.host.charAt(i) + "' in the host, " + gotValue(spec));
  }
  if (a.port.length > 5) return fail("invalid port in the host, " + gotValue(spec));
  for (let i = 0; i < a.port.length; i++) {
    const c = a.port.charCodeAt(i);
    if (c < 0x30 || c > 0x39) return fail("invalid port in the host, " + gotValue(spec));
  }
  return new HostRuleResult(new HostRule(a.host, a.port, wildcard), "");
}
