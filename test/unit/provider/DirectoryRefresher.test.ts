import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createLogger } from '../../../src/lib/logger.js';
import { DirectoryRefresher } from '../../../src/control/provider/DirectoryRefresher.js';
import { FakeTimers, flush } from './fixtures.js';

const logger = createLogger('silent');

/** A load function that fails `failures` times, then succeeds; counts calls. */
function flakyLoad(failures: number) {
  const state = { calls: 0 };
  const load = async () => {
    state.calls++;
    if (state.calls <= failures) throw new Error('regions service not found');
  };
  return { state, load };
}

describe('DirectoryRefresher', () => {
  it('loads once at start and then resyncs on its interval', async () => {
    const timers = new FakeTimers();
    const { state, load } = flakyLoad(0);
    const r = new DirectoryRefresher({ load, logger, intervalMs: 10_000, timers: timers.api });
    await r.start();
    assert.equal(state.calls, 1);
    assert.equal(r.loaded, true);
    assert.deepEqual(timers.pending(), [{ ms: 10_000, repeat: true }]);
    timers.fireAll();
    await flush();
    assert.equal(state.calls, 2);
    r.stop();
  });

  it('starts even when the registry is not up, and retries in the background with backoff', async () => {
    const timers = new FakeTimers();
    const { state, load } = flakyLoad(3);
    const r = new DirectoryRefresher({ load, logger, intervalMs: 10_000, retryMinMs: 100, retryMaxMs: 250, timers: timers.api });
    await r.start(); // does not reject
    assert.equal(r.loaded, false);
    for (let i = 0; i < 3; i++) {
      const retry = timers.pending().filter((t) => !t.repeat);
      assert.equal(retry.length, 1, `one retry pending after failure ${i + 1}`);
      timers.fireTimeouts();
      await flush();
    }
    assert.equal(r.loaded, true);
    assert.deepEqual(
      timers.created.filter(([k]) => k === 'timeout').map(([, ms]) => ms),
      [100, 200, 250],
      'retry delays double up to retryMaxMs',
    );
    assert.deepEqual(timers.pending(), [{ ms: 10_000, repeat: true }], 'no retry left once loaded');
    assert.equal(state.calls, 4);
    r.stop();
  });

  it('stop clears every timer, is idempotent, and a later failure schedules nothing', async () => {
    const timers = new FakeTimers();
    const { load } = flakyLoad(Infinity);
    const r = new DirectoryRefresher({ load, logger, intervalMs: 10_000, timers: timers.api });
    await r.start();
    assert.equal(timers.pending().length, 2, 'interval and a retry');
    r.stop();
    r.stop();
    assert.deepEqual(timers.pending(), []);
    await r.resync();
    await flush();
    assert.deepEqual(timers.pending(), []);
  });

  it('resync never rejects and keeps the last good view when the registry fails', async () => {
    let fail = false;
    let loads = 0;
    const r = new DirectoryRefresher({
      load: async () => {
        if (fail) throw new Error('timeout');
        loads++;
      },
      logger,
      intervalMs: 10_000,
      timers: new FakeTimers().api,
    });
    await r.start();
    fail = true;
    await r.resync();
    assert.equal(r.loaded, true);
    assert.equal(loads, 1);
    r.stop();
  });

  it('uses real timers that do not hold the process open', async () => {
    const r = new DirectoryRefresher({ load: async () => {}, logger, intervalMs: 60_000 });
    const before = process.getActiveResourcesInfo().filter((x) => x === 'Timeout').length;
    await r.start();
    assert.equal(process.getActiveResourcesInfo().filter((x) => x === 'Timeout').length, before, 'interval is unref’d');
    r.stop();
  });
});
