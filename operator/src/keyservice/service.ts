// llmguard-keys, wired: a workload certificate from istiod's CA for its own ServiceAccount (renewed
// at half-life, swapped into the server without a restart), the mutual-TLS key endpoint, reads
// from the apiserver, and /healthz, /readyz, /metrics on a plain port for the kubelet and
// Prometheus.
import type { KubeConfig } from '@kubernetes/client-node';
import type { Logger } from '../controller/log.js';
import { startHttpEndpoints, type HttpEndpoints } from '../controller/http.js';
import { Counter, Gauge } from '../controller/metrics.js';
import { KubeClient } from '../kube/client.js';
import { errorMessage } from '../kube/errors.js';
import { ObjectApi } from '../kube/objects.js';
import { istiodSigner } from './istio_ca.js';
import { KubeLookup } from './lookup.js';
import { startKeyServer, type KeyServer, type Outcome } from './server.js';
import { identityOfPeer, spiffeId, type WorkloadIdentity } from './spiffe_identity.js';
import { WorkloadCertificate } from './workload_cert.js';

export interface KeyServiceOptions {
  kubeConfig: KubeConfig;
  /** This service's own identity (its ServiceAccount), which istiod's CA certifies. */
  identity: WorkloadIdentity;
  /** istiod's CA, host:port (istiod.istio-system.svc:15012 in a cluster). */
  caAddress: string;
  caServerName?: string;
  /** The mesh root (the istio-ca-root-cert ConfigMap, mounted). */
  rootCertPem: string;
  /** A ServiceAccount token with audience istio-ca, read again for each CA request (it rotates). */
  token: () => string;
  port: number;
  host?: string;
  healthPort: number;
  metricsPort: number;
  log: Logger;
}

export interface KeyService {
  port: number;
  healthPort: number | undefined;
  metricsPort: number | undefined;
  stop(): Promise<void>;
}

class KeyServiceMetrics {
  readonly requests = new Counter('llmguard_keys_requests_total', 'Key requests, by outcome.');
  readonly certificateExpiry = new Gauge('llmguard_keys_certificate_expiry_seconds', 'Unix time the serving certificate expires.');
  render(): string {
    return [this.requests, this.certificateExpiry].map((m) => m.render()).join('');
  }
}

export async function startKeyService(o: KeyServiceOptions): Promise<KeyService> {
  const log = o.log.child({ component: 'keys', identity: spiffeId(o.identity) });
  const metrics = new KeyServiceMetrics();
  const cert = new WorkloadCertificate({
    identity: o.identity,
    rootCertPem: o.rootCertPem,
    sign: istiodSigner({ address: o.caAddress, rootCertPem: o.rootCertPem, serverName: o.caServerName, token: o.token }),
  });
  const first = await cert.start();
  metrics.certificateExpiry.set(first.notAfter.getTime() / 1000);
  log.info('workload certificate issued', { notAfter: first.notAfter.toISOString() });

  const api = new ObjectApi(new KubeClient(o.kubeConfig, { userAgent: 'llmguard-keys' }));
  let server: KeyServer | undefined;
  let endpoints: HttpEndpoints | undefined;
  try {
    server = await startKeyServer({
      port: o.port,
      host: o.host,
      tls: first,
      trustDomain: o.identity.trustDomain,
      lookup: new KubeLookup({ api }),
      identityOf: (socket) => identityOfPeer(socket.getPeerCertificate()),
      log,
      onOutcome: (outcome: Outcome) => metrics.requests.inc({ outcome }),
    });
    const serving = server;
    cert.onRenew((c) => {
      serving.setTls(c);
      metrics.certificateExpiry.set(c.notAfter.getTime() / 1000);
      log.info('workload certificate renewed', { notAfter: c.notAfter.toISOString() });
    });
    cert.onError((err) => log.warn('workload certificate renewal failed; retrying', { error: errorMessage(err) }));
    endpoints = await startHttpEndpoints({
      healthPort: o.healthPort,
      metricsPort: o.metricsPort,
      host: o.host,
      metrics,
      health: {
        live: () => true,
        ready: () => {
          const left = cert.current().notAfter.getTime() - Date.now();
          return left > 0 ? { ok: true, detail: 'serving' } : { ok: false, detail: 'the workload certificate has expired' };
        },
      },
    });
  } catch (err) {
    cert.stop();
    await server?.close();
    throw err;
  }
  log.info('serving', { port: server.port });
  const started = { server, endpoints };
  return {
    port: server.port,
    healthPort: endpoints.healthPort,
    metricsPort: endpoints.metricsPort,
    stop: async () => {
      cert.stop();
      await Promise.all([started.server.close(), started.endpoints.close()]);
      log.info('stopped');
    },
  };
}
