// One per plugin configuration (any root_id): parses the config and makes a stream per request.
import { RootContext, HttpContext } from "../abi/context";
import { BufferType } from "../abi/enums";
import { getBufferBytes, logError, logInfo } from "../abi/host";
import { GuardClient } from "../guard/guard_client";
import { parsePolicy } from "../config/parse";
import { Policy } from "../config/policy";
import { GuardMetrics } from "../guard/metrics";
import { RequestMetrics } from "./metrics";
import { GuardStream } from "./stream";
import { ConfigError, ConfigCode } from "../config/errors";
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
  policy: Policy | null = null;
  metrics: RequestMetrics | null = null;
  guardMetrics: GuardMetrics | null = null;
  guard: GuardClient | null = null;

  onConfigure(pluginConfigSize: u32): bool {
    const bytes = pluginConfigSize > 0 ? getBufferBytes(BufferType.PluginConfiguration, 0, pluginConfigSize) : null;
    if (bytes == null || bytes.byteLength == 0) {
      return refuse(new ConfigError("", ConfigCode.Empty, "pluginConfig is empty (expected a JSON object)"));
    }
    const result = parsePolicy(Uint8Array.wrap(bytes), envLookup);
    if (result.policy == null) return refuse(result.error!);
    clearConfigRefusal();
    const policy = result.policy!;
    this.policy = policy;
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
    const guardConfig = policy.guard;
    this.guard = guardConfig != null ? new GuardClient(guardConfig, this.guardMetrics!) : null;
    if (guardConfig != null) {
      logInfo("llm-guard: guard " + guardConfig.host + guardConfig.path + " via cluster " + guardConfig.cluster
        + ", timeout " + guardConfig.timeoutMs.toString() + " ms, fail_mode " + (guardConfig.failOpen ? "open" : "closed"));
    }
    return true;
  }

  createHttpContext(id: u32): HttpContext {
    return new GuardStream(id, this);
  }
}
