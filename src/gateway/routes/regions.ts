/** Public region routes: where would this address be served from? */
import { isIP } from 'node:net';
import { performance } from 'node:perf_hooks';
import type { FastifyInstance } from 'fastify';
import { Actions, MeridianError, RankResult, type RankParams } from '../../contracts/index.js';
import { call, toMeridianError } from '../../fabric/index.js';
import { clientIp } from '../clientIp.js';
import { RankQuery } from '../httpSchemas.js';
import type { RouteDeps } from '../types.js';

export function registerRegionRoutes(app: FastifyInstance, deps: RouteDeps): void {
  const { broker, auth, metrics } = deps;

  app.get<{ Querystring: RankQuery }>(
    '/v1/regions/rank',
    {
      schema: { querystring: RankQuery, response: { 200: RankResult } },
      onRequest: auth.requireAnyKey,
    },
    async (request) => {
      const { ip, count, exclude } = request.query;
      // Fail fast at the edge; the provider re-checks addresses that arrive by other paths.
      if (ip !== undefined && isIP(ip) === 0) throw new MeridianError('INVALID_IP', `Not a valid IPv4 or IPv6 address: ${JSON.stringify(ip.slice(0, 64))}`);
      const params: RankParams = { ip: ip ?? clientIp(request) };
      if (count !== undefined) params.count = count;
      if (exclude !== undefined && exclude.length > 0) params.exclude = exclude;

      const started = performance.now();
      try {
        const result = await call(broker, Actions.regionProvider.rank, params);
        metrics.observeRank('ok', (performance.now() - started) / 1000);
        return result;
      } catch (err) {
        metrics.observeRank(toMeridianError(err).code, (performance.now() - started) / 1000);
        throw err;
      }
    },
  );
}
