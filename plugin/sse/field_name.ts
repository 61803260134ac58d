// Field names as the parser reads them: byte by byte, across chunks, without keeping the name.
// The spec's four names are at most 5 bytes, so a name is its length plus its first 5 bytes packed
// into an integer; any other name is Unknown (and its value ignored).

export enum SseField {
  Data,
  Event,
  Id,
  Retry,
  Unknown,
}

const PACKED_BYTES: i32 = 5;

export class FieldNameReader {
  private length: i32 = 0;
  private packed: u64 = 0;

  reset(): void {
    this.length = 0;
    this.packed = 0;
  }

  add(b: u32): void {
    if (this.length < PACKED_BYTES) this.packed |= <u64>(b & 0xff) << (<u64>this.length << 3);
    if (this.length < i32.MAX_VALUE) this.length++;
  }

  field(): SseField {
    if (this.length > PACKED_BYTES) return SseField.Unknown;
    // The length is part of the key: "data" and "data\0" pack alike.
    const key = this.packed | (<u64>this.length << 56);
    if (key == DATA) return SseField.Data;
    if (key == EVENT) return SseField.Event;
    if (key == ID) return SseField.Id;
    if (key == RETRY) return SseField.Retry;
    return SseField.Unknown;
  }
}

function pack(name: string): u64 {
  let p: u64 = 0;
  for (let i = 0; i < name.length; i++) p |= <u64>name.charCodeAt(i) << (<u64>i << 3);
  return p | (<u64>name.length << 56);
}

const DATA = pack("data");
const EVENT = pack("event");
const ID = pack("id");
const RETRY = pack("retry");
