/**
 * Probes and metrics. `/healthz` says the process serves HTTP; `/readyz` says the
 * platform behind it is ready (load balancers route on this); `/metrics` is Prometheus.
 * None needs a credential: keep the port on a private network or filter these paths.
 */
import type { FastifyInstance, onRequestAsyncHookHandler } from 'fastify';
import { MeridianError } from '../../contracts/index.js';
import type { RouteDeps } from '../types.js';

/** Hook: the `/v1` API answers `NOT_READY` until the platform is ready. */
export function readinessGate(isReady: () => boolean): onRequestAsyncHookHandler {
  return async (request) => {
    if (!isReady() && request.url.startsWith('/v1/')) throw new MeridianError('NOT_READY');
  };
}

export function registerHealthRoutes(app: FastifyInstance, deps: RouteDeps): void {
  const { isReady, metrics } = deps;

  app.get('/healthz', async () => ({ ok: true }));

  app.get('/readyz', async () => {
    if (!isReady()) throw new MeridianError('NOT_READY');
    return { ready: true };
  });

  app.get('/metrics', async (_request, reply) => {
    const text = await metrics.render();
    return reply.type(metrics.contentType).send(text);
  });
}
