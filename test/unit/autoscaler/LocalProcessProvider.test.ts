import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import type { NodeHeartbeatParams } from '../../../src/contracts/index.js';
import { createLogger } from '../../../src/lib/logger.js';
import { LocalProcessProvider, ipcLauncher } from '../../../src/control/autoscaler/index.js';
import { waitFor } from '../../helpers/waitFor.js';
import { isAlive as alive } from '../../helpers/process.js';

const ENTRY = fileURLToPath(new URL('./fixtures/fakeNodeProcess.mjs', import.meta.url));

function setup(busyStops = 0) {
  const heartbeats: NodeHeartbeatParams[] = [];
  const ended: Array<[string, string]> = [];
  const slots: number[] = [];
  let stopped = false;
  let afterStop = 0;
  /** Waiters for "at least n heartbeats relayed", resolved from the relay itself (no polling). */
  const waiters: Array<{ n: number; resolve: () => void }> = [];
  const heartbeatsReached = (n: number) =>
    new Promise<void>((resolve) => (heartbeats.length >= n ? resolve() : waiters.push({ n, resolve })));
  process.env.FAKE_BUSY_STOPS = String(busyStops);
  const provider = new LocalProcessProvider({
    logger: createLogger('silent'),
    stopTimeoutMs: 3_000,
    launcher: ipcLauncher({
      entry: ENTRY,
      execArgv: [],
      settings: (spec, slot) => (slots.push(slot), { nodeId: spec.nodeId, regionId: spec.regionId, nodeKey: 'k', host: '127.0.0.1', port: 9000 + slot, publicUrl: '', capacity: 10, graceMs: 0, iceAddress: '', tokenTtlSeconds: 120, maxConnectionsPerAddress: 64, logLevel: 'silent' }),
      relay: {
        heartbeat: async (p) => {
          heartbeats.push(p);
          if (stopped) afterStop++;
          for (const w of waiters.filter((w) => heartbeats.length >= w.n)) {
            waiters.splice(waiters.indexOf(w), 1);
            w.resolve();
          }
        },
        meetingEnded: async (meetingId, nodeId) => {
          ended.push([meetingId, nodeId]);
        },
      },
    }),
  });
  return { provider, heartbeats, heartbeatsReached, ended, slots, markStopped: () => (stopped = true), afterStop: () => afterStop };
}

describe('local process provider (fork + IPC)', () => {
  test('relays a child\'s heartbeats for its own node id only, and its ended meetings', async () => {
    const { provider, heartbeats, heartbeatsReached, ended } = setup();
    try {
      await provider.start({ nodeId: 'n-1', regionId: 'eu-central-1' });
      assert.ok(provider.isRunning('n-1'));
      await heartbeatsReached(3);
      assert.ok(heartbeats.every((h) => h.nodeId === 'n-1'), 'a heartbeat naming another node is dropped');
      assert.equal(await provider.stop('n-1', { onlyIfEmpty: false }), 'stopped');
      assert.deepEqual(ended, [['last-meeting', 'n-1']], 'meetings ended while stopping are relayed before stop resolves');
      assert.equal(provider.isRunning('n-1'), false);
    } finally {
      await provider.close();
    }
  });

  test('a node that is not empty when asked stays running; asked again when empty, it stops and no later heartbeat is relayed', async () => {
    const { provider, heartbeatsReached, markStopped, afterStop } = setup(1);
    try {
      await provider.start({ nodeId: 'n-2', regionId: 'eu-central-1' });
      const pid = provider.pidsForTesting().get('n-2')!;
      await heartbeatsReached(1);
      assert.equal(await provider.stop('n-2', { onlyIfEmpty: true }), 'busy');
      assert.ok(alive(pid) && provider.isRunning('n-2'));
      assert.equal(await provider.stop('n-2', { onlyIfEmpty: true }), 'stopped');
      markStopped();
      // stop() resolved after the child exited and its IPC channel settled: nothing can
      // arrive any more, so one turn of the event loop is enough to see a stray heartbeat.
      await new Promise((r) => setImmediate(r));
      assert.equal(afterStop(), 0, 'a stopped node cannot register again');
      assert.equal(alive(pid), false);
    } finally {
      await provider.close();
    }
  });

  test('a child that dies on its own is reported with its exit code, and its slot is not reused', async () => {
    const { provider, slots } = setup();
    try {
      await provider.start({ nodeId: 'n-3', regionId: 'eu-central-1' });
      const child = provider.pidsForTesting().get('n-3')!;
      process.kill(child, 'SIGKILL');
      await waitFor('the exit to be seen', () => !provider.isRunning('n-3'));
      assert.equal(provider.exitReason('n-3'), 'signal SIGKILL');
      assert.equal(await provider.stop('n-3', { onlyIfEmpty: false }), 'stopped');
      await provider.start({ nodeId: 'n-4', regionId: 'eu-central-1' });
      assert.ok(provider.isRunning('n-4'));
      assert.deepEqual(slots, [0, 1], 'its port (slot 0) may be what failed: the next node gets another');
    } finally {
      await provider.close();
    }
  });

  test('close stops every child it started', async () => {
    const { provider } = setup();
    await provider.start({ nodeId: 'a', regionId: 'eu-central-1' });
    await provider.start({ nodeId: 'b', regionId: 'eu-central-1' });
    const pids = [...provider.pidsForTesting().values()];
    assert.equal(pids.length, 2);
    await provider.close();
    await provider.close();
    assert.ok(pids.every((p) => !alive(p)));
    await assert.rejects(provider.start({ nodeId: 'c', regionId: 'eu-central-1' }), /closed/);
  });
});
