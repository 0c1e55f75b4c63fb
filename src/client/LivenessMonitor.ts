/**
 * Notices that a joined session with a node stopped working while its WebSocket still
 * looks open: the node no longer answers `ping` (a stopped process keeps its sockets open
 * for the kernel to accept into), or a peer connection failed or stayed `disconnected`.
 * A closed socket needs no monitor: its close event is seen at once.
 *
 * All time comes from an injected {@link Scheduler}, so tests drive it with a manual clock.
 */
import type { ReconnectReason } from './ReconnectPolicy.js';
import type { Scheduler, TimerHandle } from './scheduler.js';

/** Settings of {@link LivenessMonitor}. */
export interface LivenessOptions {
  /** How often a `ping` is sent. Default 500 ms. */
  readonly pingIntervalMs?: number;
  /** A `ping` unanswered this long means the node is hung. Default 2500 ms (so a hang is seen within 3 s). */
  readonly pongTimeoutMs?: number;
  /** How long a peer connection may stay `disconnected` before it counts as lost. Default 1500 ms. */
  readonly disconnectedGraceMs?: number;
  /**
   * How long a `failed` subscribe connection waits for the node's rebuild (a new `offer`
   * session) before it counts as lost. The node rebuilds a failed subscribe connection by
   * itself (libdatachannel's offerer race fails a few handshakes). Default 3000 ms.
   */
  readonly subscribeRebuildGraceMs?: number;
}

/** Defaults of {@link LivenessOptions}. */
export const LIVENESS_DEFAULTS = {
  pingIntervalMs: 500,
  pongTimeoutMs: 2_500,
  disconnectedGraceMs: 1_500,
  subscribeRebuildGraceMs: 3_000,
} as const;

/** Which of the two peer connections. */
export type PeerRole = 'publish' | 'subscribe';

/** What the monitor reports once, when the session is lost. */
export interface LivenessLoss {
  readonly reason: Extract<ReconnectReason, 'node-unresponsive' | 'media-failed'>;
  readonly message: string;
}

/** Pings a node and watches both peer connections; reports the first loss once. */
export class LivenessMonitor {
  readonly #scheduler: Scheduler;
  readonly #sendPing: (id: number) => boolean;
  readonly #onLost: (loss: LivenessLoss) => void;
  readonly #intervalMs: number;
  readonly #timeoutMs: number;
  readonly #graceMs: number;
  readonly #rebuildGraceMs: number;
  /** Unanswered pings: id → when sent. Ids count up, so the first entry is the oldest. */
  readonly #outstanding = new Map<number, number>();
  readonly #graceTimers = new Map<PeerRole, TimerHandle>();
  #nextId = 0;
  #tick: TimerHandle | undefined;
  #deadline: TimerHandle | undefined;
  #running = false;
  #lost = false;

  /**
   * @param sendPing sends `{type:'ping', id}`; false when the socket is closed (the close
   *   event reports that, not the monitor).
   * @param onLost called at most once.
   */
  constructor(scheduler: Scheduler, sendPing: (id: number) => boolean, onLost: (loss: LivenessLoss) => void, options: LivenessOptions = {}) {
    this.#scheduler = scheduler;
    this.#sendPing = sendPing;
    this.#onLost = onLost;
    this.#intervalMs = Math.max(1, options.pingIntervalMs ?? LIVENESS_DEFAULTS.pingIntervalMs);
    this.#timeoutMs = Math.max(1, options.pongTimeoutMs ?? LIVENESS_DEFAULTS.pongTimeoutMs);
    this.#graceMs = Math.max(0, options.disconnectedGraceMs ?? LIVENESS_DEFAULTS.disconnectedGraceMs);
    this.#rebuildGraceMs = Math.max(0, options.subscribeRebuildGraceMs ?? LIVENESS_DEFAULTS.subscribeRebuildGraceMs);
  }

  /** Starts pinging (call after `joined`: the node refuses `ping` before it). */
  start(): void {
    if (this.#running || this.#lost) return;
    this.#running = true;
    this.#ping();
  }

  /** A `pong` arrived: that ping and every earlier one are answered. */
  pong(id: number): void {
    if (!this.#running) return;
    for (const sent of [...this.#outstanding.keys()]) if (sent <= id) this.#outstanding.delete(sent);
    this.#armDeadline();
  }

  /**
   * A peer connection changed state. A `failed` publish connection is a loss at once; a
   * `failed` subscribe connection after {@link LivenessOptions.subscribeRebuildGraceMs} unless
   * the node offers a new one meanwhile ({@link forgetPeer}); `disconnected` after the grace period.
   */
  peerState(role: PeerRole, state: string): void {
    if (this.#lost) return;
    if (state === 'failed' && role === 'publish') {
      this.#report({ reason: 'media-failed', message: `The ${role} connection to the node failed (ICE/DTLS)` });
      return;
    }
    const timer = this.#graceTimers.get(role);
    if (state === 'disconnected' || state === 'failed') {
      const failed = state === 'failed';
      if (timer !== undefined && !failed) return;
      if (timer !== undefined) this.#scheduler.clearTimeout(timer);
      const waitMs = failed ? this.#rebuildGraceMs : this.#graceMs;
      this.#graceTimers.set(
        role,
        this.#scheduler.setTimeout(() => {
          this.#graceTimers.delete(role);
          this.#report({
            reason: 'media-failed',
            message: failed ? `The ${role} connection to the node failed (ICE/DTLS) and was not rebuilt within ${waitMs} ms` : `The ${role} connection to the node stayed disconnected for ${waitMs} ms`,
          });
        }, waitMs),
      );
      return;
    }
    // connected, connecting, new, closed: not (or no longer) a disconnection.
    if (timer !== undefined) {
      this.#scheduler.clearTimeout(timer);
      this.#graceTimers.delete(role);
    }
  }

  /** Forgets a peer connection that was replaced (a subscribe-connection rebuild). */
  forgetPeer(role: PeerRole): void {
    this.peerState(role, 'new');
  }

  /** Stops every timer; nothing is reported afterwards. Idempotent. */
  stop(): void {
    this.#running = false;
    this.#lost = true;
    if (this.#tick !== undefined) this.#scheduler.clearTimeout(this.#tick);
    if (this.#deadline !== undefined) this.#scheduler.clearTimeout(this.#deadline);
    for (const t of this.#graceTimers.values()) this.#scheduler.clearTimeout(t);
    this.#graceTimers.clear();
    this.#outstanding.clear();
    this.#tick = this.#deadline = undefined;
  }

  /** Pings not answered yet (for diagnostics and tests). */
  get outstanding(): number {
    return this.#outstanding.size;
  }

  #ping(): void {
    this.#tick = undefined;
    if (!this.#running) return;
    const id = this.#nextId++;
    if (this.#sendPing(id)) {
      this.#outstanding.set(id, this.#scheduler.now());
      this.#armDeadline();
    }
    this.#tick = this.#scheduler.setTimeout(() => this.#ping(), this.#intervalMs);
  }

  /** Keeps one timer at the deadline of the oldest unanswered ping. */
  #armDeadline(): void {
    if (this.#deadline !== undefined) this.#scheduler.clearTimeout(this.#deadline);
    this.#deadline = undefined;
    const oldest = this.#outstanding.values().next();
    if (oldest.done) return;
    const wait = Math.max(0, oldest.value + this.#timeoutMs - this.#scheduler.now());
    this.#deadline = this.#scheduler.setTimeout(() => {
      this.#deadline = undefined;
      this.#report({ reason: 'node-unresponsive', message: `The node did not answer a ping within ${this.#timeoutMs} ms` });
    }, wait);
  }

  #report(loss: LivenessLoss): void {
    if (this.#lost) return;
    this.stop();
    this.#onLost(loss);
  }
}
