/**
 * A meeting as hosted on this node: its participants, the tracks they publish, who
 * receives what, and the active speaker. The room owns the published tracks; participants
 * own their sessions and slots. It knows nothing of WebSockets: signaling listens to its
 * typed events and translates them into messages.
 *
 * When the meeting spans several nodes (cascading, src/media/cascade/), the room also holds
 * the *remote* participants and tracks its relays announce: local clients see them exactly
 * like local ones, and a relayed track is a PublishedTrack whose source is the relay.
 * Capacity, grace closing and `empty` count local participants only.
 */
import { randomBytes } from 'node:crypto';
import type { Logger } from '../../lib/logger.js';
import type { InboundTrack } from '../engine/MediaEngine.js';
import { TypedEmitter } from '../../lib/TypedEmitter.js';
import { ActiveSpeakerDetector } from './ActiveSpeakerDetector.js';
import type { Participant } from './Participant.js';
import { PublishedTrack, type OverloadSignal, type PacketCounters, type TrackDescriptor } from './PublishedTrack.js';

/** Why a participant left. */
export type LeaveReason = 'left' | 'disconnected' | 'replaced' | 'transport-failed' | 'room-closed';

/** Events of a room. */
export interface RoomEvents {
  participantJoined: [participant: Participant];
  participantLeft: [participant: Participant, reason: LeaveReason];
  /** A participant of another node of the meeting appeared (announced by a relay). */
  remoteParticipantJoined: [participant: ParticipantDescriptor];
  /** A participant of another node left (or its relay closed). */
  remoteParticipantLeft: [participantId: string];
  trackPublished: [track: PublishedTrack];
  trackUnpublished: [track: PublishedTrack];
  /** The loudest participant changed (null: the speaker left). */
  activeSpeaker: [participantId: string | null];
  /** The control plane moved the meeting: tell every participant to move (see {@link Room.migrate}). */
  migrate: [migration: RoomMigration];
  /** The last participant left. */
  empty: [];
  closed: [];
}

/** Tuning shared by every room of a node. */
export interface RoomOptions {
  readonly id: string;
  readonly logger: Logger;
  readonly counters: PacketCounters;
  readonly overload: OverloadSignal;
  readonly keyFrameRequestIntervalMs: number;
  readonly retransmissionSlots: number;
  readonly retransmissionMaxAgeMs: number;
  /** How often the active speaker is re-evaluated. */
  readonly activeSpeakerIntervalMs: number;
}

/** A migration under way: why, and when (ms since epoch) the node closes whoever is left. */
export interface RoomMigration {
  readonly reason: 'region-drain' | 'node-drain' | 'region-removed' | 'rebalance';
  /** When the command arrived (ms since epoch). */
  readonly startedAt: number;
  readonly deadlineAt: number;
}

/** Public description of a participant, as sent to clients. */
export interface ParticipantDescriptor {
  readonly id: string;
  readonly name: string;
}

/** A track of another node of the meeting, as its relay announces it. */
export interface RemoteTrackSpec {
  readonly trackId: string;
  readonly participantId: string;
  readonly kind: 'audio' | 'video';
  /** The node it is relayed from. */
  readonly nodeId: string;
  /** The relay's end of the stream. */
  readonly source: InboundTrack;
  /** Told when local subscribers come (count 1) and go (count 0). */
  readonly onSubscriberCount: (count: number) => void;
}

/** Participants, published tracks and subscriptions of one meeting. */
export class Room extends TypedEmitter<RoomEvents> {
  readonly id: string;
  readonly #options: RoomOptions;
  readonly #logger: Logger;
  readonly #participants = new Map<string, Participant>();
  /** Participants of other nodes, by id, with the node each is on. */
  readonly #remote = new Map<string, { readonly descriptor: ParticipantDescriptor; readonly nodeId: string }>();
  readonly #unsubscribe = new Map<string, () => void>();
  readonly #tracks = new Map<string, PublishedTrack>();
  readonly #speaker = new ActiveSpeakerDetector();
  #speakerTimer: NodeJS.Timeout | undefined;
  #closed = false;
  #migration: RoomMigration | undefined;

  constructor(options: RoomOptions) {
    super();
    this.id = options.id;
    this.#options = options;
    this.#logger = options.logger;
    this.setListenerErrorHandler((err, event) => this.#logger.error({ err, event }, 'room listener failed'));
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** The migration under way, if the control plane moved this meeting elsewhere. */
  get migration(): RoomMigration | undefined {
    return this.#migration;
  }

  /**
   * The meeting was placed here again after it had moved away (a join token minted after the
   * migration): newcomers stay. Participants already told to move still do.
   */
  endMigration(): void {
    if (!this.#migration) return;
    this.#logger.info('meeting placed here again after a migration: newcomers stay');
    this.#migration = undefined;
  }

  /**
   * The meeting now lives on another node: every participant (and anyone who still joins
   * here with an old token) is told to move. Forwarding goes on as before until each
   * leaves; signaling closes whoever is left at `deadlineAt`. Returns how many were told.
   */
  migrate(migration: RoomMigration): number {
    if (this.#closed) return 0;
    // A second command (e.g. node drain, then region removal) keeps the earlier deadline.
    if (this.#migration && this.#migration.deadlineAt <= migration.deadlineAt) return this.#participants.size;
    this.#migration = migration;
    this.#logger.info({ reason: migration.reason, participants: this.#participants.size, deadlineAt: new Date(migration.deadlineAt).toISOString() }, 'meeting migrating: participants told to move');
    this.emit('migrate', migration);
    return this.#participants.size;
  }

  get participantCount(): number {
    return this.#participants.size;
  }

  get trackCount(): number {
    return this.#tracks.size;
  }

  /** The participant with `id`, if present. */
  participant(id: string): Participant | undefined {
    return this.#participants.get(id);
  }

  /** Everyone in the meeting: local participants, then those of other nodes. */
  participants(): ParticipantDescriptor[] {
    const local = [...this.#participants.values()].map((p) => ({ id: p.id, name: p.name }));
    const remote = [...this.#remote.values()].filter((r) => !this.#participants.has(r.descriptor.id)).map((r) => r.descriptor);
    return [...local, ...remote];
  }

  /** True when `participantId` is in the meeting here or on another node. */
  hasParticipant(participantId: string): boolean {
    return this.#participants.has(participantId) || this.#remote.has(participantId);
  }

  /** Participants of other nodes known here. */
  get remoteParticipantCount(): number {
    return this.#remote.size;
  }

  /** Every published track, local and relayed. */
  tracks(): TrackDescriptor[] {
    return [...this.#tracks.values()].map((t) => t.descriptor);
  }

  /** Tracks published by this node's own participants (the only ones a relay sends on). */
  localTracks(): PublishedTrack[] {
    return [...this.#tracks.values()].filter((t) => t.relayedFrom === undefined);
  }

  /** A track published by a local participant, if live. */
  localTrack(trackId: string): PublishedTrack | undefined {
    const track = this.#tracks.get(trackId);
    return track && track.relayedFrom === undefined ? track : undefined;
  }

  /** Local participants (relays announce them to the other nodes). */
  localParticipants(): ParticipantDescriptor[] {
    return [...this.#participants.values()].map((p) => ({ id: p.id, name: p.name }));
  }

  /**
   * A participant of node `nodeId` (told by the relay to that node). Local clients are told
   * as of a local join, unless the same id is also here (a participant that moved nodes).
   */
  addRemoteParticipant(descriptor: ParticipantDescriptor, nodeId: string): void {
    if (this.#closed) return;
    const known = this.#remote.get(descriptor.id);
    this.#remote.set(descriptor.id, { descriptor: { id: descriptor.id, name: descriptor.name }, nodeId });
    if (!known && !this.#participants.has(descriptor.id)) this.emit('remoteParticipantJoined', descriptor);
  }

  /** A participant of node `nodeId` left; its relayed tracks go with it. */
  removeRemoteParticipant(participantId: string, nodeId: string): void {
    const known = this.#remote.get(participantId);
    if (!known || known.nodeId !== nodeId) return;
    this.#remote.delete(participantId);
    for (const track of [...this.#tracks.values()]) if (track.relayedFrom === nodeId && track.participantId === participantId) this.#unpublish(track);
    if (this.#participants.has(participantId)) return;
    if (this.#speaker.remove(participantId)) this.emit('activeSpeaker', null);
    this.emit('remoteParticipantLeft', participantId);
  }

  /** A track relayed from another node: announced and assigned like a local one. */
  addRemoteTrack(spec: RemoteTrackSpec): PublishedTrack | undefined {
    if (this.#closed || this.#tracks.has(spec.trackId)) return undefined;
    const track = this.#newTrack(spec.trackId, spec.participantId, spec.source, spec.nodeId, spec.onSubscriberCount);
    this.#announce(track);
    return track;
  }

  /** A relayed track ended (unpublished there, or the relay closed). */
  removeRemoteTrack(trackId: string): void {
    const track = this.#tracks.get(trackId);
    if (track && track.relayedFrom !== undefined) this.#unpublish(track);
  }

  /** The active speaker, or null. */
  get activeSpeaker(): string | null {
    return this.#speaker.speaker;
  }

  /** The published track with `id` (tests reach forwarders through it). */
  trackForTesting(id: string): PublishedTrack | undefined {
    return this.#tracks.get(id);
  }

  /**
   * Adds a participant and subscribes it to the tracks it wants. A participant with the
   * same id is removed first (`replaced`): a reconnecting client takes over its seat.
   */
  add(participant: Participant): void {
    if (this.#closed) throw new Error('room closed');
    if (this.#participants.has(participant.id)) this.remove(participant.id, 'replaced');
    this.#participants.set(participant.id, participant);
    const offs = [
      participant.on('trackReceived', (inbound) => this.#publish(participant, inbound)),
      participant.on('transportLost', (which, state) => {
        this.#logger.info({ participantId: participant.id, which, state }, 'participant transport lost');
        this.remove(participant.id, 'transport-failed');
      }),
    ];
    this.#unsubscribe.set(participant.id, () => offs.forEach((off) => off()));
    for (const track of this.#tracks.values()) if (participant.wants(track.participantId)) participant.assign(track);
    this.#ensureSpeakerTimer();
    this.emit('participantJoined', participant);
  }

  /** Removes a participant, unpublishing its tracks. Emits `empty` after the last one. */
  remove(participantId: string, reason: LeaveReason): void {
    const participant = this.#participants.get(participantId);
    if (!participant) return;
    this.#participants.delete(participantId);
    this.#unsubscribe.get(participantId)?.();
    this.#unsubscribe.delete(participantId);
    for (const track of [...this.#tracks.values()]) if (track.participantId === participantId && track.relayedFrom === undefined) this.#unpublish(track);
    participant.close();
    if (this.#speaker.remove(participantId)) this.emit('activeSpeaker', null);
    this.emit('participantLeft', participant, reason);
    if (this.#participants.size === 0) {
      this.#stopSpeakerTimer();
      if (!this.#closed) this.emit('empty');
    }
  }

  /** Sets which publishers a participant receives and updates its slots. */
  setSubscriptions(participantId: string, publisherIds: '*' | readonly string[]): void {
    const participant = this.#participants.get(participantId);
    if (!participant) return;
    participant.setWanted(publisherIds);
    const assigned = participant.assignedTrackIds();
    // Releases first, so the slots they free are reused by the assignments.
    for (const track of this.#tracks.values()) {
      if (assigned.has(track.id) && !participant.wants(track.participantId)) participant.release(track);
    }
    for (const track of this.#tracks.values()) {
      if (!assigned.has(track.id) && participant.wants(track.participantId)) participant.assign(track);
    }
  }

  /** Removes everyone and stops timers. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const id of [...this.#participants.keys()]) this.remove(id, 'room-closed');
    for (const track of this.#tracks.values()) track.close();
    this.#tracks.clear();
    this.#remote.clear();
    this.#stopSpeakerTimer();
    this.emit('closed');
    this.removeAllListeners();
  }

  #publish(participant: Participant, inbound: InboundTrack): void {
    if (this.#closed || this.#participants.get(participant.id) !== participant) return;
    const id = `${inbound.info.kind === 'video' ? 'TV' : 'TA'}_${randomBytes(6).toString('base64url')}`;
    this.#announce(this.#newTrack(id, participant.id, inbound, undefined, undefined));
  }

  #newTrack(id: string, participantId: string, source: InboundTrack, relayedFrom: string | undefined, onSubscriberCount: ((n: number) => void) | undefined): PublishedTrack {
    const track = new PublishedTrack({
      id,
      participantId,
      source,
      counters: this.#options.counters,
      overload: this.#options.overload,
      keyFrameRequestIntervalMs: this.#options.keyFrameRequestIntervalMs,
      retransmissionSlots: this.#options.retransmissionSlots,
      retransmissionMaxAgeMs: this.#options.retransmissionMaxAgeMs,
      // Levels of relayed audio count too: the active speaker is the meeting's.
      onAudioLevel: source.info.kind === 'audio' ? (level) => this.#speaker.record(participantId, level) : undefined,
      relayedFrom,
      onSubscriberCount,
    });
    this.#tracks.set(track.id, track);
    source.onClose(() => {
      if (this.#tracks.get(track.id) === track) this.#unpublish(track);
    });
    return track;
  }

  #announce(track: PublishedTrack): void {
    this.#logger.debug({ participantId: track.participantId, trackId: track.id, kind: track.kind, codec: track.codec, relayedFrom: track.relayedFrom }, 'track published');
    this.emit('trackPublished', track);
    for (const p of this.#participants.values()) if (p.wants(track.participantId)) p.assign(track);
  }

  #unpublish(track: PublishedTrack): void {
    if (!this.#tracks.delete(track.id)) return;
    for (const p of this.#participants.values()) p.release(track);
    track.close();
    this.emit('trackUnpublished', track);
  }

  #ensureSpeakerTimer(): void {
    if (this.#speakerTimer || this.#closed) return;
    this.#speakerTimer = setInterval(() => {
      const changed = this.#speaker.tick();
      if (changed !== undefined) this.emit('activeSpeaker', changed);
    }, this.#options.activeSpeakerIntervalMs);
    this.#speakerTimer.unref();
  }

  #stopSpeakerTimer(): void {
    if (this.#speakerTimer) clearInterval(this.#speakerTimer);
    this.#speakerTimer = undefined;
  }
}
