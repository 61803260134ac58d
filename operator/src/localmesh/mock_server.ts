// The server under each local mock (provider, guard): plain HTTP, or HTTPS from a Pki so that Envoy
// originates TLS to it as to the real host; on loopback, keep-alive like a real API front end.
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import https from 'node:https';
import type { Socket } from 'node:net';
import { TLSSocket } from 'node:tls';

/** A server certificate and key (a Pki from tls.ts fits). */
export interface ServerTls {
  certPem: string;
  keyPem: string;
}

export type MockHttpServer = http.Server | https.Server;

/**
 * `onSocket` sees each client connection: the TCP socket for HTTP, the TLS socket (the one requests
 * arrive on, counting decrypted bytes) for HTTPS.
 */
export function createMockServer(
  handle: (req: IncomingMessage, res: ServerResponse) => void,
  tls: ServerTls | undefined,
  onSocket: (socket: Socket) => void,
): MockHttpServer {
  const server = tls ? https.createServer({ cert: tls.certPem, key: tls.keyPem }, handle) : http.createServer(handle);
  server.keepAliveTimeout = 60_000;
  server.on(tls ? 'secureConnection' : 'connection', onSocket);
  return server;
}

/**
 * Listens on a loopback address (default 127.0.0.1; another 127.x address keeps the mock clear of
 * a sidecar that binds the same port on 127.0.0.1) and resolves to the port (0: a free one).
 */
export async function listenOnLoopback(server: MockHttpServer, port = 0, host = '127.0.0.1'): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const address = server.address();
  if (!address || typeof address === 'string') throw new Error('mock server has no port');
  return address.port;
}

/** Closes the server and every connection on it. */
export function closeServer(server: MockHttpServer): Promise<void> {
  server.closeAllConnections();
  return new Promise((resolve) => server.close(() => resolve()));
}

/** The TLS server name the client asked for; null over plain HTTP or when it sent none. */
export function sniOf(req: IncomingMessage): string | null {
  return req.socket instanceof TLSSocket && typeof req.socket.servername === 'string' ? req.socket.servername : null;
}
