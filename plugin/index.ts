// The module Envoy loads: the proxy-wasm ABI exports, with the LLM guard as the root context for
// whatever root_id the host passes (Istio gives an empty one when the WasmPlugin has no pluginName).
import { setRootContextFactory } from "./abi/registry";
import { RootContext } from "./abi/context";
import { GuardRoot } from "./filter/root";

export * from "./abi/exports";
export { llm_guard_config_error } from "./filter/config_report";

function makeRoot(id: u32): RootContext {
  return new GuardRoot(id);
}

setRootContextFactory(makeRoot);
