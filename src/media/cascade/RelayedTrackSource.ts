/**
 * The receiving end of one relayed track, as the room sees it: an InboundTrack whose packets
 * come from the relay's media connection. It exists from the moment the other node announces
 * the track (so local clients learn of it and can subscribe) until the track ends there or
 * the relay closes; the native track is bound once the other node has sent it on an m-line.
 * Key-frame requests go out as RTCP PLI on that m-line; retransmission requests go to the
 * other node as `nack` messages.
 */
import type { InboundTrack, InboundTrackInfo } from '../engine/MediaEngine.js';
import type { RelayTrack } from './relayProtocol.js';
import { seqDelta } from '../sfu/RtpPacket.js';

/** Codec facts of relayed media: relays carry what subscribers receive (VP8 PT 96, Opus PT 111). */
export const RELAY_CODECS = {
  video: { codec: 'VP8', payloadType: 96, clockRate: 90_000 },
  audio: { codec: 'opus', payloadType: 111, clockRate: 48_000 },
} as const;

/** An InboundTrack fed by a relay. */
export class RelayedTrackSource implements InboundTrack {
  readonly info: InboundTrackInfo;
  readonly #askResend: (seqs: readonly number[]) => void;
  #native: InboundTrack | undefined;
  #listener: ((packet: Buffer) => void) | undefined;
  #closed = false;
  #closeListeners: Array<() => void> = [];

  constructor(track: RelayTrack, askResend: (seqs: readonly number[]) => void) {
    const codec = RELAY_CODECS[track.kind];
    this.info = {
      mid: track.trackId,
      kind: track.kind,
      ssrc: 0,
      payloadType: codec.payloadType,
      codec: codec.codec,
      clockRate: codec.clockRate,
      audioLevelExtensionId: track.audioLevelId > 0 ? track.audioLevelId : undefined,
      streamId: undefined,
      remoteTrackId: track.trackId,
    };
    this.#askResend = askResend;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** True once media for it can arrive (its m-line is negotiated). */
  get bound(): boolean {
    return this.#native !== undefined && !this.#native.closed;
  }

  /**
   * Takes packets from `native`, the relay connection's track of this m-line. When the
   * m-line carried another track before (a reused send slot), `fromSeq` is the relay
   * sequence number of this track's first packet: older packets, the last track's still on
   * the way, are dropped until it arrives.
   */
  bind(native: InboundTrack, fromSeq?: number): void {
    if (this.#closed) return;
    this.#native = native;
    let guard = fromSeq;
    native.onPacket((packet) => {
      if (this.#native !== native || packet.length < 12) return;
      if (guard !== undefined) {
        if (seqDelta(guard, (packet[2]! << 8) | packet[3]!) < 0) return;
        guard = undefined;
      }
      this.#listener?.(packet);
    });
  }

  /** The m-line of `native` now carries another track: stop using it (key-frame requests too). */
  unbind(native: InboundTrack): void {
    if (this.#native === native) this.#native = undefined;
  }

  onPacket(listener: (packet: Buffer) => void): void {
    this.#listener = listener;
  }

  requestKeyFrame(): boolean {
    return !this.#closed && this.#native !== undefined && this.#native.requestKeyFrame();
  }

  requestRetransmission(seqs: readonly number[]): void {
    if (!this.#closed && seqs.length > 0) this.#askResend(seqs);
  }

  onClose(listener: () => void): void {
    if (this.#closed) listener();
    else this.#closeListeners.push(listener);
  }

  /** The track ended (unpublished on its node, or the relay closed). Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#native = undefined;
    this.#listener = undefined;
    const listeners = this.#closeListeners;
    this.#closeListeners = [];
    for (const l of listeners) {
      try {
        l();
      } catch {
        // listeners must not break teardown
      }
    }
  }
}
