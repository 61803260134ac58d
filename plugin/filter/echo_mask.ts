// A key the filter injected must never reach the app, even when the upstream sends it back (an
// error page quoting the Authorization header, a debugging or echo endpoint): response header
// values and body bytes are searched for it, and each occurrence becomes as many '*' as it has
// bytes, so content-length stays right. A chunk's tail that could be the start of the key is held
// back until the next chunk (at most the key's length - 1 bytes), so an occurrence split across
// chunks is masked too, and a tail that can't be is never delayed (a stream's events keep flowing).

/** Shorter keys are not searched for: they would mask ordinary text. Real provider keys are far longer. */
export const MIN_MASKED_KEY_BYTES: i32 = 8;
const MASK: u8 = 0x2a; // '*'

export class EchoMask {
  private readonly key: Uint8Array;
  private held: Uint8Array = new Uint8Array(0);
  /** Occurrences masked so far, in headers and body. */
  masked: i32 = 0;
  /**
   * The last maskChunk's bytes differ from the chunk it was given (a key masked, held bytes let go,
   * a tail held back): the body must be replaced. Masking writes into the chunk, so comparing the
   * two can't tell.
   */
  changed: bool = false;

  constructor(key: string) {
    this.key = Uint8Array.wrap(String.UTF8.encode(key));
  }

  static forKey(key: string): EchoMask | null {
    return String.UTF8.byteLength(key) >= MIN_MASKED_KEY_BYTES ? new EchoMask(key) : null;
  }

  /** The header value with the key masked, or null when it holds no occurrence. */
  maskHeaderValue(value: string): string | null {
    const bytes = Uint8Array.wrap(String.UTF8.encode(value));
    const n = this.maskAll(bytes, bytes.length);
    if (n == 0) return null;
    this.masked += n;
    return String.UTF8.decode(bytes.buffer);
  }

  /**
   * The bytes to release for this body chunk: what was held back, then the chunk, masked, minus a
   * new tail that might begin the key (none at the end of the stream).
   */
  maskChunk(chunk: Uint8Array, endOfStream: bool): Uint8Array {
    let data = chunk;
    if (this.held.length > 0) {
      data = new Uint8Array(this.held.length + chunk.length);
      data.set(this.held, 0);
      data.set(chunk, this.held.length);
    }
    const count = this.maskAll(data, data.length);
    this.masked += count;
    const hold = endOfStream ? 0 : this.keyPrefixAtEnd(data);
    this.changed = count > 0 || this.held.length > 0 || hold > 0;
    this.held = hold > 0 ? data.slice(data.length - hold) : new Uint8Array(0);
    return hold > 0 ? data.subarray(0, data.length - hold) : data;
  }

  /** Masks every occurrence of the key in data[0, end); returns how many. */
  private maskAll(data: Uint8Array, end: i32): i32 {
    const key = this.key;
    const k = key.length;
    const first = unchecked(key[0]);
    let count = 0;
    let i = 0;
    while (i + k <= end) {
      if (unchecked(data[i]) != first || !this.matchesAt(data, i, k)) {
        i++;
        continue;
      }
      for (let j = 0; j < k; j++) unchecked((data[i + j] = MASK));
      count++;
      i += k;
    }
    return count;
  }

  private matchesAt(data: Uint8Array, at: i32, length: i32): bool {
    const key = this.key;
    for (let j = 0; j < length; j++) if (unchecked(data[at + j]) != unchecked(key[j])) return false;
    return true;
  }

  /** The length of the longest tail of data (shorter than the key) that is a prefix of the key. */
  private keyPrefixAtEnd(data: Uint8Array): i32 {
    const longest = min(this.key.length - 1, data.length);
    for (let length = longest; length > 0; length--) {
      if (this.matchesAt(data, data.length - length, length)) return length;
    }
    return 0;
  }
}
