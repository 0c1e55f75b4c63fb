import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { ServiceBroker } from 'moleculer';
import { DEFAULTS } from '../../../src/config/index.js';
import { Actions, Events, MeridianError, Services, type RankResult, type Region } from '../../../src/contracts/index.js';
import { call, createBroker } from '../../../src/fabric/index.js';
import { createLogger } from '../../../src/lib/logger.js';
import { RegionDirectory } from '../../../src/control/directory/index.js';
import {
  createGeoIpLocator,
  createLatencyModel,
  createRegionProviderService,
  createRegionRanker,
  openGeoIpDatabase,
  type GeoIpDatabase,
} from '../../../src/control/provider/index.js';
import { FIXTURE_NOW, node, region } from './fixtures.js';
import { ManualClock } from '../../helpers/clock.js';
import { FakeTimers, flush } from '../../helpers/fakeTimers.js';

const MUMBAI = '49.36.0.1';
const logger = createLogger('silent');

let database: GeoIpDatabase;
before(() => {
  database = openGeoIpDatabase('');
});

/** A stand-in for the registry (written elsewhere): answers `regions.list` from a mutable list. */
function fakeRegistry(listed: { regions: Region[] }) {
  return { name: Services.regions, actions: { list: () => structuredClone(listed) } };
}

function providerSchema(timers: FakeTimers) {
  return createRegionProviderService({
    config: DEFAULTS,
    logger,
    locator: createGeoIpLocator(DEFAULTS.geoip, { database }),
    ranker: createRegionRanker(DEFAULTS.ranking.strategy, { latency: createLatencyModel(DEFAULTS.latency) }),
    directory: new RegionDirectory({ heartbeatTimeoutMs: DEFAULTS.nodes.heartbeatTimeoutMs, clock: new ManualClock(FIXTURE_NOW) }),
    timers: timers.api,
  });
}

/** Runs pending retries until `done()` holds (the provider may start before the fake registry). */
async function until(done: () => Promise<boolean>, timers: FakeTimers): Promise<void> {
  for (let i = 0; i < 50; i++) {
    if (await done()) return;
    timers.fireTimeouts();
    await flush();
  }
  assert.fail('condition never held');
}

const ids = (r: RankResult) => r.regions.map((x) => x.id);

describe('regionProvider service', () => {
  let broker: ServiceBroker;
  const timers = new FakeTimers();
  const listed = {
    regions: [
      region('eu-central-1'),
      // Known to the registry, but its node stopped heartbeating: not servable yet.
      region('ap-south-1', { nodes: [node('ap-south-1', { lastHeartbeatAt: FIXTURE_NOW - DEFAULTS.nodes.heartbeatTimeoutMs - 1, healthy: false })] }),
      region('us-east-1', { status: 'draining' }),
    ],
  };
  const rank = (params: Parameters<typeof call<'regionProvider.rank'>>[2]) => call(broker, Actions.regionProvider.rank, params);

  before(async () => {
    broker = createBroker({ nodeID: 't', namespace: 't', transporter: '', logger });
    broker.createService(fakeRegistry(listed));
    broker.createService(providerSchema(timers));
    await broker.start();
    await until(async () => (await rank({ ip: MUMBAI })).regions.length > 0, timers);
  });

  after(async () => {
    await broker?.stop();
  });

  it('ranks through the broker, leaving out regions that cannot take a meeting', async () => {
    const r = await rank({ ip: MUMBAI });
    assert.match(r.location.city ?? '', /Mumbai/);
    assert.equal(r.strategy, 'measured');
    assert.deepEqual(ids(r), ['eu-central-1']);
    assert.equal(r.regions[0]!.availableNodes, 1);
  });

  it('a node heartbeat event makes a region servable: routes a Mumbai client to ap-south-1 first', async () => {
    await broker.broadcast(Events.nodeUpdated, { node: node('ap-south-1') });
    await flush();
    assert.deepEqual(ids(await rank({ ip: MUMBAI })), ['ap-south-1', 'eu-central-1']);
  });

  it('a node removal event takes the region out again', async () => {
    await broker.broadcast(Events.nodeRemoved, { nodeId: 'ap-south-1-n1', regionId: 'ap-south-1' });
    await flush();
    assert.deepEqual(ids(await rank({ ip: MUMBAI })), ['eu-central-1']);
  });

  it('a regions.changed event reloads the directory from the registry', async () => {
    listed.regions.push(region('me-central-1'));
    await broker.broadcast(Events.regionsChanged, { regionId: 'me-central-1', change: 'added', region: listed.regions.at(-1)! });
    await flush();
    assert.deepEqual(ids(await rank({ ip: MUMBAI })), ['me-central-1', 'eu-central-1']);
  });

  it('honours count and exclude', async () => {
    assert.deepEqual(ids(await rank({ ip: MUMBAI, count: 1 })), ['me-central-1']);
    assert.deepEqual(ids(await rank({ ip: MUMBAI, exclude: ['me-central-1'] })), ['eu-central-1']);
  });

  it('rejects a malformed IP with INVALID_IP and bad params with VALIDATION_FAILED', async () => {
    await assert.rejects(rank({ ip: 'not-an-ip' }), (e: unknown) => e instanceof MeridianError && e.code === 'INVALID_IP');
    await assert.rejects(broker.call(Actions.regionProvider.rank, { ip: '1.1.1.1', count: 0 }), (e: unknown) => e instanceof MeridianError && e.code === 'VALIDATION_FAILED');
    await assert.rejects(broker.call(Actions.regionProvider.rank, { ip: '1.1.1.1', extra: true }), (e: unknown) => e instanceof MeridianError && e.code === 'VALIDATION_FAILED');
  });
});

describe('regionProvider service start and stop', () => {
  it('starts before the registry is up and loads the directory once it is', async () => {
    const timers = new FakeTimers();
    const broker = createBroker({ nodeID: 't2', namespace: 't2', transporter: '', logger });
    try {
      broker.createService(providerSchema(timers));
      await broker.start(); // no registry: must not fail
      assert.deepEqual((await call(broker, Actions.regionProvider.rank, { ip: MUMBAI })).regions, []);
      assert.equal(timers.pending().filter((t) => !t.repeat).length, 1, 'a background retry is scheduled');

      broker.createService(fakeRegistry({ regions: [region('ap-south-1')] }));
      await until(async () => (await call(broker, Actions.regionProvider.rank, { ip: MUMBAI })).regions.length > 0, timers);
      assert.deepEqual(ids(await call(broker, Actions.regionProvider.rank, { ip: MUMBAI })), ['ap-south-1']);
    } finally {
      await broker.stop();
    }
    assert.deepEqual(timers.pending(), [], 'broker.stop() leaves no timer of ours behind');
  });

  it('stopping the broker clears the periodic resync', async () => {
    const timers = new FakeTimers();
    const broker = createBroker({ nodeID: 't3', namespace: 't3', transporter: '', logger });
    broker.createService(fakeRegistry({ regions: [region('eu-central-1')] }));
    broker.createService(providerSchema(timers));
    await broker.start();
    assert.ok(timers.pending().some((t) => t.repeat && t.ms === 10_000), 'periodic resync every 10 s');
    await broker.stop();
    assert.deepEqual(timers.pending(), []);
  });
});
