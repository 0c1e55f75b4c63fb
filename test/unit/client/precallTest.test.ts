/**
 * The SDK's pre-call test in Node against real probe echoes (the node's ProbeEcho on a
 * loopback HTTP server), with `ws` as the WebSocket.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import WebSocket from 'ws';
import { precallTest, type PrecallTargets } from '../../../src/client/index.js';
import type { WebSocketLike } from '../../../src/client/SignalingChannel.js';
import { ProbeEcho } from '../../../src/media/signaling/ProbeEcho.js';
import { waitFor } from '../../helpers/waitFor.js';

const factory = (url: string) => new WebSocket(url) as unknown as WebSocketLike;

async function echoServer(echo = new ProbeEcho()): Promise<{ server: Server; echo: ProbeEcho; url: string }> {
  const server = createServer((_q, r) => r.writeHead(426).end());
  server.on('upgrade', (req, socket, head) => echo.handleUpgrade(req, socket, head));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, echo, url: `ws://127.0.0.1:${(server.address() as AddressInfo).port}/rtc/probe` };
}

describe('precallTest', () => {
  const servers: Array<Awaited<ReturnType<typeof echoServer>>> = [];
  let closedPort: number;
  before(async () => {
    servers.push(await echoServer(), await echoServer());
    const tmp = createServer();
    await new Promise<void>((r) => tmp.listen(0, '127.0.0.1', r));
    closedPort = (tmp.address() as AddressInfo).port;
    await new Promise<void>((r) => tmp.close(() => r()));
  });
  after(() => {
    for (const s of servers) {
      s.echo.close();
      s.server.close();
    }
  });

  it('measures every region in parallel and reports the median and the probes to send', async () => {
    const targets: PrecallTargets = {
      targets: [
        { regionId: 'us-east-1', name: 'A', url: servers[0]!.url },
        { regionId: 'eu-central-1', name: 'B', url: servers[1]!.url },
        { regionId: 'ap-south-1', name: 'C', url: `ws://127.0.0.1:${closedPort}/rtc/probe` },
        { regionId: 'sa-east-1', name: 'D', url: servers[0]!.url },
      ],
    };
    const r = await precallTest({ targets, webSocketFactory: factory, samples: 4, regions: 3 });
    assert.deepEqual(r.regions.map((x) => x.regionId), ['us-east-1', 'eu-central-1', 'ap-south-1'], 'the best 3 only');
    for (const x of r.regions.slice(0, 2)) {
      assert.equal(x.samples.length, 4);
      assert.ok(x.rttMs !== null && x.rttMs >= 0);
      const sorted = [...x.samples].sort((a, b) => a - b);
      assert.equal(x.rttMs, Math.round(((sorted[1]! + sorted[2]!) / 2) * 10) / 10);
      assert.equal(x.udp, 'unknown');
    }
    assert.equal(r.regions[2]!.rttMs, null);
    assert.equal(r.regions[2]!.error, 'unreachable');
    assert.deepEqual(r.probes.map((p) => p.regionId), ['us-east-1', 'eu-central-1']);
  });

  it('measures the exploration targets too, beyond the best regions, and reports the fastest sample', async () => {
    const targets: PrecallTargets = {
      targets: [
        { regionId: 'us-east-1', name: 'A', url: servers[0]!.url },
        { regionId: 'eu-central-1', name: 'B', url: servers[1]!.url },
        { regionId: 'sa-east-1', name: 'D', url: servers[0]!.url, explore: true },
        { regionId: 'ap-southeast-2', name: 'E', url: servers[1]!.url, explore: true },
      ],
    };
    const r = await precallTest({ targets, webSocketFactory: factory, samples: 3, regions: 1 });
    assert.deepEqual(r.regions.map((x) => x.regionId), ['us-east-1', 'sa-east-1', 'ap-southeast-2']);
    for (const x of r.regions) assert.equal(x.minRttMs, Math.round(Math.min(...x.samples) * 10) / 10);
    assert.deepEqual(r.probes.map((p) => [p.regionId, p.minRttMs <= p.rttMs]), [['us-east-1', true], ['sa-east-1', true], ['ap-southeast-2', true]]);
    const bounded = await precallTest({ targets, webSocketFactory: factory, samples: 1, regions: 1, explore: 1 });
    assert.deepEqual(bounded.regions.map((x) => x.regionId), ['us-east-1', 'sa-east-1']);
  });

  it('takes targets from a function with the region count', async () => {
    let asked = 0;
    const r = await precallTest({
      targets: async (count) => {
        asked = count;
        return { targets: [{ regionId: 'us-east-1', name: 'A', url: servers[0]!.url }] };
      },
      regions: 2,
      webSocketFactory: factory,
    });
    assert.equal(asked, 2);
    assert.equal(r.regions[0]!.samples.length, 5);
  });
});

describe('ProbeEcho limits', () => {
  it('echoes a bounded number of small frames, refuses extra sockets, and closes on big frames', async () => {
    const s = await echoServer(new ProbeEcho({ maxFrameBytes: 16, maxMessages: 3, lifetimeMs: 60_000, maxConnections: 1 }));
    try {
      const ws = new WebSocket(s.url);
      await new Promise((r) => ws.once('open', r));
      const echoes: string[] = [];
      const closed = new Promise<number>((r) => ws.once('close', (code) => r(code)));
      ws.on('message', (d) => echoes.push(String(d)));
      // A second socket while one is open: refused.
      const second = new WebSocket(s.url);
      const refused = await new Promise<string>((r) => second.once('unexpected-response', (_q, res) => r(String(res.statusCode))).once('error', (e) => r(e.message)));
      assert.match(refused, /503/);
      for (const m of ['a', 'b', 'c', 'd']) ws.send(m);
      assert.equal(await closed, 1008);
      assert.deepEqual(echoes, ['a', 'b', 'c']);
      await waitFor('the probe socket to be released', () => s.echo.connectionCount === 0);

      const big = new WebSocket(s.url);
      await new Promise((r) => big.once('open', r));
      const bigClosed = new Promise<number>((r) => big.once('close', (code) => r(code)));
      big.send('x'.repeat(100));
      assert.equal(await bigClosed, 1009);
    } finally {
      s.echo.close();
      s.server.close();
    }
  });
});
