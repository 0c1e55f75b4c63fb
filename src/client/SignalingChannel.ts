/**
 * The signaling WebSocket to a meeting node: opens it, sends `join`, waits for `joined`
 * within a deadline, then carries typed messages both ways. Nothing here knows about
 * WebRTC; the caller turns messages into peer-connection work.
 *
 * The WebSocket constructor is injectable (Node tests pass the `ws` package's).
 */
import type { ReachFailure } from './FallbackPolicy.js';
import { isUnknownType, parseServerMessage, type ClientMessage, type ServerMessage, type ServerMessageOf } from './protocol.js';

/** The part of the WebSocket API the channel uses. */
export interface WebSocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  onopen: ((ev: unknown) => void) | null;
  onmessage: ((ev: { data: unknown }) => void) | null;
  onerror: ((ev: unknown) => void) | null;
  onclose: ((ev: { code: number; reason: string }) => void) | null;
}

/** Creates a WebSocket for a URL. */
export type WebSocketFactory = (url: string) => WebSocketLike;

/** The browser's WebSocket, when there is one. */
export function defaultWebSocketFactory(): WebSocketFactory | undefined {
  const Ctor = (globalThis as { WebSocket?: new (url: string) => WebSocketLike }).WebSocket;
  return Ctor ? (url) => new Ctor(url) : undefined;
}

/** A failed attempt to join through a node, with what happened. */
export class ReachError extends Error {
  readonly failure: ReachFailure;
  constructor(failure: ReachFailure) {
    super(failure.kind === 'timeout' ? `timeout (${failure.phase})` : `closed ${failure.code}`);
    this.name = 'ReachError';
    this.failure = failure;
  }
}

/** Why the channel closed after joining. */
export interface ChannelClose {
  readonly code: number;
  readonly reason: string;
  /** The node's `error` message just before the close, if any. */
  readonly error?: { readonly code: string; readonly message: string };
  /** True when {@link SignalingChannel.close} closed it. */
  readonly local: boolean;
}

const OPEN = 1;
const CONNECTING = 0;

/** A joined signaling connection. */
export class SignalingChannel {
  readonly #ws: WebSocketLike;
  #handler: ((m: ServerMessage) => void) | undefined;
  #onClose: ((c: ChannelClose) => void) | undefined;
  #onProtocolError: ((reason: string) => void) | undefined;
  readonly #buffered: ServerMessage[] = [];
  #lastError: { code: string; message: string } | undefined;
  #closed: ChannelClose | undefined;

  private constructor(ws: WebSocketLike) {
    this.#ws = ws;
  }

  /**
   * Opens `url`, sends `join {token}` and resolves once `joined` arrives. Rejects with a
   * {@link ReachError} when the socket does not open or `joined` does not arrive within
   * `timeoutMs`, or the socket fails or closes first. `signal` aborts (rejects with its reason).
   */
  static join(url: string, token: string, timeoutMs: number, factory: WebSocketFactory, signal?: AbortSignal): Promise<{ channel: SignalingChannel; joined: ServerMessageOf<'joined'> }> {
    return new Promise((resolve, reject) => {
      let ws: WebSocketLike;
      try {
        ws = factory(url);
      } catch {
        // A malformed URL throws synchronously in browsers.
        reject(new ReachError({ kind: 'closed', code: 1006, reason: 'invalid endpoint URL', opened: false }));
        return;
      }
      const channel = new SignalingChannel(ws);
      let opened = false;
      let settled = false;
      let lastError: { code: string; message: string } | undefined;
      const finish = (err: unknown, joined?: ServerMessageOf<'joined'>) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        if (joined) {
          channel.#attach();
          resolve({ channel, joined });
          return;
        }
        ws.onopen = ws.onmessage = ws.onclose = null;
        // Closing a socket that is still connecting fires an error event; let it land here.
        ws.onerror = () => {};
        if (ws.readyState === OPEN || ws.readyState === CONNECTING) {
          try {
            ws.close(1000, 'giving up');
          } catch {
            // already closing
          }
        }
        reject(err);
      };
      const onAbort = () => finish(signal?.reason ?? new Error('aborted'));
      if (signal?.aborted) {
        onAbort();
        return;
      }
      signal?.addEventListener('abort', onAbort);
      const timer = setTimeout(() => finish(new ReachError({ kind: 'timeout', phase: opened ? 'join' : 'open', timeoutMs })), timeoutMs);
      ws.onopen = () => {
        opened = true;
        try {
          ws.send(JSON.stringify({ type: 'join', token } satisfies ClientMessage));
        } catch {
          // the close handler reports it
        }
      };
      ws.onmessage = (ev) => {
        if (typeof ev.data !== 'string') return;
        const parsed = parseServerMessage(ev.data);
        if (!parsed.ok) return;
        const m = parsed.message;
        if (m.type === 'joined') finish(undefined, m);
        else if (m.type === 'error') lastError = { code: m.code, message: m.message };
        else channel.#buffered.push(m);
      };
      ws.onerror = () => {
        // The close event follows with the code; nothing to do here.
      };
      ws.onclose = (ev) => {
        const failure: ReachFailure = lastError
          ? { kind: 'closed', code: ev.code, reason: ev.reason, opened, errorCode: lastError.code, errorMessage: lastError.message }
          : { kind: 'closed', code: ev.code, reason: ev.reason, opened };
        finish(new ReachError(failure));
      };
    });
  }

  /** True until the socket has closed. */
  get open(): boolean {
    return this.#closed === undefined && this.#ws.readyState === OPEN;
  }

  /**
   * Sets the handlers. Messages that arrived between `joined` and this call are delivered
   * first. `onProtocolError` gets frames the SDK cannot parse (unknown types are ignored).
   */
  listen(handlers: { message: (m: ServerMessage) => void; close: (c: ChannelClose) => void; protocolError: (reason: string) => void }): void {
    this.#handler = handlers.message;
    this.#onClose = handlers.close;
    this.#onProtocolError = handlers.protocolError;
    for (const m of this.#buffered.splice(0)) handlers.message(m);
    if (this.#closed) handlers.close(this.#closed);
  }

  /** Sends a message; false when the socket is no longer open. */
  send(message: ClientMessage): boolean {
    if (!this.open) return false;
    try {
      this.#ws.send(JSON.stringify(message));
      return true;
    } catch {
      return false;
    }
  }

  /** Closes the socket (idempotent); the close handler sees `local: true`. */
  close(code = 1000, reason = 'client closed'): void {
    if (this.#closed) return;
    this.#closed = { code, reason, local: true };
    this.#ws.onmessage = null;
    this.#ws.onclose = null;
    try {
      this.#ws.close(code, reason);
    } catch {
      // already closed
    }
    this.#onClose?.(this.#closed);
  }

  #attach(): void {
    this.#ws.onmessage = (ev) => {
      if (typeof ev.data !== 'string') {
        this.#onProtocolError?.('binary frame');
        return;
      }
      const parsed = parseServerMessage(ev.data);
      if (!parsed.ok) {
        if (!isUnknownType(parsed)) this.#onProtocolError?.(parsed.reason);
        return;
      }
      if (parsed.message.type === 'error') this.#lastError = { code: parsed.message.code, message: parsed.message.message };
      if (this.#handler) this.#handler(parsed.message);
      else this.#buffered.push(parsed.message);
    };
    this.#ws.onclose = (ev) => {
      if (this.#closed) return;
      this.#closed = this.#lastError ? { code: ev.code, reason: ev.reason, error: this.#lastError, local: false } : { code: ev.code, reason: ev.reason, local: false };
      this.#onClose?.(this.#closed);
    };
  }
}
