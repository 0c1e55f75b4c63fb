/**
 * The client's view of the signaling protocol (the node side and the full description are
 * in `src/media/signaling/protocol.ts` and `docs/signaling.md`). Close codes and the shapes
 * of `ping`/`pong`/`migrate` come from the dependency-free shared contract
 * (`src/contracts/signaling.ts`); the rest is written out here so that the browser bundle
 * depends on nothing of the node, and a unit test checks that it stays assignable from the
 * node's own types.
 */
import { NodeCloseCode, type MigrateMessage, type PingMessage, type PongMessage } from '../contracts/signaling.js';

export { NodeCloseCode };
export type { MigrateMessage, MigrateReason } from '../contracts/signaling.js';

/** Kind of a media track. */
export type MediaKind = 'audio' | 'video';

/** A participant as the node describes it. */
export interface ParticipantInfo {
  readonly id: string;
  readonly name: string;
}

/** A published track as the node describes it. */
export interface TrackInfo {
  readonly trackId: string;
  readonly participantId: string;
  readonly kind: MediaKind;
}

/** One m-line of the subscribe connection and what it carries now (null ids: idle). */
export interface SlotInfo {
  readonly mid: string;
  readonly kind: MediaKind;
  readonly participantId: string | null;
  readonly trackId: string | null;
}

/** Messages the client sends. */
export type ClientMessage =
  | { type: 'join'; token: string }
  | { type: 'offer'; sdp: string }
  /** `session`: the subscribe-connection session of the `offer` answered (echoed). */
  | { type: 'answer'; sdp: string; session?: number }
  | { type: 'subscribe'; publisherIds: '*' | string[] }
  | PingMessage
  | { type: 'leave' };

/** Messages the node sends. */
export type ServerMessage =
  | {
      type: 'joined';
      participantId: string;
      meetingId: string;
      name: string;
      participants: ParticipantInfo[];
      tracks: TrackInfo[];
      activeSpeaker: string | null;
    }
  | { type: 'answer'; sdp: string }
  /** `session`: a number other than the current subscribe connection's means "answer on a new one". */
  | { type: 'offer'; sdp: string; slots: SlotInfo[]; session?: number }
  | { type: 'subscriptions'; slots: SlotInfo[] }
  | { type: 'participant-joined'; participant: ParticipantInfo }
  | { type: 'participant-left'; participantId: string }
  | { type: 'track-published'; track: TrackInfo }
  | { type: 'track-unpublished'; trackId: string; participantId: string }
  | { type: 'active-speaker'; participantId: string | null }
  | PongMessage
  | MigrateMessage
  | { type: 'error'; code: string; message: string };

/** A node message of one type. */
export type ServerMessageOf<T extends ServerMessage['type']> = Extract<ServerMessage, { type: T }>;


const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isString = (v: unknown): v is string => typeof v === 'string';
const isKind = (v: unknown): v is MediaKind => v === 'audio' || v === 'video';
const isNullableString = (v: unknown): v is string | null => v === null || typeof v === 'string';
const isParticipant = (v: unknown): v is ParticipantInfo => isObject(v) && isString(v.id) && isString(v.name);
const isTrack = (v: unknown): v is TrackInfo => isObject(v) && isString(v.trackId) && isString(v.participantId) && isKind(v.kind);
const isSlot = (v: unknown): v is SlotInfo => isObject(v) && isString(v.mid) && isKind(v.kind) && isNullableString(v.participantId) && isNullableString(v.trackId);
const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
const isArrayOf = <T>(v: unknown, check: (x: unknown) => x is T): v is T[] => Array.isArray(v) && v.every(check);

const CHECKS: { [T in ServerMessage['type']]: (m: Record<string, unknown>) => boolean } = {
  joined: (m) =>
    isString(m.participantId) &&
    isString(m.meetingId) &&
    isString(m.name) &&
    isArrayOf(m.participants, isParticipant) &&
    isArrayOf(m.tracks, isTrack) &&
    isNullableString(m.activeSpeaker),
  answer: (m) => isString(m.sdp),
  offer: (m) => isString(m.sdp) && isArrayOf(m.slots, isSlot) && (m.session === undefined || isCount(m.session)),
  subscriptions: (m) => isArrayOf(m.slots, isSlot),
  'participant-joined': (m) => isParticipant(m.participant),
  'participant-left': (m) => isString(m.participantId),
  'track-published': (m) => isTrack(m.track),
  'track-unpublished': (m) => isString(m.trackId) && isString(m.participantId),
  'active-speaker': (m) => isNullableString(m.participantId),
  pong: (m) => isCount(m.id),
  // An unknown reason from a newer node is still a migration request.
  migrate: (m) => isString(m.reason) && isCount(m.deadlineMs),
  error: (m) => isString(m.code) && isString(m.message),
};


/** Outcome of {@link parseServerMessage}. */
export type ParseOutcome = { ok: true; message: ServerMessage } | { ok: false; reason: string };

/**
 * Parses one text frame from the node. Unknown message types are reported as such (a newer
 * node may send more than this SDK knows; the caller ignores them), malformed known ones as
 * errors.
 */
export function parseServerMessage(text: string): ParseOutcome {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { ok: false, reason: 'not JSON' };
  }
  if (!isObject(value) || !isString(value.type)) return { ok: false, reason: 'not an object with a string "type"' };
  const check = Object.prototype.hasOwnProperty.call(CHECKS, value.type) ? CHECKS[value.type as ServerMessage['type']] : undefined;
  if (!check) return { ok: false, reason: `unknown message type "${value.type.slice(0, 40)}"` };
  if (!check(value)) return { ok: false, reason: `malformed "${value.type}" message` };
  return { ok: true, message: value as unknown as ServerMessage };
}

/** True when a parse failure is only an unknown type (to be ignored, for forward compatibility). */
export function isUnknownType(outcome: ParseOutcome): boolean {
  return !outcome.ok && outcome.reason.startsWith('unknown message type');
}
