/**
 * The SDK's join path with fallback, against real sockets on loopback: nodes that answer,
 * refuse, hang or reject the token, and a join source that re-places like the room manager.
 */
import { afterEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { connectWithFallback, type AttemptFailure, type FallbackEvent } from '../../../src/client/Connector.js';
import { MeridianClientError } from '../../../src/client/errors.js';
import { resolveJoinSource, type JoinRequestOptions, type JoinResponse } from '../../../src/client/JoinSource.js';
import { closedPortUrl, FakeSignalingNode, HungNode, joinResponse, wsFactory } from './support/fakeNodes.js';

const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

async function node(behaviour?: Parameters<typeof FakeSignalingNode.start>[0]): Promise<FakeSignalingNode> {
  const n = await FakeSignalingNode.start(behaviour);
  cleanups.push(() => n.close());
  return n;
}

/** A join function that answers from a list of placements and records what it was asked. */
function scripted(placements: JoinResponse[]) {
  const requests: JoinRequestOptions[] = [];
  let i = 0;
  const fn = async (opts: JoinRequestOptions) => {
    requests.push(opts);
    return placements[Math.min(i++, placements.length - 1)]!;
  };
  return { fn, requests };
}

const noSleep = async () => {};

describe('connectWithFallback', { timeout: 20_000 }, () => {
  test('joins through the first node when it answers', async () => {
    const n = await node();
    const { fn, requests } = scripted([joinResponse('ap-south-1-n1', 'ap-south-1', n.url, 'tok-1')]);
    const failures: AttemptFailure[] = [];
    const c = await connectWithFallback({ source: resolveJoinSource(fn), connectTimeoutMs: 2_000, maxAttempts: 3, webSocket: wsFactory, onAttemptFailed: (f) => failures.push(f) });
    cleanups.push(() => c.channel.close());
    assert.equal(c.attempts, 1);
    assert.equal(c.joined.participantId, 'p1');
    assert.deepEqual(n.tokens, ['tok-1'], 'the join token of the placement is sent in `join`');
    assert.deepEqual(requests, [{}], 'the first request names no unreachable node');
    assert.equal(failures.length, 0);
  });

  test('a node that refuses connections is named unreachable and the client follows the new placement', async () => {
    const dead = await closedPortUrl();
    const next = await node();
    const { fn, requests } = scripted([joinResponse('ap-south-1-n1', 'ap-south-1', dead), joinResponse('eu-central-1-n1', 'eu-central-1', next.url)]);
    const fallbacks: FallbackEvent[] = [];
    const c = await connectWithFallback({ source: resolveJoinSource(fn), connectTimeoutMs: 2_000, maxAttempts: 3, webSocket: wsFactory, onFallback: (e) => fallbacks.push(e) });
    cleanups.push(() => c.channel.close());
    assert.deepEqual(requests, [{}, { unreachableNodeId: 'ap-south-1-n1' }]);
    assert.equal(c.attempts, 2);
    assert.equal(c.response.region.id, 'eu-central-1');
    assert.equal(fallbacks.length, 1);
    assert.equal(fallbacks[0]!.from.region.id, 'ap-south-1');
    assert.equal(fallbacks[0]!.to.nodeId, 'eu-central-1-n1');
    assert.equal(fallbacks[0]!.reason.code, 'ENDPOINT_UNREACHABLE');
  });

  test('a reconnect starts from the placement it already has and sends its rejoin fields with every new request', async () => {
    const dead = await closedPortUrl();
    const next = await node();
    const { fn, requests } = scripted([joinResponse('eu-central-1-n2', 'eu-central-1', next.url)]);
    const base = { reason: 'unreachable' as const, participantId: 'demo-ann', previousNodeId: 'eu-central-1-n1', unreachableNodeId: 'eu-central-1-n1' };
    const c = await connectWithFallback({
      source: resolveJoinSource(fn),
      initial: joinResponse('eu-central-1-n3', 'eu-central-1', dead),
      requestOptions: base,
      connectTimeoutMs: 2_000,
      maxAttempts: 3,
      webSocket: wsFactory,
    });
    cleanups.push(() => c.channel.close());
    assert.deepEqual(requests, [{ ...base, unreachableNodeId: 'eu-central-1-n3' }], 'no request for the first placement; the next one names the node that failed now');
    assert.equal(c.response.node.id, 'eu-central-1-n2');
  });

  test('a hung node (socket never opens) times out after connectTimeoutMs and is given up', async () => {
    const hung = await HungNode.start();
    cleanups.push(() => hung.close());
    const next = await node();
    const { fn, requests } = scripted([joinResponse('n-hung', 'ap-south-1', hung.url), joinResponse('n-ok', 'eu-central-1', next.url)]);
    const failures: AttemptFailure[] = [];
    const started = Date.now();
    const c = await connectWithFallback({ source: resolveJoinSource(fn), connectTimeoutMs: 300, maxAttempts: 3, webSocket: wsFactory, onAttemptFailed: (f) => failures.push(f) });
    cleanups.push(() => c.channel.close());
    assert.ok(Date.now() - started >= 300, 'waited for the timeout');
    assert.equal(hung.connections, 1);
    assert.equal(failures[0]!.error.code, 'CONNECT_TIMEOUT');
    assert.deepEqual(requests[1], { unreachableNodeId: 'n-hung' });
    assert.equal(c.response.node.id, 'n-ok');
  });

  test('a node that opens but never answers `joined` also times out', async () => {
    const silent = await node({ kind: 'silent' });
    const next = await node();
    const { fn } = scripted([joinResponse('n-silent', 'ap-south-1', silent.url), joinResponse('n-ok', 'eu-central-1', next.url)]);
    const failures: AttemptFailure[] = [];
    const c = await connectWithFallback({ source: resolveJoinSource(fn), connectTimeoutMs: 300, maxAttempts: 3, webSocket: wsFactory, onAttemptFailed: (f) => failures.push(f) });
    cleanups.push(() => c.channel.close());
    assert.match(failures[0]!.error.message, /did not answer "joined"/);
    assert.equal(c.response.node.id, 'n-ok');
    assert.equal(silent.sockets.size, 0, 'the abandoned socket was closed');
  });

  test('when the room manager hands back the same node, the client pauses and tries it again', async () => {
    const dead = await closedPortUrl();
    const next = await node();
    const same = joinResponse('ap-south-1-n1', 'ap-south-1', dead);
    const { fn, requests } = scripted([same, same, same, joinResponse('eu-central-1-n1', 'eu-central-1', next.url)]);
    const pauses: number[] = [];
    const fallbacks: FallbackEvent[] = [];
    const c = await connectWithFallback({
      source: resolveJoinSource(fn),
      connectTimeoutMs: 1_000,
      maxAttempts: 8,
      webSocket: wsFactory,
      sleep: async (ms) => {
        pauses.push(ms);
      },
      onFallback: (e) => fallbacks.push(e),
    });
    cleanups.push(() => c.channel.close());
    assert.deepEqual(pauses, [500, 1_000], 'growing pauses while the node is still believed healthy');
    assert.equal(requests.length, 4);
    assert.ok(requests.slice(1).every((r) => r.unreachableNodeId === 'ap-south-1-n1'), 'every retry names the node');
    assert.equal(fallbacks.length, 1, 'one fallback: only a change of node counts');
    assert.equal(c.attempts, 4);
  });

  test('gives up with NO_REACHABLE_NODE after maxAttempts', async () => {
    const dead = await closedPortUrl();
    const { fn, requests } = scripted([joinResponse('n1', 'ap-south-1', dead)]);
    await assert.rejects(
      connectWithFallback({ source: resolveJoinSource(fn), connectTimeoutMs: 1_000, maxAttempts: 3, webSocket: wsFactory, sleep: noSleep }),
      (err: unknown) => err instanceof MeridianClientError && err.code === 'NO_REACHABLE_NODE' && /after 3 attempts/.test(err.message),
    );
    assert.equal(requests.length, 3);
  });

  test('a fixed join response cannot be re-placed: an unreachable node fails at once', async () => {
    const dead = await closedPortUrl();
    await assert.rejects(
      connectWithFallback({ source: resolveJoinSource(joinResponse('n1', 'ap-south-1', dead)), connectTimeoutMs: 1_000, maxAttempts: 5, webSocket: wsFactory }),
      (err: unknown) => err instanceof MeridianClientError && err.code === 'NO_REACHABLE_NODE' && /cannot be re-placed/.test(err.message),
    );
  });

  test('a refused token is final: no fallback, the node’s error code is reported', async () => {
    const n = await node({ kind: 'error', code: 'TOKEN_SCOPE', close: 4401 });
    const { fn, requests } = scripted([joinResponse('n1', 'ap-south-1', n.url)]);
    await assert.rejects(
      connectWithFallback({ source: resolveJoinSource(fn), connectTimeoutMs: 2_000, maxAttempts: 5, webSocket: wsFactory }),
      (err: unknown) => err instanceof MeridianClientError && err.code === 'TOKEN_SCOPE',
    );
    assert.equal(requests.length, 1);
  });

  test('an expired token asks for a fresh one without naming the node', async () => {
    const n = await node({ kind: 'error', code: 'TOKEN_EXPIRED', close: 4401 });
    const { fn, requests } = scripted([joinResponse('n1', 'ap-south-1', n.url, 'old'), joinResponse('n1', 'ap-south-1', n.url, 'fresh')]);
    let call = 0;
    const source = resolveJoinSource(async (opts) => {
      if (++call === 2) n.behaviour = { kind: 'joined' };
      return fn(opts);
    });
    const c = await connectWithFallback({ source, connectTimeoutMs: 2_000, maxAttempts: 5, webSocket: wsFactory, sleep: noSleep });
    cleanups.push(() => c.channel.close());
    assert.deepEqual(requests, [{}, {}]);
    assert.deepEqual(n.tokens, ['old', 'fresh']);
  });

  test('a token the node already saw (TOKEN_REPLAYED) asks for a fresh one without naming the node', async () => {
    const n = await node();
    n.refuseReplays = true;
    n.tokens.push('spent');
    const { fn, requests } = scripted([joinResponse('n1', 'ap-south-1', n.url, 'spent'), joinResponse('n1', 'ap-south-1', n.url, 'fresh')]);
    const c = await connectWithFallback({ source: resolveJoinSource(fn), connectTimeoutMs: 2_000, maxAttempts: 5, webSocket: wsFactory, sleep: noSleep });
    cleanups.push(() => c.channel.close());
    assert.deepEqual(requests, [{}, {}]);
    assert.deepEqual(n.tokens, ['spent', 'spent', 'fresh']);
  });

  test('a full node (NODE_UNAVAILABLE, 1013) counts as unreachable', async () => {
    const full = await node({ kind: 'error', code: 'NODE_UNAVAILABLE', close: 1013 });
    const next = await node();
    const { fn, requests } = scripted([joinResponse('n-full', 'ap-south-1', full.url), joinResponse('n-ok', 'eu-central-1', next.url)]);
    const c = await connectWithFallback({ source: resolveJoinSource(fn), connectTimeoutMs: 2_000, maxAttempts: 5, webSocket: wsFactory });
    cleanups.push(() => c.channel.close());
    assert.deepEqual(requests[1], { unreachableNodeId: 'n-full' });
    assert.equal(c.response.node.id, 'n-ok');
  });

  test('aborting while waiting for a hung node rejects with the abort reason and closes the socket', async () => {
    const hung = await HungNode.start();
    cleanups.push(() => hung.close());
    const { fn } = scripted([joinResponse('n-hung', 'ap-south-1', hung.url)]);
    const ac = new AbortController();
    const pending = connectWithFallback({ source: resolveJoinSource(fn), connectTimeoutMs: 10_000, maxAttempts: 3, webSocket: wsFactory, signal: ac.signal });
    setTimeout(() => ac.abort(new Error('left')), 100);
    await assert.rejects(pending, /left/);
    const deadline = Date.now() + 2_000;
    while (hung.openSockets > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    assert.equal(hung.connections, 1);
    assert.equal(hung.openSockets, 0, 'the pending socket was dropped');
  });

  test('messages sent right after `joined` are delivered once handlers are set', async () => {
    const n = await node();
    const { fn } = scripted([joinResponse('n1', 'ap-south-1', n.url)]);
    const c = await connectWithFallback({ source: resolveJoinSource(fn), connectTimeoutMs: 2_000, maxAttempts: 1, webSocket: wsFactory });
    await new Promise((r) => setTimeout(r, 50));
    const seen: string[] = [];
    let closed: { code: number; local: boolean } | undefined;
    c.channel.listen({ message: (m) => seen.push(m.type), close: (cl) => (closed = cl), protocolError: () => {} });
    assert.deepEqual(seen, ['participant-joined']);
    c.channel.close();
    c.channel.close();
    assert.deepEqual({ code: closed?.code, local: closed?.local }, { code: 1000, local: true }, 'close is idempotent and reported once as local');
    assert.equal(c.channel.send({ type: 'leave' }), false, 'nothing is sent on a closed channel');
  });
});
