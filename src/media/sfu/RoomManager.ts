/**
 * The rooms of this node, by meeting id. A room is created by its first join and closed
 * `graceMs` after its last participant left (a participant reconnecting within the grace
 * period finds the meeting still there); `meetingEnded` then tells the node so the control
 * plane can be told.
 */
import type { Logger } from '../../lib/logger.js';
import { TypedEmitter } from '../../lib/TypedEmitter.js';
import type { Room } from './Room.js';

/** Why a meeting ended on this node. */
export type MeetingEndReason = 'empty' | 'shutdown';

/** Events of the room manager. */
export interface RoomManagerEvents {
  roomCreated: [room: Room];
  meetingEnded: [meetingId: string, reason: MeetingEndReason];
}

/** Construction options. */
export interface RoomManagerOptions {
  readonly graceMs: number;
  readonly createRoom: (meetingId: string) => Room;
  readonly logger: Logger;
}

/** Room registry with grace-period closing. */
export class RoomManager extends TypedEmitter<RoomManagerEvents> {
  readonly #options: RoomManagerOptions;
  readonly #rooms = new Map<string, Room>();
  readonly #graceTimers = new Map<string, NodeJS.Timeout>();
  #closed = false;

  constructor(options: RoomManagerOptions) {
    super();
    this.#options = options;
    this.setListenerErrorHandler((err, event) => options.logger.error({ err, event }, 'room manager listener failed'));
  }

  /** The room of `meetingId`, if live. */
  get(meetingId: string): Room | undefined {
    return this.#rooms.get(meetingId);
  }

  /** The room of `meetingId`, created if needed; cancels a pending grace close. */
  getOrCreate(meetingId: string): Room {
    if (this.#closed) throw new Error('room manager closed');
    this.#cancelGrace(meetingId);
    let room = this.#rooms.get(meetingId);
    if (!room) {
      room = this.#options.createRoom(meetingId);
      const created = room;
      created.on('empty', () => this.#startGrace(created));
      created.on('participantJoined', () => this.#cancelGrace(created.id));
      this.#rooms.set(meetingId, created);
      this.emit('roomCreated', created);
      // A room nobody joins (the join failed after creation) still ends.
      if (created.participantCount === 0) this.#startGrace(created);
    }
    return room;
  }

  /** Ids of live meetings. */
  meetingIds(): string[] {
    return [...this.#rooms.keys()];
  }

  get meetingCount(): number {
    return this.#rooms.size;
  }

  get participantCount(): number {
    let n = 0;
    for (const room of this.#rooms.values()) n += room.participantCount;
    return n;
  }

  get trackCount(): number {
    let n = 0;
    for (const room of this.#rooms.values()) n += room.trackCount;
    return n;
  }

  /** Meetings waiting out their grace period (for teardown tests). */
  get pendingGraceCount(): number {
    return this.#graceTimers.size;
  }

  /** Closes every room (`meetingEnded` with reason `shutdown`). Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const timer of this.#graceTimers.values()) clearTimeout(timer);
    this.#graceTimers.clear();
    for (const [id, room] of [...this.#rooms]) {
      this.#rooms.delete(id);
      room.close();
      this.emit('meetingEnded', id, 'shutdown');
    }
    this.removeAllListeners();
  }

  #startGrace(room: Room): void {
    if (this.#closed || this.#graceTimers.has(room.id)) return;
    const timer = setTimeout(() => {
      this.#graceTimers.delete(room.id);
      if (room.participantCount > 0 || this.#rooms.get(room.id) !== room) return;
      this.#rooms.delete(room.id);
      room.close();
      this.emit('meetingEnded', room.id, 'empty');
    }, this.#options.graceMs);
    timer.unref();
    this.#graceTimers.set(room.id, timer);
  }

  #cancelGrace(meetingId: string): void {
    const timer = this.#graceTimers.get(meetingId);
    if (timer) clearTimeout(timer);
    this.#graceTimers.delete(meetingId);
  }
}
