// The health endpoints (/healthz, /readyz) and the Prometheus endpoint (/metrics), on their own
// ports or on one when the ports are equal. A port of 0 takes any free port; a negative port
// turns that endpoint off.
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface HealthState {
  live(): boolean;
  ready(): { ok: boolean; detail: string };
}

export interface HttpEndpointsOptions {
  healthPort: number;
  metricsPort: number;
  host?: string;
  health: HealthState;
  /** What /metrics serves (Prometheus text). */
  metrics: { render(): string };
}

export interface HttpEndpoints {
  healthPort: number | undefined;
  metricsPort: number | undefined;
  close(): Promise<void>;
}

type Route = (req: http.IncomingMessage, res: http.ServerResponse) => void;

function text(res: http.ServerResponse, status: number, body: string, contentType = 'text/plain; charset=utf-8'): void {
  res.writeHead(status, { 'Content-Type': contentType, 'Content-Length': Buffer.byteLength(body), 'Cache-Control': 'no-store' });
  res.end(body);
}

export async function startHttpEndpoints(opts: HttpEndpointsOptions): Promise<HttpEndpoints> {
  const healthRoutes: Record<string, Route> = {
    '/healthz': (_req, res) => (opts.health.live() ? text(res, 200, 'ok\n') : text(res, 500, 'not live\n')),
    '/livez': (_req, res) => (opts.health.live() ? text(res, 200, 'ok\n') : text(res, 500, 'not live\n')),
    '/readyz': (_req, res) => {
      const r = opts.health.ready();
      text(res, r.ok ? 200 : 503, `${r.ok ? 'ok' : 'not ready'}: ${r.detail}\n`);
    },
  };
  const metricsRoutes: Record<string, Route> = {
    '/metrics': (_req, res) => text(res, 200, opts.metrics.render(), 'text/plain; version=0.0.4; charset=utf-8'),
  };

  const servers: http.Server[] = [];
  const listen = async (port: number, routes: Record<string, Route>): Promise<number> => {
    const server = http.createServer((req, res) => {
      const path = (req.url ?? '/').split('?')[0] ?? '/';
      const route = routes[path];
      if (req.method !== 'GET' && req.method !== 'HEAD') return text(res, 405, 'method not allowed\n');
      if (!route) return text(res, 404, 'not found\n');
      route(req, res);
    });
    server.keepAliveTimeout = 5_000;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, opts.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    servers.push(server);
    return (server.address() as AddressInfo).port;
  };

  let healthPort: number | undefined;
  let metricsPort: number | undefined;
  try {
    if (opts.healthPort >= 0 && opts.metricsPort >= 0 && opts.healthPort === opts.metricsPort && opts.healthPort !== 0) {
      healthPort = metricsPort = await listen(opts.healthPort, { ...healthRoutes, ...metricsRoutes });
    } else {
      if (opts.healthPort >= 0) healthPort = await listen(opts.healthPort, healthRoutes);
      if (opts.metricsPort >= 0) metricsPort = await listen(opts.metricsPort, metricsRoutes);
    }
  } catch (err) {
    await closeAll(servers);
    throw err;
  }
  return { healthPort, metricsPort, close: () => closeAll(servers) };
}

async function closeAll(servers: http.Server[]): Promise<void> {
  await Promise.all(
    servers.map(
      (s) =>
        new Promise<void>((resolve) => {
          s.close(() => resolve());
          s.closeAllConnections();
        }),
    ),
  );
}
