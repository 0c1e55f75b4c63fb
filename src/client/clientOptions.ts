/**
 * The options of {@link MeridianClient} (docs/sdk.md#options).
 */
import type { JoinSource } from './JoinSource.js';
import type { LivenessOptions } from './LivenessMonitor.js';
import type { Scheduler } from './scheduler.js';
import type { WebSocketFactory } from './SignalingChannel.js';

/** Options of `MeridianClient`. */
export interface MeridianClientOptions extends LivenessOptions {
  /**
   * The join response from the app's backend; or the URL of a backend route that returns
   * one (POSTed `{ unreachableNodeId?, reason?, participantId?, previousNodeId? }` as JSON,
   * with the page's cookies); or a function returning one. Only a URL or a function allows
   * fallback, reconnecting and migration.
   */
  readonly join: JoinSource;
  /** How long the node's WebSocket may take to open and answer `joined`. Default 5000 ms. */
  readonly connectTimeoutMs?: number;
  /** Connection attempts in total, fallbacks included, per join or reconnect try. Default 8. */
  readonly maxAttempts?: number;
  /** Publish camera and microphone. Default true; false joins to watch and listen only. */
  readonly publish?: boolean;
  /** getUserMedia constraints. Default: microphone, and camera at 640×480. */
  readonly media?: MediaStreamConstraints;
  /** A stream to publish instead of opening camera and microphone (its tracks are not stopped on leave). */
  readonly localStream?: MediaStream;
  /** ICE servers for both peer connections (the node announces its own addresses; none needed on a LAN). */
  readonly iceServers?: RTCIceServer[];
  /** Longest wait for ICE gathering before an offer or answer is sent anyway. Default 3000 ms. */
  readonly iceGatheringTimeoutMs?: number;
  /** How long the publish connection may take to connect after `joined`. Default 15000 ms. */
  readonly mediaTimeoutMs?: number;
  /** How often the RTT to the node is read (`rtt` event). Default 2000 ms; 0 = never. */
  readonly statsIntervalMs?: number;
  /** How long to keep rejoining after the node of a running call was lost. Default 30 000 ms; 0 = never reconnect. */
  readonly reconnectBudgetMs?: number;
  /** How long a participant missing after a reconnect or migration keeps its tile before `participant-left`. Default 10 000 ms. */
  readonly rejoinGraceMs?: number;
  /** Clock and timers for liveness, back-off and budget (tests pass a manual one). */
  readonly scheduler?: Scheduler;
  /** Replaces the WebSocket constructor (tests). */
  readonly webSocketFactory?: WebSocketFactory;
}
