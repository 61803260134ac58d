// A growable byte buffer with a hard capacity: the parser's only storage between feeds. Growth
// doubles (amortized linear copying) but never past `maxCapacity`, so what a stream can make a
// parser hold is fixed by its limits, whatever the stream sends.

const MIN_CAPACITY: i32 = 64;

export class ByteBuffer {
  private buf: ArrayBuffer;
  private used: i32 = 0;
  /** Bytes this buffer has copied (appends and growth): lets tests check the work stays linear. */
  copied: i64 = 0;

  constructor(private maxCapacity: i32) {
    this.buf = new ArrayBuffer(min(MIN_CAPACITY, maxCapacity));
  }

  get length(): i32 {
    return this.used;
  }

  get capacity(): i32 {
    return this.buf.byteLength;
  }

  /** Bytes that can still be appended. */
  get room(): i32 {
    return this.maxCapacity - this.used;
  }

  /** False (and nothing appended) when the byte would pass `maxCapacity`. */
  push(b: u32): bool {
    if (!this.reserve(1)) return false;
    store<u8>(changetype<usize>(this.buf) + <usize>this.used, <u8>b);
    this.used++;
    this.copied++;
    return true;
  }

  /** Appends src[from, to); false (and nothing appended) when that would pass `maxCapacity`. */
  append(src: Uint8Array, from: i32, to: i32): bool {
    const n = to - from;
    if (n <= 0) return true;
    if (from < 0 || to > src.length || !this.reserve(n)) return false;
    memory.copy(changetype<usize>(this.buf) + <usize>this.used, src.dataStart + <usize>from, <usize>n);
    this.used += n;
    this.copied += n;
    return true;
  }

  /** Copies the content to `dst` at `at` (the caller sized dst). */
  copyTo(dst: Uint8Array, at: i32): void {
    if (at < 0 || at + this.used > dst.length) return;
    memory.copy(dst.dataStart + <usize>at, changetype<usize>(this.buf), <usize>this.used);
    this.copied += this.used;
  }

  /** The content as a new array of exactly its length. */
  toBytes(): Uint8Array {
    const out = new Uint8Array(this.used);
    this.copyTo(out, 0);
    return out;
  }

  /** Whether any byte of the content is `b`. */
  contains(b: u32): bool {
    const base = changetype<usize>(this.buf);
    for (let i = 0; i < this.used; i++) {
      if (<u32>load<u8>(base + <usize>i) == b) return true;
    }
    return false;
  }

  /** Byte i of the content (0 when out of range). */
  at(i: i32): u32 {
    if (i < 0 || i >= this.used) return 0;
    return <u32>load<u8>(changetype<usize>(this.buf) + <usize>i);
  }

  /** Empties the buffer; a large allocation is dropped so an idle stream holds little. */
  clear(keepCapacity: i32): void {
    this.used = 0;
    if (this.buf.byteLength > keepCapacity) this.buf = new ArrayBuffer(min(MIN_CAPACITY, this.maxCapacity));
  }

  private reserve(n: i32): bool {
    if (n > this.maxCapacity - this.used) return false;
    const need = this.used + n;
    const cap = this.buf.byteLength;
    if (need <= cap) return true;
    let grown = cap > this.maxCapacity >> 1 ? this.maxCapacity : cap << 1;
    if (grown < need) grown = need;
    const next = new ArrayBuffer(grown);
    memory.copy(changetype<usize>(next), changetype<usize>(this.buf), <usize>this.used);
    this.copied += this.used;
    this.buf = next;
    return true;
  }
}
