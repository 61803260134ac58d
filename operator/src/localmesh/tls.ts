// A throwaway CA and a server certificate for given DNS names (SAN), made with the openssl CLI into
// a temp dir: the local mocks serve HTTPS with it, and Envoy's upstream TLS trusts the CA.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export interface Pki {
  dir: string;
  caPem: string;
  certPem: string;
  keyPem: string;
  /** Removes the temp dir. */
  remove(): void;
}

/** Makes a CA and one server certificate (SAN = the hosts) signed by it. Needs `openssl` on PATH. */
export function makePki(hosts: string[], opensslBin = process.env.OPENSSL_BIN ?? 'openssl'): Pki {
  if (!hosts.length) throw new Error('makePki: no hosts');
  const dir = mkdtempSync(path.join(os.tmpdir(), 'llm-guard-pki-'));
  const p = (f: string) => path.join(dir, f);
  const run = (args: string[]) => execFileSync(opensslBin, args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  try {
    run(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', p('ca.key'), '-out', p('ca.pem'), '-days', '2',
      '-subj', '/CN=llm-guard local CA', '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign']);
    run(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', p('server.key'), '-out', p('server.csr'), '-subj', `/CN=${hosts[0]}`]);
    writeFileSync(p('ext.cnf'), `subjectAltName=${hosts.map((h) => `DNS:${h}`).join(',')}\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n`);
    run(['x509', '-req', '-in', p('server.csr'), '-CA', p('ca.pem'), '-CAkey', p('ca.key'), '-CAcreateserial', '-out', p('server.pem'),
      '-days', '2', '-sha256', '-extfile', p('ext.cnf')]);
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    const err = e as { stderr?: Buffer; message: string };
    throw new Error(`openssl failed: ${err.stderr?.toString() || err.message}`);
  }
  return {
    dir,
    caPem: readFileSync(p('ca.pem'), 'utf8'),
    certPem: readFileSync(p('server.pem'), 'utf8'),
    keyPem: readFileSync(p('server.key'), 'utf8'),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
