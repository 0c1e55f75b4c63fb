/**
 * Selective forwarding of one RTP stream to one subscriber, without decoding. The
 * forwarder owns the subscriber-side identity of the stream: its SSRC, payload type and a
 * sequence-number / timestamp space that stays continuous when the source behind it
 * changes (another publisher is switched into the same subscriber slot, or the publisher
 * restarts its stream). The receiver therefore sees one uninterrupted stream.
 *
 * Rewriting happens in place on the packet Buffer (bytes 1–11) right before `sink.send`,
 * which copies synchronously; the caller restores the original header after the fan-out.
 */
import { seqDelta } from './RtpPacket.js';

/** Where rewritten packets go: the engine's outbound track. */
export interface PacketSink {
  send(packet: Buffer): boolean;
  /** False until the subscriber's transport is up; nothing is forwarded before. */
  readonly open: boolean;
}

/** Outcome of {@link Forwarder.forward}. */
export enum ForwardResult {
  Sent = 0,
  /** A new source is attached and its key frame has not arrived: ask the publisher for one. */
  AwaitingKeyFrame = 1,
  /** The subscriber's transport is not up yet. */
  NotOpen = 2,
  /** Older than the current epoch (reordered across a switch). */
  Stale = 3,
}

/** Identity of the outbound stream. */
export interface ForwarderOptions {
  readonly ssrc: number;
  readonly payloadType: number;
  readonly clockRate: number;
  /** Drop packets of a new source until its first key frame (video). */
  readonly waitForKeyFrame: boolean;
  readonly sink: PacketSink;
}

/** Consecutive packets older than the current epoch after which the source is re-based. */
const MAX_STALE_RUN = 64;

/** Per-subscriber SSRC / payload type / sequence / timestamp rewriting for one stream. */
export class Forwarder {
  readonly ssrc: number;
  readonly payloadType: number;
  readonly clockRate: number;
  readonly #waitForKeyFrame: boolean;
  readonly #sink: PacketSink;

  #sourceId: string | undefined;
  #rebase = true;
  #awaitingKeyFrame: boolean;
  #started = false;
  #seqOffset = 0;
  #tsOffset = 0;
  // Extended (unwrapped) input sequence numbers of the current epoch.
  #highestIn = 0;
  #highestIn16 = 0;
  #epochFirstIn = 0;
  #staleRun = 0;
  #lastOutSeq = 0;
  #lastOutTs = 0;
  #lastSentAtMs = 0;
  #dropForTesting: ((outSeq: number) => boolean) | undefined;

  /** Packets handed to the sink (first transmissions). */
  packetsSent = 0;
  /** Bytes handed to the sink (first transmissions). */
  bytesSent = 0;
  /** Packets not forwarded: waiting for a key frame, or older than the current epoch. */
  packetsDropped = 0;
  /** Packets resent in answer to NACKs. */
  packetsRetransmitted = 0;

  constructor(options: ForwarderOptions) {
    this.ssrc = options.ssrc >>> 0;
    this.payloadType = options.payloadType & 0x7f;
    this.clockRate = options.clockRate;
    this.#waitForKeyFrame = options.waitForKeyFrame;
    this.#awaitingKeyFrame = options.waitForKeyFrame;
    this.#sink = options.sink;
  }

  /** Id of the stream currently forwarded, if any. */
  get sourceId(): string | undefined {
    return this.#sourceId;
  }

  /** True while a new source is attached but its key frame has not arrived. */
  get awaitingKeyFrame(): boolean {
    return this.#sourceId !== undefined && this.#rebase && this.#awaitingKeyFrame;
  }

  /** The last sequence number sent to the subscriber (for tests and stats). */
  get lastOutSeq(): number {
    return this.#lastOutSeq;
  }

  /**
   * Points the forwarder at another source (or none). The next accepted packet starts a new
   * epoch continuing this forwarder's sequence and timestamp space.
   */
  setSource(sourceId: string | undefined): void {
    if (sourceId === this.#sourceId) return;
    this.#sourceId = sourceId;
    this.#rebase = true;
    this.#awaitingKeyFrame = this.#waitForKeyFrame;
  }

  /**
   * Rewrites `packet` in place for this subscriber and sends it. The caller restores the
   * header afterwards (bytes 1–11), so one received Buffer serves every subscriber.
   */
  forward(packet: Buffer, isKeyFrame: boolean, nowMs: number): ForwardResult {
    if (!this.#sink.open) {
      this.packetsDropped++;
      return ForwardResult.NotOpen;
    }
    const inSeq = (packet[2]! << 8) | packet[3]!;
    const inTs = packet.readUInt32BE(4);
    let ext: number;
    if (this.#rebase) {
      if (this.#awaitingKeyFrame && !isKeyFrame) {
        this.packetsDropped++;
        return ForwardResult.AwaitingKeyFrame;
      }
      this.#startEpoch(inSeq, inTs, nowMs);
      ext = 0;
    } else {
      ext = this.#highestIn + seqDelta(this.#highestIn16, inSeq);
      if (ext < this.#epochFirstIn) {
        this.packetsDropped++;
        if (++this.#staleRun > MAX_STALE_RUN) {
          // The source restarted its numbering: continue from here rather than drop forever.
          this.#rebase = true;
          this.#awaitingKeyFrame = false;
        }
        return ForwardResult.Stale;
      }
    }
    this.#staleRun = 0;
    const outSeq = (inSeq + this.#seqOffset) & 0xffff;
    const outTs = (inTs + this.#tsOffset) >>> 0;
    if (ext > this.#highestIn) {
      this.#highestIn = ext;
      this.#highestIn16 = inSeq;
      this.#lastOutSeq = outSeq;
      this.#lastOutTs = outTs;
    }
    this.#started = true;
    this.#lastSentAtMs = nowMs;
    if (this.#dropForTesting?.(outSeq)) return ForwardResult.Sent;
    this.#rewrite(packet, outSeq, outTs);
    this.packetsSent++;
    this.bytesSent += packet.length;
    this.#sink.send(packet);
    return ForwardResult.Sent;
  }

  /**
   * Maps a sequence number a subscriber NACKed back to the source's sequence number, if it
   * belongs to the current epoch and was already forwarded.
   */
  sourceSeqFor(outSeq: number): number | undefined {
    if (this.#rebase || !this.#started) return undefined;
    const inSeq = (outSeq - this.#seqOffset) & 0xffff;
    const ext = this.#highestIn + seqDelta(this.#highestIn16, inSeq);
    if (ext < this.#epochFirstIn || ext > this.#highestIn) return undefined;
    return inSeq;
  }

  /** Resends a packet of the current source (as received from the publisher) to this subscriber. */
  retransmit(original: Buffer): boolean {
    const inSeq = (original[2]! << 8) | original[3]!;
    const copy = Buffer.from(original);
    this.#rewrite(copy, (inSeq + this.#seqOffset) & 0xffff, (original.readUInt32BE(4) + this.#tsOffset) >>> 0);
    this.packetsRetransmitted++;
    return this.#sink.send(copy);
  }

  /** Makes the forwarder pretend that packets matching `predicate` were lost on the way. */
  dropForTesting(predicate: ((outSeq: number) => boolean) | undefined): void {
    this.#dropForTesting = predicate;
  }

  #startEpoch(inSeq: number, inTs: number, nowMs: number): void {
    if (!this.#started) {
      // The first source keeps its own numbering: easier to follow in captures.
      this.#seqOffset = 0;
      this.#tsOffset = 0;
    } else {
      const nextSeq = (this.#lastOutSeq + 1) & 0xffff;
      this.#seqOffset = (nextSeq - inSeq) & 0xffff;
      const elapsed = Math.max(1, Math.round(((nowMs - this.#lastSentAtMs) * this.clockRate) / 1000));
      this.#tsOffset = (this.#lastOutTs + elapsed - inTs) >>> 0;
    }
    this.#rebase = false;
    this.#awaitingKeyFrame = false;
    // -1 so that the epoch's first packet (extended number 0) becomes the highest.
    this.#highestIn = -1;
    this.#highestIn16 = inSeq;
    this.#epochFirstIn = 0;
  }

  #rewrite(packet: Buffer, outSeq: number, outTs: number): void {
    packet[1] = (packet[1]! & 0x80) | this.payloadType;
    packet[2] = outSeq >> 8;
    packet[3] = outSeq & 0xff;
    packet.writeUInt32BE(outTs, 4);
    packet.writeUInt32BE(this.ssrc, 8);
  }
}
