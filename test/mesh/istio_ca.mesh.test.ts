// The key service's own identity from the real istiod's CA, the way pilot-agent gets a sidecar's:
// a kube-apiserver and istiod only (no operator, no sidecar), a ServiceAccount, its token with
// audience istio-ca, the mesh root from the istio-ca-root-cert ConfigMap, and our hand-written
// CSR, gRPC and protobuf against istiod's own parsers.
import { X509Certificate } from 'node:crypto';
import { once } from 'node:events';
import { connect, createServer, type TLSSocket } from 'node:tls';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createWorkloadCsr } from '../../operator/src/keyservice/csr.js';
import { IstioCaError, istiodSigner, requestCertificate, type IstioCaOptions } from '../../operator/src/keyservice/istio_ca.js';
import { WorkloadCertificate, identityOfPeer, spiffeId, type WorkloadIdentity } from '../../operator/src/keyservice/workload_cert.js';
import { kubectl, startControlPlane, type ControlPlane } from '../kube/control_plane.js';
import { waitForRootCert } from './agent.js';
import { startIstiod, type Istiod } from './istiod.js';

vi.setConfig({ testTimeout: 60_000, hookTimeout: 300_000 });

const NS = 'llmguard-system';
const KEYS: WorkloadIdentity = { trustDomain: 'cluster.local', namespace: NS, serviceAccount: 'llmguard-keys' };
const CHAT: WorkloadIdentity = { trustDomain: 'cluster.local', namespace: NS, serviceAccount: 'chat' };

let cp: ControlPlane;
let istiod: Istiod;
let rootPem: string;
const tokens = new Map<string, string>();

async function serviceAccountToken(sa: string, audience?: string): Promise<string> {
  await kubectl(cp, ['create', 'serviceaccount', '-n', NS, sa], { allowFailure: true });
  const args = ['create', 'token', '-n', NS, sa, '--duration', '1h', ...(audience ? ['--audience', audience] : [])];
  return (await kubectl(cp, args)).stdout.trim();
}

const caOptions = (o: Partial<IstioCaOptions> = {}): IstioCaOptions => ({
  address: istiod.secureGrpcAddress,
  rootCertPem: rootPem,
  token: () => tokens.get('llmguard-keys')!,
  ...o,
});

beforeAll(async () => {
  cp = await startControlPlane();
  istiod = await startIstiod(cp);
  await kubectl(cp, ['create', 'namespace', NS]);
  for (const sa of ['llmguard-keys', 'chat']) tokens.set(sa, await serviceAccountToken(sa, 'istio-ca'));
  rootPem = await waitForRootCert(cp, NS);
});

afterAll(async () => {
  await istiod?.stop();
  await cp?.stop();
});

describe('a certificate from istiod for the key service', () => {
  it('is issued for its ServiceAccount: exactly its SPIFFE URI, chained to the mesh root, for server and client auth', async () => {
    const before = Date.now();
    const wc = new WorkloadCertificate({ identity: KEYS, rootCertPem: rootPem, sign: istiodSigner(caOptions()), validitySeconds: 3600 });
    const c = await wc.start();
    wc.stop();
    const leaf = new X509Certificate(c.certChainPem);
    const root = new X509Certificate(rootPem);
    expect(leaf.subjectAltName).toBe(`URI:${spiffeId(KEYS)}`);
    expect(identityOfPeer(leaf)).toEqual(KEYS);
    expect(leaf.checkIssued(root) && leaf.verify(root.publicKey)).toBe(true);
    expect(leaf.subject ?? '').toBe(''); // Node 20 gives undefined for an empty subject
    expect(leaf.keyUsage?.sort()).toEqual(['1.3.6.1.5.5.7.3.1', '1.3.6.1.5.5.7.3.2']);
    // The hour asked for (istiod backdates notBefore by 2 minutes for clock skew).
    expect(Math.abs(c.notAfter.getTime() - (before + 3_600_000))).toBeLessThan(60_000);
  });

  it('istiod answers leaf then root, the root being the ConfigMap’s', async () => {
    const chain = await requestCertificate(caOptions(), createWorkloadCsr(KEYS).csrPem, 600);
    expect(chain).toHaveLength(2);
    expect(new X509Certificate(chain[1]!).fingerprint256).toBe(new X509Certificate(rootPem).fingerprint256);
  });

  it('serves mTLS: a sidecar’s certificate from the same CA is read back as its identity, and ours as the key service', async () => {
    const [keys, chat] = await Promise.all(
      [KEYS, CHAT].map((identity) =>
        new WorkloadCertificate({ identity, rootCertPem: rootPem, sign: istiodSigner(caOptions({ token: () => tokens.get(identity.serviceAccount)! })), validitySeconds: 600 }).start(),
      ),
    );
    const server = createServer({ key: keys!.keyPem, cert: keys!.certChainPem, ca: rootPem, requestCert: true, rejectUnauthorized: true }, (s) => {
      s.end(JSON.stringify(identityOfPeer((s as TLSSocket).getPeerCertificate())));
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    try {
      const socket = connect({
        host: '127.0.0.1',
        port: (server.address() as AddressInfo).port,
        key: chat!.keyPem,
        cert: chat!.certChainPem,
        ca: rootPem,
        // Mesh certificates name no host: the peer is checked by its SPIFFE identity, as Envoy does.
        checkServerIdentity: (_host, cert) => (JSON.stringify(identityOfPeer(cert)) === JSON.stringify(KEYS) ? undefined : new Error(`server is ${cert.subjectaltname}`)),
      });
      let answer = '';
      socket.on('data', (d: Buffer) => (answer += d.toString()));
      await once(socket, 'end');
      expect(JSON.parse(answer)).toEqual(CHAT);
    } finally {
      server.close();
    }
  });
});

describe('what istiod refuses', () => {
  it('a CSR for another ServiceAccount is signed for the token’s identity instead, and WorkloadCertificate refuses that', async () => {
    // istiod takes the SAN from the authenticated caller, never from the CSR.
    const chain = await requestCertificate(caOptions(), createWorkloadCsr(CHAT).csrPem, 600);
    expect(new X509Certificate(chain[0]!).subjectAltName).toBe(`URI:${spiffeId(KEYS)}`);
    const wc = new WorkloadCertificate({ identity: CHAT, rootCertPem: rootPem, sign: istiodSigner(caOptions()), validitySeconds: 600 });
    await expect(wc.start()).rejects.toThrow(`the CA issued ${spiffeId(KEYS)} but ${spiffeId(CHAT)} was asked for: the token belongs to another ServiceAccount`);
  });

  it('a bad token, or one for another audience, with istiod’s message', async () => {
    const refusal = `istiod's CA at ${istiod.secureGrpcAddress} refused the certificate request: Unauthenticated (16): request authenticate failure`;
    const csr = createWorkloadCsr(KEYS).csrPem;
    await expect(requestCertificate(caOptions({ token: () => 'not-a-token' }), csr, 600)).rejects.toThrow(refusal);
    const apiserverAudience = await serviceAccountToken('llmguard-keys');
    await expect(requestCertificate(caOptions({ token: () => apiserverAudience }), csr, 600)).rejects.toThrow(refusal);
    const e = await requestCertificate(caOptions({ token: () => 'not-a-token' }), csr, 600).catch((err: unknown) => err);
    expect(e).toBeInstanceOf(IstioCaError);
    expect((e as IstioCaError).grpcStatus?.code).toBe(16);
  });

  it('a cluster id istiod does not know', async () => {
    await expect(requestCertificate(caOptions({ clusterId: 'elsewhere' }), createWorkloadCsr(KEYS).csrPem, 600)).rejects.toThrow('Unauthenticated (16): request authenticate failure');
  });

  it('a lifetime over MAX_WORKLOAD_CERT_TTL (90 days)', async () => {
    await expect(requestCertificate(caOptions(), createWorkloadCsr(KEYS).csrPem, 91 * 24 * 3600)).rejects.toThrow(
      'InvalidArgument (3): CSR signing error (requested TTL 2184h0m0s is greater than the max allowed TTL 2160h0m0s)',
    );
  });

  it('a CSR that is not one', async () => {
    await expect(requestCertificate(caOptions(), 'not a CSR', 600)).rejects.toThrow('InvalidArgument (3): CSR signing error (certificate signing request is not properly encoded)');
  });

  it('we refuse istiod under another name than istiod.istio-system.svc', async () => {
    await expect(requestCertificate(caOptions({ serverName: 'istiod.elsewhere.svc' }), createWorkloadCsr(KEYS).csrPem, 600)).rejects.toThrow(/cannot reach istiod's CA .*altnames/);
  });
});
