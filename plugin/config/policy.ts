// The filter's configuration after validation: everything the request path needs, precompiled.
import { PatternSet } from "../regex";
import { HostRule, Authority } from "./hosts";
import { Role } from "../inspect";
import { GuardSettings } from "../guard/settings";
import { KeyServiceSettings } from "../keys/settings";

export enum Uninspectable { Refuse, Allow, ScanRaw }

/** What to do with binary content (images, audio, PDF, ...) in a request: inline or uploaded. */
export enum BinaryContent { Allow, Refuse }

/** What to do with a protocol upgrade (WebSocket, e.g. the Realtime API) to a provider host. */
export enum UpgradePolicy { Refuse, Allow }

export class Provider {
  hosts: HostRule[] = [];
  /** Inline keys (api_key, api_keys, api_key_env); empty when they come from the key service. */
  keys: string[] = [];
  /** No inline keys and a key_service: keys are fetched at run time, looked up by keyName. */
  keysFromService: bool = false;
  /** hosts[0] as written in the configuration: the provider's name in the key service's answer. */
  keyName: string = "";
  authStyle: i32 = 0;
  private nextKey: i32 = 0;

  servesAuthority(a: Authority): bool {
    for (let i = 0; i < this.hosts.length; i++) {
      if (this.hosts[i].matches(a.host, a.port)) return true;
    }
    return false;
  }

  /** Keys are used in turn, one per request. */
  takeKey(): string {
    return this.takeKeyFrom(this.keys);
  }

  /** The next key in turn out of `keys` (non-empty; the key service's list may change between calls). */
  takeKeyFrom(keys: string[]): string {
    const at = this.nextKey % keys.length;
    this.nextKey = (at + 1) % keys.length;
    return keys[at];
  }
}

export class Policy {
  providers: Provider[] = [];
  deny: PatternSet | null = null;
  allow: PatternSet | null = null;
  /** deny with literals normalized, for normalized text (normalized_patterns.ts); null: use deny. */
  denyNormalized: PatternSet | null = null;
  /** allow with literals normalized, for normalized text; null: use allow. */
  allowNormalized: PatternSet | null = null;
  /** Matches in inspected request text are replaced by redactToken before the guard and the provider see it. */
  redact: PatternSet | null = null;
  redactToken: string = "[REDACTED]";
  /**
   * What the provider answers is matched against these: response_deny_patterns first (indexes
   * below responseDenyCount), then response_redact_patterns. Null: responses are not inspected.
   */
  responsePatterns: PatternSet | null = null;
  responseDenyCount: i32 = 0;
  /** Text of a stream held back at most (UTF-16 units per text), waiting to see whether a match goes on. */
  responseMaxHoldBack: i32 = 4096;
  /** Role flags whose pieces are inspected. */
  inspectRoles: u32 = Role.All;
  denyStatus: u32 = 403;
  onUninspectable: Uninspectable = Uninspectable.Refuse;
  /** Match patterns on normalized text too (NFKC, default-ignorables removed, confusables mapped). */
  normalize: bool = true;
  binaryContent: BinaryContent = BinaryContent.Allow;
  onUpgrade: UpgradePolicy = UpgradePolicy.Refuse;
  maxBodyBytes: u32 = 1048576;
  maxJsonDepth: i32 = 64;
  logPrompts: bool = false;
  /** Refuse inspected requests on routes where the operator's request hold is not installed. */
  requireHold: bool = false;
  guard: GuardSettings | null = null;
  /** Where keys not given inline are fetched at run time; null without key_service. */
  keyService: KeyServiceSettings | null = null;

  providerFor(a: Authority): Provider | null {
    for (let i = 0; i < this.providers.length; i++) {
      if (this.providers[i].servesAuthority(a)) return this.providers[i];
    }
    return null;
  }

  /** True when requests to providers need their bodies read at all. */
  get inspectsBodies(): bool {
    return this.deny != null || this.allow != null || this.guard != null || this.redact != null;
  }
}
