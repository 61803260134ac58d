// Node host that plays Envoy for the real compiled filter. See README.md in this directory.
export {
  FilterHost,
  WasmLoadError,
  defaultResponse,
  type FilterHostOptions,
  type RequestSpec,
  type LogRecord,
  type TrapRecord,
  type HttpCallRecord,
  type PropertyValue,
} from './filter_host.js';
export { HttpStream, type LocalReply, type ClientResponse, type ResponseSpec, type BodyInit } from './stream.js';
export { HeaderMap, encodePairs, decodePairs, type HeaderPair, type HeadersInit } from './header_map.js';
export { GuestMemory, toBytes, decodeUtf8 } from './memory.js';
export { SharedState } from './shared_state.js';
export { readModuleInfo, type ModuleInfo } from './wasm_module.js';
export * from './abi.js';
export { defaultWasmPath, wasmPathCandidates, WasmModuleNotFoundError, WASM_ENV } from './module_path.js';
