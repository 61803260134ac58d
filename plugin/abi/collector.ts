// When the garbage collector runs. The filter is built with AssemblyScript's minimal runtime: a
// two-colour mark and sweep that runs only when called, with no shadow stack and no collector work
// inside allocations. (The incremental runtime spent about a quarter of a request's time on them:
// every function saved its references to a shadow stack, and allocations stepped the collector.)
// Its roots are the globals alone, so it may run only when no Wasm frame holds a reference: at the
// very end of a callback the host made, with nothing of the callback's left to use.
//
// Collecting after every callback would mark the whole live heap (compiled patterns, DFA caches)
// per request; instead it runs once enough may have piled up: after a number of finished
// callbacks, after enough bytes came in from the host (garbage grows with what a request reads),
// or as soon as memory had to grow, so a quiet filter's memory stays near its live size.

/** Finished callbacks between two collections at most. */
const MAX_CALLBACKS: u32 = 32;
/** Bytes taken from the host (bodies, headers, replies) between two collections at most. */
const MAX_INPUT_BYTES: u64 = 512 * 1024;

let callbacks: u32 = 0;
let inputBytes: u64 = 0;
let pagesAtLastCollection: i32 = memory.size();

/** Counts bytes the host handed over (see takeReturnedBytes). */
export function noteInputBytes(n: i32): void {
  inputBytes += <u64>n;
}

/**
 * Ends a host callback: collects when it is due. Call it last, from the exported function itself,
 * once nothing the callback allocated is used any more.
 */
export function endOfCallback(): void {
  callbacks++;
  if (callbacks < MAX_CALLBACKS && inputBytes < MAX_INPUT_BYTES && memory.size() == pagesAtLastCollection) return;
  collectNow();
}

/** A full collection now (after configuration, whose parsing and compiling leave much garbage). */
export function collectNow(): void {
  __collect();
  callbacks = 0;
  inputBytes = 0;
  pagesAtLastCollection = memory.size();
}
