/**
 * One stream a participant publishes, as the SFU holds it: the engine's inbound track, a
 * retransmission buffer, and the forwarders of the subscribers currently fed from it.
 * `#onPacket` is the forwarding hot path: per packet it reads the audio level, stores the
 * packet for NACKs, and rewrites/sends it once per subscriber, allocating nothing.
 */
import type { InboundTrack, MediaKind } from '../engine/MediaEngine.js';
import { ForwardResult, type Forwarder } from './Forwarder.js';
import { RetransmissionBuffer } from './RetransmissionBuffer.js';
import { isVp8KeyFrame, readAudioLevel } from './RtpPacket.js';

/** Node-wide packet counters, read by the load monitor. */
export interface PacketCounters {
  packetsIn: number;
  packetsOut: number;
}

/** Says whether the node is behind and should shed video. */
export interface OverloadSignal {
  readonly overloaded: boolean;
}

/** Everything a published track needs from its room and node. */
export interface PublishedTrackOptions {
  readonly id: string;
  readonly participantId: string;
  readonly source: InboundTrack;
  readonly counters: PacketCounters;
  readonly overload: OverloadSignal;
  /** Minimum time between two key-frame requests sent to the publisher. */
  readonly keyFrameRequestIntervalMs: number;
  /** Retransmission buffer slots (video; audio uses a quarter). */
  readonly retransmissionSlots: number;
  readonly retransmissionMaxAgeMs: number;
  /** Receives RFC 6464 levels of an audio track. */
  readonly onAudioLevel?: ((level: number) => void) | undefined;
  /** The node this track is relayed from (cascading); undefined for a local participant's track. */
  readonly relayedFrom?: string | undefined;
  /** Told when the number of forwarders fed from this track changes (a relay subscribes upstream on 0 → 1). */
  readonly onSubscriberCount?: ((count: number) => void) | undefined;
}

/** Public description of a published track, as sent to clients. */
export interface TrackDescriptor {
  readonly trackId: string;
  readonly participantId: string;
  readonly kind: MediaKind;
}

/** A published stream and its fan-out. */
export class PublishedTrack {
  readonly id: string;
  readonly participantId: string;
  readonly kind: MediaKind;
  readonly codec: string;
  readonly clockRate: number;
  /** The node this track is relayed from; undefined when a local participant publishes it. */
  readonly relayedFrom: string | undefined;
  readonly #source: InboundTrack;
  readonly #payloadType: number;
  readonly #buffer: RetransmissionBuffer;
  readonly #forwarders = new Set<Forwarder>();
  readonly #counters: PacketCounters;
  readonly #overload: OverloadSignal;
  readonly #keyFrameIntervalMs: number;
  readonly #audioLevelId: number;
  readonly #onAudioLevel: ((level: number) => void) | undefined;
  readonly #onSubscriberCount: ((count: number) => void) | undefined;
  readonly #isVp8: boolean;
  readonly #header = Buffer.alloc(12);
  #lastKeyFrameRequestAt = Number.NEGATIVE_INFINITY;
  /**
   * Video was shed and no key frame has been asked for since: the subscribers hold a hole
   * that no retransmission will fill, and decode nothing more until the next key frame.
   */
  #keyFrameOwed = false;
  #closed = false;

  /** RTP packets received from the publisher. */
  packetsReceived = 0;
  bytesReceived = 0;
  /** Video packets dropped unforwarded while the node was overloaded. */
  packetsShed = 0;
  /** Key-frame requests sent to the publisher. */
  keyFrameRequests = 0;
  /** NACKed packets of a local track this node no longer (or never) held: never resent. */
  nackMisses = 0;

  constructor(options: PublishedTrackOptions) {
    this.id = options.id;
    this.participantId = options.participantId;
    this.#source = options.source;
    const info = options.source.info;
    this.kind = info.kind;
    this.codec = info.codec;
    this.clockRate = info.clockRate;
    this.#payloadType = info.payloadType;
    this.#isVp8 = info.codec.toLowerCase() === 'vp8';
    this.#counters = options.counters;
    this.#overload = options.overload;
    this.#keyFrameIntervalMs = options.keyFrameRequestIntervalMs;
    this.#audioLevelId = info.audioLevelExtensionId ?? 0;
    this.#onAudioLevel = options.onAudioLevel;
    this.relayedFrom = options.relayedFrom;
    this.#onSubscriberCount = options.onSubscriberCount;
    this.#buffer = new RetransmissionBuffer({
      capacity: info.kind === 'video' ? options.retransmissionSlots : Math.max(16, options.retransmissionSlots >> 2),
      maxAgeMs: options.retransmissionMaxAgeMs,
    });
    options.source.onPacket((packet) => this.#onPacket(packet));
  }

  /** The wire description. */
  get descriptor(): TrackDescriptor {
    return { trackId: this.id, participantId: this.participantId, kind: this.kind };
  }

  /** Header extension id of the RFC 6464 audio level the publisher sends (0: none). */
  get audioLevelExtensionId(): number {
    return this.#audioLevelId;
  }

  /** Subscribers currently fed from this track. */
  get subscriberCount(): number {
    return this.#forwarders.size;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Starts feeding a subscriber's forwarder (which then waits for a key frame, for video). */
  attach(forwarder: Forwarder): void {
    if (this.#closed) return;
    const before = this.#forwarders.size;
    this.#forwarders.add(forwarder);
    forwarder.setSource(this.id);
    if (this.#forwarders.size !== before) this.#onSubscriberCount?.(this.#forwarders.size);
    if (forwarder.awaitingKeyFrame) this.requestKeyFrame();
  }

  /** Stops feeding a forwarder. */
  detach(forwarder: Forwarder): void {
    if (!this.#forwarders.delete(forwarder)) return;
    if (forwarder.sourceId === this.id) forwarder.setSource(undefined);
    if (!this.#closed) this.#onSubscriberCount?.(this.#forwarders.size);
  }

  /** Asks the publisher for a key frame, at most once per `keyFrameRequestIntervalMs`. */
  requestKeyFrame(): boolean {
    if (this.#closed || this.kind !== 'video') return false;
    const now = performance.now();
    if (now - this.#lastKeyFrameRequestAt < this.#keyFrameIntervalMs) return false;
    if (!this.#source.requestKeyFrame()) return false; // not connected yet: retried on the next packet
    this.#lastKeyFrameRequestAt = now;
    this.keyFrameRequests++;
    return true;
  }

  /**
   * Resends what the buffer still holds of `outSeqs` (a subscriber's NACK). Returns how many.
   * What the buffer misses of a relayed track is asked of the node it comes from; the resent
   * packet then reaches the subscriber as a late packet of the stream. What it misses of a
   * local track (shed under overload, or lost on the way from the publisher: the node does
   * not NACK publishers) will never come: the subscriber cannot decode past the hole, so
   * the publisher is asked for a key frame at once rather than after the browser gives up
   * NACKing (about 2 s in Chrome).
   */
  answerNack(forwarder: Forwarder, outSeqs: readonly number[]): number {
    if (!this.#forwarders.has(forwarder)) return 0;
    const now = performance.now();
    let resent = 0;
    let lost = 0;
    let missing: number[] | undefined;
    for (const outSeq of outSeqs) {
      const inSeq = forwarder.sourceSeqFor(outSeq);
      if (inSeq === undefined) continue;
      const packet = this.#buffer.get(inSeq, now);
      if (packet && forwarder.retransmit(packet)) {
        resent++;
        this.#counters.packetsOut++;
      } else if (!packet) {
        if (this.#source.requestRetransmission) (missing ??= []).push(inSeq);
        else lost++;
      }
    }
    if (missing) this.#source.requestRetransmission?.(missing);
    if (lost > 0) {
      this.nackMisses += lost;
      // Held back by the request interval: the browser NACKs again within ~100 ms.
      this.requestKeyFrame();
    }
    return resent;
  }

  /** Detaches every forwarder and drops buffered packets. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const f of this.#forwarders) if (f.sourceId === this.id) f.setSource(undefined);
    this.#forwarders.clear();
    this.#buffer.clear();
  }

  #onPacket(packet: Buffer): void {
    if (this.#closed || packet.length < 12 || packet[0]! >> 6 !== 2) return;
    // RTCP (sender reports) shares the track; only the negotiated payload type is forwarded.
    if ((packet[1]! & 0x7f) !== this.#payloadType) return;
    this.packetsReceived++;
    this.bytesReceived += packet.length;
    this.#counters.packetsIn++;
    if (this.#audioLevelId !== 0 && this.#onAudioLevel) {
      const level = readAudioLevel(packet, this.#audioLevelId);
      if (level >= 0) this.#onAudioLevel(level);
    }
    if (this.kind === 'video' && this.#overload.overloaded) {
      // Behind on the event loop: the native queue grows without bound unless we drain it
      // fast. Video goes first; audio is cheap and matters most. Shed packets are not kept
      // for NACKs, so the subscribers (and, for a relayed track, the nodes downstream) need
      // a key frame once forwarding resumes.
      this.packetsShed++;
      this.#keyFrameOwed = true;
      return;
    }
    const now = performance.now();
    this.#buffer.store((packet[2]! << 8) | packet[3]!, packet, now);
    if (this.#forwarders.size === 0) return;
    const keyFrame = this.#isVp8 && isVp8KeyFrame(packet);
    packet.copy(this.#header, 0, 0, 12);
    let wantKeyFrame = false;
    for (const forwarder of this.#forwarders) {
      const result = forwarder.forward(packet, keyFrame, now);
      if (result === ForwardResult.Sent) this.#counters.packetsOut++;
      else if (result === ForwardResult.AwaitingKeyFrame) wantKeyFrame = true;
    }
    this.#header.copy(packet, 0, 0, 12);
    // Owed: asked for on every packet until one goes out (the request interval may hold it back).
    if ((wantKeyFrame || this.#keyFrameOwed) && this.requestKeyFrame()) this.#keyFrameOwed = false;
  }
}
