/**
 * Heartbeat staleness through the real services (registry, region provider, room manager on
 * one in-process broker, PGlite in memory), with time on a manual clock: a node that stops
 * heartbeating drops out exactly when its heartbeat is older than `heartbeatTimeoutMs`,
 * however slow the machine running the test is.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { ServiceBroker } from 'moleculer';
import { loadConfig } from '../../../src/config/index.js';
import { Actions, MeridianError } from '../../../src/contracts/index.js';
import { call, createBroker } from '../../../src/fabric/index.js';
import { createLogger } from '../../../src/lib/logger.js';
import { createDatabase, type DatabaseHandle } from '../../../src/storage/index.js';
import { RegionStore, createRegionsService } from '../../../src/control/registry/index.js';
import { MeetingStore, createRoomsService } from '../../../src/control/rooms/index.js';
import { createRegionProviderFromConfig } from '../../../src/control/provider/index.js';
import { JoinTokenIssuer, generateMasterSecret, parseMasterSecret } from '../../../src/control/auth/index.js';
import { ManualClock } from '../../helpers/clock.js';
import { IPS } from '../../helpers/platform.js';

const TIMEOUT_MS = 600;
const TOKYO_IP = '1.0.16.1';
const logger = createLogger('silent');
const clock = new ManualClock();
let db: DatabaseHandle;
let broker: ServiceBroker;

const heartbeat = (nodeId: string, regionId: string) =>
  call(broker, Actions.regions.heartbeat, { nodeId, regionId, url: `ws://127.0.0.1:0/rtc/${nodeId}`, capacity: 100, load: { participants: 0, meetings: 0, tracks: 0, packetsPerSecond: 0, cpu: 0 } });

before(async () => {
  const config = loadConfig({ env: {}, overrides: { nodes: { heartbeatTimeoutMs: TIMEOUT_MS } } });
  db = await createDatabase({ url: '', dataDir: 'memory://' });
  broker = createBroker({ nodeID: 'staleness', namespace: `staleness-${process.pid}`, transporter: '', logger });
  broker.createService(createRegionsService({ store: new RegionStore(db.db, TIMEOUT_MS, clock), logger }));
  broker.createService(await createRegionProviderFromConfig(config, logger, undefined, clock));
  broker.createService(
    createRoomsService({
      store: new MeetingStore(db.db, clock),
      tokens: new JoinTokenIssuer(parseMasterSecret(generateMasterSecret()), 60),
      logger,
      heartbeatTimeoutMs: TIMEOUT_MS,
      rankCount: 3,
      clock,
    }),
  );
  await broker.start();
  await call(broker, Actions.regions.add, { id: 'ap-northeast-1', name: 'Tokyo', lat: 35.69, lon: 139.69 });
  await call(broker, Actions.regions.add, { id: 'ap-south-1', name: 'Mumbai', lat: 19.08, lon: 72.88 });
});
after(async () => {
  await broker?.stop();
  await db?.close();
});

test('a node stays in use up to the heartbeat timeout and drops out of ranking and placement after it', async () => {
  await heartbeat('tyo-n1', 'ap-northeast-1');
  await heartbeat('bom-n1', 'ap-south-1');
  assert.equal((await call(broker, Actions.regionProvider.rank, { ip: TOKYO_IP, count: 1 })).regions[0]!.id, 'ap-northeast-1');

  clock.advance(TIMEOUT_MS);
  assert.equal((await call(broker, Actions.regionProvider.rank, { ip: TOKYO_IP, count: 1 })).regions[0]!.id, 'ap-northeast-1', 'exactly at the timeout the node still counts');

  clock.advance(1);
  await heartbeat('bom-n1', 'ap-south-1'); // Mumbai keeps heartbeating; Tokyo has gone quiet
  const ranked = await call(broker, Actions.regionProvider.rank, { ip: TOKYO_IP, count: 3 });
  assert.deepEqual(ranked.regions.map((r) => r.id), ['ap-south-1']);
  const tokyo = await call(broker, Actions.regions.get, { id: 'ap-northeast-1' });
  assert.equal(tokyo.nodes[0]!.healthy, false, 'the registry reports the node unhealthy');

  await call(broker, Actions.rooms.create, { appId: 'app', id: 'tokyo-call', forceRegion: 'ap-northeast-1' });
  await assert.rejects(
    call(broker, Actions.rooms.join, { appId: 'app', meetingId: 'tokyo-call', participant: { id: 'p1', name: 'p1' }, ip: TOKYO_IP }),
    (err: MeridianError) => err.code === 'REGION_UNAVAILABLE',
    'the room manager will not place a meeting on the stale node (forced region)',
  );
  await call(broker, Actions.rooms.create, { appId: 'app', id: 'any-call' });
  const r = await call(broker, Actions.rooms.join, { appId: 'app', meetingId: 'any-call', participant: { id: 'p1', name: 'p1' }, ip: IPS.sydney });
  assert.equal(r.node.id, 'bom-n1');
});

test('a fresh heartbeat brings the node back at once', async () => {
  await heartbeat('tyo-n1', 'ap-northeast-1');
  assert.equal((await call(broker, Actions.regionProvider.rank, { ip: TOKYO_IP, count: 1 })).regions[0]!.id, 'ap-northeast-1');
  const tokyo = await call(broker, Actions.regions.get, { id: 'ap-northeast-1' });
  assert.equal(tokyo.nodes[0]!.healthy, true);
});
