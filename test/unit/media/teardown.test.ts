/**
 * Teardown: close() is idempotent and cascades to sockets, peers, rooms and timers; native
 * resources are released only when their last user (node or client) is done; and a process
 * that ran a meeting exits by itself afterwards.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { nativeRuntimeHoldersForTesting } from '../../../src/media/engine/NativeRuntime.js';
import { startNode } from './support/startNode.js';
import { MediaPump } from './support/MediaPump.js';
import { TestClient, waitUntil } from './support/TestClient.js';
import { mintToken } from './support/tokens.js';
import type { SfuNode } from '../../../src/media/index.js';

/** Every test is bounded on its own; the suite bound only catches a wedged file. */
const PER_TEST = { timeout: 60_000 };

/** One attempt, no retry: the offerer race is worked around (OffererRace.ts). */
async function publisher(n: SfuNode, nodeId: string, sub: string): Promise<TestClient> {
  const { client } = await TestClient.join(n.url, mintToken({ sub, mtg: 'm', aud: nodeId }));
  await client.publish({ videoSsrc: 1111 });
  return client;
}

describe('teardown', { timeout: 300_000 }, () => {
  test('a process that ran a meeting exits on its own after close()', PER_TEST, async () => {
    const script = fileURLToPath(new URL('./fixtures/meeting-then-close.ts', import.meta.url));
    const child = spawn(process.execPath, ['--import', 'tsx', script], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += String(d)));
    child.stderr.on('data', (d) => (err += String(d)));
    const code = await new Promise<number | string>((resolve) => {
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        resolve('still running 10 s after close()');
      }, 40_000);
      child.on('exit', (c) => {
        clearTimeout(timer);
        resolve(c ?? -1);
      });
    });
    const closedAt = Number(/closed (\d+)/.exec(out)?.[1] ?? 0);
    assert.ok(closedAt > 0, `the meeting ran and closed; stderr: ${err.slice(-500)}`);
    assert.equal(code, 0, `exit: ${code}; stderr: ${err.slice(-500)}`);
    assert.ok(Date.now() - closedAt < 10_000);
  });

  test('close() is idempotent and cascades to sockets, peers and rooms', PER_TEST, async () => {
    const holdersBefore = nativeRuntimeHoldersForTesting();
    const n = await startNode();
    const alice = await publisher(n, 'node-test-1', 'alice');
    const { client: bob } = await TestClient.join(n.url, mintToken({ sub: 'bob', mtg: 'm', aud: 'node-test-1' }));
    await bob.next((m) => m.type === 'offer');
    assert.equal(n.stats().peers, 2);
    const closing = [n.close(), n.close()];
    await Promise.all(closing);
    await n.close();
    assert.deepEqual(n.stats(), { participants: 0, meetings: 0, tracks: 0, connections: 0, peers: 0, relays: 0 });
    assert.equal(await alice.closed, 1001);
    assert.equal(await bob.closed, 1001);
    assert.equal(nativeRuntimeHoldersForTesting(), holdersBefore + 2, 'only the two clients still hold the runtime');
    await alice.close();
    await bob.close();
    assert.equal(nativeRuntimeHoldersForTesting(), holdersBefore);
    await assert.rejects(TestClient.connect(n.url));
  });

  test('two nodes in one process: closing one leaves the other forwarding', PER_TEST, async () => {
    const a = await startNode({ nodeId: 'node-a' });
    const b = await startNode({ nodeId: 'node-b' });
    try {
      const pubA = await publisher(a, 'node-a', 'alice');
      const pubB = await publisher(b, 'node-b', 'alice');
      const { client: subB } = await TestClient.join(b.url, mintToken({ sub: 'bob', mtg: 'm', aud: 'node-b' }));
      const pumpA = new MediaPump(pubA, { videoSsrc: 1111 }).start();
      const pumpB = new MediaPump(pubB, { videoSsrc: 1111 }).start();
      await waitUntil(() => subB.received.length >= 20, 8_000, 'media on node b');
      pumpA.stop();
      await a.close();
      await pubA.close();
      const before = subB.received.length;
      await waitUntil(() => subB.received.length >= before + 50, 5_000, 'node b still forwarding after node a closed');
      pumpB.stop();
      await subB.close();
      await pubB.close();
    } finally {
      await a.close();
      await b.close();
    }
  });

  test('a meeting ended by shutdown is reported, and a slow reporter does not hold close() for long', PER_TEST, async () => {
    const reported: string[] = [];
    const n = await startNode({
      meetingEnded: (id) => {
        reported.push(id);
        return new Promise<void>((resolve) => setTimeout(resolve, 10_000).unref());
      },
    });
    const { client } = await TestClient.join(n.url, mintToken({ sub: 'alice', mtg: 'standup', aud: 'node-test-1' }));
    const started = Date.now();
    await n.close();
    assert.ok(Date.now() - started < 4_000, 'close() waits at most ~2 s for meetingEnded');
    await client.close();
    assert.deepEqual(reported, ['standup']);
  });
});
