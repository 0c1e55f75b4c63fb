/**
 * The signaling port before a socket is a signaling connection: raw TCP connections that
 * never finish their WebSocket upgrade, many connections from one address, requests Node
 * itself cannot parse, and clients that go away mid-request. Real node, loopback, a bounded
 * handful of sockets per test.
 */
import { test, describe, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { connect as tcpConnect, type Socket } from 'node:net';
import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import pino from 'pino';
import WebSocket from 'ws';
import type { SfuNode } from '../../../src/media/index.js';
import { ConnectionsPerAddress, addressKey } from '../../../src/media/signaling/ConnectionsPerAddress.js';
import { startNode } from './support/startNode.js';
import { TestClient } from './support/TestClient.js';
import { mintToken } from './support/tokens.js';
import { waitFor } from '../../helpers/waitFor.js';

const PER_TEST = { timeout: 30_000 };
const NODE_ID = 'node-test-1';
const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

async function node(overrides: Parameters<typeof startNode>[0] = {}): Promise<SfuNode> {
  const n = await startNode(overrides);
  cleanups.push(() => n.close());
  return n;
}

/** A raw TCP connection to the node, with everything it receives and a promise of its close. */
async function rawSocket(n: SfuNode): Promise<{ socket: Socket; received: () => string; closed: Promise<void> }> {
  const socket = tcpConnect(n.port, '127.0.0.1');
  cleanups.push(() => socket.destroy());
  const chunks: Buffer[] = [];
  socket.on('data', (d) => chunks.push(d));
  socket.on('error', () => {});
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('error', reject);
  });
  return { socket, received: () => Buffer.concat(chunks).toString('utf8'), closed };
}

/** Status and parsed JSON body of a raw HTTP answer. */
function parseAnswer(text: string): { status: number; headers: string; body: { error?: { code?: string; message?: string } } } {
  const [head = '', body = ''] = text.split('\r\n\r\n');
  return { status: Number(head.split(' ')[1]), headers: head.toLowerCase(), body: JSON.parse(body) as { error?: { code?: string } } };
}

const UPGRADE_START = 'GET /rtc HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n';

/** Resolves `true` when `p` settles within `ms`, `false` otherwise. */
function within(p: Promise<unknown>, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const t = setTimeout(() => resolve(false), ms);
    void p.then(() => {
      clearTimeout(t);
      resolve(true);
    });
  });
}

describe('half-upgraded sockets', { timeout: 120_000 }, () => {
  test('a connection that does not complete its WebSocket upgrade within upgradeTimeoutMs is closed; an upgraded one is not', PER_TEST, async () => {
    const n = await node({ signaling: { upgradeTimeoutMs: 300, requestTimeoutMs: 10_000, joinTimeoutMs: 20_000 } });
    const silent = await rawSocket(n); // connects, sends nothing
    const halfway = await rawSocket(n); // sends part of the upgrade request, never the end
    halfway.socket.write(UPGRADE_START);
    const upgraded = await TestClient.connect(n.url);
    cleanups.push(() => upgraded.close());
    // Node's own headers timeout would hold them for 60 s; the node drops them after 300 ms.
    assert.equal(await within(Promise.all([silent.closed, halfway.closed]), 10_000), true, 'both half-upgraded sockets were closed');
    assert.equal(silent.received(), '');
    // The upgraded socket outlived the upgrade timeout and is served.
    upgraded.send({ type: 'join', token: mintToken({ sub: 'ann', mtg: 'standup', aud: NODE_ID }) });
    const joined = await upgraded.next((m) => m.type === 'joined');
    assert.equal(joined.participantId, 'ann');
  });
});

describe('connections per address', { timeout: 120_000 }, () => {
  test('an IPv6 client is counted per /64, an IPv4-mapped one as its IPv4 address', () => {
    assert.equal(addressKey('2001:db8:1:2:aaaa::1'), addressKey('2001:db8:1:2:bbbb::2'));
    assert.notEqual(addressKey('2001:db8:1:2::1'), addressKey('2001:db8:1:3::1'));
    assert.equal(addressKey('::ffff:192.0.2.7'), addressKey('192.0.2.7'));
    const limit = new ConnectionsPerAddress(2);
    const a = limit.tryAcquire('2001:db8:1:2::1');
    assert.ok(a && limit.tryAcquire('2001:db8:1:2::99'));
    assert.equal(limit.tryAcquire('2001:db8:1:2:ffff::1'), undefined, 'a third address of the same /64 is over the cap');
    assert.ok(limit.tryAcquire('192.0.2.7'), 'another client is not affected');
    limit.release(a);
    assert.ok(limit.tryAcquire('2001:db8:1:2::5'));
  });


  test('beyond maxConnectionsPerAddress a connection is answered 429 RATE_LIMITED in our format and closed; a slot frees when one closes', PER_TEST, async () => {
    const n = await node({ signaling: { maxConnectionsPerAddress: 4, upgradeTimeoutMs: 20_000, requestTimeoutMs: 20_000 } });
    const held = [await rawSocket(n), await rawSocket(n), await rawSocket(n)];
    const joined = await TestClient.join(n.url, mintToken({ sub: 'ann', mtg: 'standup', aud: NODE_ID })); // the 4th
    cleanups.push(() => joined.client.close());
    const over = await rawSocket(n);
    await over.closed;
    const answer = parseAnswer(over.received());
    assert.equal(answer.status, 429);
    assert.equal(answer.body.error?.code, 'RATE_LIMITED');
    assert.match(answer.headers, /retry-after: 1/);
    // A WebSocket over the cap fails to open; the node keeps serving the ones it holds.
    const refused = new WebSocket(n.url);
    refused.on('error', () => {});
    assert.equal(await new Promise<string>((resolve) => refused.once('unexpected-response', (_req, res) => resolve(String(res.statusCode)))), '429');
    joined.client.send({ type: 'ping', id: 1 });
    await joined.client.next((m) => m.type === 'pong');
    // One closes: the address may connect again.
    held[0]!.socket.destroy();
    await held[0]!.closed;
    const again = await waitFor('a slot to free up', async () => {
      const c = await TestClient.connect(n.url).catch(() => undefined);
      if (c) cleanups.push(() => c.close());
      return c;
    });
    again.send({ type: 'join', token: mintToken({ sub: 'bob', mtg: 'standup', aud: NODE_ID }) });
    assert.equal((await again.next((m) => m.type === 'joined')).participantId, 'bob');
  });
});

describe('HTTP answers of the node', { timeout: 120_000 }, () => {
  test('requests Node cannot parse get our error format: oversized headers 431, a malformed request 400', PER_TEST, async () => {
    const n = await node();
    const big = await rawSocket(n);
    big.socket.write(`${UPGRADE_START}X-Padding: ${'a'.repeat(20_000)}\r\nSec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n\r\n`);
    await big.closed;
    const a431 = parseAnswer(big.received());
    assert.deepEqual([a431.status, a431.body.error?.code], [431, 'PAYLOAD_TOO_LARGE']);
    const garbage = await rawSocket(n);
    garbage.socket.write('THIS IS NOT HTTP\r\n\r\n');
    await garbage.closed;
    const a400 = parseAnswer(garbage.received());
    assert.deepEqual([a400.status, a400.body.error?.code], [400, 'VALIDATION_FAILED']);
  });

  test('plain requests and upgrades on other paths get our error format too', PER_TEST, async () => {
    const n = await node();
    const base = `http://127.0.0.1:${n.port}`;
    const onPath = await fetch(`${base}/rtc`);
    assert.deepEqual([onPath.status, ((await onPath.json()) as { error: { code: string } }).error.code], [426, 'VALIDATION_FAILED']);
    const elsewhere = await fetch(`${base}/`);
    assert.deepEqual([elsewhere.status, ((await elsewhere.json()) as { error: { code: string } }).error.code], [404, 'ROUTE_NOT_FOUND']);
    const upgradeElsewhere = await rawSocket(n);
    upgradeElsewhere.socket.write(UPGRADE_START.replace('/rtc', '/elsewhere') + `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n\r\n`);
    await upgradeElsewhere.closed;
    const answer = parseAnswer(upgradeElsewhere.received());
    assert.deepEqual([answer.status, answer.body.error?.code], [404, 'ROUTE_NOT_FOUND']);
  });

  test('a client that goes away mid-request is logged at debug level, never as an error', PER_TEST, async () => {
    const lines: Array<{ level: number; msg: string }> = [];
    const sink = new Writable({
      write(chunk, _enc, done) {
        for (const line of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(line) as { level: number; msg: string });
        done();
      },
    });
    const n = await node({ logger: pino({ level: 'debug' }, sink) });
    const quitter = await rawSocket(n);
    quitter.socket.write(UPGRADE_START);
    quitter.socket.resetAndDestroy();
    await quitter.closed;
    await waitFor('the abort to be logged', () => lines.some((l) => l.msg === 'signaling client error'));
    assert.deepEqual(lines.filter((l) => l.level >= 40).map((l) => l.msg), []);
    assert.equal(lines.find((l) => l.msg === 'signaling client error')?.level, 20);
  });
});
