/**
 * The node's WebSocket endpoint: an HTTP server that upgrades requests on one path (`/rtc`)
 * and on its probe echo (`/rtc/probe`, see ProbeEcho.ts), and answers everything else with 404/426. Owns the connections, pings them to find dead
 * ones, and closes them all on shutdown.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import type { Logger } from '../../lib/logger.js';
import { CloseCode } from './protocol.js';
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
}

/** HTTP + WebSocket listener for signaling. */
export class SignalingServer {
  readonly #options: SignalingServerOptions;
  readonly #http: Server;
  readonly #wss: WebSocketServer;
  readonly #connections = new Set<SignalingConnection>();
  /** `<path>/probe`: the pre-call test's echo (no token, bounded). */
  readonly #probes = new ProbeEcho();
  #pingTimer: NodeJS.Timeout | undefined;
  #closing: Promise<void> | undefined;

  constructor(options: SignalingServerOptions) {
    this.#options = options;
    this.#http = createServer((req, res) => {
      const onPath = (req.url ?? '').split('?')[0] === options.path;
      res.writeHead(onPath ? 426 : 404, { 'content-type': 'text/plain', connection: 'close' });
      res.end(onPath ? 'Upgrade to WebSocket required\n' : 'Not found\n');
    });
    this.#wss = new WebSocketServer({ noServer: true, maxPayload: options.hardMaxFrameBytes, perMessageDeflate: false, clientTracking: false });
    this.#http.on('upgrade', (req, socket, head) => this.#upgrade(req, socket, head));
    this.#http.on('clientError', (_err, socket) => socket.destroy());
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
    await new Promise<void>((resolve) => {
      if (!this.#http.listening) {
        resolve();
        return;
      }
      this.#http.close(() => resolve());
      this.#http.closeAllConnections();
    });
  }

  #upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    // Before anything is written: a reset during the refusal below must not be unhandled.
    socket.on('error', () => socket.destroy());
    const path = (req.url ?? '').split('?')[0];
    if (path === `${this.#options.path}/probe` && !this.#closing) {
      this.#probes.handleUpgrade(req, socket, head);
      return;
    }
    if (path !== this.#options.path || this.#closing) {
      socket.end(`HTTP/1.1 ${this.#closing ? 503 : 404} ${this.#closing ? 'Service Unavailable' : 'Not Found'}\r\nconnection: close\r\ncontent-length: 0\r\n\r\n`);
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
