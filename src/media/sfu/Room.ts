/**
 * A meeting as hosted on this node: its participants, the tracks they publish, who
 * receives what, and the active speaker. The room owns the published tracks; participants
 * own their sessions and slots. It knows nothing of WebSockets: signaling listens to its
 * typed events and translates them into messages.
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

/** Participants, published tracks and subscriptions of one meeting. */
export class Room extends TypedEmitter<RoomEvents> {
  readonly id: string;
  readonly #options: RoomOptions;
  readonly #logger: Logger;
  readonly #participants = new Map<string, Participant>();
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

  /** Everyone in the room. */
  participants(): ParticipantDescriptor[] {
    return [...this.#participants.values()].map((p) => ({ id: p.id, name: p.name }));
  }

  /** Every published track. */
  tracks(): TrackDescriptor[] {
    return [...this.#tracks.values()].map((t) => t.descriptor);
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
    for (const track of [...this.#tracks.values()]) if (track.participantId === participantId) this.#unpublish(track);
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
    this.#stopSpeakerTimer();
    this.emit('closed');
    this.removeAllListeners();
  }

  #publish(participant: Participant, inbound: InboundTrack): void {
    if (this.#closed || this.#participants.get(participant.id) !== participant) return;
    const track = new PublishedTrack({
      id: `${inbound.info.kind === 'video' ? 'TV' : 'TA'}_${randomBytes(6).toString('base64url')}`,
      participantId: participant.id,
      source: inbound,
      counters: this.#options.counters,
      overload: this.#options.overload,
      keyFrameRequestIntervalMs: this.#options.keyFrameRequestIntervalMs,
      retransmissionSlots: this.#options.retransmissionSlots,
      retransmissionMaxAgeMs: this.#options.retransmissionMaxAgeMs,
      onAudioLevel: inbound.info.kind === 'audio' ? (level) => this.#speaker.record(participant.id, level) : undefined,
    });
    this.#tracks.set(track.id, track);
    inbound.onClose(() => {
      if (this.#tracks.get(track.id) === track) this.#unpublish(track);
    });
    this.#logger.debug({ participantId: participant.id, trackId: track.id, kind: track.kind, codec: track.codec }, 'track published');
    this.emit('trackPublished', track);
    for (const p of this.#participants.values()) if (p.wants(participant.id)) p.assign(track);
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
