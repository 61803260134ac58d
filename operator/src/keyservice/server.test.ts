// The key endpoint over real mutual TLS: certificates from a test CA carrying SPIFFE identities,
// the way istiod issues them; the cluster reads are a table.
import https from 'node:https';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LlmGuardPolicy } from '../api/v1alpha1/llm_guard_policy.js';
import type { SecretLike } from '../controller/secrets.js';
import { createLogger } from '../controller/log.js';
import { policy } from '../controller/testdata/policy.js';
import { issueCertificate, makePki, type Pki } from '../localmesh/tls.js';
import type { KeyLookup } from './lookup.js';
import { startKeyServer, type KeyServer, type Outcome } from './server.js';
import { identityOfPeer } from './spiffe_identity.js';

const KEY = 'sk-server-test-5d1c0e';
const spiffe = (ns: string, sa: string) => `URI:spiffe://cluster.local/ns/${ns}/sa/${sa}`;

let pki: Pki;
let otherPki: Pki;
let server: KeyServer;
let logs = '';
const outcomes: Outcome[] = [];
const reads: string[] = [];
let failReads = false;

const policies = new Map<string, LlmGuardPolicy>([['ns/guard', policy({ selector: { matchLabels: { app: 'chat' } } })]]);
/** What a fresher read of a policy gives (a cache that lags: the policy as it is now). */
const freshPolicies = new Map<string, LlmGuardPolicy>();
const policyReads: (number | undefined)[] = [];
const lookup: KeyLookup = {
  policy: async (ns, name, maxAgeMs) => {
    if (failReads) throw new Error('connect ECONNREFUSED');
    policyReads.push(maxAgeMs);
    return (maxAgeMs !== undefined ? freshPolicies.get(`${ns}/${name}`) : undefined) ?? policies.get(`${ns}/${name}`);
  },
  secret: async (ns, name): Promise<SecretLike | undefined> => {
    reads.push(`${ns}/${name}`);
    return name === 'openai' ? { data: { k: Buffer.from(KEY).toString('base64') } } : undefined;
  },
  workloadAccounts: async () => new Set(['chat']),
};

type Client = { certPem: string; keyPem: string } | undefined;

function get(path: string, client: Client, ca = pki.caPem, method = 'GET', alpn?: string[]): Promise<{ status: number; headers: Record<string, unknown>; body: string; serial?: string }> {
  return new Promise((resolve, reject) => {
    const req = https.request(
      { host: '127.0.0.1', port: server.port, path, method, ca, ...(client ? { cert: client.certPem, key: client.keyPem } : {}), ...(alpn ? { ALPNProtocols: alpn } : {}), checkServerIdentity: () => undefined, agent: false },
      (res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body, serial: (res.socket as import('node:tls').TLSSocket).getPeerCertificate().serialNumber }));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

let chat: Client;

beforeAll(async () => {
  pki = makePki(['unused.example']);
  otherPki = makePki(['unused.example']);
  chat = issueCertificate(pki, [spiffe('ns', 'chat')], 'client');
  const serving = issueCertificate(pki, [spiffe('llmguard-system', 'llmguard-keys')], 'server');
  server = await startKeyServer({
    port: 0,
    host: '127.0.0.1',
    tls: { keyPem: serving.keyPem, certChainPem: serving.certPem, rootPem: pki.caPem },
    trustDomain: 'cluster.local',
    lookup,
    identityOf: (socket) => identityOfPeer(socket.getPeerCertificate()),
    log: createLogger({ level: 'debug', sink: (l) => void (logs += l) }),
    onOutcome: (o) => outcomes.push(o),
  });
});

afterAll(async () => {
  await server?.close();
  pki?.remove();
  otherPki?.remove();
});

describe('a filter whose config is newer than the policy cached here', () => {
  it('needs a host or the guard the cached policy lacks: the policy is read again, and the answer has them', async () => {
    const now = policy({ selector: { matchLabels: { app: 'chat' } } });
    now.spec.providers.push({ host: 'api.anthropic.com', apiKeys: [{ secretKeyRef: { name: 'openai', key: 'k' } }] });
    freshPolicies.set('ns/guard', now);
    policyReads.length = 0;
    const r = await get('/v1/keys/ns/guard?hosts=api.openai.com,api.anthropic.com', chat);
    expect(policyReads).toEqual([undefined, expect.any(Number)]);
    expect(Object.keys(JSON.parse(r.body).providers).sort()).toEqual(['api.anthropic.com', 'api.openai.com']);
    policyReads.length = 0;
    await get('/v1/keys/ns/guard?hosts=api.openai.com', chat);
    expect(policyReads, 'needs the cached policy covers: no second read').toEqual([undefined]);
    freshPolicies.clear();
  });
});

describe('the key endpoint', () => {
  it('answers a workload the policy selects with its keys, not to be cached', async () => {
    const r = await get('/v1/keys/ns/guard', chat);
    expect(r.status).toBe(200);
    expect(r.headers['cache-control']).toBe('no-store');
    expect(JSON.parse(r.body)).toEqual({ providers: { 'api.openai.com': { api_keys: [KEY] } } });
  });

  it('speaks with Istio’s sidecars, which offer ALPN istio (and istio-peer-exchange) instead of http/1.1', async () => {
    expect((await get('/v1/keys/ns/guard', chat, pki.caPem, 'GET', ['istio'])).status).toBe(200);
    expect((await get('/v1/keys/ns/guard', chat, pki.caPem, 'GET', ['istio-peer-exchange', 'istio'])).status).toBe(200);
  });

  it('refuses another ServiceAccount or namespace without reading a Secret, saying why', async () => {
    reads.length = 0;
    const other = await get('/v1/keys/ns/guard', issueCertificate(pki, [spiffe('ns', 'batch')], 'client'));
    expect(other.status).toBe(403);
    expect(JSON.parse(other.body).error.message).toBe('ServiceAccount batch runs no workload policy guard selects');
    const elsewhere = await get('/v1/keys/ns/guard', issueCertificate(pki, [spiffe('team-b', 'chat')], 'client'));
    expect(elsewhere.status).toBe(403);
    expect(reads).toEqual([]);
  });

  it('refuses a certificate without exactly one SPIFFE identity', async () => {
    expect((await get('/v1/keys/ns/guard', issueCertificate(pki, ['DNS:chat.ns.svc'], 'client'))).status).toBe(403);
    expect((await get('/v1/keys/ns/guard', issueCertificate(pki, [spiffe('ns', 'chat'), spiffe('ns', 'admin')], 'client'))).status).toBe(403);
  });

  it('completes no handshake without a client certificate, or with one from another CA', async () => {
    await expect(get('/v1/keys/ns/guard', undefined)).rejects.toThrow();
    await expect(get('/v1/keys/ns/guard', issueCertificate(otherPki, [spiffe('ns', 'chat')], 'client'))).rejects.toThrow();
  });

  it('404 for an unknown policy, another path or method; 503 when the cluster can’t be read', async () => {
    expect((await get('/v1/keys/ns/nope', chat)).status).toBe(404);
    expect((await get('/v1/keys/ns/guard/extra', chat)).status).toBe(404);
    expect((await get('/v1/keys/NS/guard', chat)).status).toBe(404);
    expect((await get('/v1/keys/ns/guard', chat, pki.caPem, 'POST')).status).toBe(404);
    failReads = true;
    try {
      expect((await get('/v1/keys/ns/guard', chat)).status).toBe(503);
    } finally {
      failReads = false;
    }
  });

  it('a renewed certificate serves new connections without a restart', async () => {
    const before = (await get('/v1/keys/ns/guard', chat)).serial;
    const renewed = issueCertificate(pki, [spiffe('llmguard-system', 'llmguard-keys')], 'server');
    server.setTls({ keyPem: renewed.keyPem, certChainPem: renewed.certPem, rootPem: pki.caPem });
    const after = await get('/v1/keys/ns/guard', chat);
    expect(after.status).toBe(200);
    expect(after.serial).not.toBe(before);
  });

  it('logs who asked and the outcome, never a key, and each refused handshake', () => {
    expect(logs).toContain('"msg":"TLS handshake refused"');
    expect(logs).toContain('"caller":"spiffe://cluster.local/ns/ns/sa/chat"');
    expect(logs).toContain('"msg":"served"');
    expect(logs).not.toContain(KEY);
    expect(outcomes).toEqual(expect.arrayContaining(['served', 'forbidden', 'not_found', 'bad_request', 'unavailable']));
  });
});
