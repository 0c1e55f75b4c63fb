/**
 * One client's WebSocket: parses and checks each frame, runs the messages one at a time,
 * and turns room and participant events into messages. Any bad input (binary or oversized
 * frame, non-JSON, unknown type, wrong fields, bad SDP, refused token, flood) gets one
 * `error` message and the socket is closed; the node and other clients are unaffected.
 */
import type { WebSocket, RawData } from 'ws';
import type { Logger } from '../../lib/logger.js';
import { MeridianError, isMeridianError } from '../../contracts/errors.js';
import type { JoinTokenClaims } from '../../contracts/schemas.js';
import { roomKey } from '../../contracts/meetingKeys.js';
import type { Participant } from '../sfu/Participant.js';
import type { LeaveReason, Room, RoomMigration } from '../sfu/Room.js';
import type { RoomManager } from '../sfu/RoomManager.js';
import { CloseCode, closeCodeFor, validateClientMessage, type ClientMessage, type ServerMessage } from './protocol.js';
import { RateLimiter } from './RateLimiter.js';
import type { JoinTokenVerifier } from '../../tokens/index.js';

/** What a connection needs from the node. */
export interface ConnectionContext {
  readonly verifyToken: JoinTokenVerifier;
  readonly rooms: RoomManager;
  /** Participants the node accepts in total. */
  readonly capacity: number;
  readonly createParticipant: (claims: JoinTokenClaims) => Participant;
  readonly maxMessageBytes: number;
  readonly messagesPerSecond: number;
  readonly messageBurst: number;
  readonly joinTimeoutMs: number;
  /** Above this many unsent bytes the client is considered stuck and dropped. */
  readonly maxBufferedBytes: number;
  readonly logger: Logger;
}


const CLOSE_ON_LEAVE: Record<LeaveReason, [number, string]> = {
  left: [CloseCode.normal, 'left'],
  disconnected: [CloseCode.normal, 'disconnected'],
  replaced: [CloseCode.replaced, 'joined elsewhere'],
  'transport-failed': [CloseCode.transportLost, 'media transport lost'],
  'room-closed': [CloseCode.goingAway, 'meeting closed'],
};

/** One signaling WebSocket. */
export class SignalingConnection {
  readonly #ws: WebSocket;
  readonly #ctx: ConnectionContext;
  readonly #limiter: RateLimiter;
  #logger: Logger;
  #state: 'awaiting-join' | 'joined' | 'closed' = 'awaiting-join';
  #queue: Promise<void> = Promise.resolve();
  #room: Room | undefined;
  #participant: Participant | undefined;
  #offs: Array<() => void> = [];
  #joinTimer: NodeJS.Timeout | undefined;
  #migrateTimer: NodeJS.Timeout | undefined;
  #onClosed: () => void;
  /** Alive since the last ping round. */
  alive = true;
  /** Resolves when the underlying socket has closed. */
  readonly socketClosed: Promise<void>;

  constructor(ws: WebSocket, ctx: ConnectionContext, onClosed: () => void) {
    this.#ws = ws;
    this.#ctx = ctx;
    this.#logger = ctx.logger;
    this.#onClosed = onClosed;
    this.#limiter = new RateLimiter(ctx.messagesPerSecond, ctx.messageBurst);
    ws.on('message', (data, isBinary) => this.#onFrame(data, isBinary));
    ws.on('pong', () => {
      this.alive = true;
    });
    ws.on('error', (err) => this.#logger.debug({ err }, 'signaling socket error'));
    this.socketClosed = new Promise((resolve) => ws.once('close', () => resolve()));
    ws.on('close', () => this.#teardown('disconnected'));
    this.#joinTimer = setTimeout(() => this.#fail(new MeridianError('VALIDATION_FAILED', 'No join message in time')), ctx.joinTimeoutMs);
    this.#joinTimer.unref();
  }

  /** The joined participant's id, if any. */
  get participantId(): string | undefined {
    return this.#participant?.id;
  }

  /** Closes with `code`, then drops the TCP connection if the client does not answer soon. */
  close(code: number, reason: string): void {
    if (this.#ws.readyState === this.#ws.OPEN || this.#ws.readyState === this.#ws.CONNECTING) {
      try {
        this.#ws.close(code, reason);
      } catch {
        this.#ws.terminate();
      }
    }
    this.#teardown('disconnected');
  }

  /** Sends a WebSocket ping; a pong marks the connection alive. */
  ping(): void {
    try {
      this.#ws.ping();
    } catch {
      this.terminate();
    }
  }

  /** Drops the TCP connection now. */
  terminate(): void {
    this.#ws.terminate();
    this.#teardown('disconnected');
  }

  #onFrame(data: RawData, isBinary: boolean): void {
    if (this.#state === 'closed') return;
    const size = Array.isArray(data) ? data.reduce((n, b) => n + b.length, 0) : data instanceof ArrayBuffer ? data.byteLength : data.length;
    if (size > this.#ctx.maxMessageBytes) {
      this.#fail(new MeridianError('PAYLOAD_TOO_LARGE', `Messages are limited to ${this.#ctx.maxMessageBytes} bytes`));
      return;
    }
    if (!this.#limiter.take()) {
      this.#fail(new MeridianError('RATE_LIMITED', 'Too many signaling messages'));
      return;
    }
    if (isBinary) {
      this.#fail(new MeridianError('VALIDATION_FAILED', 'Binary frames are not accepted; send JSON text'));
      return;
    }
    const text = Array.isArray(data) ? Buffer.concat(data).toString('utf8') : Buffer.from(data as Buffer).toString('utf8');
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      this.#fail(new MeridianError('INVALID_JSON', 'The message is not valid JSON'));
      return;
    }
    const outcome = validateClientMessage(value);
    if (!outcome.ok) {
      this.#fail(new MeridianError('VALIDATION_FAILED', outcome.reason));
      return;
    }
    const message = outcome.message;
    if (message.type === 'ping' && this.#state === 'joined') {
      // Liveness is answered at once, not behind an offer still being handled: the client
      // takes a late pong for a hung node.
      this.#send({ type: 'pong', id: message.id });
      return;
    }
    this.#queue = this.#queue
      .then(() => (this.#state === 'closed' ? undefined : this.#handle(message)))
      .catch((err: unknown) => this.#fail(err));
  }

  async #handle(message: ClientMessage): Promise<void> {
    if (message.type === 'join') {
      this.#join(message.token);
      return;
    }
    const participant = this.#participant;
    const room = this.#room;
    if (this.#state !== 'joined' || !participant || !room) throw new MeridianError('VALIDATION_FAILED', `"${message.type}" before "join"`);
    switch (message.type) {
      case 'offer': {
        const sdp = await participant.handlePublishOffer(message.sdp);
        this.#send({ type: 'answer', sdp });
        return;
      }
      case 'answer':
        participant.handleSubscribeAnswer(message.sdp, message.session);
        return;
      case 'subscribe':
        room.setSubscriptions(participant.id, message.publisherIds);
        return;
      case 'ping':
        this.#send({ type: 'pong', id: message.id });
        return;
      case 'leave':
        this.#teardown('left');
        this.close(CloseCode.normal, 'left');
        return;
    }
  }

  #join(token: string): void {
    if (this.#state !== 'awaiting-join') throw new MeridianError('VALIDATION_FAILED', 'Already joined');
    const claims = this.#ctx.verifyToken(token);
    const rooms = this.#ctx.rooms;
    // Rooms are keyed by app and meeting: two apps' meetings of one id never share a room.
    const key = roomKey(claims.app, claims.mtg);
    const rejoin = rooms.get(key)?.participant(claims.sub) !== undefined;
    if (!rejoin && rooms.participantCount >= this.#ctx.capacity) throw new MeridianError('NODE_UNAVAILABLE', 'The meeting node is full');
    if (this.#joinTimer) clearTimeout(this.#joinTimer);
    this.#joinTimer = undefined;
    this.#logger = this.#logger.child({ meetingId: claims.mtg, participantId: claims.sub });
    const room = rooms.getOrCreate(key);
    const participant = this.#ctx.createParticipant(claims);
    this.#room = room;
    this.#participant = participant;
    this.#state = 'joined';
    this.#offs.push(
      room.on('participantJoined', (p) => {
        if (p !== participant) this.#send({ type: 'participant-joined', participant: { id: p.id, name: p.name } });
      }),
      room.on('participantLeft', (p, reason) => {
        if (p === participant) {
          if (reason !== 'left' && reason !== 'disconnected') {
            const [code, text] = CLOSE_ON_LEAVE[reason];
            this.close(code, text);
          }
        } else if (!room.hasParticipant(p.id)) {
          this.#send({ type: 'participant-left', participantId: p.id });
        }
      }),
      // Participants of the meeting's other nodes (cascading) look exactly like local ones.
      room.on('remoteParticipantJoined', (p) => this.#send({ type: 'participant-joined', participant: { id: p.id, name: p.name } })),
      room.on('remoteParticipantLeft', (id) => {
        if (id !== participant.id) this.#send({ type: 'participant-left', participantId: id });
      }),
      room.on('trackPublished', (t) => this.#send({ type: 'track-published', track: t.descriptor })),
      room.on('trackUnpublished', (t) => this.#send({ type: 'track-unpublished', trackId: t.id, participantId: t.participantId })),
      room.on('activeSpeaker', (id) => this.#send({ type: 'active-speaker', participantId: id })),
      participant.on('subscriberOffer', (sdp, slots, session) => this.#send({ type: 'offer', sdp, slots, session })),
      participant.on('slotsChanged', (slots) => this.#send({ type: 'subscriptions', slots })),
      room.on('migrate', (m) => this.#migrate(m)),
    );
    room.add(participant);
    this.#send({
      type: 'joined',
      participantId: participant.id,
      meetingId: claims.mtg,
      name: participant.name,
      participants: room.participants().filter((p) => p.id !== participant.id),
      tracks: room.tracks(),
      activeSpeaker: room.activeSpeaker,
    });
    this.#logger.info({ region: claims.rgn }, 'participant joined');
    // A token minted before the meeting moved (iat has second precision: the same second
    // counts as before): move on at once. A newer one means the meeting was placed here again.
    const migration = room.migration;
    if (migration && claims.iat * 1000 < migration.startedAt + 1000) this.#migrate(migration);
    else if (migration) room.endMigration();
  }

  /**
   * Tells the client its meeting moved. It reconnects elsewhere and then sends `leave`;
   * until then this node keeps forwarding. Whoever is still here at the deadline is closed
   * with 1001 (the client then recovers as from a lost node).
   */
  #migrate(m: RoomMigration): void {
    if (this.#state !== 'joined') return;
    const remaining = Math.max(0, m.deadlineAt - Date.now());
    this.#send({ type: 'migrate', reason: m.reason, deadlineMs: remaining });
    if (this.#migrateTimer) clearTimeout(this.#migrateTimer);
    this.#migrateTimer = setTimeout(() => this.close(CloseCode.goingAway, 'meeting migrated'), remaining);
    this.#migrateTimer.unref();
  }

  #send(message: ServerMessage): void {
    if (this.#state === 'closed' || this.#ws.readyState !== this.#ws.OPEN) return;
    if (this.#ws.bufferedAmount > this.#ctx.maxBufferedBytes) {
      this.#logger.warn('client is not reading its signaling socket; dropping it');
      this.terminate();
      return;
    }
    this.#ws.send(JSON.stringify(message));
  }

  #fail(err: unknown): void {
    if (this.#state === 'closed') return;
    const error = isMeridianError(err) ? err : new MeridianError('INTERNAL');
    if (!isMeridianError(err)) this.#logger.error({ err }, 'signaling handler failed');
    else this.#logger.debug({ code: error.code, reason: error.message }, 'refusing client input');
    this.#send({ type: 'error', code: error.code, message: error.message });
    this.close(closeCodeFor(error.code), error.code);
  }

  #teardown(reason: LeaveReason): void {
    if (this.#state === 'closed') return;
    this.#state = 'closed';
    if (this.#joinTimer) clearTimeout(this.#joinTimer);
    this.#joinTimer = undefined;
    if (this.#migrateTimer) clearTimeout(this.#migrateTimer);
    this.#migrateTimer = undefined;
    for (const off of this.#offs) off();
    this.#offs = [];
    const room = this.#room;
    const participant = this.#participant;
    if (room && participant && room.participant(participant.id) === participant) room.remove(participant.id, reason);
    else participant?.close();
    this.#onClosed();
  }
}
