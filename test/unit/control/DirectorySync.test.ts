/**
 * DirectorySync, the one way a region directory follows the registry: first load with
 * background retries, periodic reload, events applied, every timer cleared on stop. Time is
 * a manual clock and timers are fired by hand: nothing here waits on the real clock.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createLogger } from '../../../src/lib/logger.js';
import { DirectorySync, RegionDirectory } from '../../../src/control/directory/index.js';
import type { Region } from '../../../src/contracts/index.js';
import { FakeTimers, flush } from '../../helpers/fakeTimers.js';
import { ManualClock } from '../../helpers/clock.js';
import { node, region } from '../provider/fixtures.js';

const logger = createLogger('silent');
const HEARTBEAT_TIMEOUT_MS = 5_000;

/** A registry that fails `failures` times, then answers `regions`; counts calls. */
function flakyRegistry(failures: number, regions: Region[] = []) {
  const state = { calls: 0, regions };
  const load = async () => {
    state.calls++;
    if (state.calls <= failures) throw new Error('regions service not found');
    return structuredClone(state.regions);
  };
  return { state, load };
}

function setup(failures = 0, regions: Region[] = [], opts: { retryMinMs?: number; retryMaxMs?: number } = {}) {
  const timers = new FakeTimers();
  const clock = new ManualClock();
  const directory = new RegionDirectory({ heartbeatTimeoutMs: HEARTBEAT_TIMEOUT_MS, clock });
  const registry = flakyRegistry(failures, regions);
  const sync = new DirectorySync({ directory, load: registry.load, logger, intervalMs: 10_000, timers: timers.api, ...opts });
  return { timers, clock, directory, registry, sync };
}

describe('DirectorySync', () => {
  it('loads once at start and then reloads on its interval', async () => {
    const { timers, registry, sync, directory } = setup(0, [region('eu-central-1')]);
    await sync.start();
    assert.equal(registry.state.calls, 1);
    assert.equal(sync.loaded, true);
    assert.deepEqual(directory.regions().map((r) => r.id), ['eu-central-1']);
    assert.deepEqual(timers.pending(), [{ ms: 10_000, repeat: true }]);
    registry.state.regions.push(region('ap-south-1'));
    timers.fireAll();
    await flush();
    assert.equal(registry.state.calls, 2);
    assert.deepEqual(directory.regions().map((r) => r.id).sort(), ['ap-south-1', 'eu-central-1'], 'the periodic reload picks up a missed change');
    sync.stop();
  });

  it('starts even when the registry is not up, and retries in the background with backoff', async () => {
    const { timers, registry, sync } = setup(3, [], { retryMinMs: 100, retryMaxMs: 250 });
    await sync.start(); // does not reject
    assert.equal(sync.loaded, false);
    for (let i = 0; i < 3; i++) {
      const retry = timers.pending().filter((t) => !t.repeat);
      assert.equal(retry.length, 1, `one retry pending after failure ${i + 1}`);
      timers.fireTimeouts();
      await flush();
    }
    assert.equal(sync.loaded, true);
    assert.deepEqual(
      timers.created.filter(([k]) => k === 'timeout').map(([, ms]) => ms),
      [100, 200, 250],
      'retry delays double up to retryMaxMs',
    );
    assert.deepEqual(timers.pending(), [{ ms: 10_000, repeat: true }], 'no retry left once loaded');
    assert.equal(registry.state.calls, 4);
    sync.stop();
  });

  it('stop clears every timer, is idempotent, and a later failure schedules nothing', async () => {
    const { timers, sync } = setup(Infinity);
    await sync.start();
    assert.equal(timers.pending().length, 2, 'interval and a retry');
    sync.stop();
    sync.stop();
    assert.deepEqual(timers.pending(), []);
    await sync.resync();
    await flush();
    assert.deepEqual(timers.pending(), []);
  });

  it('resync never rejects and keeps the last good view when the registry fails', async () => {
    let fail = false;
    const directory = new RegionDirectory({ heartbeatTimeoutMs: HEARTBEAT_TIMEOUT_MS, clock: new ManualClock() });
    const load = async () => {
      if (fail) throw new Error('timeout');
      return [region('eu-central-1')];
    };
    const sync = new DirectorySync({ directory, load, logger, timers: new FakeTimers().api });
    await sync.start();
    fail = true;
    await sync.resync();
    assert.equal(sync.loaded, true);
    assert.deepEqual(directory.regions().map((r) => r.id), ['eu-central-1']);
    sync.stop();
  });

  it('concurrent reloads share one registry call', async () => {
    const { registry, sync } = setup(0, [region('eu-central-1')]);
    await sync.start();
    await Promise.all([sync.resync(), sync.resync(), sync.resync()]);
    assert.equal(registry.state.calls, 2);
    sync.stop();
  });

  it('applies node events, and a node of an unknown region triggers a reload', async () => {
    const { clock, registry, sync, directory } = setup(0, [region('eu-central-1', { nodes: [] })]);
    await sync.start();
    const handlers = sync.eventHandlers();
    handlers['regions.nodeUpdated'].handler({ params: { node: node('eu-central-1', { lastHeartbeatAt: clock.now() }) } });
    assert.equal(directory.availableNodes('eu-central-1').length, 1);

    registry.state.regions.push(region('ap-south-1', { nodes: [node('ap-south-1', { lastHeartbeatAt: clock.now() })] }));
    handlers['regions.nodeUpdated'].handler({ params: { node: node('ap-south-1', { lastHeartbeatAt: clock.now() }) } });
    await flush();
    assert.equal(registry.state.calls, 2, 'reloaded once');
    assert.ok(directory.region('ap-south-1'));

    handlers['regions.nodeRemoved'].handler({ params: { nodeId: 'eu-central-1-n1', regionId: 'eu-central-1' } });
    assert.equal(directory.availableNodes('eu-central-1').length, 0);
    handlers['regions.changed'].handler({ params: { regionId: 'ap-south-1', change: 'removed', region: null } });
    assert.equal(directory.region('ap-south-1'), undefined);
    sync.stop();
  });

  it('a node drops out once its heartbeat is older than the timeout, with no event', async () => {
    const { clock, sync, directory } = setup(0, []);
    await sync.start();
    sync.applyRegionChange({ regionId: 'eu-central-1', change: 'added', region: region('eu-central-1', { nodes: [node('eu-central-1', { lastHeartbeatAt: clock.now() })] }) });
    clock.advance(HEARTBEAT_TIMEOUT_MS);
    assert.equal(directory.availableNodes('eu-central-1').length, 1, 'exactly at the timeout it still counts');
    clock.advance(1);
    assert.equal(directory.availableNodes('eu-central-1').length, 0);
    assert.deepEqual(directory.servingRegions(), []);
    sync.stop();
  });

  it('uses real timers that do not hold the process open', async () => {
    const sync = new DirectorySync({ directory: new RegionDirectory({ heartbeatTimeoutMs: 1_000 }), load: async () => [], logger, intervalMs: 60_000 });
    const before = process.getActiveResourcesInfo().filter((x) => x === 'Timeout').length;
    await sync.start();
    assert.equal(process.getActiveResourcesInfo().filter((x) => x === 'Timeout').length, before, 'interval is unref’d');
    sync.stop();
  });
});
