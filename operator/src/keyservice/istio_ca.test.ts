// requestCertificate against a local HTTP/2 TLS server playing istiod's CA: what goes on the wire,
// and every way an answer can be wrong. The real istiod: test/mesh/istio_ca.mesh.test.ts.
import { generateKeyPairSync } from 'node:crypto';
import { createSecureServer, type Http2SecureServer, type IncomingHttpHeaders, type ServerHttp2Stream } from 'node:http2';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeCertificateResponse, encodeCertificateRequest } from './ca_messages.js';
import { frameMessage, unframeUnaryMessage } from './grpc_framing.js';
import { CREATE_CERTIFICATE_PATH, IstioCaError, MAX_RESPONSE_BYTES, requestCertificate, type IstioCaOptions } from './istio_ca.js';
import { createFakeCa } from './testdata/fake_ca.js';

type Handler = (stream: ServerHttp2Stream, headers: IncomingHttpHeaders, body: Buffer) => void;

const ca = createFakeCa();
let server: Http2SecureServer;
let address: string;
let handler: Handler;
const seen: { headers: IncomingHttpHeaders; body: Buffer }[] = [];

beforeAll(async () => {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const [cert] = ca.issue({ publicKey, dnsNames: ['istiod.istio-system.svc'], notBefore: Date.now() - 60_000, notAfter: Date.now() + 3_600_000 });
  server = createSecureServer({ key: privateKey.export({ format: 'pem', type: 'pkcs8' }), cert });
  server.on('stream', (stream, headers) => {
    stream.on('error', () => undefined); // resets the tests provoke
    const chunks: Buffer[] = [];
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('end', () => {
      const body = Buffer.concat(chunks);
      seen.push({ headers, body });
      handler(stream, headers, body);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  address = `127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise((r) => server.close(r));
});

const options = (o: Partial<IstioCaOptions> = {}): IstioCaOptions => ({ address, rootCertPem: ca.rootPem, token: () => 'the-token', ...o });

/** A protobuf IstioCertificateResponse (cert_chain is field 1, as csr is in the request). */
function responseMessage(chain: string[]): Buffer {
  return Buffer.concat(chain.map((c) => encodeCertificateRequest(c, 0)));
}

function answerOk(stream: ServerHttp2Stream, body: Uint8Array, trailers: Record<string, string> = { 'grpc-status': '0' }): void {
  stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
  stream.on('wantTrailers', () => stream.sendTrailers(trailers));
  stream.end(body);
}

function answerTrailersOnly(stream: ServerHttp2Stream, status: number, message: string): void {
  stream.respond({ ':status': 200, 'content-type': 'application/grpc', 'grpc-status': String(status), 'grpc-message': encodeURIComponent(message) }, { endStream: true });
}

describe('requestCertificate', () => {
  it('sends one framed IstioCertificateRequest with the headers pilot-agent sends, and returns the chain', async () => {
    handler = (stream) => answerOk(stream, frameMessage(responseMessage(['LEAF\n', 'ROOT\n'])));
    seen.length = 0;
    const chain = await requestCertificate(options({ clusterId: 'east' }), 'CSR PEM', 3600);
    expect(chain).toEqual(['LEAF\n', 'ROOT\n']);
    const [{ headers, body }] = seen as [(typeof seen)[0]];
    expect(headers[':method']).toBe('POST');
    expect(headers[':path']).toBe(CREATE_CERTIFICATE_PATH);
    expect(headers['content-type']).toBe('application/grpc');
    expect(headers.te).toBe('trailers');
    expect(headers.authorization).toBe('Bearer the-token');
    expect(headers.clusterid).toBe('east');
    expect(headers['grpc-timeout']).toBe('30000m');
    expect(decodeCertificateResponse(unframeUnaryMessage(body, 1 << 20))).toEqual(['CSR PEM']);
    expect(Buffer.from(unframeUnaryMessage(body, 1 << 20)).equals(Buffer.from(encodeCertificateRequest('CSR PEM', 3600)))).toBe(true);
  });

  it('clusterid defaults to Kubernetes; the token is asked for on every call and trimmed', async () => {
    handler = (stream) => answerOk(stream, frameMessage(responseMessage(['LEAF'])));
    seen.length = 0;
    let n = 0;
    const token = async () => `token-${++n}\n`;
    await requestCertificate(options({ token }), 'x', 1);
    await requestCertificate(options({ token }), 'x', 1);
    expect(seen.map((s) => [s.headers.clusterid, s.headers.authorization])).toEqual([
      ['Kubernetes', 'Bearer token-1'],
      ['Kubernetes', 'Bearer token-2'],
    ]);
  });

  it('a refusal in a trailers-only answer becomes an IstioCaError with istiod’s message', async () => {
    handler = (stream) => answerTrailersOnly(stream, 16, 'request authenticate failure');
    const e = await requestCertificate(options(), 'x', 1).catch((err: unknown) => err);
    expect(e).toBeInstanceOf(IstioCaError);
    expect((e as IstioCaError).message).toBe(`istiod's CA at ${address} refused the certificate request: Unauthenticated (16): request authenticate failure`);
    expect((e as IstioCaError).grpcStatus).toEqual({ code: 16, name: 'Unauthenticated', message: 'request authenticate failure' });
  });

  it('a refusal in the trailers, its message percent-decoded', async () => {
    handler = (stream) => answerOk(stream, new Uint8Array(), { 'grpc-status': '3', 'grpc-message': 'CSR%20signing%20error%20(requested%20TTL%20is%20greater)' });
    await expect(requestCertificate(options(), 'x', 1)).rejects.toThrow('InvalidArgument (3): CSR signing error (requested TTL is greater)');
  });

  it('an answer that is not gRPC', async () => {
    handler = (stream) => {
      stream.respond({ ':status': 404, 'content-type': 'text/plain' });
      stream.end('not found');
    };
    await expect(requestCertificate(options(), 'x', 1)).rejects.toThrow(`istiod's CA at ${address} answered HTTP 404`);
    handler = (stream) => {
      stream.respond({ ':status': 200, 'content-type': 'text/html' }, { waitForTrailers: true });
      stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
      stream.end(frameMessage(responseMessage(['LEAF'])));
    };
    await expect(requestCertificate(options(), 'x', 1)).rejects.toThrow(/content-type text\/html, not gRPC/);
  });

  it('no grpc-status at all', async () => {
    handler = (stream) => answerOk(stream, frameMessage(responseMessage(['LEAF'])), {});
    await expect(requestCertificate(options(), 'x', 1)).rejects.toThrow(/without a grpc-status/);
  });

  it('malformed frames and messages', async () => {
    const bodies: [Uint8Array, RegExp][] = [
      [new Uint8Array(), /no complete message/],
      [Buffer.concat([frameMessage(responseMessage(['A'])), frameMessage(responseMessage(['B']))]), /more than one message/],
      [Uint8Array.of(1, 0, 0, 0, 0), /compressed flag/],
      [Uint8Array.of(0, 0, 0, 0, 9, 1), /truncated/],
      [frameMessage(Uint8Array.of(0x0a, 0x09, 0x41)), /malformed protobuf/],
      [frameMessage(new Uint8Array()), /empty cert_chain/],
    ];
    for (const [body, error] of bodies) {
      handler = (stream) => answerOk(stream, body);
      await expect(requestCertificate(options(), 'x', 1), String(error)).rejects.toThrow(error);
    }
  });

  it('stops reading past the response size limit', async () => {
    handler = (stream) => answerOk(stream, frameMessage(responseMessage(['x'.repeat(MAX_RESPONSE_BYTES + 100)])));
    await expect(requestCertificate(options(), 'x', 1)).rejects.toThrow(`sent more than ${MAX_RESPONSE_BYTES} bytes`);
  });

  it('gives up after timeoutMs when istiod does not answer', async () => {
    handler = () => undefined;
    const started = Date.now();
    await expect(requestCertificate(options({ timeoutMs: 300 }), 'x', 1)).rejects.toThrow(`istiod's CA at ${address} did not answer within 300 ms`);
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('a stream reset by the server', async () => {
    handler = (stream) => stream.close(0x2);
    await expect(requestCertificate(options(), 'x', 1)).rejects.toThrow(IstioCaError);
  });

  it('checks istiod’s certificate: the mesh root and the server name', async () => {
    handler = (stream) => answerOk(stream, frameMessage(responseMessage(['LEAF'])));
    await expect(requestCertificate(options({ rootCertPem: createFakeCa().rootPem }), 'x', 1)).rejects.toThrow(/cannot reach istiod's CA .*certificate/);
    await expect(requestCertificate(options({ serverName: 'istiod.other.svc' }), 'x', 1)).rejects.toThrow(/cannot reach istiod's CA .*does not match certificate's altnames/);
  });

  it('nobody listening', async () => {
    const closed = createSecureServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((r) => closed.close(r));
    await expect(requestCertificate(options({ address: `127.0.0.1:${port}` }), 'x', 1)).rejects.toThrow(/cannot reach istiod's CA .*ECONNREFUSED/);
  });

  it('refuses bad options before connecting', async () => {
    for (const bad of ['127.0.0.1', 'https://127.0.0.1:15012', '127.0.0.1:15012/x', 'host:0', 'host:70000', 'a b:1', '', 'user@host:1']) {
      await expect(requestCertificate(options({ address: bad }), 'x', 1), bad).rejects.toThrow(/host:port/);
    }
    for (const token of ['', '  ', 'a\r\nx-evil: 1', 'a\nb']) {
      await expect(requestCertificate(options({ token: () => token }), 'x', 1), JSON.stringify(token)).rejects.toThrow(/token .* empty or malformed/);
    }
    await expect(requestCertificate(options({ timeoutMs: 0 }), 'x', 1)).rejects.toThrow(RangeError);
    await expect(requestCertificate(options(), 'x', -1)).rejects.toThrow(RangeError);
  });

  it('an IPv6 address in brackets is accepted', async () => {
    await expect(requestCertificate(options({ address: '[::1]:1', timeoutMs: 2000 }), 'x', 1)).rejects.toThrow(/cannot reach|did not answer/);
  });
});
