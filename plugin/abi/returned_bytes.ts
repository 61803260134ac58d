// Data the host hands back lives in memory it got from proxy_on_memory_allocate: a managed
// ArrayBuffer of exactly the size asked for, pinned (kept from the collector) until taken. Taking it
// unpins it and hands it on as it is: a request body is written once, by the host, never copied.
import { noteInputBytes } from "./collector";

const retSlots = memory.data(8);

/** Address of the u32 where the host writes a returned pointer. */
export function retPtrSlot(): usize { return retSlots; }
/** Address of the u32 where the host writes a returned length. */
export function retLenSlot(): usize { return retSlots + 4; }

/** proxy_on_memory_allocate: room for `size` bytes the host is about to hand back. */
export function allocateForHost(size: usize): usize {
  return __pin(__new(size, idof<ArrayBuffer>()));
}

/** The host's returned bytes (after a successful call), as the buffer allocateForHost made for them. */
export function takeReturnedBytes(): ArrayBuffer {
  const ptr = <usize>load<u32>(retSlots);
  const len = <i32>load<u32>(retSlots + 4);
  store<u32>(retSlots, 0);
  store<u32>(retSlots + 4, 0);
  if (ptr == 0) return new ArrayBuffer(0);
  __unpin(ptr);
  const out = changetype<ArrayBuffer>(ptr);
  noteInputBytes(out.byteLength);
  // The host writes `len` bytes into the buffer it asked for; never read past either.
  return out.byteLength <= len ? out : out.slice(0, len);
}

export function clearReturnSlots(): void {
  store<u32>(retSlots, 0);
  store<u32>(retSlots + 4, 0);
}
