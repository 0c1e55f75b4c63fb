/**
 * One relay: this node and one other node of the same meeting, after the handshake
 * (RelayManager does `hello` / `welcome`). It owns the WebSocket for control messages
 * (relayProtocol.ts) and two PeerConnections through the node's media engine, one per
 * direction, each DTLS-SRTP (and two more per further shard, below):
 *
 * - the **send** connection: this node offers, the other answers. One m-line per local track
 *   the other node has subscribed to, fed by a Forwarder attached to the local
 *   PublishedTrack like a subscriber's slot (so one copy per track, whatever the number of
 *   subscribers there). Its RTCP brings the other node's PLI/FIR, which go to the publisher.
 * - the **receive** connection: the other node offers, this one answers. Each m-line feeds the
 *   RelayedTrackSource of one of its tracks, which the room holds as a PublishedTrack.
 *
 * Two connections rather than one: each direction then renegotiates on its own, offered by
 * the side that adds tracks, with exactly the shapes the node already negotiates with
 * clients (publisher offer filter, subscribe offers and the offerer-race workaround), and
 * no glare.
 *
 * An m-line of the send connection is a *send slot*: it carries one local track at a time.
 * When that track ends, or the other node unsubscribes it, the slot is free, and the next
 * track of the same kind to be sent takes it without renegotiation: this node tells the
 * other the slot's new track in a `rebind` message (MAC'd with the session key, numbered
 * against replay, with the first relay sequence number of the new track), and the
 * Forwarder of the slot keeps its SSRC, sequence and timestamp space continuous (waiting
 * for a key frame on video), as a subscriber slot does when another publisher is switched
 * in. The m-lines of a relay therefore follow the peak of tracks sent at once, not the
 * meeting's history (a relay used to fail after ~100 tracks had come and gone, its offers
 * past the 32 KiB SDP limit). A track subscribed again takes back its own slot if that is
 * still free (no message).
 *
 * A send connection holds RELAY_MLINES_PER_CONNECTION m-lines; past that, slots go on another
 * send connection (shard 1, 2, ...), each with its own offer/answer (a `shard` index, bound
 * into the MAC) and its own receive connection on the other node.
 *
 * The room is bound while it exists (a relay may come up before the first local client
 * joins, and outlive the room): remote participants and tracks are kept here and put into
 * whichever room is bound. Closing the relay removes them from the room (local clients see
 * them leave); local media is untouched.
 */
import { randomInt } from 'node:crypto';
import type { RawData, WebSocket } from 'ws';
import type { Logger } from '../../lib/logger.js';
import { MeridianError, isMeridianError } from '../../contracts/errors.js';
import { CloseCode } from '../../contracts/signaling.js';
import type { InboundTrack, MediaEngine, OutboundTrack, PeerSession } from '../engine/MediaEngine.js';
import { Forwarder } from '../sfu/Forwarder.js';
import type { PublishedTrack } from '../sfu/PublishedTrack.js';
import type { ParticipantDescriptor, Room } from '../sfu/Room.js';
import { parseRtcpFeedback } from '../sfu/Rtcp.js';
import { RateLimiter } from '../signaling/RateLimiter.js';
import { relayMac, relayMacMatches } from '../../tokens/index.js';
import { RELAY_CODECS, RelayedTrackSource } from './RelayedTrackSource.js';
import { readRelayFrame, type OutgoingRelayMessage, type RelayMessage, type RelayTrack } from './relayProtocol.js';
import { closeCodeFor } from '../signaling/protocol.js';

/** Limits of a relay's control channel. */
export interface RelayLimits {
  readonly maxMessageBytes: number;
  readonly messagesPerSecond: number;
  readonly messageBurst: number;
  readonly pingIntervalMs: number;
  readonly maxBufferedBytes: number;
}

/** Construction options. */
export interface RelayLinkOptions {
  readonly ws: WebSocket;
  /** Room key of the meeting. */
  readonly meetingId: string;
  readonly peerNodeId: string;
  /** The relay's session key (RelayTokenVerifier.ts): MACs the SDP both ways. */
  readonly sessionKey: Buffer;
  /** Which end this node is (MACs name the sender's role, so a message cannot be reflected). */
  readonly role: 'dialer' | 'acceptor';
  readonly engine: MediaEngine;
  readonly limits: RelayLimits;
  readonly logger: Logger;
  /** Called once when the relay has closed (for any reason). */
  readonly onClosed: (link: RelayLink) => void;
}

/**
 * m-lines per send connection. An offer of 48 m-lines is 17–18 KB (measured: 48 audio
 * 18,316 bytes, 48 video 17,068; 100 audio 37,972, over the limit), about half the 32 KiB SDP
 * limit; more tracks sent at once go on another connection pair (a shard).
 */
export const RELAY_MLINES_PER_CONNECTION = 48;
/** Most connection pairs per direction of one relay (the protocol's `shard` is below this). */
export const RELAY_MAX_SHARDS = 32;

/**
 * What a shard adds to the MAC of its offers and answers: nothing for shard 0, whose messages
 * are MAC'd as before shards existed; the index for the others.
 */
const shardMacParts = (shard: number): string[] => (shard === 0 ? [] : [String(shard)]);
/** The `shard` field of an offer or answer: absent for shard 0. */
const shardField = (shard: number): { shard?: number } => (shard === 0 ? {} : { shard });
/** Suffix of a shard's connection label: none for shard 0. */
const shardSuffix = (shard: number): string => (shard === 0 ? '' : `-${shard}`);

/** One send connection of a relay and its offer/answer state. */
interface SendShard {
  readonly index: number;
  readonly peer: PeerSession;
  readonly slots: OutSlot[];
  offering: boolean;
  offerAgain: boolean;
}

/** A send slot: one m-line of the send connection, carrying one local track at a time. */
interface OutSlot {
  readonly mid: string;
  readonly shard: SendShard;
  readonly kind: 'audio' | 'video';
  readonly outbound: OutboundTrack;
  readonly forwarder: Forwarder;
  /** The local track the slot is for; undefined while free. */
  trackId: string | undefined;
  /** The track the other node last learnt for this mid (offer `tracks` or `rebind`). */
  toldTrackId: string | undefined;
  /** The local track attached to the forwarder. */
  track: PublishedTrack | undefined;
  /** In an offer being made or sent. */
  negotiated: boolean;
  /** In an offer sent: the other node knows the mid (a rebind may name it). */
  offered: boolean;
}

/** A track of the other node, as known here. */
interface RemoteTrack {
  readonly spec: RelayTrack;
  readonly source: RelayedTrackSource;
  /** Whether this node asked for it (it has local subscribers). */
  subscribed: boolean;
}

/** One relay between this node and another node of the meeting. */
export class RelayLink {
  readonly meetingId: string;
  readonly peerNodeId: string;
  readonly #ws: WebSocket;
  readonly #sessionKey: Buffer;
  readonly #role: 'dialer' | 'acceptor';
  readonly #peerRole: 'dialer' | 'acceptor';
  readonly #engine: MediaEngine;
  readonly #limits: RelayLimits;
  readonly #limiter: RateLimiter;
  readonly #logger: Logger;
  readonly #onClosed: (link: RelayLink) => void;
  readonly #remoteParticipants = new Map<string, ParticipantDescriptor>();
  readonly #remoteTracks = new Map<string, RemoteTrack>();
  /** mid of the receive connection → track id (from the other node's offers and rebinds). */
  readonly #recvMids = new Map<string, string>();
  /** Native tracks of the receive connection, by mid. */
  readonly #recvNatives = new Map<string, InboundTrack>();
  /** Number of the last `rebind` accepted from the other node (replay guard). */
  #lastRebindIn = 0;
  #lastRebindOut = 0;
  /** Local tracks the other node asked for. */
  readonly #wanted = new Set<string>();
  /** Send slots by mid, in m-line order. */
  readonly #outSlots = new Map<string, OutSlot>();
  /** Send slots by the local track they are for. */
  readonly #outByTrack = new Map<string, OutSlot>();
  #room: Room | undefined;
  #roomOffs: Array<() => void> = [];
  /** Receive connections by shard index. */
  readonly #recvPeers = new Map<number, PeerSession>();
  /** Send connections, shard 0 first. */
  readonly #sendShards: SendShard[] = [];
  #nextMid = 0;
  #flushQueued = false;
  #queue: Promise<void> = Promise.resolve();
  #pingTimer: NodeJS.Timeout | undefined;
  #alive = true;
  #closed = false;

  constructor(options: RelayLinkOptions) {
    this.meetingId = options.meetingId;
    this.peerNodeId = options.peerNodeId;
    this.#ws = options.ws;
    this.#sessionKey = options.sessionKey;
    this.#role = options.role;
    this.#peerRole = options.role === 'dialer' ? 'acceptor' : 'dialer';
    this.#engine = options.engine;
    this.#limits = options.limits;
    this.#logger = options.logger.child({ meetingId: options.meetingId, peerNodeId: options.peerNodeId, component: 'relay' });
    this.#onClosed = options.onClosed;
    this.#limiter = new RateLimiter(options.limits.messagesPerSecond, options.limits.messageBurst);
    const ws = options.ws;
    ws.on('message', (data, isBinary) => this.#onFrame(data, isBinary));
    ws.on('pong', () => {
      this.#alive = true;
    });
    ws.on('close', () => this.close('the relay socket closed'));
    this.#pingTimer = setInterval(() => {
      if (!this.#alive) {
        this.#logger.warn('relay peer stopped answering pings');
        this.#ws.terminate();
        this.close('ping timeout');
        return;
      }
      this.#alive = false;
      try {
        this.#ws.ping();
      } catch {
        this.close('ping failed');
      }
    }, options.limits.pingIntervalMs);
    this.#pingTimer.unref();
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Ids of the local tracks currently sent to the other node (with a forwarder attached). */
  sentTrackIdsForTesting(): string[] {
    return [...this.#outByTrack.entries()].filter(([, s]) => s.track !== undefined && s.forwarder.sourceId !== undefined).map(([id]) => id);
  }

  /** m-lines of the send connection (one per send slot, idle or not). */
  sendMLinesForTesting(): number {
    return this.#outSlots.size;
  }

  /** Send connections (shards) of this relay. */
  sendShardsForTesting(): number {
    return this.#sendShards.length;
  }

  /** Forwarders of the send connection, by local track id (tests count packets through them). */
  forwarderForTesting(trackId: string): Forwarder | undefined {
    return this.#outByTrack.get(trackId)?.forwarder;
  }

  /**
   * Puts the remote participants and tracks into `room` and starts announcing its local
   * participants and tracks to the other node. The room unbinds itself when it closes.
   */
  bind(room: Room): void {
    if (this.#closed || this.#room === room || room.closed) return;
    this.#unbind();
    this.#room = room;
    this.#roomOffs = [
      room.on('participantJoined', (p) => this.#post({ type: 'participant-joined', participant: { id: p.id, name: p.name } })),
      room.on('participantLeft', (p) => {
        if (room.participant(p.id) === undefined) this.#post({ type: 'participant-left', participantId: p.id });
      }),
      room.on('trackPublished', (t) => {
        if (t.relayedFrom !== undefined) return;
        this.#post({ type: 'track-published', track: describe(t) });
        if (this.#wanted.has(t.id)) this.#attachOut(t.id);
      }),
      room.on('trackUnpublished', (t) => {
        if (t.relayedFrom !== undefined) return;
        this.#freeSlot(t.id);
        this.#wanted.delete(t.id);
        this.#post({ type: 'track-unpublished', trackId: t.id });
      }),
      room.on('closed', () => this.#unbind()),
    ];
    for (const p of room.localParticipants()) this.#post({ type: 'participant-joined', participant: p });
    for (const t of room.localTracks()) this.#post({ type: 'track-published', track: describe(t) });
    for (const p of this.#remoteParticipants.values()) room.addRemoteParticipant(p, this.peerNodeId);
    for (const t of this.#remoteTracks.values()) this.#addToRoom(t);
    for (const id of this.#wanted) this.#attachOut(id);
  }

  /**
   * Closes the relay: the other node's participants and tracks leave the room, the
   * connections and the socket close. Idempotent.
   */
  close(reason: string, code: number = CloseCode.normal): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#logger.info({ reason }, 'relay closed');
    if (this.#pingTimer) clearInterval(this.#pingTimer);
    this.#pingTimer = undefined;
    const room = this.#room;
    this.#unbind();
    if (room && !room.closed) for (const id of this.#remoteParticipants.keys()) room.removeRemoteParticipant(id, this.peerNodeId);
    for (const t of this.#remoteTracks.values()) t.source.close();
    this.#remoteTracks.clear();
    this.#remoteParticipants.clear();
    for (const slot of this.#outSlots.values()) slot.track?.detach(slot.forwarder);
    this.#outSlots.clear();
    this.#outByTrack.clear();
    this.#recvNatives.clear();
    for (const shard of this.#sendShards) shard.peer.close();
    for (const peer of this.#recvPeers.values()) peer.close();
    if (this.#ws.readyState === this.#ws.OPEN || this.#ws.readyState === this.#ws.CONNECTING) {
      try {
        this.#ws.close(code, reason.slice(0, 100));
      } catch {
        this.#ws.terminate();
      }
      // A peer that does not answer the close frame is cut off soon.
      setTimeout(() => this.#ws.terminate(), 1_000).unref();
    }
    this.#onClosed(this);
  }

  /** Stops feeding the room (it closed): local subscriptions there are gone. */
  #unbind(): void {
    for (const off of this.#roomOffs) off();
    this.#roomOffs = [];
    this.#room = undefined;
    for (const [trackId, t] of this.#remoteTracks) {
      if (!t.subscribed) continue;
      t.subscribed = false;
      this.#post({ type: 'unsubscribe', trackIds: [trackId] });
    }
    // The room's local tracks are gone with it: every send slot is free.
    for (const trackId of [...this.#outByTrack.keys()]) this.#freeSlot(trackId);
  }

  #onFrame(data: RawData, isBinary: boolean): void {
    if (this.#closed) return;
    const read = readRelayFrame(data, isBinary, this.#limits.maxMessageBytes);
    if ('error' in read) {
      this.#fail(read.error);
      return;
    }
    if (!this.#limiter.take()) {
      this.#fail(new MeridianError('RATE_LIMITED', 'Too many relay messages'));
      return;
    }
    const message = read.message;
    this.#queue = this.#queue.then(() => (this.#closed ? undefined : this.#handle(message))).catch((err: unknown) => this.#fail(err));
  }

  async #handle(m: RelayMessage): Promise<void> {
    const room = this.#room;
    switch (m.type) {
      case 'participant-joined':
        this.#remoteParticipants.set(m.participant.id, m.participant);
        room?.addRemoteParticipant(m.participant, this.peerNodeId);
        return;
      case 'participant-left': {
        if (!this.#remoteParticipants.delete(m.participantId)) return;
        for (const [id, t] of this.#remoteTracks) {
          if (t.spec.participantId !== m.participantId) continue;
          this.#remoteTracks.delete(id);
          t.source.close();
        }
        room?.removeRemoteParticipant(m.participantId, this.peerNodeId);
        return;
      }
      case 'track-published': {
        if (this.#remoteTracks.has(m.track.trackId)) return;
        const trackId = m.track.trackId;
        const t: RemoteTrack = { spec: m.track, source: new RelayedTrackSource(m.track, (seqs) => this.#post({ type: 'nack', trackId, seqs: [...seqs] })), subscribed: false };
        this.#remoteTracks.set(trackId, t);
        if (room) this.#addToRoom(t);
        return;
      }
      case 'track-unpublished': {
        const t = this.#remoteTracks.get(m.trackId);
        if (!t) return;
        this.#remoteTracks.delete(m.trackId);
        t.source.close();
        return;
      }
      case 'subscribe':
        for (const id of m.trackIds) {
          this.#wanted.add(id);
          this.#attachOut(id);
        }
        return;
      case 'unsubscribe':
        // The slot is free at once: its track may come back (it then takes the slot back if
        // still free), and a busy meeting's m-lines stay bounded by what is sent at once.
        for (const id of m.trackIds) {
          this.#wanted.delete(id);
          this.#freeSlot(id);
        }
        return;
      case 'offer': {
        const shard = m.shard ?? 0;
        if (!relayMacMatches(m.mac, this.#sessionKey, this.#peerRole, 'offer', m.sdp, JSON.stringify(m.tracks), ...shardMacParts(shard))) throw unauthenticated();
        await this.#acceptOffer(m.sdp, m.tracks, shard);
        return;
      }
      case 'rebind':
        if (!relayMacMatches(m.mac, this.#sessionKey, this.#peerRole, 'rebind', String(m.n), m.mid, m.trackId, String(m.fromSeq ?? ''))) throw unauthenticated();
        if (m.n <= this.#lastRebindIn) throw new MeridianError('VALIDATION_FAILED', 'A relay rebind must be numbered above the last one (replayed?)');
        this.#lastRebindIn = m.n;
        this.#rebindMid(m.mid, m.trackId, m.fromSeq, true);
        return;
      case 'answer':
        if (!relayMacMatches(m.mac, this.#sessionKey, this.#peerRole, 'answer', m.sdp, ...shardMacParts(m.shard ?? 0))) throw unauthenticated();
        this.#acceptAnswer(m.sdp, m.shard ?? 0);
        return;
      case 'nack': {
        const slot = this.#outByTrack.get(m.trackId);
        if (slot?.track) slot.track.answerNack(slot.forwarder, m.seqs);
        return;
      }
      case 'error':
        this.#logger.warn({ code: m.code, reason: m.message }, 'relay peer reported an error');
        return;
      case 'hello':
      case 'welcome':
        throw new MeridianError('VALIDATION_FAILED', `"${m.type}" after the handshake`);
    }
  }

  #addToRoom(t: RemoteTrack): void {
    const room = this.#room;
    if (!room || t.source.closed) return;
    const trackId = t.spec.trackId;
    room.addRemoteTrack({
      trackId,
      participantId: t.spec.participantId,
      kind: t.spec.kind,
      nodeId: this.peerNodeId,
      source: t.source,
      onSubscriberCount: (count) => this.#localSubscribers(trackId, count),
    });
  }

  /** Local subscribers of a relayed track came or went: ask the other node to send it, or to stop. */
  #localSubscribers(trackId: string, count: number): void {
    const t = this.#remoteTracks.get(trackId);
    if (!t || this.#closed) return;
    if (count > 0 && !t.subscribed) {
      t.subscribed = true;
      this.#post({ type: 'subscribe', trackIds: [trackId] });
    } else if (count === 0 && t.subscribed) {
      t.subscribed = false;
      this.#post({ type: 'unsubscribe', trackIds: [trackId] });
    }
  }

  /**
   * Starts sending local track `trackId` to the other node (it asked for it): on its own send
   * slot if it has one, else on a free slot of its kind (its own former one first), else on
   * a new m-line.
   */
  #attachOut(trackId: string): void {
    const track = this.#room?.localTrack(trackId);
    if (!track || this.#closed) return;
    let slot = this.#outByTrack.get(trackId);
    if (!slot) {
      slot = this.#freeSlotFor(track) ?? this.#addSlot(track);
      if (!slot) return;
      slot.trackId = trackId;
      this.#outByTrack.set(trackId, slot);
      // A slot already offered is known to the other node under its last track: tell it the
      // new one before any of its packets. An m-line whose offer is not sent yet (maybe being
      // made) gets its track in that offer's `tracks`, read when it is sent.
      if (slot.offered && slot.toldTrackId !== trackId) this.#tellRebind(slot);
    }
    if (slot.track !== track) {
      slot.track?.detach(slot.forwarder);
      slot.track = track;
    }
    track.attach(slot.forwarder);
  }

  /** A free send slot of `track`'s kind: the one it last had if free, else the first. */
  #freeSlotFor(track: PublishedTrack): OutSlot | undefined {
    let any: OutSlot | undefined;
    for (const slot of this.#outSlots.values()) {
      if (slot.trackId !== undefined || slot.kind !== track.kind) continue;
      if (slot.toldTrackId === track.id) return slot;
      any ??= slot;
    }
    return any;
  }

  /** Local track `trackId` is no longer sent (ended, or unsubscribed): its slot is free. */
  #freeSlot(trackId: string): void {
    const slot = this.#outByTrack.get(trackId);
    if (!slot) return;
    this.#outByTrack.delete(trackId);
    slot.track?.detach(slot.forwarder);
    slot.track = undefined;
    slot.trackId = undefined;
  }

  /** Sends the other node the new track of an offered slot. */
  #tellRebind(slot: OutSlot): void {
    const trackId = slot.trackId!;
    const n = ++this.#lastRebindOut;
    // The new track's first packet continues the forwarder's numbering: the other node drops
    // older packets on that mid (the last track's, still on the way) until it sees it.
    const fromSeq = slot.forwarder.packetsSent > 0 ? (slot.forwarder.lastOutSeq + 1) & 0xffff : undefined;
    const mac = relayMac(this.#sessionKey, this.#role, 'rebind', String(n), slot.mid, trackId, String(fromSeq ?? ''));
    this.#post({ type: 'rebind', n, mid: slot.mid, trackId, ...(fromSeq === undefined ? {} : { fromSeq }), mac });
    slot.toldTrackId = trackId;
  }

  #addSlot(track: PublishedTrack): OutSlot | undefined {
    const shard = this.#shardWithRoom();
    if (!shard) {
      this.#logger.warn({ trackId: track.id, max: RELAY_MAX_SHARDS * RELAY_MLINES_PER_CONNECTION }, 'relay has no room for another track');
      return undefined;
    }
    const send = shard.peer;
    const codec = RELAY_CODECS[track.kind];
    const mid = `${track.kind === 'video' ? 'v' : 'a'}${this.#nextMid++}`;
    const ssrc = randomInt(1, 0xffffffff);
    const outbound = send.addOutboundTrack({ mid, kind: track.kind, ssrc, payloadType: codec.payloadType, codec: codec.codec, streamId: `relay-${mid}`, trackId: `relay-${mid}` });
    const forwarder = new Forwarder({ ssrc, payloadType: codec.payloadType, clockRate: codec.clockRate, waitForKeyFrame: track.kind === 'video', sink: outbound });
    const slot: OutSlot = { mid, shard, kind: track.kind, outbound, forwarder, trackId: undefined, toldTrackId: undefined, track: undefined, negotiated: false, offered: false };
    this.#outSlots.set(mid, slot);
    shard.slots.push(slot);
    // The other node's key-frame requests for this track (its subscribers', or its own).
    outbound.onRtcp((packet) => {
      const source = slot.track;
      if (!source) return;
      for (const fb of parseRtcpFeedback(packet)) {
        if ((fb.kind === 'pli' && fb.mediaSsrc === forwarder.ssrc) || (fb.kind === 'fir' && fb.requests.some((r) => r.ssrc === forwarder.ssrc))) source.requestKeyFrame();
      }
    });
    this.#queueFlush();
    return slot;
  }

  /** The first send connection with fewer than RELAY_MLINES_PER_CONNECTION m-lines (a new one if none). */
  #shardWithRoom(): SendShard | undefined {
    const free = this.#sendShards.find((x) => x.slots.length < RELAY_MLINES_PER_CONNECTION);
    if (free) return free;
    const index = this.#sendShards.length;
    if (index >= RELAY_MAX_SHARDS) return undefined;
    const peer = this.#engine.createPeer({ label: `${this.meetingId}/relay-${this.peerNodeId}/send${shardSuffix(index)}` });
    peer.onStateChange((state) => {
      if (state === 'failed' || (state === 'closed' && !this.#closed)) this.close(`relay send connection ${state}`, CloseCode.transportLost);
    });
    const shard: SendShard = { index, peer, slots: [], offering: false, offerAgain: false };
    this.#sendShards.push(shard);
    return shard;
  }

  #queueFlush(): void {
    if (this.#flushQueued || this.#closed) return;
    this.#flushQueued = true;
    // One offer for every track asked for in this loop turn.
    setImmediate(() => {
      this.#flushQueued = false;
      for (const shard of this.#sendShards) void this.#flush(shard);
    });
  }

  async #flush(shard: SendShard): Promise<void> {
    if (this.#closed) return;
    const slots = [...shard.slots];
    if (!slots.some((s) => !s.negotiated)) return;
    if (shard.offering) {
      shard.offerAgain = true;
      return;
    }
    shard.offering = true;
    for (const s of slots) s.negotiated = true;
    try {
      const sdp = await shard.peer.createOffer();
      if (this.#closed) return;
      // The slots' tracks as of now (a rebind told while the offer was made is included; free
      // slots are left out: the other node keeps their last track, which has ended there).
      const tracks: Array<{ mid: string; trackId: string }> = [];
      for (const s of slots) {
        s.offered = true;
        if (s.trackId === undefined) continue;
        tracks.push({ mid: s.mid, trackId: s.trackId });
        s.toldTrackId = s.trackId;
      }
      const mac = relayMac(this.#sessionKey, this.#role, 'offer', sdp, JSON.stringify(tracks), ...shardMacParts(shard.index));
      this.#post({ type: 'offer', sdp, tracks, ...shardField(shard.index), mac });
    } catch (err) {
      shard.offering = false;
      if (!this.#closed) this.#fail(err);
    }
  }

  #acceptAnswer(sdp: string, index: number): void {
    const shard = this.#sendShards[index];
    if (!shard || !shard.offering) throw new MeridianError('VALIDATION_FAILED', 'No relay offer is waiting for an answer');
    shard.peer.acceptAnswer(sdp);
    shard.offering = false;
    if (shard.offerAgain) {
      shard.offerAgain = false;
      this.#queueFlush();
    }
  }

  async #acceptOffer(sdp: string, tracks: ReadonlyArray<{ mid: string; trackId: string }>, index: number): Promise<void> {
    // Shards come in order: the other node opens one only when the last is full.
    if (!this.#recvPeers.has(index) && index !== this.#recvPeers.size) throw new MeridianError('VALIDATION_FAILED', `A relay offer for shard ${index} before shard ${this.#recvPeers.size}`);
    for (const { mid, trackId } of tracks) this.#rebindMid(mid, trackId, undefined, false);
    let recv = this.#recvPeers.get(index);
    if (!recv) {
      const peer = this.#engine.createPeer({ label: `${this.meetingId}/relay-${this.peerNodeId}/recv${shardSuffix(index)}` });
      peer.onTrack((native) => {
        this.#recvNatives.set(native.info.mid, native);
        const trackId = this.#recvMids.get(native.info.mid);
        const t = trackId === undefined ? undefined : this.#remoteTracks.get(trackId);
        if (t && t.spec.kind === native.info.kind) t.source.bind(native);
      });
      peer.onStateChange((state) => {
        if (state === 'failed' || (state === 'closed' && !this.#closed)) this.close(`relay receive connection ${state}`, CloseCode.transportLost);
      });
      this.#recvPeers.set(index, peer);
      recv = peer;
    }
    const answer = await recv.acceptOffer(sdp);
    if (this.#closed) return;
    const mac = relayMac(this.#sessionKey, this.#role, 'answer', answer, ...shardMacParts(index));
    this.#post({ type: 'answer', sdp: answer, ...shardField(index), mac });
  }

  /**
   * Receive side: m-line `mid` now carries the other node's track `trackId`. Its native
   * track leaves the source of the last track and feeds the new one (from `fromSeq` on).
   */
  #rebindMid(mid: string, trackId: string, fromSeq: number | undefined, mustExist: boolean): void {
    const before = this.#recvMids.get(mid);
    if (before === undefined && mustExist) throw new MeridianError('VALIDATION_FAILED', `A relay rebind names an m-line never offered (${mid})`);
    if (before === trackId) return;
    const native = this.#recvNatives.get(mid);
    const t = this.#remoteTracks.get(trackId);
    // A slot carries one kind for good (its m-line's).
    if (t && native && t.spec.kind !== native.info.kind) throw new MeridianError('VALIDATION_FAILED', `A relay rebind puts a ${t.spec.kind} track on a ${native.info.kind} m-line`);
    this.#recvMids.set(mid, trackId);
    if (!native) return;
    if (before !== undefined) this.#remoteTracks.get(before)?.source.unbind(native);
    t?.source.bind(native, fromSeq);
  }

  #post(message: OutgoingRelayMessage): void {
    if (this.#closed || this.#ws.readyState !== this.#ws.OPEN) return;
    if (this.#ws.bufferedAmount > this.#limits.maxBufferedBytes) {
      this.#logger.warn('relay peer is not reading its socket; closing the relay');
      this.#ws.terminate();
      this.close('peer not reading');
      return;
    }
    this.#ws.send(JSON.stringify(message));
  }

  #fail(err: unknown): void {
    if (this.#closed) return;
    const error = isMeridianError(err) ? err : new MeridianError('INTERNAL');
    if (!isMeridianError(err)) this.#logger.error({ err }, 'relay handler failed');
    else this.#logger.warn({ code: error.code, reason: error.message }, 'refusing relay input');
    this.#post({ type: 'error', code: error.code, message: error.message });
    this.close(error.code, closeCodeFor(error.code));
  }
}

/** An SDP whose MAC does not match: changed on the way, or not from the other node. */
function unauthenticated(): MeridianError {
  return new MeridianError('VALIDATION_FAILED', 'The relay message is not authenticated by the relay session key');
}

/** The relay description of a local track. */
function describe(t: PublishedTrack): RelayTrack {
  return { trackId: t.id, participantId: t.participantId, kind: t.kind, audioLevelId: t.audioLevelExtensionId };
}
