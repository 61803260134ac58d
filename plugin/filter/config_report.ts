// The last configuration this VM refused, as JSON a host can read without parsing log text:
// {"path":"deny_patterns[2]","code":"invalid_pattern","message":"..."}. Envoy only logs the refusal;
// in-process hosts (llmguard validate and test, the operator's check) call the exported
// llm_guard_config_error() after proxy_on_configure returned false and read the NUL-terminated
// UTF-8 text at the address it returns (0 when the last configuration was accepted).
import { jsonString } from "../json/encode";
import { ConfigError } from "../config/errors";

let lastRefusal: ArrayBuffer | null = null;

export function recordConfigRefusal(e: ConfigError): void {
  const json = "{\"path\":" + jsonString(e.path) + ",\"code\":" + jsonString(e.code) + ",\"message\":" + jsonString(e.message) + "}";
  lastRefusal = String.UTF8.encode(json, true);
}

export function clearConfigRefusal(): void {
  lastRefusal = null;
}

export function llm_guard_config_error(): usize {
  const r = lastRefusal;
  return r == null ? 0 : changetype<usize>(r);
}
