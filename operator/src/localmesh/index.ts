// The local-mesh kit in one import, for scripts that run the compiled kit under plain Node
// (demo/, bench/): `import { startEnvoy, ... } from '../build/operator/localmesh/index.js'`.
// Tests and the CLI import the modules themselves.
export * from './bootstrap.js';
export * from './envoy.js';
export * from './guard_answers.js';
export * from './http_client.js';
export * from './mock_guard.js';
export * from './mock_key_service.js';
export * from './mock_provider.js';
export * from './ports.js';
export * from './sidecar_bootstrap.js';
export * from './sidecar_fetch.js';
export * from './streams/index.js';
export * from './streams/sse_parse.js';
export * from './tls.js';
export { defaultWasmPath, WasmModuleNotFoundError } from '../wasm/module_path.js';
