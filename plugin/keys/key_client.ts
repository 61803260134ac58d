// Fetches provider and guard keys from the key service and keeps them in this VM's memory only
// (never in shared data, never in a log). One fetch in flight at a time; the root context starts
// one right after a configuration is accepted and then on every tick (refresh_seconds), and passes
// the answer back here. The last good keys stay in use while fetches fail, for at most
// max_stale_seconds after the last successful fetch; then they are dropped.
import { httpCall, getHeader, getBufferBytes, logInfo, logWarn, HeaderPair } from "../abi/host";
import { WasmResult, MapType, BufferType } from "../abi/enums";
import { KeyServiceSettings } from "./settings";
import { KeyMetrics } from "./metrics";
import { KeyAnswer, readKeyAnswer, printable, MAX_ANSWER_BYTES } from "./answer";

/**
 * Milliseconds on the monotonic clock: how the client measures staleness, so a wall clock that
 * jumps neither keeps keys longer nor drops them early.
 */
export function keyClockMs(): i64 {
  return <i64>(process.hrtime() / 1000000);
}

/** Whether the last fetch worked, as far as logging goes: a line is written only when it changes. */
enum Health { Unknown, Ok, Failing }

export class KeyClient {
  /** A fetch has ended (well or not) since this configuration was accepted: requests stop waiting. */
  settled: bool = false;
  /** The call id of the fetch in flight, meaningful while inFlight. */
  callId: u32 = 0;
  inFlight: bool = false;
  private health: Health = Health.Unknown;
  /** keyClockMs() of the last successful fetch; -1 before the first. */
  private lastSuccessMs: i64 = -1;
  /** The keys of the last successful fetch, until they are dropped as stale. */
  private keys: Map<string, string[]> = new Map<string, string[]>();
  private guard: string = "";
  private dropped: bool = false;
  /** What the last successful answer said was wrong (host: error ...), to log changes only. */
  private reportedErrors: string = "";
  /**
   * The last answer left out a host or the guard this config needs keys for: the key service read
   * the policy before the change that made this config. The root fetches again soon (retryMs).
   */
  incomplete: bool = false;
  private retries: i32 = 0;
  private readonly path: string;

  /**
   * `neededHosts`: the providers' names (hosts[0]) whose keys come from the service; `needsGuard`:
   * the guard's key does too. Both go in the query, so the service answers from a policy that has them.
   */
  constructor(readonly settings: KeyServiceSettings, private readonly metrics: KeyMetrics,
    private readonly neededHosts: string[] = [], private readonly needsGuard: bool = false) {
    let query = "";
    if (neededHosts.length > 0) query += "hosts=" + neededHosts.join(",");
    if (needsGuard) query += (query.length > 0 ? "&" : "") + "guard=1";
    this.path = query.length > 0 ? settings.path + "?" + query : settings.path;
  }

  /** When to fetch again after an incomplete answer: 1 s, then doubling, at most the refresh period. */
  retryMs(): u32 {
    const refresh = <u32>this.settings.refreshSeconds * 1000;
    const shift = <u32>min(max(this.retries - 1, 0), 10);
    return min(refresh, <u32>1000 << shift);
  }

  /** Starts a fetch unless one is in flight. A fetch that can't start counts as a failed one. */
  fetch(nowMs: i64): void {
    if (this.inFlight) return;
    this.metrics.count(this.metrics.fetches);
    const s = this.settings;
    const headers: HeaderPair[] = [
      new HeaderPair(":method", "GET"),
      new HeaderPair(":path", this.path),
      new HeaderPair(":authority", s.host),
      new HeaderPair(":scheme", "http"),
      new HeaderPair("accept", "application/json"),
    ];
    const started = httpCall(s.cluster, headers, new ArrayBuffer(0), s.timeoutMs);
    if (started.status != WasmResult.Ok) {
      this.failed(nowMs, "could not call cluster " + s.cluster + " (status " + started.status.toString() + ")", "none");
      return;
    }
    this.inFlight = true;
    this.callId = started.callId;
  }

  /** Reads the answer to the fetch in flight (inside on_http_call_response, on the root context). */
  readAnswer(headerCount: u32, bodySize: u32, nowMs: i64): void {
    this.inFlight = false;
    if (headerCount == 0) {
      this.failed(nowMs, "no answer (connection failure, reset or timeout)", "none");
      return;
    }
    const status = getHeader(MapType.HttpCallResponseHeaders, ":status");
    const code = status != null ? status : "none";
    if (code != "200") {
      this.failed(nowMs, "the key service answered " + code, code);
      return;
    }
    if (bodySize > MAX_ANSWER_BYTES) {
      this.failed(nowMs, "the answer is larger than " + MAX_ANSWER_BYTES.toString() + " bytes", code);
      return;
    }
    const bytes = bodySize > 0 ? getBufferBytes(BufferType.HttpCallResponseBody, 0, bodySize) : null;
    const answer = readKeyAnswer(Uint8Array.wrap(bytes != null ? bytes : new ArrayBuffer(0)));
    if (answer.error.length > 0) {
      this.failed(nowMs, "malformed answer: " + answer.error, code);
      return;
    }
    this.succeeded(answer, nowMs);
  }

  /** The keys the service gave for `host` (a provider's hosts[0]), or null when there are none now. */
  keysFor(host: string, nowMs: i64): string[] | null {
    if (!this.usable(nowMs) || !this.keys.has(host)) return null;
    return this.keys.get(host);
  }

  /** The guard key the service gave, or "" when there is none now. */
  guardKey(nowMs: i64): string {
    return this.usable(nowMs) ? this.guard : "";
  }

  /** Drops the keys if they went stale (call on ticks, so stale keys don't linger in memory). */
  expire(nowMs: i64): void {
    this.usable(nowMs);
  }

  private usable(nowMs: i64): bool {
    if (this.lastSuccessMs < 0 || this.dropped) return false;
    if (this.health != Health.Failing) return true;
    if (nowMs - this.lastSuccessMs <= <i64>this.settings.maxStaleSeconds * 1000) return true;
    this.keys = new Map<string, string[]>();
    this.guard = "";
    this.dropped = true;
    logWarn("llm-guard: key service: no successful fetch for over " + this.settings.maxStaleSeconds.toString()
      + " s (max_stale_seconds): its keys are dropped; requests that need them are refused until a fetch succeeds");
    return false;
  }

  private covers(answer: KeyAnswer): bool {
    return coversNeeds(answer, this.neededHosts, this.needsGuard);
  }

  private failed(nowMs: i64, reason: string, status: string): void {
    this.metrics.count(this.metrics.fetchFailures);
    this.settled = true;
    if (this.health == Health.Failing) {
      this.usable(nowMs);
      return;
    }
    this.health = Health.Failing;
    const kept = this.lastSuccessMs >= 0 && !this.dropped;
    logWarn("llm-guard: key service: fetching keys from " + this.settings.host + this.settings.path + " via cluster "
      + this.settings.cluster + " failed (status " + status + "): " + reason + "; "
      + (kept ? "the last keys stay in use for up to " + this.settings.maxStaleSeconds.toString() + " s after the last successful fetch"
        : "requests that need its keys are refused")
      + " (logged once until a fetch succeeds)");
    this.usable(nowMs);
  }

  private succeeded(answer: KeyAnswer, nowMs: i64): void {
    this.settled = true;
    const wasIncomplete = this.incomplete;
    this.incomplete = !this.covers(answer);
    this.retries = this.incomplete ? this.retries + 1 : 0;
    if (this.incomplete && !wasIncomplete) {
      logWarn("llm-guard: key service: its answer lacks keys this config needs (the policy changed since it read it?); asking again in "
        + this.retryMs().toString() + " ms");
    }
    this.keys = answer.keys;
    this.guard = answer.guardKey;
    this.lastSuccessMs = nowMs;
    this.dropped = false;
    if (this.health != Health.Ok) {
      const again = this.health == Health.Failing;
      this.health = Health.Ok;
      logInfo("llm-guard: key service: " + (again ? "fetching works again" : "first fetch done") + " (status 200): keys for "
        + this.keys.size.toString() + " host(s), " + answer.errors.size.toString() + " reported in error, "
        + (this.guard.length > 0 ? "a guard key" : "no guard key"));
    }
    const errors = describeErrors(answer);
    if (errors != this.reportedErrors) {
      this.reportedErrors = errors;
      if (errors.length > 0) logWarn("llm-guard: key service has no keys for: " + errors + " (requests to them are refused)");
      else logInfo("llm-guard: key service reports no errors any more");
    }
  }
}

/** Whether every needed host and the guard (when needed) has keys or a reported error in `answer`. */
function coversNeeds(answer: KeyAnswer, hosts: string[], guard: bool): bool {
  for (let i = 0; i < hosts.length; i++) {
    if (!answer.keys.has(hosts[i]) && !answer.errors.has(hosts[i])) return false;
  }
  return !guard || answer.guardKey.length > 0 || answer.guardError.length > 0;
}

function describeErrors(answer: KeyAnswer): string {
  let out = "";
  const hosts = answer.errors.keys();
  hosts.sort();
  const shown = min(hosts.length, 10);
  for (let i = 0; i < shown; i++) {
    out += (out.length > 0 ? "; " : "") + printable(hosts[i]) + " (" + answer.errors.get(hosts[i]) + ")";
  }
  if (hosts.length > shown) out += "; and " + (hosts.length - shown).toString() + " more";
  if (answer.guardError.length > 0) out += (out.length > 0 ? "; " : "") + "intelligent_guard (" + answer.guardError + ")";
  return out;
}
