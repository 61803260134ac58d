// Checks what a CA returned before we serve with it. istiod signs for the identity of the token
// that called it, not for the one in the CSR (security/pkg/server/ca/server.go: "the SAN is the
// identity of the caller"), so a token of the wrong ServiceAccount yields a valid certificate for
// the wrong identity: only this check notices.
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { identityOfPeer, sameIdentity, spiffeId, type WorkloadIdentity } from './spiffe_identity.js';

/** Certificates accepted in a chain or a root bundle; real ones hold 2 or 3. */
const MAX_CERTIFICATES = 16;

export interface CheckedChain {
  /** Leaf then intermediates, PEM: what a TLS server presents. The root is left out. */
  certChainPem: string;
  notBefore: Date;
  notAfter: Date;
}

/**
 * The issued chain (PEM strings, leaf first, as istiod sends it) if its leaf is for `keyPem`'s
 * key, carries exactly `identity`, is valid at `now` and chains to a certificate of `rootPem`;
 * otherwise throws saying which.
 */
export function checkIssuedChain(chainPems: readonly string[], keyPem: string, identity: WorkloadIdentity, rootPem: string, now: number): CheckedChain {
  if (chainPems.length > MAX_CERTIFICATES) throw new Error(`the issued chain holds more than ${MAX_CERTIFICATES} certificates`);
  const certs = parseCertificates(chainPems.join('\n'), 'the issued chain');
  const roots = parseCertificates(rootPem, 'the mesh root');
  if (certs.length === 0) throw new Error('the CA returned no certificate');
  if (roots.length === 0) throw new Error('the mesh root holds no certificate');
  const leaf = certs[0]!;
  if (!leaf.checkPrivateKey(createPrivateKey(keyPem))) throw new Error('the issued certificate is not for the key of our CSR');

  const issued = identityOfPeer(leaf);
  if (!issued) throw new Error(`the issued certificate carries no single well-formed SPIFFE URI (SANs: ${leaf.subjectAltName ?? 'none'})`);
  if (!sameIdentity(issued, identity)) {
    throw new Error(`the CA issued ${spiffeId(issued)} but ${spiffeId(identity)} was asked for: the token belongs to another ServiceAccount`);
  }

  const notBefore = certificateTime(leaf.validFrom);
  const notAfter = certificateTime(leaf.validTo);
  if (!(notBefore < notAfter)) throw new Error(`the issued certificate's validity is empty (${leaf.validFrom} .. ${leaf.validTo})`);
  if (now >= notAfter.getTime()) throw new Error(`the issued certificate expired at ${notAfter.toISOString()}`);

  const isRoot = (c: X509Certificate) => roots.some((r) => r.fingerprint256 === c.fingerprint256);
  const pool = certs.slice(1).filter((c) => !isRoot(c));
  const path = [leaf];
  for (let current = leaf; ; ) {
    if (roots.some((r) => issuedBy(current, r))) break;
    const next = pool.findIndex((c) => c.ca && issuedBy(current, c));
    if (next < 0) throw new Error(`the issued certificate does not chain to the mesh root (stuck at issuer ${JSON.stringify(current.issuer)})`);
    // Each intermediate is used at most once, so the walk ends within pool.length steps.
    current = pool.splice(next, 1)[0]!;
    path.push(current);
  }
  return { certChainPem: path.map((c) => pemOf(c)).join(''), notBefore, notAfter };
}

function issuedBy(cert: X509Certificate, issuer: X509Certificate): boolean {
  return cert.checkIssued(issuer) && cert.verify(issuer.publicKey);
}

function parseCertificates(pem: string, what: string): X509Certificate[] {
  const blocks = pem.match(/-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/g) ?? [];
  if (blocks.length > MAX_CERTIFICATES) throw new Error(`${what} holds more than ${MAX_CERTIFICATES} certificates`);
  return blocks.map((b) => {
    try {
      return new X509Certificate(b);
    } catch (e) {
      throw new Error(`${what} holds an unreadable certificate: ${(e as Error).message}`);
    }
  });
}

/** Node's validFrom/validTo text, `Dec  3 10:00:00 2026 GMT`. */
function certificateTime(text: string): Date {
  const t = Date.parse(text);
  if (Number.isNaN(t)) throw new Error(`unreadable certificate time ${JSON.stringify(text)}`);
  return new Date(t);
}

function pemOf(cert: X509Certificate): string {
  return cert.toString().trimEnd() + '\n';
}
