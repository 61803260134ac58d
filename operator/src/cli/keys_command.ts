// `llmguard keys`: the key service (llmguard-keys) in its own process, as its Deployment runs it.
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { createLogger, parseLevel } from '../controller/log.js';
import { loadKubeConfig } from '../kube/config.js';
import { startKeyService } from '../keyservice/service.js';
import { isValidIdentity, type WorkloadIdentity } from '../keyservice/spiffe_identity.js';
import { EXIT, type Io } from './main.js';
import { UsageError, portOption } from './inputs.js';

export const KEYS_HELP = `Usage: llmguard keys [options]

Runs llmguard-keys, the service the filter fetches provider keys from (docs/key-custody.md). It
gets a certificate for its own ServiceAccount from istiod's CA, serves GET /v1/keys/<ns>/<policy>
over mutual TLS with the mesh's certificates, and answers a caller only if its SPIFFE identity runs
a workload the policy selects. Its identity comes from $POD_NAMESPACE and $SERVICE_ACCOUNT.

Options:
      --kubeconfig PATH       kubeconfig (default: $KUBECONFIG, ~/.kube/config, then in-cluster)
      --port PORT             the key endpoint, mutual TLS (default 15443)
      --address ADDR          listen on this address only (default: all)
      --health-port PORT      /healthz and /readyz, plain HTTP (default 8081)
      --metrics-port PORT     /metrics (default 8080)
      --ca-address HOST:PORT  istiod's CA (default istiod.istio-system.svc:15012)
      --ca-server-name NAME   the name on istiod's certificate (default istiod.istio-system.svc)
      --root-cert PATH        the mesh root certificate (default /var/run/secrets/istio/root-cert.pem)
      --token-file PATH       a token with audience istio-ca (default /var/run/secrets/tokens/istio-token)
      --trust-domain DOMAIN   the mesh's trust domain (default cluster.local)
  -h, --help
`;

function readable(path: string, what: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    throw new UsageError(`${what} ${path}: ${(e as Error).message}`);
  }
}

export async function runKeys(args: string[], io: Io): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      kubeconfig: { type: 'string' },
      port: { type: 'string' },
      address: { type: 'string' },
      'health-port': { type: 'string' },
      'metrics-port': { type: 'string' },
      'ca-address': { type: 'string' },
      'ca-server-name': { type: 'string' },
      'root-cert': { type: 'string' },
      'token-file': { type: 'string' },
      'trust-domain': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    allowPositionals: false,
    strict: true,
  });
  if (values.help) {
    io.stdout.write(KEYS_HELP);
    return EXIT.ok;
  }
  const identity: WorkloadIdentity = {
    trustDomain: values['trust-domain'] ?? 'cluster.local',
    namespace: process.env.POD_NAMESPACE ?? '',
    serviceAccount: process.env.SERVICE_ACCOUNT ?? '',
  };
  if (!isValidIdentity(identity)) {
    throw new UsageError(`not a workload identity: set $POD_NAMESPACE and $SERVICE_ACCOUNT (got ${JSON.stringify(identity)})`);
  }
  const tokenFile = values['token-file'] ?? '/var/run/secrets/tokens/istio-token';
  readable(tokenFile, '--token-file');
  const service = await startKeyService({
    kubeConfig: loadKubeConfig(values.kubeconfig),
    identity,
    caAddress: values['ca-address'] ?? 'istiod.istio-system.svc:15012',
    caServerName: values['ca-server-name'],
    rootCertPem: readable(values['root-cert'] ?? '/var/run/secrets/istio/root-cert.pem', '--root-cert'),
    token: () => readFileSync(tokenFile, 'utf8').trim(), // projected tokens rotate: read each time
    port: portOption('port', values.port, 15443),
    host: values.address,
    healthPort: portOption('health-port', values['health-port'], 8081),
    metricsPort: portOption('metrics-port', values['metrics-port'], 8080),
    log: createLogger({ level: parseLevel(process.env.LLMGUARD_LOG_LEVEL) }, { component: 'llmguard-keys' }),
  });
  await new Promise<void>((resolve) => {
    process.once('SIGTERM', resolve);
    process.once('SIGINT', resolve);
  });
  await service.stop();
  return EXIT.ok;
}
