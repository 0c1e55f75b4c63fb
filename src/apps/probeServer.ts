/**
 * Health probes for roles without an HTTP API of their own (`regions`, `region-provider`,
 * `rooms`, `auth`, `autoscaler` in distributed mode): `GET /healthz` (the process is alive)
 * and `GET /readyz` (its services are started and it has not begun to stop), so a
 * Kubernetes or systemd supervisor can watch every role the same way. Plain `node:http`:
 * two routes do not need the gateway's stack. `/metrics` (the autoscaler's) follows the
 * gateway's rule: loopback callers, others with `http.metricsToken` only. Slow or silent
 * clients are cut by Node's header, request and keep-alive timeouts.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ERROR_CATALOG, MeridianError } from '../contracts/index.js';
import { metricsAccess } from '../gateway/metricsAccess.js';

export interface ProbeServerOptions {
  host: string;
  /** 0 = any free port. */
  port: number;
  isReady: () => boolean;
  /** Serves `GET /metrics` (Prometheus text) when given. */
  metrics?: () => Promise<{ contentType: string; text: string }>;
  /** Bearer token non-loopback callers of `/metrics` must send (`http.metricsToken`); empty = loopback only. */
  metricsToken?: string;
}

/** A listening probe server. */
export interface ProbeServer {
  /** The port actually bound. */
  readonly port: number;
  /** Stops listening and closes idle keep-alive connections; idempotent. */
  close(): Promise<void>;
}

const JSON_TYPE = 'application/json; charset=utf-8';

/** Starts the probe listener; rejects if the port is taken. */
export async function startProbeServer(opts: ProbeServerOptions): Promise<ProbeServer> {
  const mayReadMetrics = metricsAccess(opts.metricsToken ?? '');
  const server: Server = createServer({ headersTimeout: 10_000, requestTimeout: 30_000 }, (req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { 'content-type': JSON_TYPE, allow: 'GET, HEAD' }).end(JSON.stringify({ error: { code: 'ROUTE_NOT_FOUND', message: 'Probes answer GET only' } }));
      return;
    }
    if (path === '/healthz') {
      res.writeHead(200, { 'content-type': JSON_TYPE }).end(JSON.stringify({ ok: true }));
    } else if (path === '/readyz') {
      if (opts.isReady()) res.writeHead(200, { 'content-type': JSON_TYPE }).end(JSON.stringify({ ready: true }));
      else res.writeHead(503, { 'content-type': JSON_TYPE, 'retry-after': '2' }).end(JSON.stringify({ error: { code: 'NOT_READY', message: ERROR_CATALOG.NOT_READY.message } }));
    } else if (path === '/metrics' && opts.metrics) {
      try {
        mayReadMetrics(req.socket.remoteAddress ?? '', req.headers.authorization);
      } catch (err) {
        const e = err as MeridianError;
        res.writeHead(e.status, { 'content-type': JSON_TYPE }).end(JSON.stringify({ error: { code: e.code, message: e.message } }));
        return;
      }
      opts.metrics().then(
        (m) => res.writeHead(200, { 'content-type': m.contentType }).end(m.text),
        () => res.writeHead(500, { 'content-type': JSON_TYPE }).end(JSON.stringify({ error: { code: 'INTERNAL', message: ERROR_CATALOG.INTERNAL.message } })),
      );
    } else {
      res.writeHead(404, { 'content-type': JSON_TYPE }).end(JSON.stringify({ error: { code: 'ROUTE_NOT_FOUND', message: ERROR_CATALOG.ROUTE_NOT_FOUND.message } }));
    }
  });
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  let closed: Promise<void> | undefined;
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      (closed ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      })),
  };
}
