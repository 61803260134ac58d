import { describe, expect, it } from 'vitest';
import { MAX_DER_LENGTH, bitString, boolean, contextConstructed, contextPrimitive, derLength, ia5String, integer, octetString, oid, sequence, setOf, tlv, toPem } from './der.js';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

describe('DER lengths', () => {
  it('short form below 128, long form with the fewest bytes above', () => {
    expect(hex(derLength(0))).toBe('00');
    expect(hex(derLength(127))).toBe('7f');
    expect(hex(derLength(128))).toBe('8180');
    expect(hex(derLength(255))).toBe('81ff');
    expect(hex(derLength(256))).toBe('820100');
    expect(hex(derLength(65535))).toBe('82ffff');
    expect(hex(derLength(65536))).toBe('83010000');
    expect(hex(derLength(MAX_DER_LENGTH))).toBe('8401000000');
  });

  it('refuses negative, fractional and oversized lengths', () => {
    for (const bad of [-1, 1.5, NaN, Infinity, MAX_DER_LENGTH + 1]) expect(() => derLength(bad)).toThrow(RangeError);
  });

  it('a content of 128 bytes gets a two-byte length', () => {
    const out = octetString(new Uint8Array(128));
    expect(hex(out.subarray(0, 3))).toBe('048180');
    expect(out.length).toBe(131);
  });
});

describe('DER values', () => {
  it('INTEGER is minimal two’s complement', () => {
    expect(hex(integer(0))).toBe('020100');
    expect(hex(integer(127))).toBe('02017f');
    expect(hex(integer(128))).toBe('02020080');
    expect(hex(integer(256))).toBe('02020100');
    expect(hex(integer(-1))).toBe('0201ff');
    expect(hex(integer(-128))).toBe('020180');
    expect(hex(integer(-129))).toBe('0202ff7f');
    expect(hex(integer(2n ** 64n))).toBe('0209010000000000000000');
    expect(() => integer(2 ** 53)).toThrow(RangeError);
    expect(() => integer(0.5)).toThrow(RangeError);
  });

  it('BOOLEAN true is 0xff', () => {
    expect(hex(boolean(true))).toBe('0101ff');
    expect(hex(boolean(false))).toBe('010100');
  });

  it('OIDs: first two arcs in one byte, larger arcs in base 128', () => {
    expect(hex(oid('2.5.29.17'))).toBe('0603551d11');
    expect(hex(oid('1.2.840.10045.4.3.2'))).toBe('06082a8648ce3d040302');
    expect(hex(oid('1.2.840.113549.1.9.14'))).toBe('06092a864886f70d01090e');
    expect(hex(oid('2.999.3'))).toBe('0603883703');
    // 2^128 - 1 (a UUID arc): 19 base-128 digits.
    expect(hex(oid('2.25.340282366920938463463374607431768211455'))).toBe(`061469 83${'ff'.repeat(17)}7f`.replace(' ', ''));
  });

  it('refuses malformed OIDs', () => {
    for (const bad of ['', '1', '1.', '.1.2', '1..2', '3.1', '1.40', '0.40', '1.2.-3', '1.2.a', 'x'.repeat(10), '1.2 .3', `1.${'2.'.repeat(100)}3`]) {
      expect(() => oid(bad), bad).toThrow(RangeError);
    }
  });

  it('IA5String takes printable ASCII only', () => {
    expect(hex(ia5String('a:b'))).toBe('1603613a62');
    for (const bad of ['é', 'a\nb', 'a\0', '\x7f', 'spiffe://td/ns/ä/sa/x']) expect(() => ia5String(bad), JSON.stringify(bad)).toThrow(RangeError);
  });

  it('BIT STRING has no unused bits', () => {
    expect(hex(bitString(Uint8Array.of(0xab)))).toBe('030200ab');
  });

  it('SEQUENCE keeps order, SET OF sorts by encoding', () => {
    expect(hex(sequence(integer(2), integer(1)))).toBe('3006020102020101');
    expect(hex(setOf(integer(2), integer(1)))).toBe('3106020101020102');
    expect(hex(setOf(octetString(Uint8Array.of(1, 2)), octetString(Uint8Array.of(1))))).toBe('310704010104020102');
    expect(hex(sequence())).toBe('3000');
  });

  it('context tags: primitive [6] is 0x86, constructed [0] is 0xa0', () => {
    expect(hex(contextPrimitive(6, Uint8Array.of(0x61)))).toBe('860161');
    expect(hex(contextConstructed(0, sequence()))).toBe('a0023000');
    for (const bad of [-1, 31, 1.5]) {
      expect(() => contextPrimitive(bad, new Uint8Array())).toThrow(RangeError);
      expect(() => contextConstructed(bad, new Uint8Array())).toThrow(RangeError);
    }
  });

  it('refuses identifiers that need more than one byte', () => {
    expect(() => tlv(0x1f, new Uint8Array())).toThrow(RangeError);
    expect(() => tlv(0x100, new Uint8Array())).toThrow(RangeError);
    expect(() => tlv(-1, new Uint8Array())).toThrow(RangeError);
  });

  it('PEM wraps base64 at 64 columns', () => {
    const pem = toPem('TEST', new Uint8Array(100));
    const lines = pem.trimEnd().split('\n');
    expect(lines[0]).toBe('-----BEGIN TEST-----');
    expect(lines.at(-1)).toBe('-----END TEST-----');
    expect(lines.slice(1, -1).map((l) => l.length)).toEqual([64, 64, 8]);
  });
});
