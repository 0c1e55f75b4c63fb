/** Drives a TestClient's publisher: one VP8-like frame and one Opus-like packet every tick. */
import type { TestClient } from './TestClient.js';

export interface PumpOptions {
  readonly videoSsrc?: number;
  readonly audioSsrc?: number;
  readonly startSeq?: number;
  readonly intervalMs?: number;
  readonly audioLevel?: number;
}

export class MediaPump {
  readonly #client: TestClient;
  readonly #opts: PumpOptions;
  #timer: NodeJS.Timeout | undefined;
  /** Next sequence number (unwrapped; sent modulo 2^16). */
  seq: number;
  audioLevel: number;
  sent = 0;

  constructor(client: TestClient, opts: PumpOptions) {
    this.#client = client;
    this.#opts = opts;
    this.seq = opts.startSeq ?? 1000;
    this.audioLevel = opts.audioLevel ?? 127;
  }

  /** Sends one tick now. */
  tick(): void {
    const seq = this.seq++;
    if (this.#opts.videoSsrc) this.#client.sendVideo(seq, seq * 3000, this.#opts.videoSsrc);
    if (this.#opts.audioSsrc) this.#client.sendAudio(seq, seq * 960, this.#opts.audioSsrc, this.audioLevel);
    this.sent++;
  }

  /** Skips `n` sequence numbers (packets "lost" before the node). */
  skip(n: number): void {
    this.seq += n;
  }

  start(): this {
    this.#timer ??= setInterval(() => this.tick(), this.#opts.intervalMs ?? 10);
    return this;
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
  }
}
