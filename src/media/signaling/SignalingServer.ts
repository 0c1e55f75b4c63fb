/**
 * The node's WebSocket endpoint: an HTTP server that upgrades requests on one path (`/rtc`),
 * on its probe echo (`/rtc/probe`, see ProbeEcho.ts) and on the relay path of the meeting's
 * other nodes (`/rtc/relay`, handed to the relay acceptor: src/media/cascade/), and answers
 * everything else with 404/426. Owns the connections, pings them to find dead
 * ones, and closes them all on shutdown.
 *
 * Before a socket is a signaling connection it is only a TCP connection, and those are
 * cheap to open by the thousand. So: at most `maxConnectionsPerAddress` per client address
 * (more are answered 429 `RATE_LIMITED` and closed), and a connection that has not
 * completed its WebSocket upgrade within `upgradeTimeoutMs` is dropped (a half-sent
 * upgrade, or nothing at all). Node's own HTTP timeouts (headers, whole request, idle
 * keep-alive) are set too. Every HTTP answer the node gives is in the platform's error
 * format, `{ "error": { "code", "message" } }`, also for malformed requests and oversized
 * headers, which Node would otherwise answer itself. Clients that go away mid-request are
 * logged at debug level: that is the network, not a fault of the node.
 */
import { STATUS_CODES, createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import type { Logger } from '../../lib/logger.js';
import { MeridianError, type ErrorCode } from '../../contracts/errors.js';
import { CloseCode } from './protocol.js';
import { ConnectionsPerAddress } from './ConnectionsPerAddress.js';
import { SignalingConnection, type ConnectionContext } from './SignalingConnection.js';
import { ProbeEcho } from './ProbeEcho.js';

/** Listener settings plus what each connection needs. */
export interface SignalingServerOptions extends ConnectionContext {
  readonly host: string;
  readonly port: number;
  readonly path: string;
  /** Frames above this are cut off by `ws` itself (close 1009, no `error` message). */
  readonly hardMaxFrameBytes: number;
  readonly pingIntervalMs: number;
  /** A TCP connection must have completed its WebSocket upgrade (or a plain request) by then; else it is dropped. Also Node's headers timeout. */
  readonly upgradeTimeoutMs: number;
  /** Node's limit for a whole plain HTTP request (≥ `upgradeTimeoutMs`). */
  readonly requestTimeoutMs: number;
  /** Node's idle keep-alive timeout between plain HTTP requests. */
  readonly keepAliveTimeoutMs: number;
  /** Concurrent TCP connections one client address (IPv6: one /64) may hold. */
  readonly maxConnectionsPerAddress: number;
  /** Takes sockets upgraded on `<path>/relay` (other nodes of a meeting); absent: 404 there. */
  readonly relayAcceptor?: { accept(ws: import('ws').WebSocket, remoteAddress: string | undefined): void } | undefined;
}

/** A complete HTTP/1.1 error answer in the platform's format, for writing to a raw socket. */
function rawHttpError(status: number, code: ErrorCode, message: string, extraHeaders = ''): string {
  const body = JSON.stringify({ error: new MeridianError(code, message).toJSON() });
  return (
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}\r\ncontent-type: application/json; charset=utf-8\r\n` +
    `content-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n${extraHeaders}\r\n${body}`
  );
}

/** The same answer through Node's response object. */
function sendHttpError(res: ServerResponse, status: number, code: ErrorCode, message: string): void {
  const body = JSON.stringify({ error: new MeridianError(code, message).toJSON() });
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body), connection: 'close' });
  res.end(body);
}

/** HTTP + WebSocket listener for signaling. */
export class SignalingServer {
  readonly #options: SignalingServerOptions;
  readonly #http: Server;
  readonly #wss: WebSocketServer;
  readonly #connections = new Set<SignalingConnection>();
  /** `<path>/probe`: the pre-call test's echo (no token, bounded). */
  readonly #probes = new ProbeEcho();
  readonly #perAddress: ConnectionsPerAddress;
  /** TCP connections not yet upgraded (nor answered), with the timer that drops them. */
  readonly #pendingUpgrade = new Map<Socket, NodeJS.Timeout>();
  /** Connections refused at accept (over the per-address cap): whatever they send is ignored. */
  readonly #refused = new WeakSet<Socket>();
  #pingTimer: NodeJS.Timeout | undefined;
  #closing: Promise<void> | undefined;

  constructor(options: SignalingServerOptions) {
    this.#options = options;
    this.#perAddress = new ConnectionsPerAddress(options.maxConnectionsPerAddress);
    this.#http = createServer(
      {
        headersTimeout: options.upgradeTimeoutMs,
        requestTimeout: options.requestTimeoutMs,
        keepAliveTimeout: options.keepAliveTimeoutMs,
        // Node checks the two timeouts above on this period (default 30 s).
        connectionsCheckingInterval: Math.min(1_000, options.upgradeTimeoutMs),
      },
      (req, res) => this.#plainRequest(req, res),
    );
    this.#wss = new WebSocketServer({ noServer: true, maxPayload: options.hardMaxFrameBytes, perMessageDeflate: false, clientTracking: false });
    this.#http.on('connection', (socket: Socket) => this.#accept(socket));
    this.#http.on('upgrade', (req, socket, head) => this.#upgrade(req, socket, head));
    this.#http.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => this.#clientError(err, socket));
    // Every socket has an 'error' listener: an unhandled one would end the process. The
    // listener's own errors (EMFILE on accept, …) are logged; the node keeps serving.
    this.#http.on('error', (err) => this.#options.logger.error({ err }, 'signaling listener error'));
    this.#wss.on('error', (err) => this.#options.logger.error({ err }, 'signaling WebSocket server error'));
  }

  /** Open connections. */
  get connectionCount(): number {
    return this.#connections.size;
  }

  /** Starts listening; resolves with the bound port. */
  async listen(): Promise<number> {
    await new Promise<void>((resolve, reject) => {
      this.#http.once('error', reject);
      this.#http.listen(this.#options.port, this.#options.host, () => {
        this.#http.off('error', reject);
        resolve();
      });
    });
    this.#pingTimer = setInterval(() => this.#ping(), this.#options.pingIntervalMs);
    this.#pingTimer.unref();
    return (this.#http.address() as AddressInfo).port;
  }

  /** Closes every connection (1001) and the listener. Idempotent. */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    if (this.#pingTimer) clearInterval(this.#pingTimer);
    this.#pingTimer = undefined;
    const connections = [...this.#connections];
    for (const c of connections) c.close(CloseCode.goingAway, 'node shutting down');
    this.#connections.clear();
    this.#probes.close();
    this.#wss.close();
    // Give clients a moment to answer the close frame, then cut them off: `ws` would
    // otherwise keep each socket (and the process) alive for its 30 s close timeout.
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.all(connections.map((c) => c.socketClosed)),
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, 1_000);
      }),
    ]);
    clearTimeout(timer);
    for (const c of connections) c.terminate();
    for (const [socket, timer] of this.#pendingUpgrade) {
      clearTimeout(timer);
      socket.destroy();
    }
    this.#pendingUpgrade.clear();
    await new Promise<void>((resolve) => {
      if (!this.#http.listening) {
        resolve();
        return;
      }
      this.#http.close(() => resolve());
      this.#http.closeAllConnections();
    });
  }

  /** A new TCP connection: counted per address (refused over the cap), and timed until it upgrades. */
  #accept(socket: Socket): void {
    const key = this.#perAddress.tryAcquire(socket.remoteAddress);
    if (key === undefined) {
      this.#refused.add(socket);
      this.#options.logger.debug({ remote: socket.remoteAddress, max: this.#options.maxConnectionsPerAddress }, 'too many connections from one address; refusing');
      socket.on('error', () => socket.destroy());
      socket.end(rawHttpError(429, 'RATE_LIMITED', `Too many connections from this address (at most ${this.#options.maxConnectionsPerAddress})`, 'retry-after: 1\r\n'), () => socket.destroy());
      return;
    }
    const timer = setTimeout(() => {
      this.#pendingUpgrade.delete(socket);
      this.#options.logger.debug({ remote: socket.remoteAddress, timeoutMs: this.#options.upgradeTimeoutMs }, 'connection did not complete its upgrade in time; dropping it');
      socket.destroy();
    }, this.#options.upgradeTimeoutMs);
    timer.unref();
    this.#pendingUpgrade.set(socket, timer);
    socket.once('close', () => {
      this.#settled(socket);
      this.#perAddress.release(key);
    });
  }

  /** The connection upgraded, was answered, or closed: it no longer needs the upgrade timer. */
  #settled(socket: Duplex): void {
    const timer = this.#pendingUpgrade.get(socket as Socket);
    if (timer === undefined) return;
    clearTimeout(timer);
    this.#pendingUpgrade.delete(socket as Socket);
  }

  /** Plain HTTP: 426 on the signaling path (what the control plane's probe sees), 404 elsewhere. */
  #plainRequest(req: IncomingMessage, res: ServerResponse): void {
    if (this.#refused.has(req.socket)) {
      req.socket.destroy();
      return;
    }
    this.#settled(req.socket);
    const onPath = (req.url ?? '').split('?')[0] === this.#options.path;
    if (onPath) sendHttpError(res, 426, 'VALIDATION_FAILED', 'Upgrade to WebSocket required');
    else sendHttpError(res, 404, 'ROUTE_NOT_FOUND', 'Not found');
  }

  /**
   * A request Node could not parse (malformed, headers over Node's limit) or a connection
   * that failed mid-request. Answered in our format when the socket can still take it.
   */
  #clientError(err: NodeJS.ErrnoException, socket: Duplex): void {
    this.#settled(socket);
    const remote = (socket as Socket).remoteAddress;
    this.#options.logger.debug({ code: err.code, reason: err.message, remote }, 'signaling client error');
    if (this.#refused.has(socket as Socket) || !socket.writable || err.code === 'ECONNRESET' || err.code === 'ERR_HTTP_REQUEST_TIMEOUT') {
      socket.destroy();
      return;
    }
    socket.on('error', () => socket.destroy());
    const answer =
      err.code === 'HPE_HEADER_OVERFLOW'
        ? rawHttpError(431, 'PAYLOAD_TOO_LARGE', 'The request headers are too large')
        : rawHttpError(400, 'VALIDATION_FAILED', 'Malformed HTTP request');
    socket.end(answer, () => socket.destroy());
  }

  #upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    // Before anything is written: a reset during the refusal below must not be unhandled.
    socket.on('error', () => socket.destroy());
    if (this.#refused.has(socket as Socket)) {
      socket.destroy();
      return;
    }
    this.#settled(socket);
    const path = (req.url ?? '').split('?')[0];
    if (path === `${this.#options.path}/probe` && !this.#closing) {
      this.#probes.handleUpgrade(req, socket, head);
      return;
    }
    const relay = this.#options.relayAcceptor;
    if (path === `${this.#options.path}/relay` && relay && !this.#closing) {
      this.#wss.handleUpgrade(req, socket, head, (ws) => relay.accept(ws, req.socket.remoteAddress));
      return;
    }
    if (path !== this.#options.path || this.#closing) {
      socket.end(this.#closing ? rawHttpError(503, 'NODE_UNAVAILABLE', 'The meeting node is shutting down') : rawHttpError(404, 'ROUTE_NOT_FOUND', 'Not found'));
      return;
    }
    this.#wss.handleUpgrade(req, socket, head, (ws) => {
      if (this.#closing) {
        ws.close(CloseCode.goingAway, 'node shutting down');
        return;
      }
      const logger = this.#options.logger.child({ remote: req.socket.remoteAddress });
      const connection: SignalingConnection = new SignalingConnection(ws, { ...this.#options, logger }, () => this.#connections.delete(connection));
      this.#connections.add(connection);
    });
  }

  #ping(): void {
    for (const c of this.#connections) {
      if (!c.alive) {
        c.terminate();
        continue;
      }
      c.alive = false;
      c.ping();
    }
  }
}
