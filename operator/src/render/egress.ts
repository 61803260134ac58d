// ServiceEntry + DestinationRule per external host: apps send plain HTTP on port 80; the sidecar
// originates TLS to the host on 443 (cluster outbound|80||host with an UpstreamTlsContext, SNI
// and SAN checks from the :authority). A 443/HTTPS port stays for apps that do TLS themselves.
// With `endpoints` the traffic goes to those addresses instead of the host's DNS (TLS still names
// the host); with `tls` the sidecar checks the certificate against the given CA.
import { isIP } from 'node:net';
import type { Destination, LlmGuardPolicy, UpstreamTls } from '../api/v1alpha1/llm_guard_policy.js';
import { childMetadata } from './labels.js';
import { hostObjectName } from './names.js';

export interface ExternalHost {
  host: string;
  port: number;
  tlsUpgrade: boolean;
  targetPort: number;
  endpoints?: string[];
  tls?: UpstreamTls;
}

function destination(d: Destination): Pick<ExternalHost, 'endpoints' | 'tls'> {
  return { ...(d.endpoints?.length ? { endpoints: d.endpoints } : {}), ...(d.tls ? { tls: d.tls } : {}) };
}

/** Every external host the policy needs: its providers, then its guard. Duplicates merged. */
export function externalHosts(policy: LlmGuardPolicy): ExternalHost[] {
  const out: ExternalHost[] = [];
  const add = (h: ExternalHost) => {
    if (!out.some((o) => o.host === h.host)) out.push(h);
  };
  for (const p of policy.spec.providers) {
    add({ host: p.host, port: p.port ?? 80, tlsUpgrade: p.tlsUpgrade ?? true, targetPort: p.targetPort ?? 443, ...destination(p) });
  }
  const g = policy.spec.intelligentGuard;
  if (g) add({ host: g.host, port: g.port ?? 80, tlsUpgrade: g.tlsUpgrade ?? true, targetPort: g.targetPort ?? 443, ...destination(g) });
  return out;
}

export function renderServiceEntry(policy: LlmGuardPolicy, h: ExternalHost): Record<string, unknown> {
  const ports: Record<string, unknown>[] = h.tlsUpgrade
    ? [
        { number: h.port, name: `http-${h.port}`, protocol: 'HTTP', targetPort: h.targetPort },
        { number: h.targetPort, name: `https-${h.targetPort}`, protocol: 'HTTPS' },
      ]
    : [{ number: h.port, name: `http-${h.port}`, protocol: 'HTTP' }];
  return {
    apiVersion: 'networking.istio.io/v1',
    kind: 'ServiceEntry',
    metadata: childMetadata(policy, hostObjectName(policy.metadata.name, h.host)),
    spec: {
      hosts: [h.host],
      exportTo: ['.'],
      location: 'MESH_EXTERNAL',
      // Istio resolves a host by DNS; given addresses are used as they are (STATIC only for IPs).
      resolution: h.endpoints && h.endpoints.every((e) => isIP(e) !== 0) ? 'STATIC' : 'DNS',
      ports,
      ...(h.endpoints ? { endpoints: h.endpoints.map((address) => ({ address })) } : {}),
    },
  };
}

export function renderDestinationRule(policy: LlmGuardPolicy, h: ExternalHost): Record<string, unknown> {
  return {
    apiVersion: 'networking.istio.io/v1',
    kind: 'DestinationRule',
    metadata: childMetadata(policy, hostObjectName(policy.metadata.name, h.host)),
    spec: {
      host: h.host,
      exportTo: ['.'],
      trafficPolicy: {
        // No sni: Istio then sets auto_sni and auto SAN validation from the request's :authority.
        portLevelSettings: [{ port: { number: h.port }, tls: { mode: 'SIMPLE', ...(h.tls ?? {}) } }],
      },
    },
  };
}
