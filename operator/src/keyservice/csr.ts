// A PKCS#10 certificate request (RFC 2986) for a workload identity, built by hand: Node can make
// keys and signatures but not CSRs. Shaped like the one Istio's agent sends: an EC P-256 key, a
// critical subjectAltName holding the SPIFFE URI, signed ecdsa-with-SHA256. The subject is empty
// (the agent's has an empty O=; istiod ignores the subject except CN, and the SAN is critical
// precisely because the subject is empty, RFC 5280 4.2.1.6).
import { createPrivateKey, createPublicKey, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { bitString, boolean, contextConstructed, contextPrimitive, ia5Bytes, integer, octetString, oid, sequence, setOf, toPem } from './der.js';
import { spiffeId, type WorkloadIdentity } from './spiffe_identity.js';

const OID_EXTENSION_REQUEST = '1.2.840.113549.1.9.14';
const OID_SUBJECT_ALT_NAME = '2.5.29.17';
const OID_ECDSA_WITH_SHA256 = '1.2.840.10045.4.3.2';
/** GeneralName's uniformResourceIdentifier is [6] IMPLICIT IA5String. */
const GENERAL_NAME_URI = 6;

export interface WorkloadCsr {
  /** PKCS#8 PEM of the new private key. */
  keyPem: string;
  csrPem: string;
  csrDer: Uint8Array;
}

/** A fresh P-256 key and a CSR for `identity`'s SPIFFE ID, signed with it. */
export function createWorkloadCsr(identity: WorkloadIdentity): WorkloadCsr {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return csrForKey(privateKey, identity);
}

/** A CSR for `identity` signed with an existing EC P-256 private key (KeyObject or PEM). */
export function csrForKey(privateKey: KeyObject | string, identity: WorkloadIdentity): WorkloadCsr {
  const key = typeof privateKey === 'string' ? createPrivateKey(privateKey) : privateKey;
  if (key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
    throw new Error('the CSR key must be an EC P-256 private key');
  }
  const publicKeyInfo = new Uint8Array(createPublicKey(key).export({ format: 'der', type: 'spki' }));
  const subjectAltName = sequence(contextPrimitive(GENERAL_NAME_URI, ia5Bytes(spiffeId(identity))));
  const extensions = sequence(sequence(oid(OID_SUBJECT_ALT_NAME), boolean(true), octetString(subjectAltName)));
  const requestInfo = sequence(
    integer(0),
    sequence(), // subject: the empty Name
    publicKeyInfo,
    contextConstructed(0, sequence(oid(OID_EXTENSION_REQUEST), setOf(extensions))),
  );
  const signature = sign('sha256', requestInfo, key); // DER Ecdsa-Sig-Value, as X.509 wants it
  const csrDer = sequence(requestInfo, sequence(oid(OID_ECDSA_WITH_SHA256)), bitString(signature));
  return {
    keyPem: key.export({ format: 'pem', type: 'pkcs8' }).toString(),
    csrPem: toPem('CERTIFICATE REQUEST', csrDer),
    csrDer,
  };
}
