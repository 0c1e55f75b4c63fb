/**
 * Small stand-ins for the services behind the gateway, for tests that are about HTTP
 * (auth, validation, error shapes, metrics), not about placement. Each action validates
 * its params with the real contract schema, so a test also fails when the gateway sends
 * params the real service would reject.
 */
import { isIP } from 'node:net';
import { randomBytes } from 'node:crypto';
import type { ServiceBroker, Context } from 'moleculer';
import pino from 'pino';
import { createBroker } from '../../../src/fabric/index.js';
import { MeridianError, Schemas, type JoinParams, type Meeting, type RankParams, type RankResult, type Region } from '../../../src/contracts/index.js';
import { DEFAULTS, type Config } from '../../../src/config/index.js';
import { createGateway } from '../../../src/gateway/index.js';
import type { FastifyInstance } from 'fastify';
import type { Clock } from '../../../src/lib/clock.js';

export const ADMIN_KEY = 'ma_test-admin-key-0123456789';
export const silent = pino({ level: 'silent' });

/** Where the fake locator puts a few addresses (everything else: the Frankfurt fallback). */
const LOCATIONS: Record<string, { lat: number; lon: number; city: string; country: string }> = {
  '49.36.0.1': { lat: 19.07, lon: 72.87, city: 'Mumbai', country: 'IN' },
  '8.8.8.8': { lat: 37.75, lon: -97.82, city: 'Wichita', country: 'US' },
};

function km(a: { lat: number; lon: number }, b: { lat: number; lon: number }): number {
  const r = (d: number) => (d * Math.PI) / 180;
  const h = Math.sin(r(b.lat - a.lat) / 2) ** 2 + Math.cos(r(a.lat)) * Math.cos(r(b.lat)) * Math.sin(r(b.lon - a.lon) / 2) ** 2;
  return 2 * 6371 * Math.asin(Math.sqrt(h));
}

export interface FakeState {
  keys: Map<string, { keyId: string; appId: string }>;
  regions: Map<string, Region>;
  meetings: Map<string, Meeting>;
  calls: { verifyKey: number; join: JoinParams[]; create: number };
}

export function createFakeBroker(): { broker: ServiceBroker; state: FakeState } {
  const broker = createBroker({ nodeID: 't', namespace: 't', transporter: '', logger: silent });
  const state: FakeState = { keys: new Map(), regions: new Map(), meetings: new Map(), calls: { verifyKey: 0, join: [], create: 0 } };
  const now = () => new Date().toISOString();

  const rank = (p: RankParams): RankResult => {
    if (isIP(p.ip) === 0) throw new MeridianError('INVALID_IP', `Not an IP: ${p.ip}`);
    const loc = LOCATIONS[p.ip];
    const location = loc
      ? { ip: p.ip, lat: loc.lat, lon: loc.lon, source: 'geoip' as const, city: loc.city, country: loc.country }
      : { ip: p.ip, lat: 50.11, lon: 8.68, source: 'fallback' as const, city: null, country: null, reason: 'unknown' };
    const regions = [...state.regions.values()]
      .filter((r) => r.status === 'active' && !(p.exclude ?? []).includes(r.id))
      .map((r) => ({ id: r.id, name: r.name, lat: r.lat, lon: r.lon, distanceKm: Math.round(km(location, r)), rttMs: 10, availableNodes: 1 }))
      .sort((a, b) => a.distanceKm - b.distanceKm)
      .slice(0, p.count ?? 3);
    return { location, strategy: 'distance', regions };
  };

  broker.createService({
    name: 'auth',
    actions: {
      createKey: {
        params: Schemas.KeyCreateParams,
        handler(ctx: Context<{ appId?: string }>) {
          const key = `mk_${randomBytes(16).toString('hex')}`;
          const rec = { keyId: `k${state.keys.size + 1}`, appId: ctx.params.appId ?? 'default' };
          state.keys.set(key, rec);
          return { key, ...rec };
        },
      },
      verifyKey: {
        params: Schemas.KeyVerifyParams,
        handler(ctx: Context<{ key: string }>) {
          state.calls.verifyKey++;
          const rec = state.keys.get(ctx.params.key);
          if (!rec) throw new MeridianError('UNAUTHORIZED');
          return rec;
        },
      },
    },
  });

  const getRegion = (id: string): Region => {
    const r = state.regions.get(id);
    if (!r) throw new MeridianError('REGION_NOT_FOUND', `No region '${id}'`);
    return r;
  };
  /** Planned migration, faked: live meetings matching `where` move to the `elsewhere` node. */
  const moveLive = (where: (m: Meeting) => boolean): number => {
    const live = [...state.meetings.values()].filter((m) => m.status === 'live' && where(m));
    for (const m of live) state.meetings.set(m.id, { ...m, regionId: 'elsewhere-1', nodeId: 'elsewhere-1-n1' });
    return live.length;
  };
  broker.createService({
    name: 'regions',
    actions: {
      add: {
        params: Schemas.RegionAddParams,
        handler(ctx: Context<Schemas.RegionAddParams>) {
          if (state.regions.has(ctx.params.id)) throw new MeridianError('REGION_EXISTS');
          const r: Region = { status: 'active', capacity: 0, ...ctx.params, createdAt: now(), updatedAt: now(), nodes: [] };
          r.nodes.push({
            id: `${r.id}-n1`,
            regionId: r.id,
            url: `ws://${r.id}.test/ws`,
            capacity: 100,
            status: 'active',
            load: { participants: 2, meetings: 1, tracks: 0, packetsPerSecond: 0, cpu: 0 },
            lastHeartbeatAt: Date.now(),
            healthy: true,
          });
          state.regions.set(r.id, r);
          return r;
        },
      },
      list: { handler: () => ({ regions: [...state.regions.values()] }) },
      get: { params: Schemas.RegionIdParams, handler: (ctx: Context<{ id: string }>) => getRegion(ctx.params.id) },
      update: {
        params: Schemas.RegionUpdateParams,
        handler(ctx: Context<Schemas.RegionUpdateParams>) {
          const r = { ...getRegion(ctx.params.id), ...ctx.params, updatedAt: now() };
          state.regions.set(r.id, r);
          return r;
        },
      },
      drain: {
        params: Schemas.RegionDrainParams,
        handler(ctx: Context<{ id: string; migrate?: boolean }>) {
          const r = { ...getRegion(ctx.params.id), status: 'draining' as const };
          state.regions.set(r.id, r);
          return ctx.params.migrate ? { ...r, migrated: moveLive((m) => m.regionId === r.id), notMigrated: 0 } : r;
        },
      },
      drainNode: {
        params: Schemas.NodeDrainParams,
        handler(ctx: Context<{ nodeId: string; migrate?: boolean }>) {
          const node = [...state.regions.values()].flatMap((r) => r.nodes).find((n) => n.id === ctx.params.nodeId);
          if (!node) throw new MeridianError('NODE_NOT_FOUND', `No node '${ctx.params.nodeId}'`);
          const cordoned = { ...node, status: 'cordoned' as const };
          return ctx.params.migrate ? { ...cordoned, migrated: moveLive((m) => m.nodeId === node.id), notMigrated: 0 } : cordoned;
        },
      },
      remove: {
        params: Schemas.RegionRemoveParams,
        handler(ctx: Context<{ id: string; force?: boolean; migrate?: boolean }>) {
          const r = getRegion(ctx.params.id);
          const migrated = ctx.params.migrate ? moveLive((m) => m.regionId === r.id) : undefined;
          const live = [...state.meetings.values()].filter((m) => m.regionId === r.id && m.status === 'live');
          if (live.length > 0 && !ctx.params.force) throw new MeridianError('REGION_HAS_LIVE_MEETINGS');
          for (const m of live) state.meetings.set(m.id, { ...m, status: 'ended' });
          state.regions.delete(r.id);
          return { id: r.id, removed: true, meetingsEnded: live.length, nodesRemoved: r.nodes.length, ...(migrated !== undefined ? { migrated } : {}) };
        },
      },
    },
  });

  broker.createService({
    name: 'regionProvider',
    actions: { rank: { params: Schemas.RankParams, handler: (ctx: Context<RankParams>) => rank(ctx.params) } },
  });

  const load = (appId: string, meetingId: string): Meeting => {
    const m = state.meetings.get(meetingId);
    if (!m || (m.appId !== appId && appId !== '*')) throw new MeridianError('MEETING_NOT_FOUND');
    return m;
  };
  broker.createService({
    name: 'rooms',
    actions: {
      create: {
        params: Schemas.MeetingCreateParams,
        handler(ctx: Context<Schemas.MeetingCreateParams>) {
          state.calls.create++;
          const id = ctx.params.id ?? `m${state.meetings.size + 1}`;
          if (state.meetings.has(id)) throw new MeridianError('MEETING_EXISTS');
          const m: Meeting = { id, appId: ctx.params.appId, forceRegion: ctx.params.forceRegion ?? null, status: 'idle', regionId: null, nodeId: null, nodes: [], createdAt: now(), placedAt: null };
          state.meetings.set(id, m);
          return m;
        },
      },
      get: { params: Schemas.MeetingRef, handler: (ctx: Context<Schemas.MeetingRef>) => load(ctx.params.appId, ctx.params.meetingId) },
      join: {
        params: Schemas.JoinParams,
        handler(ctx: Context<JoinParams>) {
          const p = ctx.params;
          state.calls.join.push(p);
          if (p.forceRegion && !p.admin) throw new MeridianError('FORBIDDEN');
          let m = load(p.appId, p.meetingId);
          const ranked = rank({ ip: p.ip });
          let placement: 'ranked' | 'forced-meeting' | 'forced-join' | 'existing' = 'existing';
          const placed = m.status !== 'live';
          if (placed) {
            const forced = p.forceRegion ?? m.forceRegion;
            placement = p.forceRegion ? 'forced-join' : m.forceRegion ? 'forced-meeting' : 'ranked';
            const regionId = forced ?? ranked.regions[0]?.id;
            if (!regionId) throw new MeridianError('NO_REGION_AVAILABLE');
            const region = getRegion(regionId);
            m = { ...m, status: 'live', regionId, nodeId: region.nodes[0]!.id, placedAt: now() };
            state.meetings.set(m.id, m);
          }
          const region = getRegion(m.regionId!);
          const node = region.nodes[0]!;
          return {
            meetingId: m.id,
            region: { id: region.id, name: region.name, lat: region.lat, lon: region.lon },
            node: { id: node.id, url: node.url },
            endpoint: node.url,
            token: 'fake.jwt.token',
            expiresAt: new Date(Date.now() + 120_000).toISOString(),
            fallbacks: ranked.regions.filter((r) => r.id !== region.id).map((r) => ({ region: { id: r.id, name: r.name, lat: r.lat, lon: r.lon }, distanceKm: r.distanceKm, rttMs: r.rttMs })),
            location: ranked.location,
            placed,
            placement,
          };
        },
      },
    },
  });
  return { broker, state };
}

export interface TestGateway {
  app: FastifyInstance;
  broker: ServiceBroker;
  state: FakeState;
  /** An app key of app `acme`. */
  appKey: string;
  setReady(ready: boolean): void;
  close(): Promise<void>;
}

/** A gateway over the fake services, with three regions and one app key. */
export async function startTestGateway(overrides: { config?: Partial<Config>; ready?: boolean; clock?: Clock } = {}): Promise<TestGateway> {
  const { broker, state } = createFakeBroker();
  await broker.start();
  for (const r of [
    { id: 'us-east-1', name: 'N. Virginia', lat: 39.04, lon: -77.49 },
    { id: 'eu-central-1', name: 'Frankfurt', lat: 50.11, lon: 8.68 },
    { id: 'ap-south-1', name: 'Mumbai', lat: 19.08, lon: 72.88 },
  ]) {
    await broker.call('regions.add', r);
  }
  const { key: appKey } = (await broker.call('auth.createKey', { appId: 'acme' })) as { key: string };
  let ready = overrides.ready ?? true;
  const config: Config = { ...structuredClone(DEFAULTS), ...overrides.config };
  const app = await createGateway({ broker, config, logger: silent, adminKey: ADMIN_KEY, isReady: () => ready, processMetrics: false, ...(overrides.clock ? { clock: overrides.clock } : {}) });
  let closed: Promise<void> | undefined;
  return {
    app,
    broker,
    state,
    appKey,
    setReady: (r) => {
      ready = r;
    },
    close: () => (closed ??= app.close().then(() => broker.stop())),
  };
}

export const bearer = (key: string) => ({ authorization: `Bearer ${key}` });
