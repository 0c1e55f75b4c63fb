/**
 * A meeting node: the wiring file of the media plane. It builds the media engine, the room
 * registry and the signaling server from one validated config, reports load to the control
 * plane through an injected `heartbeat` function, tells it about ended meetings through
 * `meetingEnded`, and tears everything down in order on `close()`.
 *
 * The node never imports the control plane: the lead wires `heartbeat` to the broker action
 * `regions.heartbeat` and `meetingEnded` to `rooms.meetingEnded`.
 */
import type { Logger } from '../lib/logger.js';
import type { JoinTokenClaims, NodeHeartbeatParams } from '../contracts/schemas.js';
import type { MediaEngine } from './engine/MediaEngine.js';
import { NodeDatachannelEngine } from './engine/NodeDatachannelEngine.js';
import { announcedIceAddresses } from './engine/hostAddresses.js';
import { LoadMonitor } from './LoadMonitor.js';
import { resolveSfuNodeSettings, type SfuNodeSettings, type SfuNodeSettingsInput } from './SfuNodeConfig.js';
import { Participant } from './sfu/Participant.js';
import { Room, type RoomMigration } from './sfu/Room.js';
import { RoomManager } from './sfu/RoomManager.js';
import { TokenReplayGuard, createJoinTokenVerifier, createRelayHelloVerifier, decodeNodeKey, type JoinTokenVerifier } from '../tokens/index.js';
import { SignalingServer } from './signaling/SignalingServer.js';
import { RelayManager, type RelayCommand } from './cascade/RelayManager.js';

/** How long after the relays ask the early heartbeat goes (their state settles first), ms. */
const EARLY_BEAT_DELAY_MS = 20;
/** Least time between a heartbeat and an early one, ms. */
const EARLY_BEAT_SPACING_MS = 250;

/** Everything a node is made from. */
export interface SfuNodeOptions extends SfuNodeSettingsInput {
  /** This node's join-token key: a Buffer or base64url text, ≥ 32 bytes. */
  readonly nodeKey: Buffer | string;
  readonly logger: Logger;
  /** Reports load every `heartbeatIntervalMs` (≤ 2 s). Failures are logged, not fatal. */
  readonly heartbeat?: ((params: NodeHeartbeatParams) => Promise<void>) | undefined;
  /** Called when a meeting ends here (grace period over, or node shutdown). */
  readonly meetingEnded?: ((meetingId: string) => Promise<void>) | undefined;
  /** A media engine to use instead of node-datachannel (the node closes it). */
  readonly engine?: MediaEngine | undefined;
}

/** Live figures of a node. */
export interface SfuNodeStats {
  readonly participants: number;
  readonly meetings: number;
  readonly tracks: number;
  readonly connections: number;
  readonly peers: number;
  /** Open relays to other nodes (cascading). */
  readonly relays: number;
}

/** How long `close()` waits for `meetingEnded` callbacks. */
const MEETING_ENDED_TIMEOUT_MS = 2_000;

/** The SFU meeting node. */
export class SfuNode {
  readonly settings: Readonly<SfuNodeSettings>;
  readonly #logger: Logger;
  readonly #engine: MediaEngine;
  readonly #load: LoadMonitor;
  readonly #rooms: RoomManager;
  readonly #signaling: SignalingServer;
  readonly #relays: RelayManager;
  /** Spent token ids, join and relay alike. */
  readonly #usedTokens: TokenReplayGuard;
  readonly #heartbeat: SfuNodeOptions['heartbeat'];
  readonly #meetingEnded: SfuNodeOptions['meetingEnded'];
  readonly #pendingCallbacks = new Set<Promise<void>>();
  #heartbeatTimer: NodeJS.Timeout | undefined;
  #heartbeatInFlight = false;
  #lastBeatAt = 0;
  /** An early heartbeat to ask for relay tokens ({@link SfuNode.#askSoon}). */
  #askTimer: NodeJS.Timeout | undefined;
  #port = 0;
  #url = '';
  #state: 'new' | 'starting' | 'started' | 'closing' | 'closed' = 'new';
  #closing: Promise<void> | undefined;

  constructor(options: SfuNodeOptions) {
    const { nodeKey: key, logger: _logger, heartbeat: _hb, meetingEnded: _me, engine: _engine, ...settings } = options;
    this.settings = resolveSfuNodeSettings(settings);
    const s = this.settings;
    const nodeKey = decodeNodeKey(key);
    this.#logger = options.logger.child({ module: 'sfu', nodeId: s.nodeId, region: s.regionId });
    this.#heartbeat = options.heartbeat;
    this.#meetingEnded = options.meetingEnded;
    this.#engine =
      options.engine ??
      new NodeDatachannelEngine({
        bindAddress: s.ice.bindAddress || undefined,
        portRangeBegin: s.ice.portRangeBegin || undefined,
        portRangeEnd: s.ice.portRangeEnd || undefined,
        enableIceUdpMux: s.ice.udpMux,
        iceServers: s.ice.servers,
        gatheringTimeoutMs: s.ice.gatheringTimeoutMs,
        logger: this.#logger.child({ component: 'engine' }),
      });
    this.#load = new LoadMonitor({
      overloadLagMs: s.media.overloadLagMs,
      // Shed video leaves every subscriber frozen until the key frame asked for afterwards.
      onChange: (overloaded, lagMs) =>
        overloaded ? this.#logger.warn({ lagMs }, 'event loop behind: shedding video') : this.#logger.info({ durationMs: lagMs }, 'event loop caught up: forwarding video again'),
    });
    this.#rooms = new RoomManager({
      graceMs: s.graceMs,
      logger: this.#logger,
      createRoom: (meetingId) =>
        new Room({
          id: meetingId,
          logger: this.#logger.child({ meetingId }),
          counters: this.#load.counters,
          overload: this.#load,
          keyFrameRequestIntervalMs: s.media.keyFrameRequestIntervalMs,
          retransmissionSlots: s.media.retransmissionSlots,
          retransmissionMaxAgeMs: s.media.retransmissionMaxAgeMs,
          activeSpeakerIntervalMs: s.media.activeSpeakerIntervalMs,
        }),
    });
    this.#rooms.on('meetingEnded', (meetingId, reason) => this.#onMeetingEnded(meetingId, reason));
    this.#usedTokens = new TokenReplayGuard({ maxEntries: s.tokens.maxRememberedIds, clockToleranceSeconds: s.tokens.clockToleranceSeconds });
    this.#relays = new RelayManager({
      nodeId: s.nodeId,
      engine: this.#engine,
      rooms: this.#rooms,
      verifyHello: createRelayHelloVerifier(s.nodeId, nodeKey, {
        clockToleranceSeconds: s.tokens.clockToleranceSeconds,
        maxTtlSeconds: s.tokens.maxTtlSeconds,
        replayGuard: this.#usedTokens,
      }),
      onTokensWanted: () => this.#askSoon(),
      // A relay carries a meeting's worth of announcements at once: 50 times a client's rate.
      limits: {
        maxMessageBytes: s.signaling.maxMessageBytes,
        messagesPerSecond: s.signaling.messagesPerSecond * 50,
        messageBurst: s.signaling.messageBurst * 50,
        pingIntervalMs: s.signaling.pingIntervalMs,
        maxBufferedBytes: s.signaling.maxBufferedBytes,
      },
      handshakeTimeoutMs: s.signaling.joinTimeoutMs,
      logger: this.#logger,
    });
    this.#signaling = new SignalingServer({
      host: s.host,
      port: s.port,
      path: s.signaling.path,
      hardMaxFrameBytes: s.signaling.hardMaxFrameBytes,
      pingIntervalMs: s.signaling.pingIntervalMs,
      maxMessageBytes: s.signaling.maxMessageBytes,
      messagesPerSecond: s.signaling.messagesPerSecond,
      messageBurst: s.signaling.messageBurst,
      joinTimeoutMs: s.signaling.joinTimeoutMs,
      maxBufferedBytes: s.signaling.maxBufferedBytes,
      upgradeTimeoutMs: s.signaling.upgradeTimeoutMs,
      requestTimeoutMs: s.signaling.requestTimeoutMs,
      keepAliveTimeoutMs: s.signaling.keepAliveTimeoutMs,
      maxConnectionsPerAddress: s.signaling.maxConnectionsPerAddress,
      capacity: s.capacity,
      rooms: this.#rooms,
      verifyToken: this.#tokenVerifier(nodeKey),
      createParticipant: (claims) => this.#createParticipant(claims),
      relayAcceptor: this.#relays,
      logger: this.#logger.child({ component: 'signaling' }),
    });
  }

  /** Bound signaling port (after `start`). */
  get port(): number {
    return this.#port;
  }

  /** The URL clients connect to (after `start`). */
  get url(): string {
    return this.#url;
  }

  /** Live figures. */
  stats(): SfuNodeStats {
    return {
      participants: this.#rooms.participantCount,
      meetings: this.#rooms.meetingCount,
      tracks: this.#rooms.trackCount,
      connections: this.#signaling.connectionCount,
      peers: this.#engine.peerCount,
      relays: this.#relays.linkCount,
    };
  }

  /** Node-wide RTP packets received and forwarded since start (benchmarks read them). */
  get packetCounters(): Readonly<{ packetsIn: number; packetsOut: number }> {
    return { ...this.#load.counters };
  }

  /** The room of a live meeting (tests reach forwarders through it). */
  roomForTesting(meetingId: string): Room | undefined {
    return this.#rooms.get(meetingId);
  }

  /**
   * The control plane moved `meetingId` to another node: asks each of its participants here
   * to move (signaling `migrate`), keeps forwarding until each leaves, and closes whoever is
   * left with 1001 after `deadlineMs`. Returns how many participants were told (0 when the
   * meeting is not here).
   */
  migrateMeeting(meetingId: string, reason: RoomMigration['reason'], deadlineMs: number): number {
    if (this.#state !== 'started') return 0;
    const room = this.#rooms.get(meetingId);
    if (!room) {
      this.#logger.info({ meetingId, reason }, 'migrate for a meeting not hosted here; nothing to do');
      return 0;
    }
    const now = Date.now();
    return room.migrate({ reason, startedAt: now, deadlineAt: now + deadlineMs });
  }

  /**
   * The control plane's `relay` command for one meeting: the full set of the meeting's other
   * nodes, each with a relay token. Opens, keeps or closes relays to match (RelayManager).
   */
  relay(command: RelayCommand): void {
    if (this.#state !== 'started') return;
    this.#relays.apply(command);
  }

  /** The relays (tests inspect links through it). */
  get relaysForTesting(): RelayManager {
    return this.#relays;
  }

  /** True while the node sheds video because the event loop lags. */
  get overloaded(): boolean {
    return this.#load.overloaded;
  }

  /** Starts listening and heartbeating. */
  async start(): Promise<void> {
    if (this.#state !== 'new') throw new Error(`SfuNode.start() called in state ${this.#state}`);
    this.#state = 'starting';
    const s = this.settings;
    try {
      this.#port = await this.#signaling.listen();
    } catch (err) {
      await this.close();
      throw err;
    }
    const host = s.host === '0.0.0.0' || s.host === '::' ? '127.0.0.1' : s.host;
    this.#url = s.publicUrl || `ws://${host.includes(':') ? `[${host}]` : host}:${this.#port}${s.signaling.path}`;
    this.#load.start();
    this.#state = 'started';
    this.#logger.info(
      { url: this.#url, capacity: s.capacity, ice: { announced: announcedIceAddresses(s.ice.bindAddress || undefined), ports: [s.ice.portRangeBegin, s.ice.portRangeEnd] } },
      'meeting node started',
    );
    if (this.#heartbeat) {
      void this.#beat();
      this.#heartbeatTimer = setInterval(() => void this.#beat(), s.heartbeatIntervalMs);
      this.#heartbeatTimer.unref();
    }
  }

  /**
   * Stops heartbeats, closes every socket, peer and room, releases native resources, and
   * waits (≤ 2 s) for `meetingEnded` callbacks. Idempotent; safe before `start`.
   */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    this.#state = 'closing';
    if (this.#heartbeatTimer) clearInterval(this.#heartbeatTimer);
    if (this.#askTimer) clearTimeout(this.#askTimer);
    this.#askTimer = undefined;
    this.#heartbeatTimer = undefined;
    // Relays first: the other nodes' clients see this node's participants leave at once.
    this.#relays.close();
    try {
      await this.#signaling.close();
    } catch (err) {
      this.#logger.warn({ err }, 'closing signaling failed');
    }
    this.#rooms.close();
    this.#engine.close();
    this.#load.close();
    if (this.#pendingCallbacks.size > 0) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        Promise.allSettled([...this.#pendingCallbacks]),
        new Promise<void>((resolve) => {
          timer = setTimeout(resolve, MEETING_ENDED_TIMEOUT_MS);
        }),
      ]);
      clearTimeout(timer);
    }
    this.#state = 'closed';
    this.#logger.info('meeting node closed');
  }

  /**
   * Signature, claims and lifetime (JoinTokenVerifier), then single use (TokenReplayGuard):
   * a token is spent the first time a valid one is presented, whatever happens next.
   */
  #tokenVerifier(nodeKey: Buffer): JoinTokenVerifier {
    const { maxTtlSeconds, clockToleranceSeconds } = this.settings.tokens;
    const verify = createJoinTokenVerifier(this.settings.nodeId, nodeKey, { clockToleranceSeconds, maxTtlSeconds });
    const used = this.#usedTokens;
    return (token) => {
      const claims = verify(token);
      used.admit(claims);
      return claims;
    };
  }

  #createParticipant(claims: JoinTokenClaims): Participant {
    return new Participant({
      id: claims.sub,
      name: claims.name,
      meetingId: claims.mtg,
      engine: this.#engine,
      logger: this.#logger.child({ meetingId: claims.mtg, participantId: claims.sub }),
    });
  }

  #heartbeatParams(): NodeHeartbeatParams {
    const s = this.settings;
    const { packetsPerSecond, cpu } = this.#load.sample();
    const wanted = this.#relays.tokensWanted();
    return {
      nodeId: s.nodeId,
      regionId: s.regionId,
      url: this.#url,
      capacity: s.capacity,
      status: 'active',
      load: {
        participants: this.#rooms.participantCount,
        meetings: this.#rooms.meetingCount,
        tracks: this.#rooms.trackCount,
        packetsPerSecond,
        cpu,
      },
      meetings: this.#rooms.meetingIds(),
      ...(wanted.length > 0 ? { relayTokensWanted: wanted } : {}),
    };
  }

  /**
   * The relays need a token: a heartbeat goes now rather than at the next interval, so a
   * dropped relay is dialed again in about a round trip to the control plane. At most one
   * such early heartbeat per {@link EARLY_BEAT_SPACING_MS}.
   */
  #askSoon(): void {
    if (this.#askTimer || !this.#heartbeat) return;
    const wait = Math.max(EARLY_BEAT_DELAY_MS, this.#lastBeatAt + EARLY_BEAT_SPACING_MS - Date.now());
    this.#askTimer = setTimeout(() => {
      this.#askTimer = undefined;
      if (this.#relays.tokensWanted().length > 0) void this.#beat();
    }, wait);
    this.#askTimer.unref();
  }

  async #beat(): Promise<void> {
    if (this.#heartbeatInFlight || this.#state !== 'started' || !this.#heartbeat) return;
    this.#heartbeatInFlight = true;
    this.#lastBeatAt = Date.now();
    try {
      await this.#heartbeat(this.#heartbeatParams());
    } catch (err) {
      this.#logger.warn({ err }, 'heartbeat failed');
    } finally {
      this.#heartbeatInFlight = false;
    }
  }

  #onMeetingEnded(meetingId: string, reason: string): void {
    this.#logger.info({ meetingId, reason }, 'meeting ended');
    if (!this.#meetingEnded) return;
    const p = this.#meetingEnded(meetingId)
      .catch((err: unknown) => this.#logger.warn({ err, meetingId }, 'reporting a meeting end failed'))
      .finally(() => this.#pendingCallbacks.delete(p));
    this.#pendingCallbacks.add(p);
  }
}
