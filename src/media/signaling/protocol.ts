/**
 * The signaling protocol between a client and a meeting node: JSON text frames on a
 * WebSocket (default path `/rtc`), each an object with a `type`.
 *
 * Two peer connections per client, which is what browsers renegotiate best:
 * - **publish**: the client offers its tracks (`offer`), the node answers (`answer`). The
 *   client may re-offer at any time to add or remove tracks.
 * - **subscribe**: the node offers (`offer` from the node), the client answers (`answer`
 *   from the client). The node re-offers when it needs another receive slot.
 * SDP is exchanged complete (ICE gathering finished), not trickled.
 *
 * Client → node:
 * | type        | fields                                   | effect |
 * | ----------- | ---------------------------------------- | ------ |
 * | `join`      | `token` (join JWT for this node)         | first message; answered by `joined` |
 * | `offer`     | `sdp` (publish PC offer)                 | answered by `answer` |
 * | `answer`    | `sdp` (subscribe PC answer), `session`   | completes the node `offer` of that `session` |
 * | `subscribe` | `publisherIds`: participant ids or `"*"` | which publishers to receive (default `"*"`) |
 * | `ping`      | `id` (integer ≥ 0)                       | answered at once by `pong` with the same `id` (after `joined` only) |
 * | `leave`     | —                                        | leaves; the node closes the socket (1000) |
 *
 * Node → client:
 * | type                | fields |
 * | ------------------- | ------ |
 * | `joined`            | `participantId`, `meetingId`, `name`, `participants` [{id, name}] (others), `tracks` [{trackId, participantId, kind}], `activeSpeaker` |
 * | `answer`            | `sdp` (publish PC answer) |
 * | `offer`             | `sdp` (subscribe PC offer), `slots`, `session` — a new `session` number means: close the old subscribe PC and answer with a new one |
 * | `subscriptions`     | `slots`: [{mid, kind, participantId, trackId}] — what each subscribe m-line carries now (null = idle) |
 * | `participant-joined`| `participant` {id, name} |
 * | `participant-left`  | `participantId` |
 * | `track-published`   | `track` {trackId, participantId, kind} |
 * | `track-unpublished` | `trackId`, `participantId` |
 * | `active-speaker`    | `participantId` (null when the speaker left) |
 * | `pong`              | `id` of the `ping` |
 * | `migrate`           | `reason`, `deadlineMs`: the meeting was re-placed; reconnect elsewhere, then `leave` |
 * | `error`             | `code` (error catalog code), `message` |
 *
 * Every `error` is followed by the node closing the socket: 1008 (bad input), 1009
 * (`PAYLOAD_TOO_LARGE`), 1013 (`NODE_UNAVAILABLE`, try another node), 1011 (`INTERNAL`),
 * 4401 (token refused: invalid, expired, another node's, or already used — tokens are
 * single-use). Other closes: 1000 after `leave`, 1001 node shutting down, 4409 the same
 * participant joined again elsewhere with a new token (`replaced`), 4410 media transport lost.
 *
 * Close codes, message type names and the plain shapes of `ping`/`pong`/`migrate` live in
 * `src/contracts/signaling.ts`, shared with the browser SDK.
 */
import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import type { MediaKind } from '../engine/MediaEngine.js';
import { MAX_SDP_BYTES } from '../engine/Sdp.js';
import { MAX_TOKEN_BYTES } from '../../tokens/index.js';
import type { SlotDescriptor } from '../sfu/Participant.js';
import type { TrackDescriptor } from '../sfu/PublishedTrack.js';
import type { ParticipantDescriptor } from '../sfu/Room.js';
import type { ErrorCode } from '../../contracts/errors.js';
import {
  CloseCode,
  MAX_PING_ID,
  type ClientMessageType as ContractClientMessageType,
  type MigrateMessage,
  type PongMessage,
  type ServerMessageType as ContractServerMessageType,
} from '../../contracts/signaling.js';

const ParticipantIdSchema = Type.String({ pattern: '^[A-Za-z0-9_.:@-]{1,128}$' });
const Sdp = Type.String({ minLength: 1, maxLength: MAX_SDP_BYTES });

/** Schemas of client messages, by type. */
export const ClientMessageSchemas = {
  join: Type.Object({ type: Type.Literal('join'), token: Type.String({ minLength: 1, maxLength: MAX_TOKEN_BYTES }) }, { additionalProperties: false }),
  offer: Type.Object({ type: Type.Literal('offer'), sdp: Sdp }, { additionalProperties: false }),
  answer: Type.Object(
    { type: Type.Literal('answer'), sdp: Sdp, session: Type.Optional(Type.Integer({ minimum: 1, maximum: 1_000_000 })) },
    { additionalProperties: false },
  ),
  subscribe: Type.Object(
    {
      type: Type.Literal('subscribe'),
      publisherIds: Type.Union([Type.Literal('*'), Type.Array(ParticipantIdSchema, { maxItems: 256 })]),
    },
    { additionalProperties: false },
  ),
  ping: Type.Object({ type: Type.Literal('ping'), id: Type.Integer({ minimum: 0, maximum: MAX_PING_ID }) }, { additionalProperties: false }),
  leave: Type.Object({ type: Type.Literal('leave') }, { additionalProperties: false }),
} as const;

/** A validated client message. */
export type ClientMessage = { [K in keyof typeof ClientMessageSchemas]: Static<(typeof ClientMessageSchemas)[K]> }[keyof typeof ClientMessageSchemas];

/** The types a client may send. */
export type ClientMessageType = ClientMessage['type'];

/** Both directions name exactly the types listed in the shared contract (compile-time check). */
type SameSet<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const contractInStep: SameSet<ClientMessageType, ContractClientMessageType> & SameSet<ServerMessage['type'], ContractServerMessageType> = true;
void contractInStep;

/** Messages the node sends. */
export type ServerMessage =
  | {
      type: 'joined';
      participantId: string;
      meetingId: string;
      name: string;
      participants: ParticipantDescriptor[];
      tracks: TrackDescriptor[];
      activeSpeaker: string | null;
    }
  | { type: 'answer'; sdp: string }
  | { type: 'offer'; sdp: string; slots: SlotDescriptor[]; session: number }
  | { type: 'subscriptions'; slots: SlotDescriptor[] }
  | { type: 'participant-joined'; participant: ParticipantDescriptor }
  | { type: 'participant-left'; participantId: string }
  | { type: 'track-published'; track: TrackDescriptor }
  | { type: 'track-unpublished'; trackId: string; participantId: string }
  | { type: 'active-speaker'; participantId: string | null }
  | PongMessage
  | MigrateMessage
  | { type: 'error'; code: ErrorCode; message: string };

/** Kind of a track in messages. */
export type { MediaKind };

const compiled = Object.fromEntries(Object.entries(ClientMessageSchemas).map(([k, s]) => [k, TypeCompiler.Compile(s as TSchema)])) as Record<
  string,
  ReturnType<typeof TypeCompiler.Compile>
>;

/** Outcome of {@link validateClientMessage}. */
export type ValidationOutcome = { ok: true; message: ClientMessage } | { ok: false; reason: string };

/** Checks a parsed JSON value against the client message schemas. */
export function validateClientMessage(value: unknown): ValidationOutcome {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return { ok: false, reason: 'a message must be a JSON object' };
  const type = (value as { type?: unknown }).type;
  if (typeof type !== 'string') return { ok: false, reason: 'a message needs a string "type"' };
  const check = Object.prototype.hasOwnProperty.call(compiled, type) ? compiled[type] : undefined;
  if (!check) return { ok: false, reason: `unknown message type "${type.slice(0, 40)}"` };
  if (!check.Check(value)) {
    const first = check.Errors(value).First();
    return { ok: false, reason: first ? `${type}: ${first.path || '/'} ${first.message}` : `${type}: invalid` };
  }
  return { ok: true, message: value as ClientMessage };
}

/** WebSocket close codes the node uses (defined in `src/contracts/signaling.ts`). */
export { CloseCode };

const CLOSE_FOR: Partial<Record<ErrorCode, number>> = {
  PAYLOAD_TOO_LARGE: CloseCode.tooLarge,
  NODE_UNAVAILABLE: CloseCode.tryAgainLater,
  INTERNAL: CloseCode.internalError,
  TOKEN_INVALID: CloseCode.tokenRefused,
  TOKEN_EXPIRED: CloseCode.tokenRefused,
  TOKEN_SCOPE: CloseCode.tokenRefused,
  TOKEN_REPLAYED: CloseCode.tokenRefused,
};

/** The close code that follows an `error` of `code`, on the client path and the relay path alike (1008 otherwise). */
export function closeCodeFor(code: ErrorCode): number {
  return CLOSE_FOR[code] ?? CloseCode.policyViolation;
}
