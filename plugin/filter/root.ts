// One per plugin configuration (any root_id): parses the config and makes a stream per request.
import { RootContext, HttpContext } from "../abi/context";
import { BufferType } from "../abi/enums";
import { getBufferBytes, logError, logInfo } from "../abi/host";
import { GuardClient } from "../guard/guard_client";
import { GuardMetrics } from "../guard/metrics";
import { parsePolicy } from "../config/parse";
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

export class GuardRoot extends RootContext {
  /** The last accepted configuration; a refused one leaves it in place. */
  private configured: Configured | null = null;
  private metrics: RequestMetrics | null = null;
  private guardMetrics: GuardMetrics | null = null;

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
    }
    let hostCount = 0;
    for (let i = 0; i < policy.providers.length; i++) hostCount += policy.providers[i].hosts.length;
    logInfo("llm-guard: configured: " + policy.providers.length.toString() + " provider(s), " + hostCount.toString()
      + " host(s), " + (policy.deny != null ? policy.deny!.size : 0).toString() + " deny and "
      + (policy.allow != null ? policy.allow!.size : 0).toString() + " allow pattern(s)");
    const settings = policy.guard;
    const guard = settings != null ? new GuardClient(settings, this.guardMetrics!) : null;
    this.configured = new Configured(policy, this.metrics!, this.guardMetrics!, guard);
    if (settings != null) {
      logInfo("llm-guard: guard " + settings.host + settings.path + " via cluster " + settings.cluster
        + ", timeout " + settings.timeoutMs.toString() + " ms, fail_mode " + (settings.failOpen ? "open" : "closed"));
    }
    return true;
  }

  /** Before any configuration is accepted, requests pass untouched. */
  createHttpContext(id: u32): HttpContext {
    const configured = this.configured;
    return configured != null ? new GuardStream(id, this, configured) : new HttpContext(id, this);
  }
}
