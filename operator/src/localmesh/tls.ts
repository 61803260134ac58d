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

/**
 * Another certificate signed by the PKI's CA, for subject alternative names in openssl's form
 * (`URI:spiffe://cluster.local/ns/apps/sa/chat`, `DNS:host`): a mesh workload's client or server
 * certificate in tests. EC P-256, as Istio issues them.
 */
export function issueCertificate(pki: Pki, subjectAltNames: string[], usage: 'client' | 'server' | 'both' = 'both', opensslBin = process.env.OPENSSL_BIN ?? 'openssl'): { certPem: string; keyPem: string } {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'llm-guard-cert-'));
  const p = (f: string) => path.join(dir, f);
  const run = (args: string[]) => execFileSync(opensslBin, args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  const eku = usage === 'both' ? 'serverAuth,clientAuth' : usage === 'client' ? 'clientAuth' : 'serverAuth';
  try {
    run(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', p('key.pem'), '-out', p('req.csr'), '-subj', '/O=test']);
    writeFileSync(p('ext.cnf'), `${subjectAltNames.length ? `subjectAltName=critical,${subjectAltNames.join(',')}\n` : ''}extendedKeyUsage=${eku}\nbasicConstraints=CA:FALSE\n`);
    run(['x509', '-req', '-in', p('req.csr'), '-CA', path.join(pki.dir, 'ca.pem'), '-CAkey', path.join(pki.dir, 'ca.key'), '-CAcreateserial',
      '-out', p('cert.pem'), '-days', '2', '-sha256', '-extfile', p('ext.cnf')]);
    return { certPem: readFileSync(p('cert.pem'), 'utf8'), keyPem: readFileSync(p('key.pem'), 'utf8') };
  } catch (e) {
    const err = e as { stderr?: Buffer; message: string };
    throw new Error(`openssl failed: ${err.stderr?.toString() || err.message}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
