import { X509Certificate, generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { identityOfPeer, parseSpiffeId, parseSubjectAltNames, spiffeId } from './spiffe_identity.js';
import { createFakeCa } from './testdata/fake_ca.js';

const CHAT = { trustDomain: 'cluster.local', namespace: 'apps', serviceAccount: 'chat' };
const CHAT_URI = 'spiffe://cluster.local/ns/apps/sa/chat';
const peer = (subjectaltname: string) => ({ subjectaltname });

describe('spiffeId', () => {
  it('writes Istio’s form', () => {
    expect(spiffeId(CHAT)).toBe(CHAT_URI);
    expect(spiffeId({ trustDomain: 'td_1.example-x', namespace: 'a-1', serviceAccount: 'x.y-z' })).toBe('spiffe://td_1.example-x/ns/a-1/sa/x.y-z');
  });

  it('refuses parts Kubernetes or SPIFFE would not allow', () => {
    const bad = [
      { ...CHAT, trustDomain: '' },
      { ...CHAT, trustDomain: 'Cluster.local' },
      { ...CHAT, trustDomain: 'a:1' },
      { ...CHAT, namespace: '' },
      { ...CHAT, namespace: '-apps' },
      { ...CHAT, namespace: 'a.b' },
      { ...CHAT, namespace: 'a'.repeat(64) },
      { ...CHAT, serviceAccount: 'chat/x' },
      { ...CHAT, serviceAccount: '.chat' },
      { ...CHAT, serviceAccount: 'chat.' },
      { ...CHAT, serviceAccount: 'a'.repeat(254) },
      { ...CHAT, serviceAccount: 'ch at' },
      { ...CHAT, serviceAccount: undefined as unknown as string },
    ];
    for (const id of bad) expect(() => spiffeId(id), JSON.stringify(id)).toThrow(/not a valid workload identity/);
  });
});

describe('parseSpiffeId', () => {
  it('reads exactly spiffe://td/ns/N/sa/S', () => {
    expect(parseSpiffeId(CHAT_URI)).toEqual(CHAT);
    expect(parseSpiffeId(`spiffe://cluster.local/ns/apps/sa/${'a'.repeat(253)}`)?.serviceAccount).toHaveLength(253);
  });

  it('refuses every other shape', () => {
    const bad = [
      '',
      'spiffe://cluster.local/ns/apps/sa/chat/',
      'spiffe://cluster.local/ns/apps/sa/chat/extra',
      'spiffe://cluster.local/ns/apps/sa/',
      'spiffe://cluster.local/ns//sa/chat',
      'spiffe://cluster.local/sa/chat/ns/apps',
      'spiffe://cluster.local/ns/apps/sa/chat?x=1',
      'spiffe://cluster.local/ns/apps/sa/chat#x',
      'spiffe://cluster.local/ns/apps/sa/ch%61t',
      'spiffe://cluster.local/ns/../sa/chat',
      'spiffe://cluster.local/ns/apps/sa/..',
      'spiffe://cluster.local:443/ns/apps/sa/chat',
      'spiffe://evil@cluster.local/ns/apps/sa/chat',
      'spiffe:///ns/apps/sa/chat',
      'SPIFFE://cluster.local/ns/apps/sa/chat',
      'spiffe://CLUSTER.LOCAL/ns/apps/sa/chat',
      'spiffe://cluster.local/NS/apps/SA/chat',
      'spiffe://cluster.local/ns/Apps/sa/chat',
      ' spiffe://cluster.local/ns/apps/sa/chat',
      'spiffe://cluster.local/ns/apps/sa/chat ',
      'spiffe://cluster.local/ns/apps/sa/chat\n',
      'spiffe://cluster.local//ns/apps/sa/chat',
      'https://cluster.local/ns/apps/sa/chat',
      'spiffe:cluster.local/ns/apps/sa/chat',
      `spiffe://cluster.local/ns/apps/sa/${'a'.repeat(2100)}`,
    ];
    for (const uri of bad) expect(parseSpiffeId(uri), JSON.stringify(uri)).toBeUndefined();
    expect(parseSpiffeId(42 as unknown as string)).toBeUndefined();
  });
});

describe('Node’s subjectaltname text', () => {
  it('splits entries, reading quoted values as one', () => {
    expect(parseSubjectAltNames('URI:spiffe://a/ns/b/sa/c, DNS:x.example, IP Address:127.0.0.1')).toEqual([
      { type: 'URI', value: 'spiffe://a/ns/b/sa/c' },
      { type: 'DNS', value: 'x.example' },
      { type: 'IP Address', value: '127.0.0.1' },
    ]);
    expect(parseSubjectAltNames('URI:"spiffe://a/ns/b/sa/c, URI:spiffe://a/ns/b/sa/d", DNS:x')).toEqual([
      { type: 'URI', value: 'spiffe://a/ns/b/sa/c, URI:spiffe://a/ns/b/sa/d' },
      { type: 'DNS', value: 'x' },
    ]);
    expect(parseSubjectAltNames('')).toEqual([]);
  });

  it('anything not in Node’s form is refused whole', () => {
    for (const text of ['URI', 'URI:a,b', 'URI:a,', 'URI:a, ', 'URI:"unterminated', 'URI:"a"b', 'URI:"\\x"', ':x', '1RI:x', 'URI:a"b', "URI:a'b", 'URI:a\\b', 'URI:a,  DNS:b']) {
      expect(parseSubjectAltNames(text), JSON.stringify(text)).toBeUndefined();
    }
    expect(parseSubjectAltNames(`DNS:${'a'.repeat(70_000)}`)).toBeUndefined();
  });
});

describe('identityOfPeer', () => {
  it('the one SPIFFE URI of a peer certificate (getPeerCertificate’s shape)', () => {
    expect(identityOfPeer(peer(`URI:${CHAT_URI}`))).toEqual(CHAT);
    expect(identityOfPeer(peer(`DNS:chat.apps.svc, URI:${CHAT_URI}, URI:https://example.com/x`))).toEqual(CHAT);
  });

  it('no identity from none, several, or a malformed one', () => {
    const hostile = [
      '',
      'DNS:chat.apps.svc',
      `URI:${CHAT_URI}, URI:spiffe://cluster.local/ns/apps/sa/other`,
      `URI:${CHAT_URI}, URI:${CHAT_URI}`,
      `URI:${CHAT_URI}, URI:spiffe://cluster.local/ns/apps/sa/chat/x`,
      `URI:${CHAT_URI}, URI:SPIFFE://cluster.local/ns/apps/sa/other`,
      // Node quotes a value holding ", ": it is one (malformed) URI, not two entries.
      `URI:"spiffe://cluster.local/ns/apps/sa/x, URI:${CHAT_URI}"`,
      `URI:"${CHAT_URI}"`.replace('chat', 'ch\\"at'),
      `URI:${CHAT_URI},URI:spiffe://cluster.local/ns/apps/sa/other`,
      `DNS:x, URI:${CHAT_URI}\n`,
      'URI:spiffe://cluster.local/ns/apps/sa/chat?admin',
    ];
    for (const text of hostile) expect(identityOfPeer(peer(text)), JSON.stringify(text)).toBeUndefined();
  });

  it('a SPIFFE-looking name in another SAN type does not count', () => {
    expect(identityOfPeer(peer(`DNS:${CHAT_URI}`))).toBeUndefined();
    expect(identityOfPeer(peer(`DNS:${CHAT_URI.replace('chat', 'other')}, URI:${CHAT_URI}`))).toEqual(CHAT);
  });

  it('no certificate, an empty one (getPeerCertificate without a client cert), or no SAN', () => {
    expect(identityOfPeer(undefined)).toBeUndefined();
    expect(identityOfPeer({} as { subjectaltname: string })).toBeUndefined();
    expect(identityOfPeer({ subjectAltName: undefined })).toBeUndefined();
  });

  describe('on real certificates (X509Certificate)', () => {
    const ca = createFakeCa();
    const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const cert = (o: { uris?: string[]; dnsNames?: string[] }) => new X509Certificate(ca.issue({ publicKey, notBefore: Date.now() - 1000, notAfter: Date.now() + 3_600_000, ...o })[0]!);

    it('reads the SPIFFE URI as istiod issues it', () => {
      expect(identityOfPeer(cert({ uris: [CHAT_URI] }))).toEqual(CHAT);
      expect(identityOfPeer(cert({ dnsNames: ['chat.apps.svc'], uris: [CHAT_URI] }))).toEqual(CHAT);
    });

    it('a URI crafted to look like two entries is quoted by Node and refused', () => {
      const crafted = cert({ uris: [`spiffe://cluster.local/ns/apps/sa/x, URI:${CHAT_URI}`] });
      // Node 20 writes the comma as \u002c inside the quotes.
      expect(crafted.subjectAltName).toBe(`URI:"spiffe://cluster.local/ns/apps/sa/x\\u002c URI:${CHAT_URI}"`);
      expect(parseSubjectAltNames(crafted.subjectAltName!)).toEqual([{ type: 'URI', value: `spiffe://cluster.local/ns/apps/sa/x, URI:${CHAT_URI}` }]);
      expect(identityOfPeer(crafted)).toBeUndefined();
    });

    it('two SPIFFE URIs, or none, give no identity', () => {
      expect(identityOfPeer(cert({ uris: [CHAT_URI, 'spiffe://cluster.local/ns/apps/sa/other'] }))).toBeUndefined();
      expect(identityOfPeer(cert({ dnsNames: ['chat.apps.svc'] }))).toBeUndefined();
      expect(identityOfPeer(cert({}))).toBeUndefined();
    });
  });
});
