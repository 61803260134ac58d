// @ts-check
/**
 * TLS for the mesh e2e test: a test CA and a server certificate for given hosts (SAN DNS names),
 * made with `openssl` into a temp dir at test time, and HTTPS variants of the mock provider and
 * the mock guard (the same request handlers behind node:https) that record each request's TLS SNI.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { MockGuard } from './mock_guard.js';
import { MockProvider } from './mock_provider.js';

/**
 * @typedef {object} Pki
 * @property {string} dir
 * @property {string} caPem
 * @property {string} certPem
 * @property {string} keyPem
 * @property {() => void} remove
 */

/**
 * A CA and a server certificate signed by it, valid for the given DNS names.
 * @param {string[]} hosts
 * @returns {Pki}
 */
export function makePki(hosts) {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'llm-guard-e2e-pki-'));
  /** @param {string} f */
  const p = (f) => path.join(dir, f);
  /** @param {string[]} args */
  const run = (args) => execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  try {
    run(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', p('ca.key'), '-out', p('ca.pem'), '-days', '2',
      '-subj', '/CN=llm-guard e2e CA', '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign']);
    run(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', p('server.key'), '-out', p('server.csr'), '-subj', `/CN=${hosts[0]}`]);
    writeFileSync(p('ext.cnf'), `subjectAltName=${hosts.map((h) => `DNS:${h}`).join(',')}\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n`);
    run(['x509', '-req', '-in', p('server.csr'), '-CA', p('ca.pem'), '-CAkey', p('ca.key'), '-CAcreateserial', '-out', p('server.pem'),
      '-days', '2', '-sha256', '-extfile', p('ext.cnf')]);
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`openssl failed: ${/** @type {any} */ (e).stderr?.toString() || String(e)}`);
  }
  return {
    dir,
    caPem: readFileSync(p('ca.pem'), 'utf8'),
    certPem: readFileSync(p('server.pem'), 'utf8'),
    keyPem: readFileSync(p('server.key'), 'utf8'),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/**
 * Replaces a mock's plain HTTP server with an HTTPS one around the same handler. `sni` gets each
 * request's TLS server name, in arrival order (false when the client sent none).
 * @param {{server: import('node:http').Server, handle: (req: any, res: any) => void}} mock
 * @param {Pki} pki
 * @param {(socket: import('node:net').Socket) => void} onSocket
 */
function serveHttps(mock, pki, onSocket) {
  /** @type {(string | false)[]} */
  const sni = [];
  const server = https.createServer({ cert: pki.certPem, key: pki.keyPem }, (req, res) => {
    sni.push(/** @type {import('node:tls').TLSSocket} */ (req.socket).servername ?? false);
    mock.handle(req, res);
  });
  server.keepAliveTimeout = 60_000;
  server.on('secureConnection', onSocket);
  mock.server = server;
  return sni;
}

/**
 * The mock provider behind HTTPS; `.sni[i]` is the SNI of `.requests[i]`.
 * @param {Pki} pki
 * @param {import('./mock_provider.js').MockOptions} [opts]
 */
export async function startHttpsMockProvider(pki, opts = {}) {
  const mock = new MockProvider(opts);
  const sni = serveHttps(mock, pki, (socket) => {
    const conn = { id: ++mock.connectionCount, bytesRead: 0, requests: 0, closed: false };
    mock.connections.push(conn);
    mock.bySocket.set(socket, conn);
    socket.on('close', () => {
      conn.bytesRead = Math.max(conn.bytesRead, socket.bytesRead);
      conn.closed = true;
      mock.bySocket.delete(socket);
    });
  });
  await mock.listen();
  return Object.assign(mock, { sni, reset: () => { mock.requests = []; sni.length = 0; mock.connections = mock.connections.filter((c) => !c.closed); } });
}

/**
 * The mock guard behind HTTPS; `.sni[i]` is the SNI of `.requests[i]`.
 * @param {Pki} pki
 * @param {import('./mock_guard.js').MockGuardOptions} [opts]
 */
export async function startHttpsMockGuard(pki, opts = {}) {
  const mock = new MockGuard(opts);
  const sni = serveHttps(mock, pki, (socket) => {
    mock.sockets.add(socket);
    socket.on('close', () => mock.sockets.delete(socket));
  });
  await mock.listen();
  return Object.assign(mock, { sni });
}
