/**
 * The demo: a page where a newcomer joins a meeting by name and sees where it was placed,
 * the join route behind it, and the browser SDK bundle.
 *
 * The demo route plays the part of an app's backend: it holds the app identity server-side
 * (the browser never sees a key), creates the meeting on first use and calls `rooms.join`
 * through the broker with the caller's address, or with an address of a chosen city ("join
 * as if from", an operator/demo switch that shows the routing).
 */
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Type, type Static } from '@sinclair/typebox';
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { Config } from '../../config/index.js';
import { Actions, JoinParams, JoinResult, MeetingId, MeridianError, Participant, PrecallParams, ProbeTargetsResult, RankResult, requireParticipantName } from '../../contracts/index.js';
import { call, toMeridianError, type Caller } from '../../fabric/index.js';
import { clientIp } from '../../gateway/clientIp.js';
import { addressLimit } from '../../gateway/rateLimits.js';
import { DEMO_CITIES, demoCity } from './demoCities.js';

/** What the demo routes need. */
export interface DemoRouteDeps {
  /** Reaches `rooms.create` / `rooms.join`. */
  readonly broker: Caller;
  /**
   * `http.demo` switches the page and the join route on; `http.demoJoinsPerMinute` limits
   * joins per client address and `http.demoMaxMeetings` the meetings the demo may hold.
   */
  readonly config: Pick<Readonly<Config>, 'http'>;
  /** The app that owns the demo's meetings (default `demo`). */
  readonly appId?: string;
  /** Where the browser bundles are (default `<repo>/dist/client`, written by `npm run build`). */
  readonly assetsDir?: string;
}

/** `POST /demo/join` body. */
export const DemoJoinBody = Type.Object(
  {
    meetingId: MeetingId,
    name: Participant.properties.name,
    /** Place the join as if the client were in this city. */
    asIfFrom: Type.Optional(Type.Union(DEMO_CITIES.map((c) => Type.Literal(c.id)))),
    /** The node the page could not reach on its previous attempt. */
    unreachableNodeId: JoinParams.properties.unreachableNodeId,
    /**
     * A reconnecting page keeps its participant id (so others see the same participant).
     * Only ids this route hands out (`demo-…`) are taken: a page cannot pose as an app user.
     */
    participantId: Type.Optional(Type.String({ pattern: '^demo-[A-Za-z0-9_-]{1,100}$', maxLength: 105 })),
    /** Why the page joins again: it lost its node, or the node told it to migrate. */
    reason: JoinParams.properties.reason,
    /** The node the page is leaving (migration), for logs. */
    previousNodeId: JoinParams.properties.unreachableNodeId,
  },
  { additionalProperties: false },
);
export type DemoJoinBody = Static<typeof DemoJoinBody>;

const AsIfFrom = Type.Optional(Type.Union(DEMO_CITIES.map((c) => Type.Literal(c.id))));

/** `GET /demo/precall/targets?count=&asIfFrom=`: where the page should measure. */
export const DemoTargetsQuery = Type.Object({ count: PrecallParams.properties.count, asIfFrom: AsIfFrom }, { additionalProperties: false });
export type DemoTargetsQuery = Static<typeof DemoTargetsQuery>;

/** `POST /demo/precall`: what the page measured (`precallTest().probes`). */
export const DemoPrecallBody = Type.Object({ probes: PrecallParams.properties.probes, asIfFrom: AsIfFrom }, { additionalProperties: false });
export type DemoPrecallBody = Static<typeof DemoPrecallBody>;

/** The default bundle directory: `dist/client` of this checkout (same depth from src/ and dist/). */
export const DEFAULT_ASSETS_DIR = fileURLToPath(new URL('../../../dist/client/', import.meta.url));

const ASSETS: Record<string, { file: string; type: string; demoOnly: boolean }> = {
  '/sdk/meridian.js': { file: 'meridian.js', type: 'text/javascript; charset=utf-8', demoOnly: false },
  '/sdk/meridian.js.map': { file: 'meridian.js.map', type: 'application/json; charset=utf-8', demoOnly: false },
  '/demo/demo.js': { file: 'demo/demo.js', type: 'text/javascript; charset=utf-8', demoOnly: true },
  '/demo/demo.js.map': { file: 'demo/demo.js.map', type: 'application/json; charset=utf-8', demoOnly: true },
  '/demo/demo.css': { file: 'demo/demo.css', type: 'text/css; charset=utf-8', demoOnly: true },
};

/** The page talks to its own origin and to meeting nodes' WebSockets, nothing else. */
const PAGE_HEADERS = {
  'content-security-policy':
    "default-src 'self'; script-src 'self'; style-src 'self'; connect-src 'self' ws: wss:; media-src 'self' blob: mediastream:; img-src 'self' data:; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'permissions-policy': 'camera=(self), microphone=(self)',
};

/**
 * Registers `GET /sdk/meridian.js` (always) and, when `config.http.demo` is on, `GET /`
 * (the page), its script and style under `/demo/`, `GET /demo/cities`, `POST /demo/join` and
 * the pre-call test's `GET /demo/precall/targets` and `POST /demo/precall`.
 * Call it from the gateway's `extraRoutes` (its rate-limit plugin must be installed).
 *
 * The join route needs no key, so it is what an anonymous caller could spend machines
 * through: each client address gets `http.demoJoinsPerMinute` joins a minute, and the demo
 * app holds at most `http.demoMaxMeetings` idle and live meetings (new names beyond get
 * `429 QUOTA_EXCEEDED`; existing ones keep working).
 */
export function registerDemoRoutes(app: FastifyInstance, deps: DemoRouteDeps): void {
  const { broker } = deps;
  const appId = deps.appId ?? 'demo';
  const assetsDir = deps.assetsDir ?? DEFAULT_ASSETS_DIR;
  const demo = deps.config.http.demo;

  const sendAsset = async (reply: FastifyReply, file: string, type: string, headers: Record<string, string> = {}) => {
    let body: Buffer;
    try {
      body = await readFile(join(assetsDir, file));
    } catch {
      // Not INTERNAL: its message is hidden from clients, and this one says what to do.
      throw new MeridianError('ROUTE_NOT_FOUND', `The browser bundle ${file} has not been built; run \`npm run build\``);
    }
    return reply.headers({ 'content-type': type, 'cache-control': 'no-cache', 'x-content-type-options': 'nosniff', ...headers }).send(body);
  };

  for (const [url, asset] of Object.entries(ASSETS)) {
    if (asset.demoOnly && !demo) continue;
    app.get(url, (_request, reply) => sendAsset(reply, asset.file, asset.type));
  }
  if (!demo) return;

  app.get('/', (_request, reply) => sendAsset(reply, 'demo/index.html', 'text/html; charset=utf-8', PAGE_HEADERS));

  app.get('/demo/cities', async () => ({ cities: DEMO_CITIES.map(({ id, label }) => ({ id, label })) }));

  // The pre-call test, with this route as the app's backend (GET /v1/precall/targets, POST /v1/precall).
  app.get<{ Querystring: DemoTargetsQuery }>('/demo/precall/targets', { schema: { querystring: DemoTargetsQuery, response: { 200: ProbeTargetsResult } } }, async (request) => {
    const { count, asIfFrom } = request.query;
    return call(broker, Actions.regionProvider.probeTargets, { ip: asIfFrom ? demoCity(asIfFrom)!.ip : clientIp(request), ...(count !== undefined ? { count } : {}) });
  });
  app.post<{ Body: DemoPrecallBody }>('/demo/precall', { schema: { body: DemoPrecallBody, response: { 200: RankResult } } }, async (request) => {
    const { probes, asIfFrom } = request.body;
    return call(broker, Actions.regionProvider.precall, { ip: asIfFrom ? demoCity(asIfFrom)!.ip : clientIp(request), probes });
  });

  const joinLimit = addressLimit(app, deps.config.http.demoJoinsPerMinute, 'demo-join');
  app.post<{ Body: DemoJoinBody }>('/demo/join', { schema: { body: DemoJoinBody, response: { 200: JoinResult } }, onRequest: joinLimit }, async (request) => {
    const { meetingId, name, asIfFrom, unreachableNodeId, participantId, reason, previousNodeId } = request.body;
    const params: JoinParams = {
      appId,
      meetingId,
      participant: { id: participantId ?? `demo-${randomBytes(9).toString('base64url')}`, name: requireParticipantName(name) },
      ip: asIfFrom ? demoCity(asIfFrom)!.ip : clientIp(request),
    };
    if (unreachableNodeId !== undefined) params.unreachableNodeId = unreachableNodeId;
    if (reason !== undefined) params.reason = reason;
    if (previousNodeId !== undefined) request.log.info({ meetingId, participantId, previousNodeId, reason }, 'demo page joins again');
    // The gateway counts the join in its region (console's joins/s) once the answer is sent.
    const counted = (result: JoinResult): JoinResult => {
      request.joinedRegion = result.region.id;
      return result;
    };
    try {
      return counted(await call(broker, Actions.rooms.join, params));
    } catch (err) {
      if (toMeridianError(err).code !== 'MEETING_NOT_FOUND') throw err;
    }
    // First use of this meeting name: create it (another page may have just done so).
    try {
      await call(broker, Actions.rooms.create, { appId, id: meetingId, maxMeetings: deps.config.http.demoMaxMeetings });
    } catch (err) {
      if (toMeridianError(err).code !== 'MEETING_EXISTS') throw err;
    }
    return counted(await call(broker, Actions.rooms.join, params));
  });
}
