/**
 * Meridian's browser SDK: join a meeting through the node the control plane chose, publish
 * camera and microphone, receive everyone else, fall back to another region when the node
 * cannot be reached, and keep a running call alive when its node fails or is drained. Built into `dist/client/meridian.js` (ESM) by `scripts/build-client.mjs`
 * and served by the gateway's demo routes at `/sdk/meridian.js`; see docs/sdk.md.
 *
 * Owns: the browser side of the signaling protocol (docs/signaling.md) and both peer
 * connections. Must not import anything that needs Node (the control plane, the media
 * plane): only type-level imports of the dependency-free contracts.
 */
export { MeridianClient, type RemoteParticipant } from './MeridianClient.js';
export { precallTest, type PrecallOptions, type PrecallResult, type PrecallRegionResult, type PrecallTarget, type PrecallTargets, type PrecallTargetSource } from './PrecallTest.js';
export type { MeridianClientOptions } from './clientOptions.js';
export type {
  MeridianClientEvents,
  ConnectedEvent,
  DisconnectedEvent,
  ReconnectingEvent,
  ReconnectedEvent,
  MigratingEvent,
  MigratedEvent,
  ClientState,
} from './clientEvents.js';
export type { ReconnectReason } from './ReconnectPolicy.js';
export type { LivenessOptions } from './LivenessMonitor.js';
export type { Scheduler } from './scheduler.js';
export type { FallbackEvent, PlacementInfo } from './Connector.js';
export type { JoinResponse, JoinSource, JoinFunction, JoinRequestOptions, JoinRequestReason, FallbackRegion, RegionInfo, ClientLocationInfo } from './JoinSource.js';
export { MeridianClientError, ClientErrorCodes, isMeridianClientError, type ClientErrorCode, type MeridianClientErrorCode } from './errors.js';
export type { MediaKind, ParticipantInfo, TrackInfo, SlotInfo } from './protocol.js';
export type { InboundMediaStats } from './stats.js';
