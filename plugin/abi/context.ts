// The context model of proxy-wasm SDKs: one root context per plugin configuration, which makes a
// stream context for every HTTP request. Hooks return actions; the defaults let everything through.
import { HeadersAction, BodyAction } from "./enums";

export class HttpContext {
  constructor(public readonly id: u32, public readonly root: RootContext) {}

  onRequestHeaders(headerCount: u32, endOfStream: bool): u32 { return HeadersAction.Continue; }
  onRequestBody(bodySize: u32, endOfStream: bool): u32 { return BodyAction.Continue; }
  onRequestTrailers(trailerCount: u32): u32 { return HeadersAction.Continue; }
  onResponseHeaders(headerCount: u32, endOfStream: bool): u32 { return HeadersAction.Continue; }
  onResponseBody(bodySize: u32, endOfStream: bool): u32 { return BodyAction.Continue; }
  /** An HTTP call this stream started (through its root) got its answer or failed (headerCount 0). */
  onHttpCallResponse(callId: u32, headerCount: u32, bodySize: u32, trailerCount: u32): void {}
  onDelete(): void {}
}

export class RootContext {
  constructor(public readonly id: u32) {}

  onVmStart(vmConfigSize: u32): bool { return true; }
  onConfigure(pluginConfigSize: u32): bool { return true; }
  onTick(): void {}
  createHttpContext(id: u32): HttpContext { return new HttpContext(id, this); }
  /** Answer to a call the root made for itself (not on behalf of a stream). */
  onHttpCallResponse(callId: u32, headerCount: u32, bodySize: u32, trailerCount: u32): void {}
  onDelete(): void {}
}
