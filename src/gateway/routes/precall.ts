/**
 * Pre-call routes: where a client should measure (`GET /v1/precall/targets`) and what it
 * measured (`POST /v1/precall`). The client address is taken as for a join (behind a
 * trusted proxy, `X-Forwarded-For` counts): measurements are learned for its network
 * prefix, and the answer is the ranking that client would get now.
 */
import type { FastifyInstance } from 'fastify';
import { Actions, ProbeTargetsResult, RankResult, type PrecallParams, type ProbeTargetsParams } from '../../contracts/index.js';
import { call } from '../../fabric/index.js';
import { clientIp } from '../clientIp.js';
import { PrecallBody, ProbeTargetsQuery } from '../httpSchemas.js';
import type { RouteDeps } from '../types.js';

export function registerPrecallRoutes(app: FastifyInstance, deps: RouteDeps): void {
  const { broker, auth } = deps;

  app.get<{ Querystring: ProbeTargetsQuery }>(
    '/v1/precall/targets',
    { schema: { querystring: ProbeTargetsQuery, response: { 200: ProbeTargetsResult } }, onRequest: auth.requireAnyKey },
    async (request) => {
      const params: ProbeTargetsParams = { ip: clientIp(request) };
      if (request.query.count !== undefined) params.count = request.query.count;
      if (request.query.explore !== undefined) params.explore = request.query.explore;
      return call(broker, Actions.regionProvider.probeTargets, params);
    },
  );

  app.post<{ Body: PrecallBody }>(
    '/v1/precall',
    { schema: { body: PrecallBody, response: { 200: RankResult } }, onRequest: auth.requireAnyKey },
    async (request) => {
      const params: PrecallParams = { ip: clientIp(request), probes: request.body.probes };
      if (request.body.count !== undefined) params.count = request.body.count;
      return call(broker, Actions.regionProvider.precall, params);
    },
  );
}
