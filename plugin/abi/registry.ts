// Which context object each host context id belongs to.
import { RootContext, HttpContext } from "./context";

type RootFactory = (id: u32) => RootContext;

let rootFactory: RootFactory | null = null;
export const roots = new Map<u32, RootContext>();
export const streams = new Map<u32, HttpContext>();
/** Outgoing HTTP call id -> the stream context waiting for it (calls belong to the root in the ABI). */
export const callOwners = new Map<u32, u32>();

/** Set once at module start: builds the root context for every plugin configuration (any root_id). */
export function setRootContextFactory(factory: RootFactory): void {
  rootFactory = factory;
}

export function makeRootContext(id: u32): RootContext {
  const factory = rootFactory;
  return factory != null ? factory(id) : new RootContext(id);
}

/** A stream context registers an outgoing call so the answer is routed back to it. */
export function registerHttpCall(callId: u32, streamId: u32): void {
  callOwners.set(callId, streamId);
}
