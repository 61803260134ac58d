// One call to istiod's CA, as Istio's agent makes it (security/pkg/nodeagent/caclient/providers/
// citadel): gRPC over HTTP/2 and TLS, the server checked against the mesh root under the name
// istiod.istio-system.svc, the caller authenticated by a ServiceAccount token (audience istio-ca)
// in `authorization: Bearer`, and the cluster it comes from in `clusterid`. istiod signs for the
// identity of the token, whatever the CSR asks for: see WorkloadCertificate for the check.
import { connect, constants, type IncomingHttpHeaders } from 'node:http2';
import { decodeCertificateResponse, encodeCertificateRequest } from './ca_messages.js';
import { frameMessage, grpcStatusOf, unframeUnaryMessage, type GrpcStatus } from './grpc_framing.js';

export const CREATE_CERTIFICATE_PATH = '/istio.v1.auth.IstioCertificateService/CreateCertificate';
/** The name on istiod's serving certificate (the agent's ISTIOD_SAN default). */
export const ISTIOD_SERVER_NAME = 'istiod.istio-system.svc';
/** istiod's own --clusterID default; its token authenticator looks the cluster up by it. */
export const DEFAULT_CLUSTER_ID = 'Kubernetes';
export const DEFAULT_TIMEOUT_MS = 30_000;
const MAX_TIMEOUT_MS = 10 * 60_000;
/** A chain is a few kB; anything near this is not a certificate response. */
export const MAX_RESPONSE_BYTES = 1024 * 1024;

export interface IstioCaOptions {
  /** host:port of istiod's secure gRPC port (15012 in a cluster). */
  address: string;
  /** The mesh root (ConfigMap istio-ca-root-cert, key root-cert.pem) that istiod's serving certificate chains to. */
  rootCertPem: string;
  /** Default istiod.istio-system.svc. */
  serverName?: string;
  /** A ServiceAccount token with audience istio-ca; called on every request so a rotated token is used. */
  token: () => string | Promise<string>;
  /** Default Kubernetes. */
  clusterId?: string;
  /** Default 30 s, for the whole call (connect, TLS, answer). */
  timeoutMs?: number;
}

/** istiod refused the request, or could not be reached or understood. */
export class IstioCaError extends Error {
  constructor(
    message: string,
    /** Set when istiod answered with a non-OK gRPC status. */
    readonly grpcStatus?: GrpcStatus,
  ) {
    super(message);
    this.name = 'IstioCaError';
  }
}

export type CertificateSigner = (csrPem: string, validitySeconds: number) => Promise<string[]>;

/** Sends `csrPem` to istiod's CA; resolves with the PEM chain, leaf first, root last. */
export async function requestCertificate(o: IstioCaOptions, csrPem: string, validitySeconds: number): Promise<string[]> {
  const timeoutMs = o.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  if (!Number.isInteger(timeoutMs) || timeoutMs <= 0 || timeoutMs > MAX_TIMEOUT_MS) throw new RangeError(`timeoutMs must be 1..${MAX_TIMEOUT_MS}, got ${timeoutMs}`);
  const origin = originOf(o.address);
  const token = (await o.token()).trim();
  // A token with a line break would be a header injection; http2 refuses it anyway, less clearly.
  if (!token || /[\0\r\n]/.test(token)) throw new IstioCaError('the ServiceAccount token for istiod is empty or malformed');
  const body = frameMessage(encodeCertificateRequest(csrPem, validitySeconds));
  const where = `istiod's CA at ${o.address}`;

  return new Promise<string[]>((resolve, reject) => {
    let settled = false;
    const session = connect(origin, { ca: o.rootCertPem, servername: o.serverName ?? ISTIOD_SERVER_NAME });
    const finish = (error: Error | undefined, chain?: string[]) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      session.destroy();
      if (error) reject(error);
      else resolve(chain!);
    };
    const timer = setTimeout(() => finish(new IstioCaError(`${where} did not answer within ${timeoutMs} ms`)), timeoutMs);
    session.on('error', (e) => finish(new IstioCaError(`cannot reach ${where}: ${e.message}`)));

    const stream = session.request({
      ':method': 'POST',
      ':path': CREATE_CERTIFICATE_PATH,
      'content-type': 'application/grpc',
      te: 'trailers',
      'grpc-timeout': `${timeoutMs}m`,
      authorization: `Bearer ${token}`,
      clusterid: o.clusterId ?? DEFAULT_CLUSTER_ID,
    });
    let headers: IncomingHttpHeaders = {};
    let trailers: IncomingHttpHeaders = {};
    const chunks: Buffer[] = [];
    let received = 0;
    stream.on('response', (h) => (headers = h));
    stream.on('trailers', (t) => (trailers = t));
    stream.on('data', (chunk: Buffer) => {
      received += chunk.length;
      if (received > MAX_RESPONSE_BYTES + 5) {
        stream.close(constants.NGHTTP2_CANCEL);
        finish(new IstioCaError(`${where} sent more than ${MAX_RESPONSE_BYTES} bytes`));
      } else {
        chunks.push(chunk);
      }
    });
    stream.on('end', () => {
      try {
        finish(undefined, chainFromResponse(headers, trailers, Buffer.concat(chunks), where));
      } catch (e) {
        finish(e as Error);
      }
    });
    stream.on('error', (e) => {
      // A failed connection (refused, TLS) cancels the pending stream first: report its cause.
      const cause = (e as NodeJS.ErrnoException).code === 'ERR_HTTP2_STREAM_CANCEL' && e.cause instanceof Error ? e.cause : undefined;
      finish(new IstioCaError(cause ? `cannot reach ${where}: ${cause.message}` : `${where}: ${e.message}`));
    });
    stream.on('close', () => finish(new IstioCaError(`${where} closed the stream without an answer (HTTP/2 code ${stream.rstCode})`)));
    stream.end(body);
  });
}

/** requestCertificate bound to one istiod, for WorkloadCertificate. */
export function istiodSigner(o: IstioCaOptions): CertificateSigner {
  return (csrPem, validitySeconds) => requestCertificate(o, csrPem, validitySeconds);
}

function chainFromResponse(headers: IncomingHttpHeaders, trailers: IncomingHttpHeaders, body: Uint8Array, where: string): string[] {
  const httpStatus = Number(headers[':status']);
  // A trailers-only answer (every immediate error) carries the status in the headers.
  const status = grpcStatusOf(trailers) ?? grpcStatusOf(headers);
  if (httpStatus !== 200) throw new IstioCaError(`${where} answered HTTP ${headers[':status'] ?? '(none)'}${status ? `, ${status.name}: ${status.message}` : ''}`, status);
  if (!status) throw new IstioCaError(`${where} ended the call without a grpc-status`);
  if (status.code !== 0) throw new IstioCaError(`${where} refused the certificate request: ${status.name} (${status.code}): ${status.message}`, status);
  if (!String(headers['content-type'] ?? '').startsWith('application/grpc')) throw new IstioCaError(`${where} answered content-type ${headers['content-type'] ?? '(none)'}, not gRPC`);
  let chain: string[];
  try {
    chain = decodeCertificateResponse(unframeUnaryMessage(body, MAX_RESPONSE_BYTES));
  } catch (e) {
    throw new IstioCaError(`${where}: ${(e as Error).message}`);
  }
  if (chain.length === 0) throw new IstioCaError(`${where} answered OK with an empty cert_chain`);
  return chain;
}

/** `https://host:port` from `host:port` (IPv6 in brackets); anything more is refused. */
function originOf(address: string): string {
  const m = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):([0-9]{1,5})$/.exec(address);
  const port = Number(m?.[2]);
  if (!m || port < 1 || port > 65535) throw new RangeError(`istiod address must be host:port, got ${JSON.stringify(address)}`);
  return `https://${m[1]}:${port}`;
}
