/**
 * The node's probe endpoint (`<signaling path>/probe`, e.g. `/rtc/probe`): a WebSocket that
 * only echoes, so a client's pre-call test can time round trips to this node before it has
 * a join token. Unauthenticated, hence tightly bounded: small frames only, a few dozen
 * echoes per connection, a short lifetime, and a cap on open probe sockets (the next one is
 * refused with 503). It touches no room, no participant, no media.
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';

/** Limits of the probe endpoint. */
export interface ProbeEchoLimits {
  /** Largest frame echoed, bytes; bigger frames close the socket (1009). */
  readonly maxFrameBytes: number;
  /** Echoes per connection; the next message closes it (1008). */
  readonly maxMessages: number;
  /** A probe socket is closed this long after it opened, ms. */
  readonly lifetimeMs: number;
  /** Probe sockets open at once; more are refused with HTTP 503. */
  readonly maxConnections: number;
}

export const PROBE_ECHO_LIMITS: ProbeEchoLimits = Object.freeze({ maxFrameBytes: 64, maxMessages: 32, lifetimeMs: 10_000, maxConnections: 64 });

/** Echo WebSockets for pre-call probes. */
export class ProbeEcho {
  readonly #limits: ProbeEchoLimits;
  readonly #wss: WebSocketServer;
  readonly #open = new Set<WebSocket>();

  constructor(limits: ProbeEchoLimits = PROBE_ECHO_LIMITS) {
    this.#limits = limits;
    this.#wss = new WebSocketServer({ noServer: true, maxPayload: limits.maxFrameBytes, perMessageDeflate: false, clientTracking: false });
    this.#wss.on('error', () => undefined);
  }

  /** Probe sockets open now. */
  get connectionCount(): number {
    return this.#open.size;
  }

  /** Takes over an upgrade request for the probe path. */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    if (this.#open.size >= this.#limits.maxConnections) {
      socket.end('HTTP/1.1 503 Service Unavailable\r\nconnection: close\r\ncontent-length: 0\r\n\r\n');
      return;
    }
    this.#wss.handleUpgrade(req, socket, head, (ws) => {
      this.#open.add(ws);
      let echoed = 0;
      const timer = setTimeout(() => ws.close(1000, 'probe time is up'), this.#limits.lifetimeMs);
      timer.unref();
      ws.on('message', (data, isBinary) => {
        if (++echoed > this.#limits.maxMessages) {
          ws.close(1008, 'too many probes');
          return;
        }
        ws.send(data, { binary: isBinary });
      });
      ws.on('error', () => ws.terminate());
      ws.on('close', () => {
        clearTimeout(timer);
        this.#open.delete(ws);
      });
    });
  }

  /** Closes every probe socket. */
  close(): void {
    for (const ws of this.#open) ws.terminate();
    this.#open.clear();
    this.#wss.close();
  }
}
