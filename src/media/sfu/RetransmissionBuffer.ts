/**
 * A per-stream ring buffer of recently received RTP packets, indexed by sequence number, to
 * answer NACKs from subscribers without asking the publisher. It keeps the packets as the
 * publisher sent them (one copy per published stream, not per subscriber); the forwarder
 * rewrites a copy for the subscriber that asked.
 */

/** Sizing of one buffer. */
export interface RetransmissionBufferOptions {
  /** Slots; rounded up to a power of two. 512 holds ~3 s of 150 packets/s video. */
  readonly capacity?: number;
  /** Packets older than this are not resent: the receiver's jitter buffer gave up on them. */
  readonly maxAgeMs?: number;
}

/** Ring buffer of RTP packets keyed by 16-bit sequence number. */
export class RetransmissionBuffer {
  readonly #mask: number;
  readonly #maxAgeMs: number;
  readonly #packets: Array<Buffer | undefined>;
  readonly #seqs: Int32Array;
  readonly #times: Float64Array;

  constructor(options: RetransmissionBufferOptions = {}) {
    const wanted = Math.max(16, Math.min(1 << 15, options.capacity ?? 512));
    const size = 1 << Math.ceil(Math.log2(wanted));
    this.#mask = size - 1;
    this.#maxAgeMs = options.maxAgeMs ?? 2_000;
    this.#packets = new Array<Buffer | undefined>(size).fill(undefined);
    this.#seqs = new Int32Array(size).fill(-1);
    this.#times = new Float64Array(size);
  }

  /** Number of slots. */
  get capacity(): number {
    return this.#mask + 1;
  }

  /** Keeps `packet` (not copied: the caller must not change it afterwards). */
  store(seq: number, packet: Buffer, nowMs: number): void {
    const i = seq & this.#mask;
    this.#packets[i] = packet;
    this.#seqs[i] = seq & 0xffff;
    this.#times[i] = nowMs;
  }

  /** The packet with `seq`, if still held and young enough. */
  get(seq: number, nowMs: number): Buffer | undefined {
    const i = seq & this.#mask;
    if (this.#seqs[i] !== (seq & 0xffff)) return undefined;
    if (nowMs - this.#times[i]! > this.#maxAgeMs) return undefined;
    return this.#packets[i];
  }

  /** Forgets everything (the stream restarted or closed). */
  clear(): void {
    this.#packets.fill(undefined);
    this.#seqs.fill(-1);
  }
}
