/**
 * JSON Schemas of the HTTP edge: request bodies, path params and querystrings, composed
 * from the contract schemas so a field is defined once. They differ from the action
 * params only where HTTP differs: the app comes from the credential (not the body) and
 * the client address from the connection (not the body).
 */
import { Type, type Static } from '@sinclair/typebox';
import {
  IpAddress,
  JoinParams,
  MeetingId,
  NodeId,
  PlanParams,
  PrecallParams,
  ProbeTargetsParams,
  Probes,
  Participant,
  RankParams,
  RegionAddParams,
  RegionId,
  RegionUpdateParams,
  KeyCreateParams,
  KeyIdParams,
} from '../contracts/index.js';

/** An app id as keys carry it (`auth.createKey`'s pattern). */
const AppId = Type.String({ pattern: KeyCreateParams.properties.appId.pattern, minLength: 1, maxLength: 64 });
/** An app id, or `*` (admin key only): "whichever app owns this meeting". */
const AppIdOrAny = Type.String({ pattern: `(${KeyCreateParams.properties.appId.pattern})|^\\*$`, minLength: 1, maxLength: 64 });
const strict = { additionalProperties: false } as const;

/** `POST /v1/meetings`. `appId` is only for the admin key (an app key acts on its own app). */
export const MeetingCreateBody = Type.Object(
  {
    id: Type.Optional(MeetingId),
    forceRegion: Type.Optional(RegionId),
    appId: Type.Optional(AppId),
  },
  strict,
);
export type MeetingCreateBody = Static<typeof MeetingCreateBody>;

/** `:meetingId` path parameter. */
export const MeetingPath = Type.Object({ meetingId: MeetingId }, strict);
export type MeetingPath = Static<typeof MeetingPath>;

/** `GET /v1/meetings/:meetingId?appId=` (appId: admin key only). */
export const MeetingQuery = Type.Object({ appId: Type.Optional(AppIdOrAny) }, strict);
export type MeetingQuery = Static<typeof MeetingQuery>;

/** `POST /v1/meetings/:meetingId/join`. `forceRegion` and `appId`: admin key only. */
export const JoinBody = Type.Object(
  {
    participant: Participant,
    forceRegion: Type.Optional(RegionId),
    appId: Type.Optional(AppIdOrAny),
    /** A node this client could not reach on its previous attempt; the placement re-checks it. */
    unreachableNodeId: JoinParams.properties.unreachableNodeId,
    /** Why the client joins again (`unreachable` or `migrate`); logged. */
    reason: JoinParams.properties.reason,
    /** RTTs the client measured (`precallTest()`): they rank a new meeting's region and are learned for the client's prefix. */
    probes: Type.Optional(Probes),
  },
  strict,
);
export type JoinBody = Static<typeof JoinBody>;

/** `POST /v1/precall`: the client's probes (the address comes from the connection). */
export const PrecallBody = Type.Object({ probes: PrecallParams.properties.probes, count: PrecallParams.properties.count }, strict);
export type PrecallBody = Static<typeof PrecallBody>;

/** `GET /v1/precall/targets?count=&explore=`. */
export const ProbeTargetsQuery = Type.Object({ count: PrecallParams.properties.count, explore: ProbeTargetsParams.properties.explore }, strict);
export type ProbeTargetsQuery = Static<typeof ProbeTargetsQuery>;

/** `GET /v1/admin/regions/plan?max=&budget=` (and the `.svg` map). */
export const PlanQuery = Type.Object({ max: PlanParams.properties.max, budget: PlanParams.properties.budget }, strict);
export type PlanQuery = Static<typeof PlanQuery>;

/** `POST /v1/admin/regions/plan`: the query's fields plus candidate regions. */
export const PlanBody = Type.Object({ max: PlanParams.properties.max, budget: PlanParams.properties.budget, candidates: PlanParams.properties.candidates }, strict);
export type PlanBody = Static<typeof PlanBody>;

/**
 * `GET /v1/regions/rank`. `ip` defaults to the caller's address; any string up to the
 * address length is accepted here so that every bad address gets `INVALID_IP`.
 */
export const RankQuery = Type.Object(
  {
    ip: Type.Optional(Type.String({ maxLength: IpAddress.maxLength ?? 64 })),
    count: RankParams.properties.count,
    exclude: RankParams.properties.exclude,
  },
  strict,
);
export type RankQuery = Static<typeof RankQuery>;

/** `:id` path parameter of the admin region routes. */
export const RegionPath = Type.Object({ id: RegionId }, strict);
export type RegionPath = Static<typeof RegionPath>;

/** `POST /v1/admin/regions`. */
export const RegionCreateBody = RegionAddParams;
export type RegionCreateBody = Static<typeof RegionCreateBody>;

/** `PATCH /v1/admin/regions/:id`: the update params without the id (it is in the path). */
export const RegionPatchBody = Type.Omit(RegionUpdateParams, ['id'], { additionalProperties: false, minProperties: 1 });
export type RegionPatchBody = Static<typeof RegionPatchBody>;

/** `DELETE /v1/admin/regions/:id?force=true`. */
export const RegionRemoveQuery = Type.Object({ force: Type.Optional(Type.Boolean()), migrate: Type.Optional(Type.Boolean()) }, strict);

/** `POST /v1/admin/regions/:id/drain` and `/v1/admin/nodes/:id/drain` (body optional). */
export const DrainBody = Type.Object({ migrate: Type.Optional(Type.Boolean({ description: 'also move live meetings elsewhere now' })) }, strict);
export type DrainBody = Static<typeof DrainBody>;

/** `:id` path parameter of the admin node routes. */
export const NodePath = Type.Object({ id: NodeId }, strict);
export type NodePath = Static<typeof NodePath>;

/** `/v1/admin/keys/:keyId` */
export const KeyPath = Type.Object({ keyId: KeyIdParams.properties.keyId }, strict);
export type KeyPath = Static<typeof KeyPath>;
export type RegionRemoveQuery = Static<typeof RegionRemoveQuery>;

/** `POST /v1/admin/keys`. */
export const KeyCreateBody = KeyCreateParams;
export type KeyCreateBody = Static<typeof KeyCreateBody>;

/** The body of every error response. `data` is present only for some codes. */
export const ErrorBody = Type.Object({
  error: Type.Object({
    code: Type.String(),
    message: Type.String(),
    data: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
  }),
});
export type ErrorBody = Static<typeof ErrorBody>;
