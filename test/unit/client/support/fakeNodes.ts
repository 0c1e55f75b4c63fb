/**
 * Stand-ins for meeting nodes on loopback, for the SDK's join path in Node: a signaling
 * server that answers `join` as told, a port nothing listens on, and a TCP server that
 * accepts and then never answers (a hung node).
 */
import { createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { WebSocket, WebSocketServer } from 'ws';
import type { JoinResponse } from '../../../../src/client/JoinSource.js';
import type { WebSocketFactory, WebSocketLike } from '../../../../src/client/SignalingChannel.js';

/** The `ws` package as the SDK's WebSocket. */
export const wsFactory: WebSocketFactory = (url) => new WebSocket(url) as unknown as WebSocketLike;

/** How a fake node answers `join`. */
export type JoinBehaviour = { kind: 'joined' } | { kind: 'error'; code: string; close: number } | { kind: 'silent' };

/** A signaling server that answers `join` according to `behaviour`. */
export class FakeSignalingNode {
  readonly #wss: WebSocketServer;
  readonly tokens: string[] = [];
  readonly sockets = new Set<WebSocket>();
  /** Every message received after `join`, in order. */
  readonly received: Array<{ type: string; [k: string]: unknown }> = [];
  behaviour: JoinBehaviour;
  /** Answer `ping` with `pong` (false: a hung node whose sockets stay open). */
  answerPings = true;
  /** Answer a publish `offer` with an `answer` (false: a node that never answers it). */
  answerOffers = true;
  /** Tracks announced in `joined` (published by others on this node). */
  joinedTracks: unknown[] = [];
  /** Messages sent right after `joined` (and the usual `participant-joined`). */
  afterJoined: unknown[] = [];
  /** Refuse a token presented before with `TOKEN_REPLAYED` (4401), as a real node does. */
  refuseReplays = false;

  private constructor(wss: WebSocketServer, behaviour: JoinBehaviour) {
    this.#wss = wss;
    this.behaviour = behaviour;
    wss.on('connection', (ws) => {
      this.sockets.add(ws);
      ws.on('close', () => this.sockets.delete(ws));
      ws.on('message', (data) => {
        const m = JSON.parse(String(data)) as { type: string; token?: string; id?: number };
        if (m.type !== 'join') {
          this.received.push(m);
          if (m.type === 'ping' && this.answerPings) ws.send(JSON.stringify({ type: 'pong', id: m.id }));
          if (m.type === 'offer' && this.answerOffers) ws.send(JSON.stringify({ type: 'answer', sdp: `answer-to-${String((m as { sdp?: unknown }).sdp)}` }));
          return;
        }
        const replayed = this.tokens.includes(m.token ?? '');
        this.tokens.push(m.token ?? '');
        const b: JoinBehaviour = replayed && this.refuseReplays ? { kind: 'error', code: 'TOKEN_REPLAYED', close: 4401 } : this.behaviour;
        if (b.kind === 'joined') {
          ws.send(JSON.stringify({ type: 'joined', participantId: 'p1', meetingId: 'm1', name: 'P1', participants: [{ id: 'p0', name: 'P0' }], tracks: this.joinedTracks, activeSpeaker: null }));
          ws.send(JSON.stringify({ type: 'participant-joined', participant: { id: 'p2', name: 'P2' } }));
          for (const extra of this.afterJoined) ws.send(JSON.stringify(extra));
        } else if (b.kind === 'error') {
          ws.send(JSON.stringify({ type: 'error', code: b.code, message: `refused: ${b.code}` }));
          ws.close(b.close, b.code);
        }
      });
    });
  }

  static async start(behaviour: JoinBehaviour = { kind: 'joined' }): Promise<FakeSignalingNode> {
    const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, path: '/rtc' });
    await new Promise<void>((resolve) => wss.once('listening', () => resolve()));
    return new FakeSignalingNode(wss, behaviour);
  }

  get url(): string {
    return `ws://127.0.0.1:${(this.#wss.address() as AddressInfo).port}/rtc`;
  }

  /** Sends a message to every connected client. */
  send(message: unknown): void {
    for (const s of this.sockets) s.send(JSON.stringify(message));
  }

  /** Drops every connection without a close frame, as a crashed process does (clients see 1006). */
  crash(): void {
    for (const s of this.sockets) s.terminate();
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.terminate();
    await new Promise<void>((resolve) => this.#wss.close(() => resolve()));
  }
}

/** A loopback port that refuses connections (bound, then released). */
export async function closedPortUrl(): Promise<string> {
  const s = createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', () => resolve()));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return `ws://127.0.0.1:${port}/rtc`;
}

/** A TCP server that accepts connections and never answers: a hung node. */
export class HungNode {
  readonly #server: Server;
  readonly #sockets = new Set<Socket>();
  connections = 0;

  private constructor(server: Server) {
    this.#server = server;
    server.on('connection', (s) => {
      this.connections++;
      this.#sockets.add(s);
      s.on('close', () => this.#sockets.delete(s));
      s.on('error', () => {});
      // Read (and ignore) the upgrade request, so the peer's close is noticed.
      s.resume();
    });
  }

  static async start(): Promise<HungNode> {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    return new HungNode(server);
  }

  get url(): string {
    return `ws://127.0.0.1:${(this.#server.address() as AddressInfo).port}/rtc`;
  }

  /** Connections still open. */
  get openSockets(): number {
    return this.#sockets.size;
  }

  async close(): Promise<void> {
    for (const s of this.#sockets) s.destroy();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}

/** A join response for a node at `endpoint`. */
export function joinResponse(nodeId: string, regionId: string, endpoint: string, token = `token-for-${nodeId}`): JoinResponse {
  return {
    meetingId: 'm1',
    region: { id: regionId, name: regionId, lat: 0, lon: 0 },
    node: { id: nodeId, url: endpoint },
    endpoint,
    token,
    expiresAt: new Date(Date.now() + 120_000).toISOString(),
    fallbacks: [],
    location: { ip: '49.36.0.1', lat: 19.1, lon: 73, source: 'geoip', city: 'Mumbai', country: 'IN' },
    placed: true,
    placement: 'ranked',
  };
}
