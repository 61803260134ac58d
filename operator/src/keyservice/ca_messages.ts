// The two protobuf messages of istio.v1.auth.IstioCertificateService/CreateCertificate
// (istio.io/api security/v1alpha1/ca.proto), encoded and decoded by hand, only the fields we use:
//   IstioCertificateRequest  { string csr = 1; int64 validity_duration = 3; Struct metadata = 4; }
//   IstioCertificateResponse { repeated string cert_chain = 1; }
// Field 2 does not exist: istiod would skip a validity sent there and silently issue its default
// 24 h (the real-istiod test checks the lifetime asked for is the one issued).
// The decoder skips unknown fields as protobuf requires, and every read is bounds-checked: a
// malformed message throws, it never reads past the end or loops without consuming input.

const WIRE_VARINT = 0;
const WIRE_FIXED64 = 1;
const WIRE_LENGTH_DELIMITED = 2;
const WIRE_FIXED32 = 5;

/** metadata (field 4) is left out: it only carries CertSigner and impersonation, which we never use. */
export function encodeCertificateRequest(csrPem: string, validitySeconds: number): Uint8Array {
  if (!Number.isSafeInteger(validitySeconds) || validitySeconds < 0) {
    throw new RangeError(`validity must be a non-negative whole number of seconds, got ${validitySeconds}`);
  }
  const csr = new TextEncoder().encode(csrPem);
  const parts = [varint(fieldKey(1, WIRE_LENGTH_DELIMITED)), varint(csr.length), csr];
  // proto3 leaves a zero scalar out; istiod then applies its default TTL.
  if (validitySeconds > 0) parts.push(varint(fieldKey(3, WIRE_VARINT)), varint(validitySeconds));
  return Buffer.concat(parts);
}

/** cert_chain, in order; istiod puts the leaf first and the root last. */
export function decodeCertificateResponse(message: Uint8Array): string[] {
  const certChain: string[] = [];
  const utf8 = new TextDecoder('utf-8', { fatal: true });
  const r = new Reader(message);
  while (!r.done()) {
    const key = r.varint();
    const field = key >> 3n;
    const wireType = Number(key & 7n);
    if (field === 0n) throw new Error('malformed IstioCertificateResponse: field number 0');
    switch (wireType) {
      case WIRE_VARINT:
        r.varint();
        break;
      case WIRE_FIXED64:
        r.take(8);
        break;
      case WIRE_FIXED32:
        r.take(4);
        break;
      case WIRE_LENGTH_DELIMITED: {
        const bytes = r.take(r.length());
        if (field === 1n) {
          try {
            certChain.push(utf8.decode(bytes));
          } catch {
            throw new Error('malformed IstioCertificateResponse: cert_chain is not UTF-8');
          }
        }
        break;
      }
      default:
        throw new Error(`malformed IstioCertificateResponse: wire type ${wireType} (field ${field})`);
    }
  }
  return certChain;
}

function fieldKey(field: number, wireType: number): number {
  return field * 8 + wireType;
}

export function varint(value: number): Uint8Array {
  if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`varint must be a non-negative safe integer, got ${value}`);
  const out: number[] = [];
  let v = value;
  while (v >= 0x80) {
    out.push((v % 0x80) | 0x80);
    v = Math.floor(v / 0x80);
  }
  out.push(v);
  return Uint8Array.from(out);
}

class Reader {
  private at = 0;
  constructor(private readonly bytes: Uint8Array) {}

  done(): boolean {
    return this.at >= this.bytes.length;
  }

  /** A base-128 varint: at most 10 bytes, the most a 64-bit value takes. */
  varint(): bigint {
    let value = 0n;
    for (let i = 0; i < 10; i++) {
      if (this.at >= this.bytes.length) throw new Error('malformed protobuf: truncated varint');
      const byte = this.bytes[this.at++]!;
      value |= BigInt(byte & 0x7f) << BigInt(7 * i);
      if ((byte & 0x80) === 0) return value;
    }
    throw new Error('malformed protobuf: varint longer than 10 bytes');
  }

  length(): number {
    const n = this.varint();
    if (n > BigInt(this.bytes.length - this.at)) throw new Error(`malformed protobuf: length ${n} runs past the end`);
    return Number(n);
  }

  take(n: number): Uint8Array {
    if (n > this.bytes.length - this.at) throw new Error(`malformed protobuf: ${n} bytes wanted, ${this.bytes.length - this.at} left`);
    const out = this.bytes.subarray(this.at, this.at + n);
    this.at += n;
    return out;
  }
}
