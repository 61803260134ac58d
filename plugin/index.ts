@external("env", "proxy_log")
declare function proxy_log(level: u32, ptr: usize, len: usize): u32;

export function proxy_abi_version_0_2_1(): void {}

export function proxy_on_memory_allocate(size: usize): usize {
  return heap.alloc(size);
}

export function hello(): void {
  const s = String.UTF8.encode("hello " + process.env.get("X"));
  proxy_log(2, changetype<usize>(s), s.byteLength);
}
