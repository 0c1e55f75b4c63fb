/**
 * Probes and metrics. `/healthz` says the process serves HTTP; `/readyz` says the
 * platform behind it is ready (load balancers route on this); neither needs a credential.
 * `/metrics` is Prometheus: open to loopback callers, and to others only with the bearer
 * token `http.metricsToken` (it names regions, nodes and load).
 */
import type { FastifyInstance, FastifyRequest, onRequestAsyncHookHandler, onRequestHookHandler } from 'fastify';
import { MeridianError } from '../../contracts/index.js';
import { metricsAccess } from '../metricsAccess.js';
import type { RouteDeps } from '../types.js';

/** Guard of `/metrics`; see the module comment. */
export function metricsGuard(token: string): onRequestAsyncHookHandler {
  const check = metricsAccess(token);
  return async (request: FastifyRequest) => check(request.ip, request.headers.authorization);
}

/**
 * Hook: the `/v1` API answers `NOT_READY` until the platform is ready. A callback hook, not
 * an async one: it runs on every request and has nothing to wait for.
 */
export function readinessGate(isReady: () => boolean): onRequestHookHandler {
  return (request, _reply, done) => {
    if (!isReady() && request.url.startsWith('/v1/')) done(new MeridianError('NOT_READY'));
    else done();
  };
}

export function registerHealthRoutes(app: FastifyInstance, deps: RouteDeps): void {
  const { isReady, metrics } = deps;

  app.get('/healthz', async () => ({ ok: true }));

  app.get('/readyz', async () => {
    if (!isReady()) throw new MeridianError('NOT_READY');
    return { ready: true };
  });

  app.get('/metrics', { onRequest: metricsGuard(deps.metricsToken) }, async (_request, reply) => {
    const text = await metrics.render();
    return reply.type(metrics.contentType).send(text);
  });
}
