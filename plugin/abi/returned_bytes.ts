// Data the host hands back lives in memory it got from proxy_on_memory_allocate; we copy it out and free it.
import { noteInputBytes } from "./collector";

const retSlots = memory.data(8);

/** Address of the u32 where the host writes a returned pointer. */
export function retPtrSlot(): usize { return retSlots; }
/** Address of the u32 where the host writes a returned length. */
export function retLenSlot(): usize { return retSlots + 4; }

/** Copies the host's returned bytes (after a successful call) into a managed buffer and frees the host copy. */
export function takeReturnedBytes(): ArrayBuffer {
  const ptr = <usize>load<u32>(retSlots);
  const len = <i32>load<u32>(retSlots + 4);
  store<u32>(retSlots, 0);
  store<u32>(retSlots + 4, 0);
  const out = new ArrayBuffer(len);
  noteInputBytes(len);
  if (ptr != 0) {
    if (len > 0) memory.copy(changetype<usize>(out), ptr, <usize>len);
    heap.free(ptr);
  }
  return out;
}

export function clearReturnSlots(): void {
  store<u32>(retSlots, 0);
  store<u32>(retSlots + 4, 0);
}
