// The key service's HTTPS endpoint: `GET /v1/keys/<namespace>/<policy>`, over mutual TLS with the
// mesh's certificates. The caller's identity is the SPIFFE URI of the certificate it presented
// (checked against the mesh root by the TLS handshake); the answer is the policy's keys if that
// identity runs one of the policy's workloads. Keys are never logged; each answer is `no-store`.
import https from 'node:https';
import type http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { LlmGuardPolicy } from '../api/v1alpha1/llm_guard_policy.js';
import type { SecretLike } from '../controller/secrets.js';
import { referencedSecretNames } from '../controller/secrets.js';
import type { Logger } from '../controller/log.js';
import { errorMessage } from '../kube/errors.js';
import { buildAnswer } from './answer.js';
import { decide } from './authorize.js';
import { spiffeId, type WorkloadIdentity } from './spiffe_identity.js';
import type { KeyLookup } from './lookup.js';

export const KEYS_PATH_PREFIX = '/v1/keys/';
const NAME = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

export interface ServerTls {
  keyPem: string;
  certChainPem: string;
  rootPem: string;
}

export type Outcome = 'served' | 'forbidden' | 'not_found' | 'bad_request' | 'unavailable';

export interface KeyServerOptions {
  port: number;
  host?: string;
  tls: ServerTls;
  /** The mesh's trust domain (callers from another one are refused). */
  trustDomain: string;
  lookup: KeyLookup;
  /** The identity in a verified peer certificate, if it holds exactly one SPIFFE URI. */
  identityOf: (socket: TLSSocket) => WorkloadIdentity | undefined;
  log: Logger;
  onOutcome?: (outcome: Outcome) => void;
}

export interface KeyServer {
  port: number;
  /** A renewed certificate: new connections use it. */
  setTls(tls: ServerTls): void;
  close(): Promise<void>;
}

/**
 * ALPN: Istio's sidecars call with ISTIO_MUTUAL, which offers `istio` (with `istio-peer-exchange`
 * when metadata exchange is on), not `http/1.1`; Node's HTTPS server would refuse the handshake
 * (no_application_protocol). Any of these is HTTP/1.1 here.
 */
const ALPN = ['http/1.1', 'istio-http/1.1', 'istio', 'istio-peer-exchange'];

function secureContext(tls: ServerTls) {
  return { key: tls.keyPem, cert: tls.certChainPem, ca: tls.rootPem };
}

function reply(res: http.ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store' });
  res.end(text);
}

const refusal = (code: string, message: string) => ({ error: { code, message } });

function splitUrl(url: string): [string, URLSearchParams] {
  const q = url.indexOf('?');
  return q < 0 ? [url, new URLSearchParams()] : [url.slice(0, q), new URLSearchParams(url.slice(q + 1))];
}

/** What the filter's config needs keys for (docs/filter-config.md, "Keys from the key service"). */
export interface KeyNeeds {
  hosts: string[];
  guard: boolean;
}

export function needsOf(query: URLSearchParams): KeyNeeds {
  const hosts = (query.get('hosts') ?? '').split(',').filter((h) => h.length > 0).slice(0, 64);
  return { hosts, guard: query.get('guard') === '1' };
}

/** Whether the policy as read names every host and the guard the filter needs keys for. */
export function covers(policy: LlmGuardPolicy, needs: KeyNeeds): boolean {
  if (needs.guard && !policy.spec?.intelligentGuard) return false;
  const hosts = new Set((policy.spec?.providers ?? []).map((p) => p.host));
  return needs.hosts.every((h) => hosts.has(h));
}

/** `<namespace>/<policy>` from the request path, or undefined. */
export function policyOfPath(path: string): { namespace: string; name: string } | undefined {
  if (!path.startsWith(KEYS_PATH_PREFIX)) return undefined;
  const parts = path.slice(KEYS_PATH_PREFIX.length).split('/');
  if (parts.length !== 2 || !NAME.test(parts[0]!) || !NAME.test(parts[1]!)) return undefined;
  return { namespace: parts[0]!, name: parts[1]! };
}

export async function startKeyServer(o: KeyServerOptions): Promise<KeyServer> {
  const outcome = (res: http.ServerResponse, o2: Outcome, status: number, body: unknown) => {
    o.onOutcome?.(o2);
    reply(res, status, body);
  };

  const handle = async (req: http.IncomingMessage, res: http.ServerResponse): Promise<void> => {
    const [path, query] = splitUrl(req.url ?? '/');
    const target = policyOfPath(path);
    if (req.method !== 'GET' || !target) return outcome(res, 'bad_request', 404, refusal('not_found', `no such resource: ${req.method} ${path}`));
    const caller = o.identityOf(req.socket as TLSSocket);
    const who = caller ? spiffeId(caller) : 'unknown';
    const log = o.log.child({ caller: who, policy: `${target.namespace}/${target.name}` });
    if (!caller) {
      log.warn('refused: no workload identity in the client certificate');
      return outcome(res, 'forbidden', 403, refusal('forbidden', 'the client certificate carries no workload identity'));
    }
    let policy: LlmGuardPolicy | undefined;
    let secrets: Map<string, SecretLike | undefined>;
    try {
      const arrived = Date.now();
      policy = await o.lookup.policy(target.namespace, target.name);
      const needs = needsOf(query);
      if (policy && !covers(policy, needs)) {
        // The filter runs a config newer than the policy cached here (a guard turned on, a
        // provider added): read it again rather than answer without the keys that config needs.
        // Requests arriving together share one read; none reuses a read from before it arrived.
        policy = await o.lookup.policy(target.namespace, target.name, arrived);
        log.info('policy read again for a filter config newer than the cached one', { needs, covered: policy ? covers(policy, needs) : false });
      }
      if (!policy) {
        log.info('refused: no such policy');
        return outcome(res, 'not_found', 404, refusal('not_found', `no LlmGuardPolicy ${target.namespace}/${target.name}`));
      }
      const decision = decide(caller, o.trustDomain, policy, await o.lookup.workloadAccounts(policy));
      if (!decision.allowed) {
        log.warn('refused', { reason: decision.reason });
        return outcome(res, 'forbidden', 403, refusal('forbidden', decision.reason));
      }
      const names = referencedSecretNames(policy);
      const values = await Promise.all(names.map((n) => o.lookup.secret(target.namespace, n)));
      secrets = new Map(names.map((n, i) => [n, values[i]]));
    } catch (err) {
      log.error('apiserver read failed', { error: errorMessage(err) });
      return outcome(res, 'unavailable', 503, refusal('unavailable', 'the key service could not read the cluster'));
    }
    const answer = buildAnswer(policy, (name) => secrets.get(name));
    const missing = Object.entries(answer.providers).filter(([, e]) => 'error' in e).map(([host]) => host);
    // Every proxy asks every few seconds: a served answer is routine (debug); refusals are warnings.
    log.debug('served', { providers: Object.keys(answer.providers).length, unavailable: missing });
    outcome(res, 'served', 200, answer);
  };

  const server = https.createServer({ ...secureContext(o.tls), requestCert: true, rejectUnauthorized: true, minVersion: 'TLSv1.2', ALPNProtocols: ALPN }, (req, res) => {
    handle(req, res).catch((err: unknown) => {
      o.log.error('request failed', { error: errorMessage(err) });
      if (!res.headersSent) reply(res, 500, refusal('internal', 'internal error'));
      else res.destroy();
    });
  });
  // A refused handshake (no client certificate, another CA) never reaches the handler: say so.
  server.on('tlsClientError', (err: Error & { code?: string }, socket) => {
    o.onOutcome?.('forbidden');
    o.log.warn('TLS handshake refused', { error: err.code ?? err.message, remote: socket.remoteAddress });
  });
  server.keepAliveTimeout = 30_000;
  server.headersTimeout = 10_000;
  server.requestTimeout = 15_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port, o.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return {
    port: (server.address() as AddressInfo).port,
    setTls: (tls) => server.setSecureContext(secureContext(tls)),
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
