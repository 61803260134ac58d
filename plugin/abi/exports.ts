// The callbacks the host calls. They route each call to the context it names. Whatever the host
// sends (unknown ids, any root_id, callbacks after delete) must never trap: unknown ids get defaults.
// Every callback but proxy_on_memory_allocate (which the host calls from inside our own calls to
// it) ends with endOfCallback: the only place the garbage collector may run (collector.ts).
// Callbacks the filter has no use for (response trailers, proxy_on_log, proxy_on_done) are not
// exported: the host then skips them (proxy-wasm-cpp-host calls only what a module exports and
// takes a missing proxy_on_done as done), which saves calls into the VM per request. The response
// headers and body are read: an injected key echoed by the upstream is masked (filter/echo_mask.ts).
import { roots, streams, callOwners, makeRootContext } from "./registry";
import { HeadersAction, BodyAction } from "./enums";
import { setEffectiveContext } from "./host";
import { collectNow, endOfCallback } from "./collector";
import { allocateForHost } from "./returned_bytes";

export function proxy_abi_version_0_2_1(): void {}

export function proxy_on_memory_allocate(size: usize): usize {
  return allocateForHost(size);
}

export function proxy_on_context_create(contextId: u32, parentId: u32): void {
  if (parentId == 0) roots.set(contextId, makeRootContext(contextId));
  else if (roots.has(parentId)) streams.set(contextId, roots.get(parentId).createHttpContext(contextId));
  endOfCallback();
}

export function proxy_on_vm_start(rootId: u32, vmConfigSize: u32): bool {
  const ok = roots.has(rootId) && roots.get(rootId).onVmStart(vmConfigSize);
  endOfCallback();
  return ok;
}

export function proxy_on_configure(rootId: u32, pluginConfigSize: u32): bool {
  const ok = roots.has(rootId) && roots.get(rootId).onConfigure(pluginConfigSize);
  collectNow(); // parsing and compiling the configuration leave much garbage
  return ok;
}

export function proxy_on_tick(rootId: u32): void {
  if (roots.has(rootId)) roots.get(rootId).onTick();
  endOfCallback();
}

export function proxy_on_request_headers(contextId: u32, headerCount: u32, endOfStream: u32): u32 {
  const action = streams.has(contextId) ? streams.get(contextId).onRequestHeaders(headerCount, endOfStream != 0) : HeadersAction.Continue;
  endOfCallback();
  return action;
}

export function proxy_on_request_body(contextId: u32, bodySize: u32, endOfStream: u32): u32 {
  const action = streams.has(contextId) ? streams.get(contextId).onRequestBody(bodySize, endOfStream != 0) : BodyAction.Continue;
  endOfCallback();
  return action;
}

export function proxy_on_request_trailers(contextId: u32, trailerCount: u32): u32 {
  const action = streams.has(contextId) ? streams.get(contextId).onRequestTrailers(trailerCount) : HeadersAction.Continue;
  endOfCallback();
  return action;
}

export function proxy_on_response_headers(contextId: u32, headerCount: u32, endOfStream: u32): u32 {
  const action = streams.has(contextId) ? streams.get(contextId).onResponseHeaders(headerCount, endOfStream != 0) : HeadersAction.Continue;
  endOfCallback();
  return action;
}

export function proxy_on_response_body(contextId: u32, bodySize: u32, endOfStream: u32): u32 {
  const action = streams.has(contextId) ? streams.get(contextId).onResponseBody(bodySize, endOfStream != 0) : BodyAction.Continue;
  endOfCallback();
  return action;
}

export function proxy_on_http_call_response(rootId: u32, callId: u32, headerCount: u32, bodySize: u32, trailerCount: u32): void {
  if (callOwners.has(callId)) {
    const streamId = callOwners.get(callId);
    callOwners.delete(callId);
    if (streams.has(streamId)) {
      setEffectiveContext(streamId);
      streams.get(streamId).onHttpCallResponse(callId, headerCount, bodySize, trailerCount);
    }
  } else if (roots.has(rootId)) {
    roots.get(rootId).onHttpCallResponse(callId, headerCount, bodySize, trailerCount);
  }
  endOfCallback();
}

export function proxy_on_delete(contextId: u32): void {
  if (streams.has(contextId)) {
    streams.get(contextId).onDelete();
    streams.delete(contextId);
  } else if (roots.has(contextId)) {
    roots.get(contextId).onDelete();
    roots.delete(contextId);
  }
  endOfCallback();
}
