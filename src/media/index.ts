/**
 * The media plane: a meeting node (SFU) that hosts meetings placed on it by the control
 * plane. It owns WebRTC sessions, packet forwarding and client signaling; it must not
 * touch the database or the broker (the lead wires `heartbeat` / `meetingEnded`).
 *
 * - `engine/`    the WebRTC stack behind `MediaEngine` (node-datachannel implementation)
 * - `sfu/`       rooms, participants, forwarding, RTCP, retransmission, active speaker
 * - `signaling/` the WebSocket protocol (`protocol.ts` documents every message)
 * - `cascade/`   relays between the nodes of one meeting (`relayProtocol.ts`)
 */
export { SfuNode, type SfuNodeOptions, type SfuNodeStats } from './SfuNode.js';
export type { RelayCommand } from './cascade/RelayManager.js';
export { SFU_NODE_DEFAULTS, SfuNodeSettingFields, SfuNodeSettingsError, NODE_ID_PATTERN, resolveSfuNodeSettings, type SfuNodeSettings, type SfuNodeSettingsInput } from './SfuNodeConfig.js';
export type {
  MediaEngine,
  MediaKind,
  PeerSession,
  PeerState,
  InboundTrack,
  InboundTrackInfo,
  OutboundTrack,
  OutboundTrackSpec,
} from './engine/MediaEngine.js';
export { NodeDatachannelEngine, type NodeDatachannelEngineOptions } from './engine/NodeDatachannelEngine.js';
export { acquireNativeRuntime } from './engine/NativeRuntime.js';
export { announcedIceAddresses, hostAddresses } from './engine/hostAddresses.js';
export type { ClientMessage, ServerMessage } from './signaling/protocol.js';
export { CloseCode } from './signaling/protocol.js';
export { createJoinTokenVerifier, type JoinTokenVerifier } from '../tokens/index.js';
export type { SlotDescriptor } from './sfu/Participant.js';
export type { TrackDescriptor } from './sfu/PublishedTrack.js';
export type { ParticipantDescriptor, LeaveReason } from './sfu/Room.js';
