/** Operator routes (admin key only): the region registry and app keys. */
import type { FastifyInstance } from 'fastify';
import {
  Actions,
  KeyCreateResult,
  KeyInfo,
  KeyList,
  NodeDrainResult,
  Region,
  RegionDrainResult,
  RegionList,
  RegionRemoveResult,
  type KeyCreateParams,
  type RegionRemoveParams,
} from '../../contracts/index.js';
import { call } from '../../fabric/index.js';
import { DrainBody, KeyCreateBody, KeyPath, NodePath, RegionCreateBody, RegionPatchBody, RegionPath, RegionRemoveQuery } from '../httpSchemas.js';
import type { RouteDeps } from '../types.js';
import { emptyBodyIsEmptyObject } from './meetings.js';

export function registerAdminRoutes(app: FastifyInstance, deps: RouteDeps): void {
  const { broker, auth } = deps;
  const onRequest = auth.requireAdmin;

  app.get('/v1/admin/regions', { schema: { response: { 200: RegionList } }, onRequest }, async () => call(broker, Actions.regions.list, {}));

  app.post<{ Body: RegionCreateBody }>(
    '/v1/admin/regions',
    { schema: { body: RegionCreateBody, response: { 201: Region } }, onRequest },
    async (request, reply) => {
      const region = await call(broker, Actions.regions.add, request.body);
      return reply.code(201).header('location', `/v1/admin/regions/${region.id}`).send(region);
    },
  );

  app.get<{ Params: RegionPath }>(
    '/v1/admin/regions/:id',
    { schema: { params: RegionPath, response: { 200: Region } }, onRequest },
    async (request) => call(broker, Actions.regions.get, { id: request.params.id }),
  );

  app.patch<{ Params: RegionPath; Body: RegionPatchBody }>(
    '/v1/admin/regions/:id',
    { schema: { params: RegionPath, body: RegionPatchBody, response: { 200: Region } }, onRequest },
    async (request) => call(broker, Actions.regions.update, { ...request.body, id: request.params.id }),
  );

  app.post<{ Params: RegionPath; Body: DrainBody }>(
    '/v1/admin/regions/:id/drain',
    { schema: { params: RegionPath, body: DrainBody, response: { 200: RegionDrainResult } }, onRequest, preValidation: emptyBodyIsEmptyObject },
    async (request) => call(broker, Actions.regions.drain, { id: request.params.id, ...(request.body.migrate ? { migrate: true } : {}) }),
  );

  app.post<{ Params: NodePath; Body: DrainBody }>(
    '/v1/admin/nodes/:id/drain',
    { schema: { params: NodePath, body: DrainBody, response: { 200: NodeDrainResult } }, onRequest, preValidation: emptyBodyIsEmptyObject },
    async (request) => call(broker, Actions.regions.drainNode, { nodeId: request.params.id, ...(request.body.migrate ? { migrate: true } : {}) }),
  );

  app.delete<{ Params: RegionPath; Querystring: RegionRemoveQuery }>(
    '/v1/admin/regions/:id',
    { schema: { params: RegionPath, querystring: RegionRemoveQuery, response: { 200: RegionRemoveResult } }, onRequest },
    async (request) => {
      const params: RegionRemoveParams = { id: request.params.id };
      if (request.query.force !== undefined) params.force = request.query.force;
      if (request.query.migrate !== undefined) params.migrate = request.query.migrate;
      return call(broker, Actions.regions.remove, params);
    },
  );

  app.post<{ Body: KeyCreateBody }>(
    '/v1/admin/keys',
    { schema: { body: KeyCreateBody, response: { 201: KeyCreateResult } }, onRequest, preValidation: emptyBodyIsEmptyObject },
    async (request, reply) => {
      const params: KeyCreateParams = {};
      if (request.body.appId !== undefined) params.appId = request.body.appId;
      if (request.body.label !== undefined) params.label = request.body.label;
      const created = await call(broker, Actions.auth.createKey, params);
      // The key is shown once; keep it out of caches and proxies.
      return reply.code(201).header('cache-control', 'no-store').send(created);
    },
  );

  app.get('/v1/admin/keys', { schema: { response: { 200: KeyList } }, onRequest }, async (_request, reply) =>
    reply.header('cache-control', 'no-store').send(await call(broker, Actions.auth.listKeys, {})),
  );

  // Revocation reaches every gateway copy through the `auth.keyRevoked` event (see AppKeyVerifier).
  app.delete<{ Params: KeyPath }>(
    '/v1/admin/keys/:keyId',
    { schema: { params: KeyPath, response: { 200: KeyInfo } }, onRequest },
    async (request) => call(broker, Actions.auth.revokeKey, { keyId: request.params.keyId }),
  );
}
