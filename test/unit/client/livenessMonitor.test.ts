/** Hung-node and media-loss detection on a manual clock: pings, pongs, peer-connection states. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { LivenessMonitor, type LivenessLoss } from '../../../src/client/LivenessMonitor.js';
import { ManualScheduler } from './support/manualScheduler.js';

function monitor(opts: { socketOpen?: () => boolean } = {}) {
  const clock = new ManualScheduler();
  const pings: Array<[number, number]> = [];
  const losses: LivenessLoss[] = [];
  const m = new LivenessMonitor(
    clock,
    (id) => {
      if (opts.socketOpen && !opts.socketOpen()) return false;
      pings.push([id, clock.now()]);
      return true;
    },
    (l) => losses.push(l),
    { pingIntervalMs: 500, pongTimeoutMs: 2_500, disconnectedGraceMs: 1_500, subscribeRebuildGraceMs: 3_000 },
  );
  return { clock, pings, losses, m };
}

describe('liveness monitor', () => {
  test('pings every 500 ms from start, with ids counting up from 0', () => {
    const { clock, pings, m } = monitor();
    m.start();
    clock.advance(1_600);
    assert.deepEqual(pings, [[0, 0], [1, 500], [2, 1_000], [3, 1_500]]);
  });

  test('a node that answers every ping is never reported', () => {
    const { clock, pings, losses, m } = monitor();
    m.start();
    for (let t = 0; t < 20_000; t += 100) {
      for (const [id] of pings.splice(0)) m.pong(id);
      clock.advance(100);
    }
    assert.deepEqual(losses, []);
    m.stop();
  });

  test('a node that stops answering is reported hung 2.5 s after the first unanswered ping, so within 3 s', () => {
    const { clock, pings, losses, m } = monitor();
    m.start();
    clock.advance(1_000); // pings 0, 1, 2 at 0, 500, 1000
    for (const [id] of pings.splice(0)) m.pong(id); // the node answers up to 1000 ms, then hangs
    clock.advance(2_999); // ping 3 at 1500 is the first one unanswered: deadline 4000
    assert.equal(losses.length, 0);
    clock.advance(1);
    assert.equal(losses.length, 1);
    assert.equal(losses[0]!.reason, 'node-unresponsive');
    assert.equal(clock.now(), 4_000, 'reported 3.0 s after the last answered ping (1.0 s), at most interval + timeout');
  });

  test('a late pong for a later ping answers the earlier ones too', () => {
    const { clock, pings, losses, m } = monitor();
    m.start();
    clock.advance(2_000); // pings 0..4
    m.pong(pings[pings.length - 1]![0]);
    assert.equal(m.outstanding, 0);
    clock.advance(2_000);
    assert.deepEqual(losses, []);
  });

  test('reports once and then stays quiet; stop() cancels every timer', () => {
    const { clock, losses, m } = monitor();
    m.start();
    clock.advance(10_000);
    assert.equal(losses.length, 1);
    m.peerState('publish', 'failed');
    assert.equal(losses.length, 1);
    assert.equal(clock.pending, 0, 'no timer left after the loss');
    const other = monitor();
    other.m.start();
    other.m.peerState('subscribe', 'disconnected');
    other.m.stop();
    assert.equal(other.clock.pending, 0);
    other.clock.advance(10_000);
    assert.deepEqual(other.losses, []);
  });

  test('a failed publish connection is a media loss at once', () => {
    const { losses, m } = monitor();
    m.peerState('publish', 'failed');
    assert.equal(losses.length, 1);
    assert.equal(losses[0]!.reason, 'media-failed');
    assert.match(losses[0]!.message, /publish/);
  });

  test('a failed subscribe connection waits 3 s for the node to rebuild it under a new session', () => {
    const rebuilt = monitor();
    rebuilt.m.peerState('subscribe', 'failed');
    rebuilt.clock.advance(800);
    rebuilt.m.forgetPeer('subscribe'); // the node's offer with a new session arrived
    rebuilt.clock.advance(10_000);
    assert.equal(rebuilt.losses.length, 0);

    const never = monitor();
    never.m.peerState('subscribe', 'disconnected');
    never.clock.advance(1_000);
    never.m.peerState('subscribe', 'failed'); // failed replaces the disconnected grace
    never.clock.advance(2_999);
    assert.equal(never.losses.length, 0);
    never.clock.advance(1);
    assert.equal(never.losses[0]?.reason, 'media-failed');
    assert.match(never.losses[0]!.message, /not rebuilt within 3000 ms/);
  });

  test('a peer connection disconnected past the 1.5 s grace is a media loss; one that reconnects in time is not', () => {
    const brief = monitor();
    brief.m.peerState('publish', 'disconnected');
    brief.clock.advance(1_400);
    brief.m.peerState('publish', 'connected');
    brief.clock.advance(5_000);
    assert.deepEqual(brief.losses, []);

    const long = monitor();
    long.m.peerState('publish', 'disconnected');
    long.clock.advance(1_000);
    long.m.peerState('publish', 'disconnected'); // repeated state does not restart the grace
    long.clock.advance(499);
    assert.equal(long.losses.length, 0);
    long.clock.advance(1);
    assert.equal(long.losses[0]?.reason, 'media-failed');
  });

  test('a replaced subscribe connection is forgotten: its disconnection timer stops', () => {
    const { clock, losses, m } = monitor();
    m.peerState('subscribe', 'disconnected');
    m.forgetPeer('subscribe');
    clock.advance(5_000);
    assert.deepEqual(losses, []);
  });

  test('no ping is counted while the socket is closed (the close event reports that loss)', () => {
    let open = true;
    const { clock, losses, m } = monitor({ socketOpen: () => open });
    m.start();
    open = false;
    clock.advance(1); // ping 0 was counted before the close
    m.pong(0);
    clock.advance(10_000);
    assert.deepEqual(losses, []);
    assert.equal(m.outstanding, 0);
  });
});
