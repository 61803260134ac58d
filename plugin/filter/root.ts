// One per plugin configuration (any root_id): parses the config, makes a stream per request, and,
// with a key_service, fetches keys right after configuring and on every tick, then resumes the
// streams that waited for the first fetch.
import { RootContext, HttpContext } from "../abi/context";
import { BufferType } from "../abi/enums";
import { getBufferBytes, logError, logInfo, setEffectiveContext, setTickPeriod } from "../abi/host";
import { GuardClient } from "../guard/guard_client";
import { GuardMetrics } from "../guard/metrics";
import { KeyClient, keyClockMs } from "../keys/key_client";
import { KeyMetrics } from "../keys/metrics";
import { parsePolicy } from "../config/parse";
import { Policy } from "../config/policy";
import { ConfigError, ConfigCode } from "../config/errors";
import { RequestMetrics } from "./metrics";
import { Configured } from "./configured";
import { GuardStream } from "./stream";
import { recordConfigRefusal, clearConfigRefusal } from "./config_report";

function envLookup(name: string): string {
  return process.env.has(name) ? process.env.get(name) : "";
}

function refuse(e: ConfigError): bool {
  logError("llm-guard: config rejected: " + e.describe());
  recordConfigRefusal(e);
  return false;
}

/** The names (hosts[0]) of the providers whose keys come from the key service. */
function serviceKeyNames(policy: Policy): string[] {
  const names: string[] = [];
  for (let i = 0; i < policy.providers.length; i++) {
    if (policy.providers[i].keysFromService) names.push(policy.providers[i].keyName);
  }
  return names;
}

export class GuardRoot extends RootContext {
  /** The last accepted configuration; a refused one leaves it in place. */
  private configured: Configured | null = null;
  private metrics: RequestMetrics | null = null;
  private guardMetrics: GuardMetrics | null = null;
  private keyMetrics: KeyMetrics | null = null;
  /** Key fetches in flight, by call id, with the configuration they fetch for (it may have been replaced since). */
  private fetches: Map<u32, Configured> = new Map<u32, Configured>();
  private ticking: bool = false;
  private tickMs: u32 = 0;

  onConfigure(pluginConfigSize: u32): bool {
    const bytes = pluginConfigSize > 0 ? getBufferBytes(BufferType.PluginConfiguration, 0, pluginConfigSize) : null;
    if (bytes == null || bytes.byteLength == 0) {
      return refuse(new ConfigError("", ConfigCode.Empty, "pluginConfig is empty (expected a JSON object)"));
    }
    const result = parsePolicy(Uint8Array.wrap(bytes), envLookup);
    if (result.policy == null) return refuse(result.error!);
    clearConfigRefusal();
    const policy = result.policy!;
    if (this.metrics == null) {
      // Once per root, guard or not, request counters first: /stats lists them all from the start.
      this.metrics = new RequestMetrics();
      this.guardMetrics = new GuardMetrics();
      this.keyMetrics = new KeyMetrics();
    }
    let hostCount = 0;
    for (let i = 0; i < policy.providers.length; i++) hostCount += policy.providers[i].hosts.length;
    logInfo("llm-guard: configured: " + policy.providers.length.toString() + " provider(s), " + hostCount.toString()
      + " host(s), " + (policy.deny != null ? policy.deny!.size : 0).toString() + " deny and "
      + (policy.allow != null ? policy.allow!.size : 0).toString() + " allow pattern(s)");
    const settings = policy.guard;
    const guard = settings != null ? new GuardClient(settings, this.guardMetrics!) : null;
    const keySettings = policy.keyService;
    const keys = keySettings != null ? new KeyClient(keySettings, this.keyMetrics!, serviceKeyNames(policy), settings != null && settings.keyFromService) : null;
    const configured = new Configured(policy, this.metrics!, this.guardMetrics!, guard, keys);
    this.configured = configured;
    if (settings != null) {
      logInfo("llm-guard: guard " + settings.host + settings.path + " via cluster " + settings.cluster
        + ", timeout " + settings.timeoutMs.toString() + " ms, fail_mode " + (settings.failOpen ? "open" : "closed")
        + (settings.keyFromService ? ", guard key from the key service" : ""));
    }
    if (keySettings != null) {
      let fromService = 0;
      for (let i = 0; i < policy.providers.length; i++) if (policy.providers[i].keysFromService) fromService++;
      logInfo("llm-guard: key service " + keySettings.host + keySettings.path + " via cluster " + keySettings.cluster
        + ": keys of " + fromService.toString() + " provider(s)" + (settings != null && settings.keyFromService ? " and the guard" : "")
        + ", refresh " + keySettings.refreshSeconds.toString() + " s, max stale " + keySettings.maxStaleSeconds.toString()
        + " s, timeout " + keySettings.timeoutMs.toString() + " ms");
      this.tickMs = <u32>keySettings.refreshSeconds * 1000;
      setTickPeriod(this.tickMs);
      this.ticking = true;
      this.fetchKeys(configured);
    } else if (this.ticking) {
      setTickPeriod(0);
      this.tickMs = 0;
      this.ticking = false;
    }
    return true;
  }

  /** Before any configuration is accepted, requests pass untouched. */
  createHttpContext(id: u32): HttpContext {
    const configured = this.configured;
    return configured != null ? new GuardStream(id, this, configured) : new HttpContext(id, this);
  }

  onTick(): void {
    const configured = this.configured;
    if (configured == null || configured.keys == null) return;
    this.fetchKeys(configured);
  }

  private fetchKeys(configured: Configured): void {
    const keys = configured.keys!;
    const now = keyClockMs();
    keys.expire(now);
    keys.fetch(now);
    if (keys.inFlight) {
      this.fetches.set(keys.callId, configured);
      return;
    }
    // The fetch couldn't start: it counts as ended, so nobody waits for it.
    this.resumeWaiting(configured);
  }

  onHttpCallResponse(callId: u32, headerCount: u32, bodySize: u32, trailerCount: u32): void {
    if (!this.fetches.has(callId)) return;
    const configured = this.fetches.get(callId);
    this.fetches.delete(callId);
    const keys = configured.keys!;
    if (!keys.inFlight || keys.callId != callId) return;
    keys.readAnswer(headerCount, bodySize, keyClockMs());
    if (configured === this.configured) this.tickFor(keys);
    this.resumeWaiting(configured);
  }

  /** Ticks at the refresh period, or sooner while the key service's answers lack what this config needs. */
  private tickFor(keys: KeyClient): void {
    const period = keys.incomplete ? keys.retryMs() : <u32>keys.settings.refreshSeconds * 1000;
    if (period == this.tickMs) return;
    setTickPeriod(period);
    this.tickMs = period;
  }

  /** Lets the streams that waited for a key fetch go on (or be refused), each as its own context. */
  private resumeWaiting(configured: Configured): void {
    const waiting = configured.waiting;
    if (waiting.length == 0) return;
    configured.waiting = [];
    for (let i = 0; i < waiting.length; i++) {
      const s = waiting[i];
      if (!(s instanceof GuardStream)) continue;
      const stream = changetype<GuardStream>(s);
      if (!stream.waitingForKeys) continue;
      setEffectiveContext(stream.id);
      stream.resumeAfterKeys();
    }
  }
}
