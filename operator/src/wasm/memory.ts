// Access to the guest's linear memory, bounds-checked like cpp-host's WasmVm::getMemory/setMemory
// (an out-of-range access is reported, never thrown, so the host can answer INVALID_MEMORY_ACCESS).

const utf8 = new TextDecoder('utf-8', { fatal: false });
const utf8Enc = new TextEncoder();

export function toBytes(s: string | Uint8Array): Uint8Array {
  return typeof s === 'string' ? utf8Enc.encode(s) : s;
}

export function decodeUtf8(b: Uint8Array): string {
  return utf8.decode(b);
}

export class GuestMemory {
  private buf: ArrayBuffer | null = null;
  private u8: Uint8Array = new Uint8Array(0);
  private dv: DataView = new DataView(new ArrayBuffer(0));

  /**
   * @param memory the module's exported memory
   * @param allocate calls the module's allocator (proxy_on_memory_allocate / malloc); returns 0 on failure
   */
  constructor(
    readonly memory: WebAssembly.Memory,
    private readonly allocate: (size: number) => number,
  ) {}

  private refresh(): void {
    // memory.grow() detaches the old ArrayBuffer: re-create the views whenever it changed.
    if (this.buf !== this.memory.buffer) {
      this.buf = this.memory.buffer as ArrayBuffer;
      this.u8 = new Uint8Array(this.buf);
      this.dv = new DataView(this.buf);
    }
  }

  get size(): number {
    this.refresh();
    return this.u8.length;
  }

  inBounds(ptr: number, len: number): boolean {
    this.refresh();
    ptr >>>= 0;
    len >>>= 0;
    return ptr + len <= this.u8.length;
  }

  /** A copy of [ptr, ptr+len), or null if out of bounds. */
  read(ptr: number, len: number): Uint8Array | null {
    ptr >>>= 0;
    len >>>= 0;
    if (!this.inBounds(ptr, len)) return null;
    return this.u8.slice(ptr, ptr + len);
  }

  readString(ptr: number, len: number): string | null {
    ptr >>>= 0;
    len >>>= 0;
    if (!this.inBounds(ptr, len)) return null;
    return utf8.decode(this.u8.subarray(ptr, ptr + len));
  }

  /** The NUL-terminated UTF-8 text at ptr (at most maxLen bytes), or null if unterminated or out of bounds. */
  readCString(ptr: number, maxLen: number): string | null {
    this.refresh();
    ptr >>>= 0;
    const end = Math.min(this.u8.length, ptr + maxLen);
    for (let i = ptr; i < end; i++) if (this.u8[i] === 0) return utf8.decode(this.u8.subarray(ptr, i));
    return null;
  }

  getU32(ptr: number): number | null {
    ptr >>>= 0;
    if (!this.inBounds(ptr, 4)) return null;
    return this.dv.getUint32(ptr, true);
  }

  setU32(ptr: number, v: number): boolean {
    ptr >>>= 0;
    if (!this.inBounds(ptr, 4)) return false;
    this.dv.setUint32(ptr, v >>> 0, true);
    return true;
  }

  setU64(ptr: number, v: bigint): boolean {
    ptr >>>= 0;
    if (!this.inBounds(ptr, 8)) return false;
    this.dv.setBigUint64(ptr, BigInt.asUintN(64, v), true);
    return true;
  }

  setU16(ptr: number, v: number): boolean {
    ptr >>>= 0;
    if (!this.inBounds(ptr, 2)) return false;
    this.dv.setUint16(ptr, v, true);
    return true;
  }

  write(ptr: number, data: Uint8Array): boolean {
    ptr >>>= 0;
    if (!this.inBounds(ptr, data.length)) return false;
    this.u8.set(data, ptr);
    return true;
  }

  /**
   * cpp-host WasmBase::copyToPointerSize: for non-empty data, allocate with the module's allocator,
   * copy, then store pointer and size (u32 LE) at ptrPtr / sizePtr. Empty data stores 0 / 0 without
   * allocating. Returns false on any memory failure (-> INVALID_MEMORY_ACCESS).
   */
  copyToPointerSize(data: Uint8Array, ptrPtr: number, sizePtr: number): boolean {
    let pointer = 0;
    if (data.length > 0) {
      pointer = this.allocate(data.length) >>> 0;
      if (pointer === 0) return false;
      if (!this.write(pointer, data)) return false;
    }
    if (!this.setU32(ptrPtr, pointer)) return false;
    if (!this.setU32(sizePtr, data.length)) return false;
    return true;
  }
}
