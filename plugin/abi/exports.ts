// The callbacks the host calls. They route each call to the context it names. Whatever the host
// sends (unknown ids, any root_id, callbacks after delete) must never trap: unknown ids get defaults.
import { roots, streams, callOwners, makeRootContext } from "./registry";
import { HeadersAction, BodyAction } from "./enums";
import { setEffectiveContext } from "./host";

export function proxy_abi_version_0_2_1(): void {}

export function proxy_on_memory_allocate(size: usize): usize {
  return heap.alloc(size);
}

export function proxy_on_context_create(contextId: u32, parentId: u32): void {
  if (parentId == 0) {
    roots.set(contextId, makeRootContext(contextId));
    return;
  }
  if (!roots.has(parentId)) return;
  streams.set(contextId, roots.get(parentId).createHttpContext(contextId));
}

export function proxy_on_vm_start(rootId: u32, vmConfigSize: u32): bool {
  if (!roots.has(rootId)) return false;
  return roots.get(rootId).onVmStart(vmConfigSize);
}

export function proxy_on_configure(rootId: u32, pluginConfigSize: u32): bool {
  if (!roots.has(rootId)) return false;
  return roots.get(rootId).onConfigure(pluginConfigSize);
}

export function proxy_on_tick(rootId: u32): void {
  if (roots.has(rootId)) roots.get(rootId).onTick();
}

export function proxy_on_request_headers(contextId: u32, headerCount: u32, endOfStream: u32): u32 {
  if (!streams.has(contextId)) return HeadersAction.Continue;
  return streams.get(contextId).onRequestHeaders(headerCount, endOfStream != 0);
}

export function proxy_on_request_body(contextId: u32, bodySize: u32, endOfStream: u32): u32 {
  if (!streams.has(contextId)) return BodyAction.Continue;
  return streams.get(contextId).onRequestBody(bodySize, endOfStream != 0);
}

export function proxy_on_request_trailers(contextId: u32, trailerCount: u32): u32 {
  if (!streams.has(contextId)) return HeadersAction.Continue;
  return streams.get(contextId).onRequestTrailers(trailerCount);
}

export function proxy_on_response_headers(contextId: u32, headerCount: u32, endOfStream: u32): u32 {
  if (!streams.has(contextId)) return HeadersAction.Continue;
  return streams.get(contextId).onResponseHeaders(headerCount, endOfStream != 0);
}

export function proxy_on_response_body(contextId: u32, bodySize: u32, endOfStream: u32): u32 {
  if (!streams.has(contextId)) return BodyAction.Continue;
  return streams.get(contextId).onResponseBody(bodySize, endOfStream != 0);
}

export function proxy_on_response_trailers(contextId: u32, trailerCount: u32): u32 {
  if (!streams.has(contextId)) return HeadersAction.Continue;
  return streams.get(contextId).onResponseTrailers(trailerCount);
}

export function proxy_on_http_call_response(rootId: u32, callId: u32, headerCount: u32, bodySize: u32, trailerCount: u32): void {
  if (callOwners.has(callId)) {
    const streamId = callOwners.get(callId);
    callOwners.delete(callId);
    if (!streams.has(streamId)) return;
    setEffectiveContext(streamId);
    streams.get(streamId).onHttpCallResponse(callId, headerCount, bodySize, trailerCount);
    return;
  }
  if (roots.has(rootId)) roots.get(rootId).onHttpCallResponse(callId, headerCount, bodySize, trailerCount);
}

export function proxy_on_log(contextId: u32): void {
  if (streams.has(contextId)) streams.get(contextId).onLog();
}

export function proxy_on_done(contextId: u32): bool {
  if (streams.has(contextId)) return streams.get(contextId).onDone();
  if (roots.has(contextId)) return roots.get(contextId).onDone();
  return true;
}

export function proxy_on_delete(contextId: u32): void {
  if (streams.has(contextId)) {
    streams.get(contextId).onDelete();
    streams.delete(contextId);
    return;
  }
  if (roots.has(contextId)) {
    roots.get(contextId).onDelete();
    roots.delete(contextId);
  }
}
