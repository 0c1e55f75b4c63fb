/**
 * The region planner for operators (admin key): `GET /v1/admin/regions/plan?max=K` (JSON),
 * `POST /v1/admin/regions/plan` (with candidate regions in the body) and
 * `GET /v1/admin/regions/plan.svg?max=K` (a world map of the plan).
 */
import type { FastifyInstance } from 'fastify';
import { Actions, PlanResult, type PlanParams } from '../../contracts/index.js';
import { call } from '../../fabric/index.js';
import { renderPlanSvg } from '../../control/planner/index.js';
import { PlanBody, PlanQuery } from '../httpSchemas.js';
import type { RouteDeps } from '../types.js';
import { emptyBodyIsEmptyObject } from './meetings.js';

function params(q: { max?: number | undefined; budget?: number | undefined }): PlanParams {
  const p: PlanParams = {};
  if (q.max !== undefined) p.max = q.max;
  if (q.budget !== undefined) p.budget = q.budget;
  return p;
}

export function registerPlanRoutes(app: FastifyInstance, deps: RouteDeps): void {
  const { broker, auth } = deps;
  const onRequest = auth.requireAdmin;

  app.get<{ Querystring: PlanQuery }>('/v1/admin/regions/plan', { schema: { querystring: PlanQuery, response: { 200: PlanResult } }, onRequest }, async (request) =>
    call(broker, Actions.regionProvider.plan, params(request.query)),
  );

  app.post<{ Body: PlanBody }>(
    '/v1/admin/regions/plan',
    { schema: { body: PlanBody, response: { 200: PlanResult } }, onRequest, preValidation: emptyBodyIsEmptyObject },
    async (request) => {
      const p = params(request.body);
      if (request.body.candidates !== undefined) p.candidates = request.body.candidates;
      return call(broker, Actions.regionProvider.plan, p);
    },
  );

  app.get<{ Querystring: PlanQuery }>('/v1/admin/regions/plan.svg', { schema: { querystring: PlanQuery }, onRequest }, async (request, reply) => {
    const plan = await call(broker, Actions.regionProvider.plan, params(request.query));
    return reply.header('content-type', 'image/svg+xml; charset=utf-8').header('cache-control', 'no-store').send(renderPlanSvg(plan));
  });
}
