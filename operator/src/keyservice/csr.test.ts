import { execFileSync } from 'node:child_process';
import { X509Certificate, createPrivateKey, generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createWorkloadCsr, csrForKey } from './csr.js';

const CHAT = { trustDomain: 'cluster.local', namespace: 'apps', serviceAccount: 'chat' };
const dir = mkdtempSync(join(tmpdir(), 'csr-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function openssl(args: string[], input?: string): string {
  return execFileSync('openssl', args, { input, encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'] });
}

/** `openssl req -verify -text`, stderr included (openssl 3 prints "verify OK" there). */
function opensslText(csrPem: string): string {
  const file = join(dir, `${Math.random().toString(36).slice(2)}.pem`);
  writeFileSync(file, csrPem);
  return execFileSync('sh', ['-c', 'openssl req -in "$1" -verify -noout -text 2>&1', 'sh', file], { encoding: 'utf8' });
}

describe('a workload CSR', () => {
  const csr = createWorkloadCsr(CHAT);

  it('openssl verifies its self-signature and reads an empty subject, a P-256 key and ecdsa-with-SHA256', () => {
    const text = opensslText(csr.csrPem);
    expect(text).toMatch(/verify OK/);
    expect(text).toMatch(/Version: 1 \(0x0\)/);
    expect(text).toMatch(/Subject:\s*\n/);
    expect(text).toMatch(/ASN1 OID: prime256v1/);
    expect(text).toMatch(/Signature Algorithm: ecdsa-with-SHA256/);
  });

  it('asks for a critical subjectAltName with exactly the SPIFFE URI', () => {
    const text = opensslText(csr.csrPem);
    expect(text).toMatch(/Requested Extensions:\s*\n\s*X509v3 Subject Alternative Name: critical\s*\n\s*URI:spiffe:\/\/cluster\.local\/ns\/apps\/sa\/chat\s*\n/);
    expect(text.match(/URI:/g)).toHaveLength(1);
  });

  it('a certificate signed from it by openssl (extensions copied) carries the SAN back to Node', () => {
    const caKey = join(dir, 'ca.key');
    const caCrt = join(dir, 'ca.crt');
    openssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', caKey, '-out', caCrt, '-subj', '/O=test-ca', '-days', '1']);
    const csrFile = join(dir, 'leaf.csr');
    writeFileSync(csrFile, csr.csrPem);
    const leafPem = openssl(['x509', '-req', '-in', csrFile, '-CA', caCrt, '-CAkey', caKey, '-days', '1', '-copy_extensions', 'copy']);
    const leaf = new X509Certificate(leafPem);
    expect(leaf.subjectAltName).toBe('URI:spiffe://cluster.local/ns/apps/sa/chat');
    expect(leaf.checkPrivateKey(createPrivateKey(csr.keyPem))).toBe(true);
  });

  it('the key is PKCS#8 PEM of a P-256 key', () => {
    expect(csr.keyPem).toMatch(/^-----BEGIN PRIVATE KEY-----\n/);
    const key = createPrivateKey(csr.keyPem);
    expect(key.asymmetricKeyDetails?.namedCurve).toBe('prime256v1');
  });

  it('a new key every time', () => {
    expect(createWorkloadCsr(CHAT).keyPem).not.toBe(csr.keyPem);
  });

  it('PEM and DER are the same request', () => {
    expect(Buffer.from(csr.csrPem.replace(/-----[A-Z ]+-----|\s/g, ''), 'base64').equals(Buffer.from(csr.csrDer))).toBe(true);
    expect(csr.csrPem).toMatch(/^-----BEGIN CERTIFICATE REQUEST-----\n([A-Za-z0-9+/=]{1,64}\n)+-----END CERTIFICATE REQUEST-----\n$/);
  });

  it('a long ServiceAccount name (long-form DER lengths throughout) still verifies', () => {
    const long = { ...CHAT, serviceAccount: `${'a'.repeat(60)}.${'b'.repeat(60)}.${'c'.repeat(60)}` };
    const text = opensslText(createWorkloadCsr(long).csrPem);
    expect(text).toMatch(/verify OK/);
    expect(text).toContain(`URI:spiffe://cluster.local/ns/apps/sa/${long.serviceAccount}`);
  });

  it('refuses an identity that is not a well-formed one', () => {
    for (const bad of [
      { ...CHAT, namespace: 'Apps' },
      { ...CHAT, namespace: 'a/b' },
      { ...CHAT, serviceAccount: '' },
      { ...CHAT, serviceAccount: 'chat\n' },
      { ...CHAT, trustDomain: 'cluster.local/ns/x' },
      { ...CHAT, trustDomain: 'é' },
    ]) {
      expect(() => createWorkloadCsr(bad), JSON.stringify(bad)).toThrow(/not a valid workload identity/);
    }
  });

  it('refuses keys other than EC P-256', () => {
    const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey;
    const p384 = generateKeyPairSync('ec', { namedCurve: 'P-384' }).privateKey;
    expect(() => csrForKey(rsa, CHAT)).toThrow(/EC P-256/);
    expect(() => csrForKey(p384, CHAT)).toThrow(/EC P-256/);
  });

  it('signs with a given key, as PEM too', () => {
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const pem = privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
    expect(opensslText(csrForKey(pem, CHAT).csrPem)).toMatch(/verify OK/);
  });
});
