/**
 * Meeting routes: create, read, join. The join is the hot path: cached key check, schema
 * validation, one `rooms.join` call carrying the client's address.
 */
import { performance } from 'node:perf_hooks';
import type { FastifyInstance, preValidationAsyncHookHandler } from 'fastify';
import { Actions, JoinResult, Meeting, MeridianError, requireParticipantName, type JoinParams, type MeetingCreateParams } from '../../contracts/index.js';
import { call, toMeridianError } from '../../fabric/index.js';
import { actingAppId } from '../auth.js';
import { clientIp } from '../clientIp.js';
import { JoinBody, MeetingCreateBody, MeetingPath, MeetingQuery } from '../httpSchemas.js';
import type { RouteDeps } from '../types.js';

/** A POST without any body (no content type) means "all defaults". */
export const emptyBodyIsEmptyObject: preValidationAsyncHookHandler = async (request) => {
  if (request.body === undefined || request.body === null) request.body = {};
};

export function registerMeetingRoutes(app: FastifyInstance, deps: RouteDeps): void {
  const { broker, auth, metrics } = deps;

  app.post<{ Body: MeetingCreateBody }>(
    '/v1/meetings',
    {
      schema: { body: MeetingCreateBody, response: { 201: Meeting } },
      onRequest: auth.requireAnyKey,
      preValidation: emptyBodyIsEmptyObject,
    },
    async (request, reply) => {
      const { appId: requested, id, forceRegion } = request.body;
      const params: MeetingCreateParams = { appId: actingAppId(request.principal, requested) };
      if (id !== undefined) params.id = id;
      // Forcing the region at creation is app policy (data residency); per-join forcing is admin-only.
      if (forceRegion !== undefined) params.forceRegion = forceRegion;
      const meeting = await call(broker, Actions.rooms.create, params);
      return reply.code(201).header('location', `/v1/meetings/${encodeURIComponent(meeting.id)}`).send(meeting);
    },
  );

  app.get<{ Params: MeetingPath; Querystring: MeetingQuery }>(
    '/v1/meetings/:meetingId',
    {
      schema: { params: MeetingPath, querystring: MeetingQuery, response: { 200: Meeting } },
      onRequest: auth.requireAnyKey,
    },
    async (request) => {
      const appId = actingAppId(request.principal, request.query.appId);
      return call(broker, Actions.rooms.get, { appId, meetingId: request.params.meetingId });
    },
  );

  app.post<{ Params: MeetingPath; Body: JoinBody }>(
    '/v1/meetings/:meetingId/join',
    {
      schema: { params: MeetingPath, body: JoinBody, response: { 200: JoinResult } },
      onRequest: auth.requireAnyKey,
    },
    async (request) => {
      const principal = request.principal;
      const { participant, forceRegion, appId: requested, unreachableNodeId, reason, probes } = request.body;
      if (forceRegion !== undefined && principal?.kind !== 'admin') {
        throw new MeridianError('FORBIDDEN', 'forceRegion on a join needs the admin key; apps set it on the meeting at creation');
      }
      const params: JoinParams = {
        appId: actingAppId(principal, requested),
        meetingId: request.params.meetingId,
        participant: { id: participant.id, name: requireParticipantName(participant.name) },
        ip: clientIp(request),
      };
      if (forceRegion !== undefined) {
        params.forceRegion = forceRegion;
        params.admin = true;
      }
      if (unreachableNodeId !== undefined) params.unreachableNodeId = unreachableNodeId;
      if (reason !== undefined) params.reason = reason;
      if (probes !== undefined && probes.length > 0) params.probes = probes;

      const started = performance.now();
      try {
        const result = await call(broker, Actions.rooms.join, params);
        metrics.observeJoin('ok', result.placement, (performance.now() - started) / 1000);
        request.joinedRegion = result.region.id;
        return result;
      } catch (err) {
        metrics.observeJoin(toMeridianError(err).code, 'none', (performance.now() - started) / 1000);
        throw err;
      }
    },
  );
}
