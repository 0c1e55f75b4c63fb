/**
 * The relay protocol between two nodes of one meeting (cascading): JSON text frames on a
 * WebSocket to the accepting node's signaling port, path `<signaling path>/relay` (default
 * `/rtc/relay`), each an object with a `type`. Media does not travel here: it goes over two
 * node-datachannel PeerConnections (DTLS-SRTP), one per direction, negotiated by `offer` /
 * `answer` below; each node offers the connection it sends on.
 *
 * | type                 | fields | meaning |
 * | -------------------- | ------ | ------- |
 * | `hello`              | `token` (the relay token *without* its signature), `nonce`, `proof` | first message of the dialing node (RelayTokenVerifier.ts: proof of possession) |
 * | `welcome`            | `nodeId`, `nonce`, `proof` (MAC with the session key: the accepting node holds its key) | the accepting node took the relay |
 * | `participant-joined` | `participant` {id, name} | a participant of the sender's node (sent for each on `welcome`, then as they come) |
 * | `participant-left`   | `participantId` | |
 * | `track-published`    | `track` {trackId, participantId, kind, audioLevelId} | a track a participant of the sender's node publishes |
 * | `track-unpublished`  | `trackId` | |
 * | `subscribe`          | `trackIds` | the sender has local subscribers for these tracks of the receiver's node: send them |
 * | `unsubscribe`        | `trackIds` | it has none any more: stop |
 * | `offer`              | `sdp`, `tracks` [{mid, trackId}], `shard`?, `mac` | the sender's media connection `shard` (default 0) towards the receiver (re-offered when a track is added). A connection holds 48 m-lines; the sender opens shard n+1 when shards 0..n are full |
 * | `rebind`             | `n`, `mid`, `trackId`, `fromSeq`?, `mac` | the sender's m-line `mid` (offered before) now carries its track `trackId`, the relay sequence numbers from `fromSeq` on (a reused send slot: no renegotiation). `n` counts the sender's rebinds from 1 up; `mac` binds role, `n`, `mid`, `trackId` and `fromSeq` |
 * | `answer`             | `sdp`, `shard`?, `mac` | answer to the receiver's last `offer` of that shard |
 *
 * `mac` binds the SDP (and its DTLS fingerprint) to the relay's session key, which only the
 * two nodes hold: a relay is authenticated end to end even over plain `ws://`. For a shard
 * above 0 the MAC covers its index too (shard 0's MAC is the same as before shards).
 * | `nack`               | `trackId`, `seqs` | resend these packets of a relayed track (sequence numbers as received over the relay) |
 * | `error`              | `code`, `message` | followed by a close |
 *
 * Key-frame requests travel as RTCP PLI on the media connection itself. Only tracks
 * published by the sender's own participants are announced and sent: the nodes of a meeting
 * form a full mesh, so no track crosses two relays.
 */
import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { MAX_SDP_BYTES } from '../engine/Sdp.js';
import { MAX_TOKEN_BYTES } from '../../tokens/index.js';
import type { RawData } from 'ws';
import { MeridianError, type ErrorCode } from '../../contracts/errors.js';

const Id = Type.String({ pattern: '^[A-Za-z0-9_.:@-]{1,128}$' });
const TrackId = Type.String({ pattern: '^[A-Za-z0-9_-]{1,64}$' });
const Kind = Type.Union([Type.Literal('audio'), Type.Literal('video')]);
/** A nonce (16 random bytes, base64url). */
const B64 = Type.String({ pattern: '^[A-Za-z0-9_-]{16,64}$' });
/** An HMAC-SHA256 (base64url). */
const Mac = Type.String({ pattern: '^[A-Za-z0-9_-]{43}$' });
/** Index of a relay's connection pair (RelayLink.ts: RELAY_MAX_SHARDS); absent means 0. */
const Shard = Type.Integer({ minimum: 0, maximum: 31 });
/** Most track ids in one `subscribe`/`unsubscribe`. */
const MAX_TRACKS = 1024;

const RelayTrack = Type.Object(
  { trackId: TrackId, participantId: Id, kind: Kind, audioLevelId: Type.Integer({ minimum: 0, maximum: 255 }) },
  { additionalProperties: false },
);
export type RelayTrack = Static<typeof RelayTrack>;

/** Schemas of relay messages, by type (both directions). */
export const RelayMessageSchemas = {
  hello: Type.Object(
    { type: Type.Literal('hello'), token: Type.String({ minLength: 1, maxLength: MAX_TOKEN_BYTES }), nonce: B64, proof: Mac },
    { additionalProperties: false },
  ),
  welcome: Type.Object({ type: Type.Literal('welcome'), nodeId: Type.String({ minLength: 1, maxLength: 128 }), nonce: B64, proof: Mac }, { additionalProperties: false }),
  'participant-joined': Type.Object(
    { type: Type.Literal('participant-joined'), participant: Type.Object({ id: Id, name: Type.String({ maxLength: 200 }) }, { additionalProperties: false }) },
    { additionalProperties: false },
  ),
  'participant-left': Type.Object({ type: Type.Literal('participant-left'), participantId: Id }, { additionalProperties: false }),
  'track-published': Type.Object({ type: Type.Literal('track-published'), track: RelayTrack }, { additionalProperties: false }),
  'track-unpublished': Type.Object({ type: Type.Literal('track-unpublished'), trackId: TrackId }, { additionalProperties: false }),
  subscribe: Type.Object({ type: Type.Literal('subscribe'), trackIds: Type.Array(TrackId, { maxItems: MAX_TRACKS }) }, { additionalProperties: false }),
  unsubscribe: Type.Object({ type: Type.Literal('unsubscribe'), trackIds: Type.Array(TrackId, { maxItems: MAX_TRACKS }) }, { additionalProperties: false }),
  offer: Type.Object(
    {
      type: Type.Literal('offer'),
      sdp: Type.String({ minLength: 1, maxLength: MAX_SDP_BYTES }),
      tracks: Type.Array(Type.Object({ mid: Type.String({ pattern: '^[A-Za-z0-9]{1,16}$' }), trackId: TrackId }, { additionalProperties: false }), { maxItems: MAX_TRACKS }),
      shard: Type.Optional(Shard),
      mac: Mac,
    },
    { additionalProperties: false },
  ),
  rebind: Type.Object(
    {
      type: Type.Literal('rebind'),
      n: Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER }),
      mid: Type.String({ pattern: '^[A-Za-z0-9]{1,16}$' }),
      trackId: TrackId,
      fromSeq: Type.Optional(Type.Integer({ minimum: 0, maximum: 65535 })),
      mac: Mac,
    },
    { additionalProperties: false },
  ),
  answer: Type.Object(
    { type: Type.Literal('answer'), sdp: Type.String({ minLength: 1, maxLength: MAX_SDP_BYTES }), shard: Type.Optional(Shard), mac: Mac },
    { additionalProperties: false },
  ),
  nack: Type.Object(
    { type: Type.Literal('nack'), trackId: TrackId, seqs: Type.Array(Type.Integer({ minimum: 0, maximum: 65535 }), { minItems: 1, maxItems: 1024 }) },
    { additionalProperties: false },
  ),
  error: Type.Object({ type: Type.Literal('error'), code: Type.String({ maxLength: 64 }), message: Type.String({ maxLength: 1024 }) }, { additionalProperties: false }),
} as const;

/** A validated relay message (what a node receives). */
export type RelayMessage = { [K in keyof typeof RelayMessageSchemas]: Static<(typeof RelayMessageSchemas)[K]> }[keyof typeof RelayMessageSchemas];

/** What a node sends (the same set; `error` with a catalog code). */
export type OutgoingRelayMessage = Exclude<RelayMessage, { type: 'error' }> | { type: 'error'; code: ErrorCode; message: string };

const compiled = Object.fromEntries(Object.entries(RelayMessageSchemas).map(([k, s]) => [k, TypeCompiler.Compile(s as TSchema)])) as Record<string, ReturnType<typeof TypeCompiler.Compile>>;

/** Checks a parsed JSON value against the relay schemas. */
export function validateRelayMessage(value: unknown): { ok: true; message: RelayMessage } | { ok: false; reason: string } {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return { ok: false, reason: 'a message must be a JSON object' };
  const type = (value as { type?: unknown }).type;
  if (typeof type !== 'string') return { ok: false, reason: 'a message needs a string "type"' };
  const check = Object.prototype.hasOwnProperty.call(compiled, type) ? compiled[type] : undefined;
  if (!check) return { ok: false, reason: `unknown relay message type "${type.slice(0, 40)}"` };
  if (!check.Check(value)) {
    const first = check.Errors(value).First();
    return { ok: false, reason: first ? `${type}: ${first.path || '/'} ${first.message}` : `${type}: invalid` };
  }
  return { ok: true, message: value as RelayMessage };
}

/** The relay URL of a peer from the signaling URL its clients are given (`…/rtc` → `…/rtc/relay`). */
export function relayUrlOf(signalingUrl: string): string {
  const url = new URL(signalingUrl);
  url.pathname = `${url.pathname.replace(/\/+$/, '')}/relay`;
  url.search = '';
  url.hash = '';
  return url.toString();
}

/** Reads one WebSocket frame of the relay protocol: a validated message or the error to answer with. */
export function readRelayFrame(data: RawData, isBinary: boolean, maxBytes: number): { message: RelayMessage } | { error: MeridianError } {
  const size = Array.isArray(data) ? data.reduce((n, b) => n + b.length, 0) : data instanceof ArrayBuffer ? data.byteLength : data.length;
  if (size > maxBytes) return { error: new MeridianError('PAYLOAD_TOO_LARGE', `Relay messages are limited to ${maxBytes} bytes`) };
  if (isBinary) return { error: new MeridianError('VALIDATION_FAILED', 'Relay messages are JSON text frames') };
  const text = Array.isArray(data) ? Buffer.concat(data).toString('utf8') : Buffer.from(data as Buffer).toString('utf8');
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { error: new MeridianError('INVALID_JSON', 'The relay message is not valid JSON') };
  }
  const outcome = validateRelayMessage(value);
  return outcome.ok ? { message: outcome.message } : { error: new MeridianError('VALIDATION_FAILED', outcome.reason) };
}


