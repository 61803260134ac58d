import { describe, expect, it } from 'vitest';
import { decodeCertificateResponse, encodeCertificateRequest, varint } from './ca_messages.js';

const bytes = (...b: number[]) => Uint8Array.from(b);
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
/** A length-delimited field: key, length, content. */
const field = (n: number, content: Uint8Array) => Buffer.concat([varint(n * 8 + 2), varint(content.length), content]);
const text = (s: string) => new TextEncoder().encode(s);

describe('varint', () => {
  it('7 bits a byte, low bits first', () => {
    expect(hex(varint(0))).toBe('00');
    expect(hex(varint(1))).toBe('01');
    expect(hex(varint(127))).toBe('7f');
    expect(hex(varint(128))).toBe('8001');
    expect(hex(varint(300))).toBe('ac02');
    expect(hex(varint(86400))).toBe('80a305');
    expect(hex(varint(Number.MAX_SAFE_INTEGER))).toBe('ffffffffffffff0f');
  });

  it('refuses negative, fractional and unsafe values', () => {
    for (const bad of [-1, 0.5, 2 ** 53, NaN]) expect(() => varint(bad)).toThrow(RangeError);
  });
});

describe('IstioCertificateRequest', () => {
  it('csr as field 1, validity_duration as field 3 (ca.proto has no field 2), no metadata', () => {
    expect(hex(encodeCertificateRequest('PEM', 3600))).toBe('0a0350454d' + '18' + '901c');
  });

  it('a zero validity is left out (istiod then applies its default)', () => {
    expect(hex(encodeCertificateRequest('ab', 0))).toBe('0a026162');
  });

  it('a CSR longer than 127 bytes gets a two-byte length', () => {
    const out = encodeCertificateRequest('x'.repeat(300), 1);
    expect(hex(out.subarray(0, 3))).toBe('0aac02');
    expect(out.length).toBe(3 + 300 + 2);
    expect(hex(out.subarray(303))).toBe('1801');
  });

  it('refuses a negative or fractional validity', () => {
    expect(() => encodeCertificateRequest('x', -1)).toThrow(RangeError);
    expect(() => encodeCertificateRequest('x', 1.5)).toThrow(RangeError);
  });
});

describe('IstioCertificateResponse', () => {
  it('reads every cert_chain entry in order', () => {
    const msg = Buffer.concat([field(1, text('leaf')), field(1, text('intermediate')), field(1, text('root'))]);
    expect(decodeCertificateResponse(msg)).toEqual(['leaf', 'intermediate', 'root']);
  });

  it('an empty message is an empty chain', () => {
    expect(decodeCertificateResponse(new Uint8Array())).toEqual([]);
  });

  it('skips unknown fields of every wire type', () => {
    const msg = Buffer.concat([
      bytes(0x10, 0x96, 0x01), // field 2 varint 150
      bytes(0x19, 1, 2, 3, 4, 5, 6, 7, 8), // field 3 fixed64
      bytes(0x25, 1, 2, 3, 4), // field 4 fixed32
      field(5, text('ignored')),
      field(1, text('leaf')),
      bytes(0x80, 0x01, 0x00), // field 16 varint 0 (two-byte key)
    ]);
    expect(decodeCertificateResponse(msg)).toEqual(['leaf']);
  });

  it('a ten-byte varint is fine, an eleventh byte is not', () => {
    expect(decodeCertificateResponse(bytes(0x10, ...Array(9).fill(0xff), 0x01))).toEqual([]);
    expect(() => decodeCertificateResponse(bytes(0x10, ...Array(10).fill(0xff), 0x01))).toThrow(/longer than 10 bytes/);
  });

  it('malformed input throws, never reads past the end', () => {
    const cases: [string, Uint8Array][] = [
      ['truncated key varint', bytes(0x80)],
      ['truncated value varint', bytes(0x10, 0x80)],
      ['length past the end', bytes(0x0a, 0x05, 0x61)],
      ['huge length', bytes(0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f)],
      ['truncated fixed64', bytes(0x19, 1, 2)],
      ['truncated fixed32', bytes(0x25, 1)],
      ['field number 0', bytes(0x02, 0x00)],
      ['start group', bytes(0x0b)],
      ['end group', bytes(0x0c)],
      ['wire type 6', bytes(0x0e)],
      ['wire type 7', bytes(0x0f)],
      ['invalid UTF-8 in cert_chain', bytes(0x0a, 0x02, 0xc3, 0x28)],
    ];
    for (const [name, msg] of cases) expect(() => decodeCertificateResponse(msg), name).toThrow(/malformed/);
  });

  it('round-trips a request read as a response would be (field 1 is a string in both)', () => {
    expect(decodeCertificateResponse(encodeCertificateRequest('-----BEGIN CERTIFICATE REQUEST-----', 60))).toEqual(['-----BEGIN CERTIFICATE REQUEST-----']);
  });

  it('random bytes never hang nor throw anything but an Error', () => {
    let seed = 7;
    const next = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) & 0xff;
    for (let i = 0; i < 2000; i++) {
      const msg = Uint8Array.from({ length: (i % 64) + 1 }, next);
      let outcome: unknown;
      try {
        outcome = decodeCertificateResponse(msg);
      } catch (e) {
        outcome = e;
      }
      expect(Array.isArray(outcome) || outcome instanceof Error).toBe(true);
    }
  });
});
