// Guard verdicts reused for the same guard request within a TTL, shared by all Envoy workers
// through proxy-wasm shared data. Memory stays bounded: entries live in a fixed number of slots
// (the ABI can't delete shared-data keys), a newer verdict overwrites whatever shared its slot.
// Only allow/deny verdicts are stored, never errors.
import { getSharedData, setSharedData } from "../abi/host";
import { sha256Hex } from "../util/sha256";
import { Verdict, Decision, allow, deny } from "./verdict";

export class CacheSettings {
  enabled: bool = true;
  ttlSeconds: u32 = 300;
  maxEntries: u32 = 1024;
}

export class VerdictCache {
  constructor(private readonly settings: CacheSettings, private readonly namespace: string) {}

  /** The cache key of a guard request: SHA-256 of the exact bytes we would send (model, prompt, text). */
  keyOf(guardRequestBody: ArrayBuffer): string {
    return sha256Hex(guardRequestBody);
  }

  private slotName(key: string): string {
    const slot = <u32>I32.parseInt(key.substring(0, 8), 16) % this.settings.maxEntries;
    return "llm_guard.verdicts." + this.namespace + "." + slot.toString();
  }

  lookup(key: string, nowMs: i64): Verdict | null {
    if (!this.settings.enabled) return null;
    const stored = getSharedData(this.slotName(key));
    if (stored == null || stored.value.byteLength == 0) return null;
    const text = String.UTF8.decode(stored.value);
    // key \n expiry-ms \n A|D \n reason (the reason may hold newlines of its own)
    const first = text.indexOf("\n");
    const second = first < 0 ? -1 : text.indexOf("\n", first + 1);
    const third = second < 0 ? -1 : text.indexOf("\n", second + 1);
    if (third < 0 || text.substring(0, first) != key) return null;
    const expiry = I64.parseInt(text.substring(first + 1, second), 10);
    if (expiry <= nowMs) return null;
    const decision = text.substring(second + 1, third);
    const reason = text.substring(third + 1);
    if (decision == "A") return allow(reason);
    if (decision == "D") return deny(reason);
    return null;
  }

  /** Stores a verdict; true when it filled a slot that was empty until then (the slots-filled gauge). */
  store(key: string, verdict: Verdict, nowMs: i64): bool {
    if (!this.settings.enabled || verdict.decision == Decision.Error) return false;
    const expiry = nowMs + <i64>this.settings.ttlSeconds * 1000;
    const value = key + "\n" + expiry.toString() + "\n" + (verdict.decision == Decision.Allow ? "A" : "D") + "\n" + verdict.reason;
    const slot = this.slotName(key);
    const before = getSharedData(slot);
    setSharedData(slot, String.UTF8.encode(value), 0);
    return before == null || before.value.byteLength == 0;
  }
}
