import { X509Certificate } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createWorkloadCsr } from './csr.js';
import { checkIssuedChain } from './issued_chain.js';
import { createFakeCa } from './testdata/fake_ca.js';

const CHAT = { trustDomain: 'cluster.local', namespace: 'apps', serviceAccount: 'chat' };
const CHAT_URI = 'spiffe://cluster.local/ns/apps/sa/chat';
const NOW = Date.UTC(2026, 11, 2, 12, 0, 0);
const HOUR = 3_600_000;

describe('checking what the CA issued', () => {
  const ca = createFakeCa();
  const { keyPem, csrPem } = createWorkloadCsr(CHAT);
  const issue = (o: { uris?: string[]; issuer?: 'root' | 'intermediate'; notBefore?: number; notAfter?: number; csr?: string } = {}) =>
    ca.issue({ csrPem: o.csr ?? csrPem, uris: o.uris ?? [CHAT_URI], notBefore: o.notBefore ?? NOW - 120_000, notAfter: o.notAfter ?? NOW + 24 * HOUR, issuer: o.issuer });

  it('accepts istiod’s shape (leaf, root) and serves the leaf alone', () => {
    const chain = issue();
    const checked = checkIssuedChain(chain, keyPem, CHAT, ca.rootPem, NOW);
    expect(checked.notAfter.getTime()).toBe(NOW + 24 * HOUR);
    expect(checked.notBefore.getTime()).toBe(NOW - 120_000);
    expect(checked.certChainPem.match(/BEGIN CERTIFICATE/g)).toHaveLength(1);
    expect(new X509Certificate(checked.certChainPem).fingerprint256).toBe(new X509Certificate(chain[0]!).fingerprint256);
  });

  it('keeps an intermediate in the served chain, leaf first', () => {
    const chain = issue({ issuer: 'intermediate' });
    const checked = checkIssuedChain(chain, keyPem, CHAT, ca.rootPem, NOW);
    const pems = checked.certChainPem.match(/-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/g)!;
    expect(pems.map((p) => new X509Certificate(p).fingerprint256)).toEqual(chain.slice(0, 2).map((p) => new X509Certificate(p).fingerprint256));
  });

  it('accepts a root bundle (during a root rotation) and a chain without the root', () => {
    const other = createFakeCa('other');
    expect(() => checkIssuedChain(issue().slice(0, 1), keyPem, CHAT, other.rootPem + ca.rootPem, NOW)).not.toThrow();
  });

  it('refuses a certificate for another identity: istiod signs for the token’s ServiceAccount', () => {
    expect(() => checkIssuedChain(issue({ uris: ['spiffe://cluster.local/ns/apps/sa/other'] }), keyPem, CHAT, ca.rootPem, NOW)).toThrow(
      'the CA issued spiffe://cluster.local/ns/apps/sa/other but spiffe://cluster.local/ns/apps/sa/chat was asked for: the token belongs to another ServiceAccount',
    );
  });

  it('refuses a certificate with no, several or a malformed SPIFFE URI', () => {
    for (const uris of [[], [CHAT_URI, 'spiffe://cluster.local/ns/apps/sa/other'], [`${CHAT_URI}/x`]]) {
      expect(() => checkIssuedChain(issue({ uris }), keyPem, CHAT, ca.rootPem, NOW), JSON.stringify(uris)).toThrow(/no single well-formed SPIFFE URI/);
    }
  });

  it('refuses a certificate for another key', () => {
    const chain = issue({ csr: createWorkloadCsr(CHAT).csrPem });
    expect(() => checkIssuedChain(chain, keyPem, CHAT, ca.rootPem, NOW)).toThrow(/not for the key of our CSR/);
  });

  it('refuses a chain that does not lead to the mesh root', () => {
    const other = createFakeCa();
    expect(() => checkIssuedChain(issue(), keyPem, CHAT, other.rootPem, NOW)).toThrow(/does not chain to the mesh root/);
    // The intermediate left out: the leaf's issuer is nowhere.
    const chain = issue({ issuer: 'intermediate' });
    expect(() => checkIssuedChain([chain[0]!, chain[2]!], keyPem, CHAT, ca.rootPem, NOW)).toThrow(/does not chain to the mesh root/);
    // The root sent by the CA does not make it trusted.
    const rogue = other.issue({ csrPem, uris: [CHAT_URI], notBefore: NOW - 1000, notAfter: NOW + HOUR });
    expect(() => checkIssuedChain(rogue, keyPem, CHAT, ca.rootPem, NOW)).toThrow(/does not chain to the mesh root/);
  });

  it('refuses an expired certificate', () => {
    expect(() => checkIssuedChain(issue({ notBefore: NOW - 2 * HOUR, notAfter: NOW - HOUR }), keyPem, CHAT, ca.rootPem, NOW)).toThrow(/expired/);
  });

  it('refuses empty, unreadable and oversized answers', () => {
    expect(() => checkIssuedChain([], keyPem, CHAT, ca.rootPem, NOW)).toThrow(/no certificate/);
    expect(() => checkIssuedChain(['not a certificate'], keyPem, CHAT, ca.rootPem, NOW)).toThrow(/no certificate/);
    expect(() => checkIssuedChain(['-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----'], keyPem, CHAT, ca.rootPem, NOW)).toThrow(/unreadable certificate/);
    expect(() => checkIssuedChain(Array(17).fill(issue()[0]), keyPem, CHAT, ca.rootPem, NOW)).toThrow(/more than 16/);
    expect(() => checkIssuedChain(issue(), keyPem, CHAT, '', NOW)).toThrow(/mesh root holds no certificate/);
  });
});
