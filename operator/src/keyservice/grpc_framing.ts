// gRPC over HTTP/2, the parts a unary call needs (grpc/doc/PROTOCOL-HTTP2.md): each message is
// prefixed with a compressed flag byte and a 4-byte big-endian length; the outcome is the
// `grpc-status` / `grpc-message` pair, in the trailers or, for an immediate error, in the headers.

export const GRPC_STATUS_NAMES = [
  'OK',
  'Cancelled',
  'Unknown',
  'InvalidArgument',
  'DeadlineExceeded',
  'NotFound',
  'AlreadyExists',
  'PermissionDenied',
  'ResourceExhausted',
  'FailedPrecondition',
  'Aborted',
  'OutOfRange',
  'Unimplemented',
  'Internal',
  'Unavailable',
  'DataLoss',
  'Unauthenticated',
] as const;

const PREFIX_BYTES = 5;

export function frameMessage(message: Uint8Array): Uint8Array {
  const out = new Uint8Array(PREFIX_BYTES + message.length);
  new DataView(out.buffer).setUint32(1, message.length);
  out.set(message, PREFIX_BYTES);
  return out;
}

/** The one message of a unary response body; anything else (none, two, truncated, compressed, too big) throws. */
export function unframeUnaryMessage(body: Uint8Array, maxMessageBytes: number): Uint8Array {
  if (body.length < PREFIX_BYTES) throw new Error(`malformed gRPC response: ${body.length} bytes, no complete message`);
  const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
  const flag = view.getUint8(0);
  // We send no grpc-accept-encoding, so a compressed message breaks the protocol too.
  if (flag !== 0) throw new Error(`malformed gRPC response: compressed flag ${flag}`);
  const length = view.getUint32(1);
  if (length > maxMessageBytes) throw new Error(`gRPC response message of ${length} bytes exceeds ${maxMessageBytes}`);
  const end = PREFIX_BYTES + length;
  if (body.length < end) throw new Error(`malformed gRPC response: message of ${length} bytes truncated at ${body.length - PREFIX_BYTES}`);
  if (body.length > end) throw new Error('malformed gRPC response: more than one message in a unary response');
  return body.subarray(PREFIX_BYTES, end);
}

export interface GrpcStatus {
  code: number;
  /** `Unauthenticated`, or `status 42` for a code outside the spec. */
  name: string;
  message: string;
}

/** The status in a header block, undefined if it has no (well-formed) grpc-status. */
export function grpcStatusOf(headers: Record<string, string | string[] | undefined>): GrpcStatus | undefined {
  const raw = headers['grpc-status'];
  if (typeof raw !== 'string' || !/^[0-9]{1,5}$/.test(raw)) return undefined;
  const code = Number(raw);
  const message = typeof headers['grpc-message'] === 'string' ? decodeGrpcMessage(headers['grpc-message']) : '';
  return { code, name: GRPC_STATUS_NAMES[code] ?? `status ${code}`, message };
}

/** grpc-message is percent-encoded UTF-8; a malformed escape is kept as it came. */
export function decodeGrpcMessage(raw: string): string {
  const bytes: number[] = [];
  for (let i = 0; i < raw.length; i++) {
    const hex = raw[i] === '%' ? raw.slice(i + 1, i + 3) : '';
    if (/^[0-9A-Fa-f]{2}$/.test(hex)) {
      bytes.push(parseInt(hex, 16));
      i += 2;
    } else {
      bytes.push(raw.charCodeAt(i) & 0xff);
    }
  }
  return new TextDecoder('utf-8').decode(Uint8Array.from(bytes));
}
