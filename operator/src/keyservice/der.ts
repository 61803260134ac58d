// A minimal ASN.1 DER writer: just what a PKCS#10 request needs. Every value is checked as it is
// written (lengths, OID arcs, string alphabets), so a bad input throws here instead of producing
// bytes a CA would reject with a vaguer message.

/** DER lengths above this are refused: nothing we encode comes near it. */
export const MAX_DER_LENGTH = 1 << 24;

export const TAG = {
  BOOLEAN: 0x01,
  INTEGER: 0x02,
  BIT_STRING: 0x03,
  OCTET_STRING: 0x04,
  OID: 0x06,
  IA5_STRING: 0x16,
  SEQUENCE: 0x30,
  SET: 0x31,
} as const;

export function derLength(n: number): Uint8Array {
  if (!Number.isInteger(n) || n < 0) throw new RangeError(`DER length must be a non-negative integer, got ${n}`);
  if (n > MAX_DER_LENGTH) throw new RangeError(`DER length ${n} exceeds ${MAX_DER_LENGTH}`);
  if (n < 0x80) return Uint8Array.of(n);
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
  return Uint8Array.of(0x80 | bytes.length, ...bytes);
}

/** One element: a single-byte identifier (class, constructed bit and tag number < 31), then its length and content. */
export function tlv(identifier: number, content: Uint8Array): Uint8Array {
  if (!Number.isInteger(identifier) || identifier < 0 || identifier > 0xff || (identifier & 0x1f) === 0x1f) {
    throw new RangeError(`unsupported DER identifier ${identifier}`);
  }
  return concat([Uint8Array.of(identifier), derLength(content.length), content]);
}

export function sequence(...items: Uint8Array[]): Uint8Array {
  return tlv(TAG.SEQUENCE, concat(items));
}

/** SET OF: DER orders the elements by their encodings. */
export function setOf(...items: Uint8Array[]): Uint8Array {
  return tlv(TAG.SET, concat([...items].sort(compareBytes)));
}

export function boolean(value: boolean): Uint8Array {
  return tlv(TAG.BOOLEAN, Uint8Array.of(value ? 0xff : 0x00));
}

/** INTEGER in minimal two's complement. */
export function integer(value: number | bigint): Uint8Array {
  if (typeof value === 'number' && !Number.isSafeInteger(value)) throw new RangeError(`INTEGER must be a safe integer, got ${value}`);
  let v = BigInt(value);
  const bytes: number[] = [];
  for (;;) {
    const byte = Number(v & 0xffn);
    bytes.unshift(byte);
    v >>= 8n;
    // Done once the remaining value is just the sign extension of the byte written.
    if ((v === 0n && (byte & 0x80) === 0) || (v === -1n && (byte & 0x80) !== 0)) break;
  }
  return tlv(TAG.INTEGER, Uint8Array.from(bytes));
}

export function octetString(content: Uint8Array): Uint8Array {
  return tlv(TAG.OCTET_STRING, content);
}

/** BIT STRING of whole bytes (no unused bits), as signatures and keys are. */
export function bitString(content: Uint8Array): Uint8Array {
  return tlv(TAG.BIT_STRING, concat([Uint8Array.of(0), content]));
}

/** IA5String's alphabet is ASCII; control characters are refused too (URIs never need them). */
export function ia5Bytes(value: string): Uint8Array {
  if (!/^[\x20-\x7e]*$/.test(value)) throw new RangeError(`IA5String must be printable ASCII: ${JSON.stringify(value)}`);
  return Uint8Array.from(value, (c) => c.charCodeAt(0));
}

export function ia5String(value: string): Uint8Array {
  return tlv(TAG.IA5_STRING, ia5Bytes(value));
}

/** OBJECT IDENTIFIER from dotted text, e.g. `2.5.29.17`. */
export function oid(dotted: string): Uint8Array {
  if (!/^[0-9]+(\.[0-9]+)+$/.test(dotted) || dotted.length > 200) throw new RangeError(`malformed OID ${JSON.stringify(dotted)}`);
  const arcs = dotted.split('.').map((a) => BigInt(a));
  const [first, second] = [arcs[0]!, arcs[1]!];
  if (first > 2n || (first < 2n && second >= 40n)) throw new RangeError(`malformed OID ${dotted}: first arcs ${first}.${second}`);
  const bytes: number[] = [];
  for (const arc of [first * 40n + second, ...arcs.slice(2)]) bytes.push(...base128(arc));
  return tlv(TAG.OID, Uint8Array.from(bytes));
}

/** [n] IMPLICIT on a primitive type: the tag replaces the type's own. */
export function contextPrimitive(tagNumber: number, content: Uint8Array): Uint8Array {
  return tlv(0x80 | contextTagNumber(tagNumber), content);
}

/** [n] on constructed content (IMPLICIT SET/SEQUENCE, or EXPLICIT). */
export function contextConstructed(tagNumber: number, content: Uint8Array): Uint8Array {
  return tlv(0xa0 | contextTagNumber(tagNumber), content);
}

function contextTagNumber(n: number): number {
  if (!Number.isInteger(n) || n < 0 || n > 30) throw new RangeError(`context tag number must be 0..30, got ${n}`);
  return n;
}

function base128(value: bigint): number[] {
  const out = [Number(value & 0x7fn)];
  for (let v = value >> 7n; v > 0n; v >>= 7n) out.unshift(Number(v & 0x7fn) | 0x80);
  return out;
}

export function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}

export function toPem(label: string, der: Uint8Array): string {
  const b64 = Buffer.from(der).toString('base64');
  return `-----BEGIN ${label}-----\n${b64.replace(/.{1,64}/g, '$&\n')}-----END ${label}-----\n`;
}
