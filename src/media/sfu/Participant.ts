/**
 * A participant of a room, as the media plane sees it: its publish session (client offers,
 * node answers) and its subscribe session (node offers, client answers), and the
 * subscription *slots* on the subscribe session.
 *
 * A slot is one outbound m-line with its own SSRC and a Forwarder. A slot carries one
 * published track at a time; when a subscription ends, the slot goes idle and the next
 * track of the same kind reuses it — a source switch inside the Forwarder, with sequence
 * numbers and timestamps continuing — instead of a new m-line. Only when every slot of a
 * kind is busy does the node add one and renegotiate. This bounds SDP growth in long
 * meetings and spares the browser transceiver churn. Which publisher a slot carries is
 * told to the client in `offer` and `subscriptions` messages (by mid).
 *
 * The subscribe session is the one place where the node is the offerer, and libdatachannel
 * 0.24 has an offerer-side race (the answer's ICE credentials are live before its DTLS
 * fingerprint is committed; a fast peer's handshake in that window fails). When the
 * subscribe session fails — that race, or a real network failure — the node builds a new
 * one with the same slots and offers again under a new `session` number (at most
 * `MAX_SUBSCRIBER_RESTARTS` per 30 s; then the participant is dropped).
 */
import { randomInt } from 'node:crypto';
import type { Logger } from '../../lib/logger.js';
import { MeridianError } from '../../contracts/errors.js';
import type { InboundTrack, MediaEngine, MediaKind, OutboundTrack, PeerSession, PeerState } from '../engine/MediaEngine.js';
import { TypedEmitter } from '../../lib/TypedEmitter.js';
import { Forwarder } from './Forwarder.js';
import type { PublishedTrack } from './PublishedTrack.js';
import { parseRtcpFeedback } from './Rtcp.js';

/** Codec and payload type of each kind on subscribe sessions. */
const SUBSCRIBE_CODECS: Record<MediaKind, { codec: string; payloadType: number; clockRate: number }> = {
  video: { codec: 'VP8', payloadType: 96, clockRate: 90_000 },
  audio: { codec: 'opus', payloadType: 111, clockRate: 48_000 },
};

/** What a slot carries, as told to the client. */
export interface SlotDescriptor {
  readonly mid: string;
  readonly kind: MediaKind;
  /** Publisher and track in the slot, or null while idle. */
  readonly participantId: string | null;
  readonly trackId: string | null;
}

/** Events of a participant. */
export interface ParticipantEvents {
  /** The publish session received a track. */
  trackReceived: [track: InboundTrack];
  /** The subscribe session has a new offer for the client (`session` changes on restart). */
  subscriberOffer: [sdp: string, slots: SlotDescriptor[], session: number];
  /** Slot assignments changed without renegotiation. */
  slotsChanged: [slots: SlotDescriptor[]];
  /** A peer connection failed or closed under us. */
  transportLost: [which: 'publish' | 'subscribe', state: PeerState];
}

/** Subscribe-session restarts allowed within {@link RESTART_WINDOW_MS}. */
const MAX_SUBSCRIBER_RESTARTS = 3;
const RESTART_WINDOW_MS = 30_000;

interface Slot {
  readonly mid: string;
  readonly kind: MediaKind;
  readonly outbound: OutboundTrack;
  readonly forwarder: Forwarder;
  track: PublishedTrack | undefined;
  negotiated: boolean;
}

/** Construction options. */
export interface ParticipantOptions {
  readonly id: string;
  readonly name: string;
  readonly meetingId: string;
  readonly engine: MediaEngine;
  readonly logger: Logger;
}

/** One participant's sessions, subscriptions and slots. */
export class Participant extends TypedEmitter<ParticipantEvents> {
  readonly id: string;
  readonly name: string;
  readonly meetingId: string;
  readonly #engine: MediaEngine;
  readonly #logger: Logger;
  readonly #slots: Slot[] = [];
  readonly #ssrcs = new Set<number>();
  #publisher: PeerSession | undefined;
  #subscriber: PeerSession | undefined;
  #wanted: '*' | ReadonlySet<string> = '*';
  #subscriberGeneration = 0;
  #restartTimes: number[] = [];
  #offering = false;
  #offerAgain = false;
  #flushQueued = false;
  #slotsDirty = false;
  #closed = false;

  constructor(options: ParticipantOptions) {
    super();
    this.id = options.id;
    this.name = options.name;
    this.meetingId = options.meetingId;
    this.#engine = options.engine;
    this.#logger = options.logger;
    this.setListenerErrorHandler((err, event) => this.#logger.error({ err, event }, 'participant listener failed'));
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Applies the client's offer on the publish session; resolves with the node's answer. */
  async handlePublishOffer(sdp: string): Promise<string> {
    this.#assertOpen();
    if (!this.#publisher) {
      const peer = this.#engine.createPeer({ label: `${this.meetingId}/${this.id}/pub` });
      peer.onTrack((track) => this.emit('trackReceived', track));
      peer.onStateChange((state) => this.#onPublisherState(state));
      this.#publisher = peer;
    }
    return this.#publisher.acceptOffer(sdp);
  }

  /**
   * Applies the client's answer to the last subscribe offer. An answer for an older
   * `session` (in flight across a restart) is ignored.
   */
  handleSubscribeAnswer(sdp: string, session?: number): void {
    this.#assertOpen();
    if (session !== undefined && session !== this.#subscriberGeneration) return;
    const subscriber = this.#subscriber;
    if (!subscriber || !this.#offering) throw new MeridianError('VALIDATION_FAILED', 'No subscribe offer is waiting for an answer');
    try {
      subscriber.acceptAnswer(sdp);
    } catch (err) {
      // The transport died while the answer went in (see the module comment): start over
      // rather than blame the client.
      if (subscriber.state === 'closed' || subscriber.state === 'failed') {
        this.#restartSubscriber('the subscribe transport failed while applying the answer');
        return;
      }
      throw err;
    }
    this.#offering = false;
    if (this.#offerAgain) {
      this.#offerAgain = false;
      this.#queueFlush();
    }
  }

  /** True when this participant wants to receive `publisherId`'s tracks. */
  wants(publisherId: string): boolean {
    return publisherId !== this.id && (this.#wanted === '*' || this.#wanted.has(publisherId));
  }

  /** Replaces the set of publishers to receive (`'*'`: everyone). */
  setWanted(publisherIds: '*' | readonly string[]): void {
    this.#wanted = publisherIds === '*' ? '*' : new Set(publisherIds);
  }

  /** Ids of tracks currently in a slot. */
  assignedTrackIds(): Set<string> {
    const ids = new Set<string>();
    for (const slot of this.#slots) if (slot.track) ids.add(slot.track.id);
    return ids;
  }

  /** Starts receiving `track` in an idle slot of its kind, or in a new one. */
  assign(track: PublishedTrack): void {
    if (this.#closed || track.closed || this.#slots.some((s) => s.track === track)) return;
    const slot = this.#slots.find((s) => !s.track && s.kind === track.kind) ?? this.#addSlot(track.kind);
    slot.track = track;
    track.attach(slot.forwarder);
    this.#slotsDirty = true;
    this.#queueFlush();
  }

  /** Stops receiving `track`; its slot goes idle. */
  release(track: PublishedTrack): void {
    const slot = this.#slots.find((s) => s.track === track);
    if (!slot) return;
    track.detach(slot.forwarder);
    slot.track = undefined;
    this.#slotsDirty = true;
    this.#queueFlush();
  }

  /** The client-facing view of the slots. */
  slots(): SlotDescriptor[] {
    return this.#slots.map((s) => ({
      mid: s.mid,
      kind: s.kind,
      participantId: s.track?.participantId ?? null,
      trackId: s.track?.id ?? null,
    }));
  }

  /** The forwarder of the slot carrying `trackId` (tests use it to simulate loss). */
  forwarderForTesting(trackId: string): Forwarder | undefined {
    return this.#slots.find((s) => s.track?.id === trackId)?.forwarder;
  }

  /** Fails the subscribe session as a dead transport would (the node then rebuilds it). */
  failSubscribeSessionForTesting(): void {
    this.#subscriber?.close();
  }

  /** Closes both sessions and detaches every slot. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const slot of this.#slots) {
      slot.track?.detach(slot.forwarder);
      slot.track = undefined;
    }
    this.#publisher?.close();
    this.#subscriber?.close();
    this.#slots.length = 0;
    this.removeAllListeners();
  }

  /** The current subscribe session number (1 for the first). */
  get subscribeSession(): number {
    return this.#subscriberGeneration;
  }

  #ensureSubscriber(): PeerSession {
    if (this.#subscriber) return this.#subscriber;
    this.#subscriberGeneration++;
    const peer = this.#engine.createPeer({ label: `${this.meetingId}/${this.id}/sub${this.#subscriberGeneration}` });
    peer.onStateChange((state) => {
      if (this.#subscriber !== peer || this.#closed) return;
      if (state === 'failed' || state === 'closed') this.#restartSubscriber(`subscribe transport ${state}`);
    });
    this.#subscriber = peer;
    return peer;
  }

  /** Replaces the subscribe session, keeping every slot's assignment. */
  #restartSubscriber(reason: string): void {
    if (this.#closed) return;
    const now = performance.now();
    this.#restartTimes = this.#restartTimes.filter((t) => now - t < RESTART_WINDOW_MS);
    if (this.#restartTimes.length >= MAX_SUBSCRIBER_RESTARTS) {
      this.emit('transportLost', 'subscribe', 'failed');
      return;
    }
    this.#restartTimes.push(now);
    this.#logger.warn({ reason, session: this.#subscriberGeneration }, 'restarting the subscribe session');
    const old = this.#subscriber;
    this.#subscriber = undefined;
    const kept = this.#slots.map((s) => ({ kind: s.kind, track: s.track }));
    for (const slot of this.#slots) slot.track?.detach(slot.forwarder);
    this.#slots.length = 0;
    this.#ssrcs.clear();
    this.#offering = false;
    this.#offerAgain = false;
    old?.close();
    for (const { kind, track } of kept) {
      const slot = this.#addSlot(kind);
      if (track && !track.closed) {
        slot.track = track;
        track.attach(slot.forwarder);
      }
    }
    this.#slotsDirty = true;
    this.#queueFlush();
  }

  #addSlot(kind: MediaKind): Slot {
    const subscriber = this.#ensureSubscriber();
    const codec = SUBSCRIBE_CODECS[kind];
    const mid = `${kind === 'video' ? 'v' : 'a'}${this.#slots.length}`;
    let ssrc: number;
    do ssrc = randomInt(1, 0xffffffff);
    while (this.#ssrcs.has(ssrc));
    this.#ssrcs.add(ssrc);
    const outbound = subscriber.addOutboundTrack({
      mid,
      kind,
      ssrc,
      payloadType: codec.payloadType,
      codec: codec.codec,
      streamId: `slot-${mid}`,
      trackId: `slot-${mid}`,
    });
    const forwarder = new Forwarder({
      ssrc,
      payloadType: codec.payloadType,
      clockRate: codec.clockRate,
      waitForKeyFrame: kind === 'video',
      sink: outbound,
    });
    const slot: Slot = { mid, kind, outbound, forwarder, track: undefined, negotiated: false };
    outbound.onRtcp((packet) => this.#onSubscriberRtcp(slot, packet));
    this.#slots.push(slot);
    return slot;
  }

  #onSubscriberRtcp(slot: Slot, packet: Buffer): void {
    const track = slot.track;
    if (!track) return;
    for (const fb of parseRtcpFeedback(packet)) {
      if (fb.kind === 'pli') {
        if (fb.mediaSsrc === slot.forwarder.ssrc) track.requestKeyFrame();
      } else if (fb.kind === 'fir') {
        if (fb.requests.some((r) => r.ssrc === slot.forwarder.ssrc)) track.requestKeyFrame();
      } else if (fb.mediaSsrc === slot.forwarder.ssrc) {
        track.answerNack(slot.forwarder, fb.seqs);
      }
    }
  }

  #queueFlush(): void {
    if (this.#flushQueued || this.#closed) return;
    this.#flushQueued = true;
    // setImmediate, not a microtask: the tracks of one publisher offer arrive as separate
    // native callbacks in the same loop turn, and one subscribe offer should cover them all.
    setImmediate(() => {
      this.#flushQueued = false;
      void this.#flush();
    });
  }

  async #flush(): Promise<void> {
    if (this.#closed || !this.#subscriber) return;
    const unnegotiated = this.#slots.some((s) => !s.negotiated);
    if (!unnegotiated) {
      if (this.#slotsDirty) {
        this.#slotsDirty = false;
        this.emit('slotsChanged', this.slots());
      }
      return;
    }
    if (this.#offering) {
      this.#offerAgain = true;
      return;
    }
    this.#offering = true;
    for (const s of this.#slots) s.negotiated = true;
    this.#slotsDirty = false;
    try {
      const subscriber = this.#subscriber;
      const sdp = await subscriber.createOffer();
      if (this.#closed || this.#subscriber !== subscriber) return;
      this.emit('subscriberOffer', sdp, this.slots(), this.#subscriberGeneration);
    } catch (err) {
      this.#offering = false;
      if (!this.#closed) this.#logger.error({ err }, 'creating a subscribe offer failed');
    }
  }

  #onPublisherState(state: PeerState): void {
    if (this.#closed) return;
    if (state === 'failed' || state === 'closed') this.emit('transportLost', 'publish', state);
  }

  #assertOpen(): void {
    if (this.#closed) throw new MeridianError('VALIDATION_FAILED', 'The participant has left');
  }
}
