// env.proxy_* host functions, following proxy-wasm-cpp-host src/exports.cc and Envoy's Context.
// The host state they act on is behind the AbiHost interface (implemented by FilterHost).

import {
  BUFFER_TYPE_MAX,
  ENVOY_FOREIGN_FUNCTIONS,
  LOG_LEVEL_MAX,
  MAP_TYPE_MAX,
  STREAM_TYPE_MAX,
  WasmResult,
} from './abi.js';
import { decodePairs, encodePairs, type HeaderMap, type HeaderPair } from './header_map.js';
import type { GuestMemory } from './memory.js';
import type { SharedState } from './shared_state.js';

/** A buffer as the ABI sees it; `set` absent = immutable (BAD_ARGUMENT on write). */
export interface BufferAccess {
  bytes(): Uint8Array;
  /** Envoy Buffer::copyFrom semantics; returns a WasmResult. */
  set?(start: number, length: number, data: Uint8Array): number;
}

export interface AbiContext {
  readonly id: number;
  readonly isRoot: boolean;
  readonly isStream: boolean;
  /** The root context this context belongs to (itself for a root context). */
  rootContext(): AbiContext;
  /** null = NOT_FOUND. */
  getBuffer(type: number): BufferAccess | null;
  /** Map for reading, or null when not available in this phase. */
  getConstMap(type: number): HeaderMap | null;
  /** Map for writing, or null when not available in this phase (-> BAD_ARGUMENT). */
  getMap(type: number): HeaderMap | null;
  onHeadersModified(type: number): void;
  readonly accessLogPhase: boolean;
  /** Status reported by proxy_get_status (root context). */
  status: { code: number; message: string };
  getProperty(path: string): Uint8Array | null;
  setProperty(path: string, value: Uint8Array): number;
}

export interface AbiHost {
  mem(): GuestMemory;
  /** contextOrEffectiveContext() */
  current(): AbiContext;
  setEffectiveContext(id: number): boolean;
  log(ctx: AbiContext, level: number, message: string): void;
  logLevel(): number;
  readonly vmId: string;
  readonly shared: SharedState;
  sendLocalResponse(
    ctx: AbiContext,
    status: number,
    details: string,
    body: Uint8Array,
    headers: HeaderPair[],
    headersMalformed: boolean,
    grpcStatus: number,
  ): void;
  continueStream(ctx: AbiContext, type: number): number;
  closeStream(ctx: AbiContext, type: number): number;
  httpCall(
    root: AbiContext,
    caller: AbiContext,
    cluster: string,
    headers: HeaderPair[],
    body: Uint8Array,
    trailers: HeaderPair[],
    timeoutMs: number,
  ): { result: number; token: number };
  defineMetric(type: number, name: string): { result: number; id: number };
  incrementMetric(id: number, offset: bigint): number;
  recordMetric(id: number, value: bigint): number;
  getMetric(id: number): { result: number; value: bigint };
  setTickPeriod(ctx: AbiContext, ms: number): void;
  realtimeNs(): bigint;
  registerQueue(ctx: AbiContext, name: string): number;
  done(ctx: AbiContext): number;
  /** Records a call that returned something other than OK (for assertions). */
  noteStatus(fn: string, status: number, ctx: AbiContext): void;
  /** Records ABI misuse Envoy tolerates silently (malformed pairs, invalid header values, ...). */
  violation(fn: string, message: string): void;
}

type AnyFn = (...args: never[]) => unknown;

const IMA = WasmResult.InvalidMemoryAccess;

export function makeProxyImports(host: AbiHost): Record<string, AnyFn> {
  const mem = () => host.mem();
  const ret = (fn: string, ctx: AbiContext, status: number): number => {
    if (status !== WasmResult.Ok) host.noteStatus(fn, status, ctx);
    return status;
  };
  const str = (ptr: number, len: number) => mem().readString(ptr, len);
  const bytes = (ptr: number, len: number) => mem().read(ptr, len);

  const readPairs = (fn: string, ptr: number, len: number): { pairs: HeaderPair[]; ok: boolean; oob: boolean } => {
    const raw = bytes(ptr, len);
    if (raw === null) return { pairs: [], ok: false, oob: true };
    const { pairs, ok } = decodePairs(raw);
    // Envoy treats a zero-length buffer as "no pairs" without complaint; anything else malformed is
    // silently read as empty too, which is almost always a plugin bug: record it.
    if (!ok && len !== 0) host.violation(fn, `malformed header pairs (${len} bytes) read as empty`);
    return { pairs, ok: ok || len === 0, oob: false };
  };

  return {
    proxy_log(level: number, ptr: number, len: number): number {
      const ctx = host.current();
      if (level >>> 0 > LOG_LEVEL_MAX) return ret('proxy_log', ctx, WasmResult.BadArgument);
      const msg = str(ptr, len);
      if (msg === null) return ret('proxy_log', ctx, IMA);
      host.log(ctx, level, msg);
      return WasmResult.Ok;
    },

    proxy_get_log_level(retPtr: number): number {
      const ctx = host.current();
      if (!mem().setU32(retPtr, host.logLevel())) return ret('proxy_get_log_level', ctx, IMA);
      return WasmResult.Ok;
    },

    proxy_get_status(codePtr: number, msgPtrPtr: number, msgSizePtr: number): number {
      const ctx = host.current().rootContext();
      const st = ctx.status;
      if (!mem().setU32(codePtr, st.code)) return ret('proxy_get_status', ctx, IMA);
      if (!mem().copyToPointerSize(new TextEncoder().encode(st.message), msgPtrPtr, msgSizePtr)) {
        return ret('proxy_get_status', ctx, IMA);
      }
      return WasmResult.Ok;
    },

    proxy_set_property(keyPtr: number, keyLen: number, valPtr: number, valLen: number): number {
      const ctx = host.current();
      const key = str(keyPtr, keyLen);
      const val = bytes(valPtr, valLen);
      if (key === null || val === null) return ret('proxy_set_property', ctx, IMA);
      return ret('proxy_set_property', ctx, ctx.setProperty(key, val));
    },

    proxy_get_property(pathPtr: number, pathLen: number, retPtrPtr: number, retLenPtr: number): number {
      const ctx = host.current();
      const path = str(pathPtr, pathLen);
      if (path === null) return ret('proxy_get_property', ctx, IMA);
      const v = ctx.getProperty(path);
      if (v === null) return ret('proxy_get_property', ctx, WasmResult.NotFound);
      if (!mem().copyToPointerSize(v, retPtrPtr, retLenPtr)) return ret('proxy_get_property', ctx, IMA);
      return WasmResult.Ok;
    },

    proxy_continue_stream(type: number): number {
      const ctx = host.current();
      if (type >>> 0 > STREAM_TYPE_MAX) return ret('proxy_continue_stream', ctx, WasmResult.BadArgument);
      return ret('proxy_continue_stream', ctx, host.continueStream(ctx, type >>> 0));
    },

    proxy_close_stream(type: number): number {
      const ctx = host.current();
      if (type >>> 0 > STREAM_TYPE_MAX) return ret('proxy_close_stream', ctx, WasmResult.BadArgument);
      return ret('proxy_close_stream', ctx, host.closeStream(ctx, type >>> 0));
    },

    proxy_send_local_response(
      status: number,
      detailsPtr: number,
      detailsLen: number,
      bodyPtr: number,
      bodyLen: number,
      hdrPtr: number,
      hdrLen: number,
      grpcStatus: number,
    ): number {
      const ctx = host.current();
      const details = str(detailsPtr, detailsLen);
      const body = bytes(bodyPtr, bodyLen);
      const rawHeaders = bytes(hdrPtr, hdrLen);
      if (details === null || body === null || rawHeaders === null) {
        return ret('proxy_send_local_response', ctx, IMA);
      }
      const { pairs, ok } = readPairs('proxy_send_local_response', hdrPtr, hdrLen);
      host.sendLocalResponse(ctx, status >>> 0, details, body, pairs, !ok, grpcStatus);
      return WasmResult.Ok;
    },

    proxy_set_effective_context(id: number): number {
      const ctx = host.current();
      if (!host.setEffectiveContext(id >>> 0)) return ret('proxy_set_effective_context', ctx, WasmResult.BadArgument);
      return WasmResult.Ok;
    },

    proxy_done(): number {
      const ctx = host.current();
      return ret('proxy_done', ctx, host.done(ctx));
    },

    proxy_call_foreign_function(
      namePtr: number,
      nameLen: number,
      argPtr: number,
      argLen: number,
      _retPtrPtr: number,
      _retLenPtr: number,
    ): number {
      const ctx = host.current();
      const name = str(namePtr, nameLen);
      if (name === null) return ret('proxy_call_foreign_function', ctx, IMA);
      if (bytes(argPtr, argLen) === null) return ret('proxy_call_foreign_function', ctx, IMA);
      // Envoy registers a few foreign functions; the harness emulates none of them.
      const status = ENVOY_FOREIGN_FUNCTIONS.has(name) ? WasmResult.Unimplemented : WasmResult.NotFound;
      return ret('proxy_call_foreign_function', ctx, status);
    },

    // ---- shared data and queues
    proxy_get_shared_data(keyPtr: number, keyLen: number, valPtrPtr: number, valLenPtr: number, casPtr: number): number {
      const ctx = host.current();
      const key = str(keyPtr, keyLen);
      if (key === null) return ret('proxy_get_shared_data', ctx, IMA);
      const v = host.shared.getData(host.vmId, key);
      if (!v) return ret('proxy_get_shared_data', ctx, WasmResult.NotFound);
      if (!mem().copyToPointerSize(v.value, valPtrPtr, valLenPtr)) return ret('proxy_get_shared_data', ctx, IMA);
      if (!mem().setU32(casPtr, v.cas)) return ret('proxy_get_shared_data', ctx, IMA);
      return WasmResult.Ok;
    },

    proxy_set_shared_data(keyPtr: number, keyLen: number, valPtr: number, valLen: number, cas: number): number {
      const ctx = host.current();
      const key = str(keyPtr, keyLen);
      const val = bytes(valPtr, valLen);
      if (key === null || val === null) return ret('proxy_set_shared_data', ctx, IMA);
      return ret('proxy_set_shared_data', ctx, host.shared.setData(host.vmId, key, val, cas >>> 0));
    },

    proxy_register_shared_queue(namePtr: number, nameLen: number, tokenPtr: number): number {
      const ctx = host.current();
      const name = str(namePtr, nameLen);
      if (name === null) return ret('proxy_register_shared_queue', ctx, IMA);
      const token = host.registerQueue(ctx, name);
      if (!mem().setU32(tokenPtr, token)) return ret('proxy_register_shared_queue', ctx, IMA);
      return WasmResult.Ok;
    },

    proxy_resolve_shared_queue(vmIdPtr: number, vmIdLen: number, namePtr: number, nameLen: number, tokenPtr: number): number {
      const ctx = host.current();
      const vmId = str(vmIdPtr, vmIdLen);
      const name = str(namePtr, nameLen);
      if (vmId === null || name === null) return ret('proxy_resolve_shared_queue', ctx, IMA);
      const token = host.shared.resolveQueue(vmId === '' ? host.vmId : vmId, name);
      if (token === 0) return ret('proxy_resolve_shared_queue', ctx, WasmResult.NotFound);
      if (!mem().setU32(tokenPtr, token)) return ret('proxy_resolve_shared_queue', ctx, IMA);
      return WasmResult.Ok;
    },

    proxy_dequeue_shared_queue(token: number, dataPtrPtr: number, dataLenPtr: number): number {
      const ctx = host.current();
      const r = host.shared.dequeue(token >>> 0);
      if (r.result !== WasmResult.Ok || !r.value) return ret('proxy_dequeue_shared_queue', ctx, r.result);
      if (!mem().copyToPointerSize(r.value, dataPtrPtr, dataLenPtr)) return ret('proxy_dequeue_shared_queue', ctx, IMA);
      return WasmResult.Ok;
    },

    proxy_enqueue_shared_queue(token: number, dataPtr: number, dataLen: number): number {
      const ctx = host.current();
      const data = bytes(dataPtr, dataLen);
      if (data === null) return ret('proxy_enqueue_shared_queue', ctx, IMA);
      return ret('proxy_enqueue_shared_queue', ctx, host.shared.enqueue(token >>> 0, data));
    },

    // ---- header maps
    proxy_get_header_map_value(type: number, keyPtr: number, keyLen: number, valPtrPtr: number, valLenPtr: number): number {
      const ctx = host.current();
      if (type >>> 0 > MAP_TYPE_MAX) return ret('proxy_get_header_map_value', ctx, WasmResult.BadArgument);
      const key = str(keyPtr, keyLen);
      if (key === null) return ret('proxy_get_header_map_value', ctx, IMA);
      const map = ctx.getConstMap(type >>> 0);
      if (!map) {
        return ret('proxy_get_header_map_value', ctx, ctx.accessLogPhase ? WasmResult.NotFound : WasmResult.BadArgument);
      }
      const v = map.get(key);
      if (v === undefined) return ret('proxy_get_header_map_value', ctx, WasmResult.NotFound);
      if (!mem().copyToPointerSize(new TextEncoder().encode(v), valPtrPtr, valLenPtr)) {
        return ret('proxy_get_header_map_value', ctx, IMA);
      }
      return WasmResult.Ok;
    },

    proxy_add_header_map_value(type: number, keyPtr: number, keyLen: number, valPtr: number, valLen: number): number {
      if (type >>> 0 > MAP_TYPE_MAX) return ret('proxy_add_header_map_value', host.current(), WasmResult.BadArgument);
      const ctx = host.current();
      const key = str(keyPtr, keyLen);
      const val = str(valPtr, valLen);
      if (key === null || val === null) return ret('proxy_add_header_map_value', ctx, IMA);
      const map = ctx.getMap(type >>> 0);
      if (!map) return ret('proxy_add_header_map_value', ctx, WasmResult.BadArgument);
      checkHeader(host, 'proxy_add_header_map_value', key, val);
      map.add(key, val);
      ctx.onHeadersModified(type >>> 0);
      return WasmResult.Ok;
    },

    proxy_replace_header_map_value(type: number, keyPtr: number, keyLen: number, valPtr: number, valLen: number): number {
      if (type >>> 0 > MAP_TYPE_MAX) return ret('proxy_replace_header_map_value', host.current(), WasmResult.BadArgument);
      const ctx = host.current();
      const key = str(keyPtr, keyLen);
      const val = str(valPtr, valLen);
      if (key === null || val === null) return ret('proxy_replace_header_map_value', ctx, IMA);
      const map = ctx.getMap(type >>> 0);
      if (!map) return ret('proxy_replace_header_map_value', ctx, WasmResult.BadArgument);
      checkHeader(host, 'proxy_replace_header_map_value', key, val);
      map.set(key, val);
      ctx.onHeadersModified(type >>> 0);
      return WasmResult.Ok;
    },

    proxy_remove_header_map_value(type: number, keyPtr: number, keyLen: number): number {
      if (type >>> 0 > MAP_TYPE_MAX) return ret('proxy_remove_header_map_value', host.current(), WasmResult.BadArgument);
      const ctx = host.current();
      const key = str(keyPtr, keyLen);
      if (key === null) return ret('proxy_remove_header_map_value', ctx, IMA);
      const map = ctx.getMap(type >>> 0);
      if (!map) return ret('proxy_remove_header_map_value', ctx, WasmResult.BadArgument);
      map.remove(key);
      ctx.onHeadersModified(type >>> 0);
      return WasmResult.Ok;
    },

    proxy_get_header_map_pairs(type: number, retPtrPtr: number, retLenPtr: number): number {
      if (type >>> 0 > MAP_TYPE_MAX) return ret('proxy_get_header_map_pairs', host.current(), WasmResult.BadArgument);
      const ctx = host.current();
      // Envoy: a map that isn't available reads as no pairs, and no pairs are returned as (0, 0),
      // not as a 4-byte "count = 0" buffer.
      const pairs = ctx.getConstMap(type >>> 0)?.pairs() ?? [];
      const data = pairs.length === 0 ? new Uint8Array(0) : encodePairs(pairs);
      if (!mem().copyToPointerSize(data, retPtrPtr, retLenPtr)) return ret('proxy_get_header_map_pairs', ctx, IMA);
      return WasmResult.Ok;
    },

    proxy_set_header_map_pairs(type: number, ptr: number, len: number): number {
      if (type >>> 0 > MAP_TYPE_MAX) return ret('proxy_set_header_map_pairs', host.current(), WasmResult.BadArgument);
      const ctx = host.current();
      const r = readPairs('proxy_set_header_map_pairs', ptr, len);
      if (r.oob) return ret('proxy_set_header_map_pairs', ctx, IMA);
      const map = ctx.getMap(type >>> 0);
      if (!map) return ret('proxy_set_header_map_pairs', ctx, WasmResult.BadArgument);
      map.clear();
      for (const [k, v] of r.pairs) {
        checkHeader(host, 'proxy_set_header_map_pairs', k, v);
        map.add(k, v);
      }
      ctx.onHeadersModified(type >>> 0);
      return WasmResult.Ok;
    },

    proxy_get_header_map_size(type: number, retPtr: number): number {
      if (type >>> 0 > MAP_TYPE_MAX) return ret('proxy_get_header_map_size', host.current(), WasmResult.BadArgument);
      const ctx = host.current();
      const map = ctx.getMap(type >>> 0);
      if (!map) return ret('proxy_get_header_map_size', ctx, WasmResult.BadArgument);
      if (!mem().setU32(retPtr, map.byteSize())) return ret('proxy_get_header_map_size', ctx, IMA);
      return WasmResult.Ok;
    },

    // ---- buffers
    proxy_get_buffer_status(type: number, lenPtr: number, flagsPtr: number): number {
      const ctx = host.current();
      if (type >>> 0 > BUFFER_TYPE_MAX) return ret('proxy_get_buffer_status', ctx, WasmResult.BadArgument);
      const b = ctx.getBuffer(type >>> 0);
      if (!b) return ret('proxy_get_buffer_status', ctx, WasmResult.NotFound);
      if (!mem().setU32(lenPtr, b.bytes().length)) return ret('proxy_get_buffer_status', ctx, IMA);
      if (!mem().setU32(flagsPtr, 0)) return ret('proxy_get_buffer_status', ctx, IMA);
      return WasmResult.Ok;
    },

    proxy_get_buffer_bytes(type: number, start: number, length: number, retPtrPtr: number, retLenPtr: number): number {
      const ctx = host.current();
      if (type >>> 0 > BUFFER_TYPE_MAX) return ret('proxy_get_buffer_bytes', ctx, WasmResult.BadArgument);
      const b = ctx.getBuffer(type >>> 0);
      if (!b) return ret('proxy_get_buffer_bytes', ctx, WasmResult.NotFound);
      start >>>= 0;
      length >>>= 0;
      // cpp-host computes start + length in 64 bits: no overflow with u32 inputs.
      const data = b.bytes();
      if (start > data.length) length = 0;
      else if (start + length > data.length) length = data.length - start;
      if (length === 0) {
        if (!mem().setU32(retPtrPtr, 0) || !mem().setU32(retLenPtr, 0)) return ret('proxy_get_buffer_bytes', ctx, IMA);
        return WasmResult.Ok;
      }
      if (!mem().copyToPointerSize(data.subarray(start, start + length), retPtrPtr, retLenPtr)) {
        return ret('proxy_get_buffer_bytes', ctx, IMA);
      }
      return WasmResult.Ok;
    },

    proxy_set_buffer_bytes(type: number, start: number, length: number, dataPtr: number, dataLen: number): number {
      const ctx = host.current();
      if (type >>> 0 > BUFFER_TYPE_MAX) return ret('proxy_set_buffer_bytes', ctx, WasmResult.BadArgument);
      const b = ctx.getBuffer(type >>> 0);
      if (!b) return ret('proxy_set_buffer_bytes', ctx, WasmResult.NotFound);
      const data = bytes(dataPtr, dataLen);
      if (data === null) return ret('proxy_set_buffer_bytes', ctx, IMA);
      if (!b.set) return ret('proxy_set_buffer_bytes', ctx, WasmResult.BadArgument);
      return ret('proxy_set_buffer_bytes', ctx, b.set(start >>> 0, length >>> 0, data));
    },

    // ---- HTTP / gRPC callouts
    proxy_http_call(
      uriPtr: number,
      uriLen: number,
      hdrPtr: number,
      hdrLen: number,
      bodyPtr: number,
      bodyLen: number,
      trlPtr: number,
      trlLen: number,
      timeoutMs: number,
      tokenPtr: number,
    ): number {
      const caller = host.current();
      const root = caller.rootContext();
      const uri = str(uriPtr, uriLen);
      const body = bytes(bodyPtr, bodyLen);
      const hdr = readPairs('proxy_http_call', hdrPtr, hdrLen);
      const trl = readPairs('proxy_http_call', trlPtr, trlLen);
      if (uri === null || body === null || hdr.oob || trl.oob) return ret('proxy_http_call', caller, IMA);
      if (!mem().setU32(tokenPtr, 0)) return ret('proxy_http_call', caller, IMA);
      const r = host.httpCall(root, caller, uri, hdr.pairs, body, trl.pairs, timeoutMs | 0);
      mem().setU32(tokenPtr, r.token);
      return ret('proxy_http_call', caller, r.result);
    },

    proxy_grpc_call(): number {
      return ret('proxy_grpc_call', host.current(), WasmResult.Unimplemented);
    },
    proxy_grpc_stream(): number {
      return ret('proxy_grpc_stream', host.current(), WasmResult.Unimplemented);
    },
    proxy_grpc_close(): number {
      return ret('proxy_grpc_close', host.current(), WasmResult.NotFound);
    },
    proxy_grpc_cancel(): number {
      return ret('proxy_grpc_cancel', host.current(), WasmResult.NotFound);
    },
    proxy_grpc_send(): number {
      return ret('proxy_grpc_send', host.current(), WasmResult.BadArgument);
    },

    // ---- timers, clock, metrics
    proxy_set_tick_period_milliseconds(ms: number): number {
      host.setTickPeriod(host.current(), ms >>> 0);
      return WasmResult.Ok;
    },

    proxy_get_current_time_nanoseconds(retPtr: number): number {
      const ctx = host.current();
      if (!mem().setU64(retPtr, host.realtimeNs())) return ret('proxy_get_current_time_nanoseconds', ctx, IMA);
      return WasmResult.Ok;
    },

    proxy_define_metric(type: number, namePtr: number, nameLen: number, idPtr: number): number {
      const ctx = host.current();
      const name = str(namePtr, nameLen);
      if (name === null) return ret('proxy_define_metric', ctx, IMA);
      const r = host.defineMetric(type >>> 0, name);
      if (r.result !== WasmResult.Ok) return ret('proxy_define_metric', ctx, r.result);
      if (!mem().setU32(idPtr, r.id)) return ret('proxy_define_metric', ctx, IMA);
      return WasmResult.Ok;
    },

    proxy_increment_metric(id: number, offset: bigint): number {
      return ret('proxy_increment_metric', host.current(), host.incrementMetric(id >>> 0, offset));
    },

    proxy_record_metric(id: number, value: bigint): number {
      return ret('proxy_record_metric', host.current(), host.recordMetric(id >>> 0, BigInt.asUintN(64, value)));
    },

    proxy_get_metric(id: number, retPtr: number): number {
      const ctx = host.current();
      const r = host.getMetric(id >>> 0);
      if (r.result !== WasmResult.Ok) return ret('proxy_get_metric', ctx, r.result);
      if (!mem().setU64(retPtr, r.value)) return ret('proxy_get_metric', ctx, IMA);
      return WasmResult.Ok;
    },

    // emscripten helpers cpp-host registers unconditionally
    pthread_equal(a: number, b: number): number {
      return a === b ? 1 : 0;
    },
    emscripten_notify_memory_growth(_idx: number): void {},
  };
}

function checkHeader(host: AbiHost, fn: string, key: string, value: string): void {
  if (/[\r\n\0]/.test(value)) host.violation(fn, `header ${JSON.stringify(key)} has a value with CR/LF/NUL`);
  if (key.length === 0 || /[\s\0]/.test(key)) host.violation(fn, `invalid header name ${JSON.stringify(key)}`);
}
