// Proxy-Wasm ABI 0.2.1 constants and the signature tables Envoy (proxy-wasm-cpp-host) links against.
// Sources: ../shared/notes/proxy-wasm-facts.md (beside this repository), proxy-wasm-cpp-host include/proxy-wasm/exports.h,
// src/wasm.cc (registerCallbacks/getFunctions/startVm) and Envoy source/extensions/common/wasm/context.cc.

export const WasmResult = {
  Ok: 0,
  NotFound: 1,
  BadArgument: 2,
  SerializationFailure: 3,
  ParseFailure: 4,
  BadExpression: 5,
  InvalidMemoryAccess: 6,
  Empty: 7,
  CasMismatch: 8,
  ResultMismatch: 9,
  InternalFailure: 10,
  BrokenConnection: 11,
  Unimplemented: 12,
} as const;
export type WasmResultCode = (typeof WasmResult)[keyof typeof WasmResult];

export const WasmResultName: Record<number, string> = Object.fromEntries(
  Object.entries(WasmResult).map(([k, v]) => [v, k]),
);

export const LogLevel = { trace: 0, debug: 1, info: 2, warn: 3, error: 4, critical: 5 } as const;
export const LOG_LEVEL_MAX = 5;

export const BufferType = {
  HttpRequestBody: 0,
  HttpResponseBody: 1,
  NetworkDownstreamData: 2,
  NetworkUpstreamData: 3,
  HttpCallResponseBody: 4,
  GrpcReceiveBuffer: 5,
  VmConfiguration: 6,
  PluginConfiguration: 7,
  CallData: 8,
} as const;
export const BUFFER_TYPE_MAX = 8;

export const MapType = {
  RequestHeaders: 0,
  RequestTrailers: 1,
  ResponseHeaders: 2,
  ResponseTrailers: 3,
  GrpcReceiveInitialMetadata: 4,
  GrpcReceiveTrailingMetadata: 5,
  HttpCallResponseHeaders: 6,
  HttpCallResponseTrailers: 7,
} as const;
export const MAP_TYPE_MAX = 7;

export const StreamType = { Request: 0, Response: 1, Downstream: 2, Upstream: 3 } as const;
export const STREAM_TYPE_MAX = 3;

export const MetricType = { Counter: 0, Gauge: 1, Histogram: 2 } as const;

/** Values a headers callback may return (proxy-wasm FilterHeadersStatus). */
export const HeadersAction = {
  Continue: 0,
  StopIteration: 1,
  ContinueAndEndStream: 2,
  StopAllIterationAndBuffer: 3,
  StopAllIterationAndWatermark: 4,
} as const;

/** Values a body callback may return (proxy-wasm FilterDataStatus). */
export const DataAction = {
  Continue: 0,
  StopIterationAndBuffer: 1,
  StopIterationAndWatermark: 2,
  StopIterationNoBuffer: 3,
} as const;

// Wasm signatures as "params:results", i = i32, I = i64.
export type Sig = string;

/** env.* host functions Envoy registers for ABI 0.2.1 (FOR_ALL_HOST_FUNCTIONS + ABI specific ones). */
export const ENV_HOST_FUNCTIONS: Record<string, Sig> = {
  proxy_log: 'iii:i',
  proxy_get_status: 'iii:i',
  proxy_set_property: 'iiii:i',
  proxy_get_property: 'iiii:i',
  proxy_send_local_response: 'iiiiiiii:i',
  proxy_get_shared_data: 'iiiii:i',
  proxy_set_shared_data: 'iiiii:i',
  proxy_register_shared_queue: 'iii:i',
  proxy_resolve_shared_queue: 'iiiii:i',
  proxy_dequeue_shared_queue: 'iii:i',
  proxy_enqueue_shared_queue: 'iii:i',
  proxy_get_header_map_value: 'iiiii:i',
  proxy_add_header_map_value: 'iiiii:i',
  proxy_replace_header_map_value: 'iiiii:i',
  proxy_remove_header_map_value: 'iii:i',
  proxy_get_header_map_pairs: 'iii:i',
  proxy_set_header_map_pairs: 'iii:i',
  proxy_get_header_map_size: 'ii:i',
  proxy_get_buffer_status: 'iii:i',
  proxy_get_buffer_bytes: 'iiiii:i',
  proxy_set_buffer_bytes: 'iiiii:i',
  proxy_http_call: 'iiiiiiiiii:i',
  proxy_grpc_call: 'iiiiiiiiiiii:i',
  proxy_grpc_stream: 'iiiiiiiii:i',
  proxy_grpc_close: 'i:i',
  proxy_grpc_cancel: 'i:i',
  proxy_grpc_send: 'iiii:i',
  proxy_set_tick_period_milliseconds: 'i:i',
  proxy_get_current_time_nanoseconds: 'i:i',
  proxy_define_metric: 'iiii:i',
  proxy_increment_metric: 'iI:i',
  proxy_record_metric: 'iI:i',
  proxy_get_metric: 'ii:i',
  proxy_set_effective_context: 'i:i',
  proxy_done: ':i',
  proxy_call_foreign_function: 'iiiiii:i',
  // ABI 0.2.x specific
  proxy_continue_stream: 'i:i',
  proxy_close_stream: 'i:i',
  // ABI 0.2.1 only
  proxy_get_log_level: 'i:i',
  // emscripten helpers cpp-host always registers
  pthread_equal: 'ii:i',
  emscripten_notify_memory_growth: 'i:',
};

/** Only registered for ABI 0.1.0: importing them from a 0.2.1 module is a missing import in Envoy. */
export const ENV_ABI_010_ONLY = ['proxy_get_configuration', 'proxy_continue_request', 'proxy_continue_response', 'proxy_clear_route_cache'];

/** WASI functions cpp-host registers under wasi_snapshot_preview1 and wasi_unstable (FOR_ALL_WASI_FUNCTIONS). */
export const WASI_FUNCTIONS: Record<string, Sig> = {
  fd_write: 'iiii:i',
  fd_read: 'iiii:i',
  fd_seek: 'iIii:i',
  fd_close: 'i:i',
  fd_fdstat_get: 'ii:i',
  fd_fdstat_set_flags: 'ii:i',
  fd_fdstat_set_rights: 'iII:i',
  environ_get: 'ii:i',
  environ_sizes_get: 'ii:i',
  args_get: 'ii:i',
  args_sizes_get: 'ii:i',
  clock_time_get: 'iIi:i',
  clock_res_get: 'ii:i',
  fd_advise: 'iIIi:i',
  fd_allocate: 'iII:i',
  fd_datasync: 'i:i',
  fd_filestat_set_size: 'iI:i',
  fd_filestat_set_times: 'iIIi:i',
  fd_pread: 'iiiIi:i',
  fd_pwrite: 'iiiIi:i',
  fd_readdir: 'iiiIi:i',
  fd_renumber: 'ii:i',
  fd_sync: 'i:i',
  fd_tell: 'ii:i',
  path_create_directory: 'iii:i',
  path_filestat_set_times: 'iiiiIIi:i',
  // cpp-host declares these with fewer parameters than WASI preview1; Envoy checks the signature.
  path_link: 'iiiiii:i',
  path_readlink: 'iiiiii:i',
  path_remove_directory: 'iii:i',
  path_rename: 'iiiiii:i',
  path_symlink: 'iiii:i',
  path_unlink_file: 'iii:i',
  sock_accept: 'iii:i',
  sock_recv: 'iiiiii:i',
  sock_send: 'iiiii:i',
  sock_shutdown: 'ii:i',
  random_get: 'ii:i',
  sched_yield: ':i',
  poll_oneoff: 'iiii:i',
  proc_exit: 'i:',
  path_open: 'iiiiiIIii:i',
  fd_prestat_get: 'ii:i',
  fd_prestat_dir_name: 'iii:i',
  path_filestat_get: 'iiiii:i',
  fd_filestat_get: 'ii:i',
};

export const WASI_MODULES = ['wasi_snapshot_preview1', 'wasi_unstable'];

/** Host functions the module may call while `_initialize` runs (cpp-host WasmBase::startVm). Others trap. */
export const ALLOWED_DURING_START = new Set<string>([
  'env.emscripten_notify_memory_growth',
  'env.proxy_log',
  ...[
    'fd_write', 'args_sizes_get', 'args_get', 'environ_sizes_get', 'environ_get', 'clock_time_get',
    'clock_res_get', 'random_get', 'poll_oneoff', 'fd_fdstat_get', 'fd_fdstat_set_flags', 'fd_advise',
    'fd_allocate', 'fd_datasync', 'fd_fdstat_set_rights', 'fd_filestat_get', 'fd_filestat_set_size',
    'fd_filestat_set_times', 'fd_pread', 'fd_prestat_dir_name', 'fd_prestat_get', 'fd_pwrite',
    'fd_readdir', 'fd_renumber', 'fd_sync', 'fd_tell', 'path_create_directory', 'path_filestat_get',
    'path_filestat_set_times', 'path_link', 'path_readlink', 'path_remove_directory', 'path_rename',
    'path_symlink', 'path_unlink_file', 'sock_accept', 'sock_recv', 'sock_send', 'sock_shutdown',
  ].flatMap((f) => WASI_MODULES.map((m) => `${m}.${f}`)),
]);

/** Host functions the allocator may call while the host copies data into the VM (WasmBase::allocMemory). */
export const ALLOWED_DURING_MALLOC = new Set<string>([
  'env.proxy_log',
  ...['fd_write', 'clock_time_get', 'poll_oneoff'].flatMap((f) => WASI_MODULES.map((m) => `${m}.${f}`)),
]);

/** Module exports cpp-host looks up, with the signature it requires ("Bad function signature" otherwise). */
export const EXPORT_SIGNATURES: Record<string, Sig> = {
  _initialize: ':',
  _start: ':',
  main: 'ii:i',
  __main_void: ':i',
  malloc: 'i:i',
  proxy_on_memory_allocate: 'i:i',
  proxy_validate_configuration: 'ii:i',
  proxy_on_vm_start: 'ii:i',
  proxy_on_configure: 'ii:i',
  proxy_on_tick: 'i:',
  proxy_on_context_create: 'ii:',
  proxy_on_new_connection: 'i:i',
  proxy_on_downstream_data: 'iii:i',
  proxy_on_upstream_data: 'iii:i',
  proxy_on_downstream_connection_close: 'ii:',
  proxy_on_upstream_connection_close: 'ii:',
  proxy_on_request_headers: 'iii:i',
  proxy_on_request_body: 'iii:i',
  proxy_on_request_trailers: 'ii:i',
  proxy_on_request_metadata: 'ii:i',
  proxy_on_response_headers: 'iii:i',
  proxy_on_response_body: 'iii:i',
  proxy_on_response_trailers: 'ii:i',
  proxy_on_response_metadata: 'ii:i',
  proxy_on_http_call_response: 'iiiii:',
  proxy_on_grpc_receive: 'iii:',
  proxy_on_grpc_close: 'iii:',
  proxy_on_grpc_receive_initial_metadata: 'iii:',
  proxy_on_grpc_receive_trailing_metadata: 'iii:',
  proxy_on_queue_ready: 'ii:',
  proxy_on_foreign_function: 'iii:',
  proxy_on_done: 'i:i',
  proxy_on_log: 'i:',
  proxy_on_delete: 'i:',
};

/** Foreign functions Envoy registers; the harness does not emulate them (UNIMPLEMENTED), others are NOT_FOUND. */
export const ENVOY_FOREIGN_FUNCTIONS = new Set([
  'compress', 'uncompress', 'declare_property', 'set_envoy_filter_state', 'clear_route_cache',
  'expr_create', 'expr_evaluate', 'expr_delete', 'verify_signature', 'sign',
]);

export const ABI_VERSION_EXPORTS = ['proxy_abi_version_0_2_1', 'proxy_abi_version_0_2_0', 'proxy_abi_version_0_1_0'];

/** Envoy's response code details for its own replies. */
export const Details = {
  failStream: 'wasm_fail_stream',
  closeStream: 'wasm_close_stream',
  payloadTooLarge: 'request_payload_too_large',
} as const;
