// The filter's configuration after validation: everything the request path needs, precompiled.
import { PatternSet } from "../regex";
import { HostRule, Authority } from "./hosts";
import { Role } from "../inspect";
import { GuardSettings } from "../guard/settings";

export enum Uninspectable { Refuse, Allow, ScanRaw }

export class Provider {
  hosts: HostRule[] = [];
  keys: string[] = [];
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
    const key = this.keys[this.nextKey];
    this.nextKey = (this.nextKey + 1) % this.keys.length;
    return key;
  }
}

export class Policy {
  providers: Provider[] = [];
  deny: PatternSet | null = null;
  allow: PatternSet | null = null;
  /** Role flags whose pieces are inspected. */
  inspectRoles: u32 = Role.All;
  denyStatus: u32 = 403;
  onUninspectable: Uninspectable = Uninspectable.Refuse;
  maxBodyBytes: u32 = 1048576;
  maxJsonDepth: i32 = 64;
  logPrompts: bool = false;
  /** Refuse inspected requests on routes where the operator's request hold is not installed. */
  requireHold: bool = false;
  guard: GuardSettings | null = null;

  providerFor(a: Authority): Provider | null {
    for (let i = 0; i < this.providers.length; i++) {
      if (this.providers[i].servesAuthority(a)) return this.providers[i];
    }
    return null;
  }

  /** True when requests to providers need their bodies read at all. */
  get inspectsBodies(): bool {
    return this.deny != null || this.allow != null || this.guard != null;
  }
}
