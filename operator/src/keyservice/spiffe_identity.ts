// Istio's workload identity, `spiffe://<trust-domain>/ns/<namespace>/sa/<service-account>`, and
// reading it from a peer's certificate. The key service hands out keys on what identityOfPeer
// returns, so parsing refuses anything it is not sure of: any doubt is "no identity".
import type { X509Certificate } from 'node:crypto';
import type { PeerCertificate } from 'node:tls';

export interface WorkloadIdentity {
  trustDomain: string;
  namespace: string;
  serviceAccount: string;
}

/** The SPIFFE spec's limit on a whole ID. */
const MAX_SPIFFE_ID_LENGTH = 2048;
/** Far above any real certificate's SAN list; longer text is refused unread. */
const MAX_SAN_TEXT_LENGTH = 64 * 1024;

// SPIFFE trust domain: lowercase letters, digits, '.', '-', '_' (spec, "Trust Domain").
const TRUST_DOMAIN = /^[a-z0-9._-]{1,255}$/;
// Kubernetes: a namespace is a DNS label, a ServiceAccount name a DNS subdomain (RFC 1123).
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

export function isValidIdentity(id: WorkloadIdentity): boolean {
  return (
    typeof id.trustDomain === 'string' &&
    typeof id.namespace === 'string' &&
    typeof id.serviceAccount === 'string' &&
    TRUST_DOMAIN.test(id.trustDomain) &&
    DNS_LABEL.test(id.namespace) &&
    id.serviceAccount.length <= 253 &&
    DNS_SUBDOMAIN.test(id.serviceAccount)
  );
}

export function spiffeId(id: WorkloadIdentity): string {
  if (!isValidIdentity(id)) throw new Error(`not a valid workload identity: ${JSON.stringify(id)}`);
  return `spiffe://${id.trustDomain}/ns/${id.namespace}/sa/${id.serviceAccount}`;
}

/** The identity in an Istio SPIFFE ID, or undefined unless it is exactly `spiffe://td/ns/N/sa/S`. */
export function parseSpiffeId(uri: string): WorkloadIdentity | undefined {
  if (typeof uri !== 'string' || uri.length > MAX_SPIFFE_ID_LENGTH) return undefined;
  const m = /^spiffe:\/\/([^/]+)\/ns\/([^/]+)\/sa\/([^/]+)$/.exec(uri);
  if (!m) return undefined;
  const id = { trustDomain: m[1]!, namespace: m[2]!, serviceAccount: m[3]! };
  return isValidIdentity(id) ? id : undefined;
}

export function sameIdentity(a: WorkloadIdentity, b: WorkloadIdentity): boolean {
  return a.trustDomain === b.trustDomain && a.namespace === b.namespace && a.serviceAccount === b.serviceAccount;
}

export interface SubjectAltName {
  /** As Node prints it: `DNS`, `URI`, `IP Address`, `email`... */
  type: string;
  value: string;
}

/**
 * Splits Node's `subjectaltname` text (`URI:spiffe://a/ns/b/sa/c, DNS:x`) into entries, or
 * undefined if it is not in the form Node writes. Node quotes (JSON) any value holding `,` `"`
 * `\` `'` or control characters, so an unquoted value never contains ", " and a quoted one may
 * hold text that looks like further entries: it must be read as one value, never split.
 */
export function parseSubjectAltNames(text: string): SubjectAltName[] | undefined {
  if (typeof text !== 'string' || text.length > MAX_SAN_TEXT_LENGTH) return undefined;
  const out: SubjectAltName[] = [];
  let at = 0;
  while (at < text.length) {
    const colon = text.indexOf(':', at);
    if (colon < 0) return undefined;
    const type = text.slice(at, colon);
    if (!/^[A-Za-z][A-Za-z ]*$/.test(type)) return undefined;
    at = colon + 1;
    let value: string;
    if (text[at] === '"') {
      const end = closingQuote(text, at);
      if (end < 0) return undefined;
      try {
        value = JSON.parse(text.slice(at, end + 1)) as string;
      } catch {
        return undefined;
      }
      at = end + 1;
    } else {
      const next = text.indexOf(', ', at);
      const end = next < 0 ? text.length : next;
      value = text.slice(at, end);
      if (/[",\\']/.test(value)) return undefined;
      at = end;
    }
    out.push({ type, value });
    if (at === text.length) break;
    if (!text.startsWith(', ', at)) return undefined;
    at += 2;
    if (at === text.length) return undefined;
  }
  return out;
}

/** Index of the `"` closing the JSON string that opens at `open`, or -1. */
function closingQuote(text: string, open: number): number {
  for (let i = open + 1; i < text.length; i++) {
    if (text[i] === '\\') i++;
    else if (text[i] === '"') return i;
  }
  return -1;
}

/**
 * The workload identity of a peer certificate (`tlsSocket.getPeerCertificate()` or an
 * X509Certificate): its one SPIFFE URI SAN, strictly parsed. Undefined when there is none, more
 * than one, or one that is malformed. It does not check who issued the certificate: the TLS
 * server must have verified the chain against the mesh root (requestCert, rejectUnauthorized).
 */
export function identityOfPeer(cert: Pick<PeerCertificate, 'subjectaltname'> | Pick<X509Certificate, 'subjectAltName'> | undefined): WorkloadIdentity | undefined {
  if (!cert) return undefined;
  const text = 'subjectaltname' in cert ? cert.subjectaltname : 'subjectAltName' in cert ? cert.subjectAltName : undefined;
  if (typeof text !== 'string') return undefined;
  const sans = parseSubjectAltNames(text);
  if (!sans) return undefined;
  const spiffe = sans.filter((s) => s.type === 'URI' && /^spiffe:/i.test(s.value.trimStart()));
  if (spiffe.length !== 1) return undefined;
  return parseSpiffeId(spiffe[0]!.value);
}
