// Typed wrappers over the raw host calls. Each returns a value or a status; none can trap on host data.
import * as raw from "./imports";
import { WasmResult, LogLevel, StreamType } from "./enums";
import { retPtrSlot, retLenSlot, takeReturnedBytes, clearReturnSlots } from "./returned_bytes";
import { HeaderPair, encodeHeaderMap, decodeHeaderMap } from "./header_map";

export { HeaderPair } from "./header_map";

function utf8(s: string): ArrayBuffer {
  return String.UTF8.encode(s);
}

// ---- logging -------------------------------------------------------------------------------

export function log(level: u32, message: string): void {
  const bytes = utf8(message);
  raw.proxy_log(level, changetype<usize>(bytes), bytes.byteLength);
}
export function logDebug(message: string): void { log(LogLevel.Debug, message); }
export function logInfo(message: string): void { log(LogLevel.Info, message); }
export function logWarn(message: string): void { log(LogLevel.Warn, message); }
export function logError(message: string): void { log(LogLevel.Error, message); }

const levelSlot = memory.data(4);
/** The host's current log level, so costly debug messages can be skipped. */
export function hostLogLevel(): u32 {
  if (raw.proxy_get_log_level(levelSlot) != WasmResult.Ok) return LogLevel.Info;
  return load<u32>(levelSlot);
}

// ---- buffers -------------------------------------------------------------------------------

/** Reads `size` bytes from the start of a host buffer; null if the host has none. */
export function getBufferBytes(bufferType: u32, start: u32, size: u32): ArrayBuffer | null {
  clearReturnSlots();
  const status = raw.proxy_get_buffer_bytes(bufferType, start, size, retPtrSlot(), retLenSlot());
  if (status != WasmResult.Ok) return null;
  return takeReturnedBytes();
}

/** Replaces the whole buffer (Envoy only accepts start 0 and size = current length). */
export function replaceBuffer(bufferType: u32, currentSize: u32, data: ArrayBuffer): u32 {
  return raw.proxy_set_buffer_bytes(bufferType, 0, currentSize, changetype<usize>(data), data.byteLength);
}

// ---- header maps ---------------------------------------------------------------------------

export function getHeaderPairs(mapType: u32): HeaderPair[] {
  clearReturnSlots();
  if (raw.proxy_get_header_map_pairs(mapType, retPtrSlot(), retLenSlot()) != WasmResult.Ok) return [];
  return decodeHeaderMap(takeReturnedBytes());
}

/** The first value of a header, or null when absent. */
export function getHeader(mapType: u32, name: string): string | null {
  const key = utf8(name);
  clearReturnSlots();
  const status = raw.proxy_get_header_map_value(mapType, changetype<usize>(key), key.byteLength, retPtrSlot(), retLenSlot());
  if (status != WasmResult.Ok) return null;
  return String.UTF8.decode(takeReturnedBytes());
}

export function addHeader(mapType: u32, name: string, value: string): u32 {
  const k = utf8(name);
  const v = utf8(value);
  return raw.proxy_add_header_map_value(mapType, changetype<usize>(k), k.byteLength, changetype<usize>(v), v.byteLength);
}

export function replaceHeader(mapType: u32, name: string, value: string): u32 {
  const k = utf8(name);
  const v = utf8(value);
  return raw.proxy_replace_header_map_value(mapType, changetype<usize>(k), k.byteLength, changetype<usize>(v), v.byteLength);
}

export function removeHeader(mapType: u32, name: string): u32 {
  const k = utf8(name);
  return raw.proxy_remove_header_map_value(mapType, changetype<usize>(k), k.byteLength);
}

// ---- stream control ------------------------------------------------------------------------

export function continueRequest(): u32 {
  return raw.proxy_continue_stream(StreamType.Request);
}

/** Sends a reply from the proxy; Envoy stops the stream and sends it once the callback returns. */
export function sendLocalResponse(status: u32, details: string, body: string, headers: HeaderPair[]): u32 {
  const d = utf8(details);
  const b = utf8(body);
  const h = encodeHeaderMap(headers);
  return raw.proxy_send_local_response(status, changetype<usize>(d), d.byteLength, changetype<usize>(b), b.byteLength,
    changetype<usize>(h), h.byteLength, -1);
}

export function setEffectiveContext(contextId: u32): u32 {
  return raw.proxy_set_effective_context(contextId);
}

// ---- outgoing HTTP calls -------------------------------------------------------------------

const callIdSlot = memory.data(4);

export class HttpCallStart {
  constructor(public status: u32, public callId: u32) {}
}

/** Starts a call to an Envoy cluster; headers must carry :method, :path and :authority. */
export function httpCall(cluster: string, headers: HeaderPair[], body: ArrayBuffer, timeoutMs: u32): HttpCallStart {
  const c = utf8(cluster);
  const h = encodeHeaderMap(headers);
  const t = encodeHeaderMap([]);
  store<u32>(callIdSlot, 0);
  const status = raw.proxy_http_call(changetype<usize>(c), c.byteLength, changetype<usize>(h), h.byteLength,
    changetype<usize>(body), body.byteLength, changetype<usize>(t), t.byteLength, timeoutMs, callIdSlot);
  return new HttpCallStart(status, load<u32>(callIdSlot));
}

// ---- properties ----------------------------------------------------------------------------

/** A property by its path segments (joined with NUL for the host); null if absent. */
export function getProperty(path: string[]): ArrayBuffer | null {
  const joined = utf8(path.join("\0"));
  clearReturnSlots();
  if (raw.proxy_get_property(changetype<usize>(joined), joined.byteLength, retPtrSlot(), retLenSlot()) != WasmResult.Ok) return null;
  return takeReturnedBytes();
}

export function getPropertyString(path: string[]): string | null {
  const bytes = getProperty(path);
  if (bytes == null) return null;
  return String.UTF8.decode(bytes);
}

/**
 * Sets a property of the current stream. Envoy keeps it as filter state `wasm.<name>`, which access
 * logs can print (%FILTER_STATE(wasm.<name>:PLAIN)%); it can be set once per stream.
 */
export function setProperty(name: string, value: string): u32 {
  const key = utf8(name);
  const data = utf8(value);
  return raw.proxy_set_property(changetype<usize>(key), key.byteLength, changetype<usize>(data), data.byteLength);
}

// ---- shared data (process-wide, across worker VMs) ----------------------------------------

const casSlot = memory.data(4);

export class SharedValue {
  constructor(public value: ArrayBuffer, public cas: u32) {}
}

export function getSharedData(key: string): SharedValue | null {
  const k = utf8(key);
  clearReturnSlots();
  store<u32>(casSlot, 0);
  if (raw.proxy_get_shared_data(changetype<usize>(k), k.byteLength, retPtrSlot(), retLenSlot(), casSlot) != WasmResult.Ok) return null;
  const value = takeReturnedBytes();
  return new SharedValue(value, load<u32>(casSlot));
}

/** cas 0 writes unconditionally; otherwise the write fails with CasMismatch if the value changed. */
export function setSharedData(key: string, value: ArrayBuffer, cas: u32): u32 {
  const k = utf8(key);
  return raw.proxy_set_shared_data(changetype<usize>(k), k.byteLength, changetype<usize>(value), value.byteLength, cas);
}

// ---- metrics -------------------------------------------------------------------------------

const metricIdSlot = memory.data(4);

/** Defines a metric; returns its id, or u32.MAX_VALUE if the host refused (then updates are no-ops). */
export function defineMetric(metricType: u32, name: string): u32 {
  const n = utf8(name);
  store<u32>(metricIdSlot, 0);
  if (raw.proxy_define_metric(metricType, changetype<usize>(n), n.byteLength, metricIdSlot) != WasmResult.Ok) return u32.MAX_VALUE;
  return load<u32>(metricIdSlot);
}

export function incrementMetric(id: u32, by: i64 = 1): void {
  if (id != u32.MAX_VALUE) raw.proxy_increment_metric(id, by);
}

export function recordMetric(id: u32, value: u64): void {
  if (id != u32.MAX_VALUE) raw.proxy_record_metric(id, value);
}

// ---- timers --------------------------------------------------------------------------------

export function setTickPeriod(periodMs: u32): u32 {
  return raw.proxy_set_tick_period_milliseconds(periodMs);
}
