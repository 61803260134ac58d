import { describe, expect, it } from 'vitest';
import { decodeGrpcMessage, frameMessage, grpcStatusOf, unframeUnaryMessage } from './grpc_framing.js';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const bytes = (...b: number[]) => Uint8Array.from(b);

describe('gRPC message framing', () => {
  it('flag 0, big-endian length, the message', () => {
    expect(hex(frameMessage(bytes(0xaa, 0xbb)))).toBe('0000000002aabb');
    expect(hex(frameMessage(new Uint8Array()))).toBe('0000000000');
    expect(hex(frameMessage(new Uint8Array(0x10203)).subarray(0, 5))).toBe('0000010203');
  });

  it('reads back exactly one message', () => {
    expect(hex(unframeUnaryMessage(frameMessage(bytes(1, 2, 3)), 10))).toBe('010203');
    expect(unframeUnaryMessage(frameMessage(new Uint8Array()), 10)).toHaveLength(0);
  });

  it('reads a message inside a larger buffer (a subarray)', () => {
    const backing = new Uint8Array(20);
    backing.set(frameMessage(bytes(9, 8)), 7);
    expect(hex(unframeUnaryMessage(backing.subarray(7, 14), 10))).toBe('0908');
  });

  it('refuses malformed frames', () => {
    const cases: [string, Uint8Array, RegExp][] = [
      ['empty body', new Uint8Array(), /no complete message/],
      ['partial prefix', bytes(0, 0, 0), /no complete message/],
      ['compressed', bytes(1, 0, 0, 0, 0), /compressed flag 1/],
      ['unknown flag', bytes(0x80, 0, 0, 0, 0), /compressed flag 128/],
      ['truncated', bytes(0, 0, 0, 0, 4, 1, 2), /truncated/],
      ['two messages', Buffer.concat([frameMessage(bytes(1)), frameMessage(bytes(2))]), /more than one message/],
      ['trailing byte', Buffer.concat([frameMessage(bytes(1)), bytes(0)]), /more than one message/],
      ['length over the limit', bytes(0, 0xff, 0xff, 0xff, 0xff), /exceeds 10/],
    ];
    for (const [name, body, error] of cases) expect(() => unframeUnaryMessage(body, 10), name).toThrow(error);
  });
});

describe('gRPC status', () => {
  it('reads code, name and message', () => {
    expect(grpcStatusOf({ 'grpc-status': '16', 'grpc-message': 'request authenticate failure' })).toEqual({ code: 16, name: 'Unauthenticated', message: 'request authenticate failure' });
    expect(grpcStatusOf({ 'grpc-status': '0' })).toEqual({ code: 0, name: 'OK', message: '' });
    expect(grpcStatusOf({ 'grpc-status': '99' })?.name).toBe('status 99');
  });

  it('no or malformed grpc-status is no status', () => {
    for (const raw of [undefined, '', 'OK', '-1', '1.0', ' 0', '123456', ['0']]) expect(grpcStatusOf({ 'grpc-status': raw }), JSON.stringify(raw)).toBeUndefined();
  });

  it('grpc-message is percent-decoded UTF-8', () => {
    expect(decodeGrpcMessage('CSR signing error (requested TTL 2160h0m1s is greater than the max allowed TTL 2160h0m0s)')).toBe(
      'CSR signing error (requested TTL 2160h0m1s is greater than the max allowed TTL 2160h0m0s)',
    );
    expect(decodeGrpcMessage('a%20b%25c')).toBe('a b%c');
    expect(decodeGrpcMessage('caf%C3%A9')).toBe('café');
    expect(decodeGrpcMessage('line%0Anext')).toBe('line\nnext');
  });

  it('malformed escapes are kept, bad UTF-8 is replaced, nothing throws', () => {
    expect(decodeGrpcMessage('100%')).toBe('100%');
    expect(decodeGrpcMessage('%zz%4')).toBe('%zz%4');
    expect(decodeGrpcMessage('%C3%28')).toBe('\ufffd(');
  });
});
