// A CA for unit tests, written with our own DER helpers (Node can read certificates but not make
// them): a self-signed EC root, and leaves for a CSR's key with the SANs and validity a test asks
// for, the way istiod issues them (empty subject, critical SAN, serverAuth+clientAuth).
import { createPublicKey, generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto';
import { bitString, boolean, contextConstructed, contextPrimitive, ia5Bytes, integer, octetString, oid, sequence, setOf, tlv, toPem } from '../der.js';

const ECDSA_WITH_SHA256 = sequence(oid('1.2.840.10045.4.3.2'));

export interface FakeCa {
  rootPem: string;
  /** Issues for the public key of `csrPem` (its signature and SAN are not looked at) or `publicKey`. */
  issue(o: IssueOptions): string[];
}

export interface IssueOptions {
  csrPem?: string;
  publicKey?: KeyObject;
  uris?: string[];
  dnsNames?: string[];
  notBefore: number;
  notAfter: number;
  issuer?: 'root' | 'intermediate';
}

export function createFakeCa(name = 'cluster.local'): FakeCa {
  const root = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const rootName = nameOf(name);
  const rootDer = certificate({ issuerKey: root.privateKey, issuer: rootName, subject: rootName, publicKey: root.publicKey, notBefore: 0, notAfter: Date.UTC(2049, 0), ca: true });
  const inter = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const interName = nameOf(`${name} intermediate`);
  const interDer = certificate({ issuerKey: root.privateKey, issuer: rootName, subject: interName, publicKey: inter.publicKey, notBefore: 0, notAfter: Date.UTC(2049, 0), ca: true });
  const rootPem = toPem('CERTIFICATE', rootDer);
  return {
    rootPem,
    issue: ({ csrPem, publicKey, uris = [], dnsNames = [], notBefore, notAfter, issuer = 'root' }) => {
      const viaIntermediate = issuer === 'intermediate';
      const leaf = certificate({
        issuerKey: viaIntermediate ? inter.privateKey : root.privateKey,
        issuer: viaIntermediate ? interName : rootName,
        subject: sequence(),
        publicKey: publicKey ?? csrPublicKey(csrPem!),
        notBefore,
        notAfter,
        ca: false,
        sans: [...dnsNames.map((d) => contextPrimitive(2, ia5Bytes(d))), ...uris.map((u) => contextPrimitive(6, ia5Bytes(u)))],
      });
      // As istiod answers: leaf, then the chain, then the root last.
      return [toPem('CERTIFICATE', leaf), ...(viaIntermediate ? [toPem('CERTIFICATE', interDer)] : []), rootPem];
    },
  };
}

function nameOf(organization: string): Uint8Array {
  return sequence(setOf(sequence(oid('2.5.4.10'), tlv(0x0c, new TextEncoder().encode(organization)))));
}

function certificate(o: {
  issuerKey: KeyObject;
  issuer: Uint8Array;
  subject: Uint8Array;
  publicKey: KeyObject;
  notBefore: number;
  notAfter: number;
  ca: boolean;
  sans?: Uint8Array[];
}): Uint8Array {
  const extensions = [sequence(oid('2.5.29.19'), boolean(true), octetString(o.ca ? sequence(boolean(true)) : sequence()))];
  if (o.sans?.length) extensions.push(sequence(oid('2.5.29.17'), boolean(true), octetString(sequence(...o.sans))));
  const tbs = sequence(
    contextConstructed(0, integer(2)),
    integer(BigInt(`0x${randomBytes(8).toString('hex')}`)),
    ECDSA_WITH_SHA256,
    o.issuer,
    sequence(time(o.notBefore), time(o.notAfter)),
    o.subject,
    new Uint8Array(o.publicKey.export({ format: 'der', type: 'spki' })),
    contextConstructed(3, sequence(...extensions)),
  );
  return sequence(tbs, ECDSA_WITH_SHA256, bitString(sign('sha256', tbs, o.issuerKey)));
}

/** UTCTime (years 1950..2049, all a test needs). */
function time(ms: number): Uint8Array {
  const text = new Date(ms).toISOString().replace(/[-:T]/g, '').slice(2, 14) + 'Z';
  return tlv(0x17, new TextEncoder().encode(text));
}

/** The CSR's SubjectPublicKeyInfo, read from its DER (the test's CSRs are well-formed). */
function csrPublicKey(csrPem: string): KeyObject {
  const der = Buffer.from(csrPem.replace(/-----[A-Z ]+-----|\s/g, ''), 'base64');
  // CertificationRequest > CertificationRequestInfo > [version, subject, SPKI]: walk the TLVs.
  let at = enter(der, 0); // into CertificationRequest
  at = enter(der, at); // into CertificationRequestInfo
  at = skip(der, at); // version
  at = skip(der, at); // subject
  return createPublicKey({ key: der.subarray(at, skip(der, at)), format: 'der', type: 'spki' });
}

function header(der: Buffer, at: number): { length: number; content: number } {
  const first = der[at + 1]!;
  if (first < 0x80) return { length: first, content: at + 2 };
  const n = first & 0x7f;
  let length = 0;
  for (let i = 0; i < n; i++) length = length * 256 + der[at + 2 + i]!;
  return { length, content: at + 2 + n };
}

function enter(der: Buffer, at: number): number {
  return header(der, at).content;
}

function skip(der: Buffer, at: number): number {
  const h = header(der, at);
  return h.content + h.length;
}
