/**
 * LoadMonitor's overload signal, on the real event loop: the test blocks the loop with busy
 * work the way a backlog of packets does. One long stall (the process stopped or starved for
 * a while, then back with time to spare) must not start shedding: shed video is lost for good
 * and every subscriber then waits for a key frame. A loop that stays behind, probe after
 * probe, must; and once probes are on time again, shedding stops.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { setImmediate as tick, setTimeout as sleep } from 'node:timers/promises';
import { LoadMonitor } from '../../../src/media/LoadMonitor.js';

const PROBE_MS = 20;
const LAG_MS = 150;

/** Keeps the event loop busy for `ms`, as a queue of packets would. */
function block(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end) {
    /* busy */
  }
}

function monitor(): { load: LoadMonitor; changes: boolean[] } {
  const changes: boolean[] = [];
  const load = new LoadMonitor({ overloadLagMs: LAG_MS, probeIntervalMs: PROBE_MS, onChange: (o) => changes.push(o) });
  load.start();
  return { load, changes };
}

describe('LoadMonitor: overload is lag that lasts', () => {
  test('one stall of the loop, then time to spare: no shedding', async () => {
    const { load, changes } = monitor();
    try {
      await sleep(3 * PROBE_MS);
      block(3 * LAG_MS);
      await sleep(6 * PROBE_MS);
      assert.equal(load.overloaded, false);
      assert.equal(load.overloadEpisodes, 0, `no episode from a single late probe (changes: ${changes.join(',')})`);
    } finally {
      load.close();
    }
  });

  test('a loop behind on consecutive probes sheds, and stops once it catches up', async () => {
    const { load, changes } = monitor();
    try {
      await sleep(3 * PROBE_MS);
      // Behind on every turn: each turn of the loop works for longer than the lag limit.
      const until = performance.now() + 20 * LAG_MS;
      while (!load.overloaded && performance.now() < until) {
        block(LAG_MS + 3 * PROBE_MS);
        await tick();
      }
      assert.equal(load.overloaded, true, 'shedding after consecutive late probes');
      assert.equal(load.overloadEpisodes, 1);
      await sleep(10 * PROBE_MS);
      assert.equal(load.overloaded, false, 'caught up: forwarding again');
      assert.deepEqual(changes, [true, false]);
    } finally {
      load.close();
    }
  });

  test('sustainedProbes 1 keeps the old rule: one late probe sheds', async () => {
    const load = new LoadMonitor({ overloadLagMs: LAG_MS, probeIntervalMs: PROBE_MS, sustainedProbes: 1 });
    load.start();
    try {
      await sleep(3 * PROBE_MS);
      block(3 * LAG_MS);
      await sleep(PROBE_MS / 2);
      await tick();
      assert.equal(load.overloadEpisodes, 1);
    } finally {
      load.close();
    }
  });
});
