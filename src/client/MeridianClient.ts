/**
 * The browser client of a Meridian meeting. It takes a join response (or a way to get one
 * from the app's backend), reaches the meeting node with fallback, publishes camera and
 * microphone on one peer connection (the client offers), receives everyone else on a second
 * one (the node offers), and reports what happens as typed events.
 *
 * A running call survives its node: when the node's socket closes, it stops answering
 * `ping`, or a peer connection fails, the client rejoins through its join source (state
 * `reconnecting`) as the same participant with the same local tracks; when the node says
 * `migrate`, it moves make-before-break. The app keeps the same object throughout.
 *
 * ```ts
 * const client = new MeridianClient({ join: '/api/meetings/standup/join' });
 * client.on('track', ({ participant, stream }) => attach(participant.id, stream));
 * client.on('participant-left', ({ participant }) => detach(participant.id));
 * client.on('reconnecting', ({ reason }) => showBanner(`Reconnecting… (${reason})`));
 * const { region, node, rttMs } = await client.connect();
 * ```
 */
import { precallTest, type PrecallOptions, type PrecallResult } from './PrecallTest.js';
import type { ConnectedEvent, DisconnectedEvent, MeridianClientEvents, ClientState } from './clientEvents.js';
import { connectWithFallback, placementOf, type Connection, type PlacementInfo } from './Connector.js';
import { ClientErrorCodes, MeridianClientError, toClientError } from './errors.js';
import { resolveJoinSource, type JoinRequestOptions, type JoinSource, type ResolvedJoinSource } from './JoinSource.js';
import type { MeridianClientOptions } from './clientOptions.js';
import { lingerOnOldNode, MIGRATION_DEFAULTS } from './MigrationPolicy.js';
import { NodeSession, type SessionEnd } from './NodeSession.js';
import { ParticipantView } from './ParticipantView.js';
import { NodeCloseCode, type MediaKind, type ServerMessageOf, type SlotInfo, type TrackInfo } from './protocol.js';
import { isFinalReconnectError, ReconnectPolicy, RECONNECT_DEFAULTS, type ReconnectReason } from './ReconnectPolicy.js';
import { realScheduler, sleepOn, type Scheduler } from './scheduler.js';
import { defaultWebSocketFactory, type WebSocketFactory } from './SignalingChannel.js';
import type { InboundMediaStats } from './stats.js';
import { TypedEmitter } from '../lib/TypedEmitter.js';
import { abortable, linkedAbort } from './waits.js';

export type * from './clientEvents.js';
export type { MeridianClientOptions } from './clientOptions.js';

/** A remote participant and what is received from it. */
export interface RemoteParticipant {
  readonly id: string;
  readonly name: string;
  /** Its audio and video, or null before anything is received. Replaced (a new object) when its tracks change. */
  readonly stream: MediaStream | null;
  /** Kinds of the tracks in `stream`. */
  readonly kinds: readonly MediaKind[];
}

/** A move to another node in progress. */
interface Migration {
  readonly from: NodeSession;
  readonly abort: AbortController;
  pending: NodeSession | undefined;
}

const DEFAULT_MEDIA: MediaStreamConstraints = {
  audio: true,
  video: { width: { ideal: 640 }, height: { ideal: 480 }, frameRate: { ideal: 24 } },
};

/** The longest wait for the new node's first decoded frames before a migration switches anyway. */
const MIGRATION_FRAME_WAIT_MS = 1_500;

/** The longest wait for the new node's RTT before a reconnect reports `reconnected` without it. */
const RECONNECT_RTT_WAIT_MS = 500;

/** The longest wait for a replacing stream's first decoded frame before the app gets it anyway. */
const SWITCH_FRAME_WAIT_MS = 1_000;

/** A participant's connection to one meeting. */
export class MeridianClient extends TypedEmitter<MeridianClientEvents> {
  readonly #options: MeridianClientOptions;
  readonly #source: ResolvedJoinSource;
  readonly #scheduler: Scheduler;
  readonly #abort = new AbortController();
  #state: ClientState = 'idle';
  #connecting: Promise<ConnectedEvent> | undefined;
  #leaving: Promise<void> | undefined;
  /** The session the app sees. */
  #session: NodeSession | undefined;
  #migration: Migration | undefined;
  /** Old sessions kept after a migration switched, until the others have moved too. */
  readonly #lingering = new Map<NodeSession, () => void>();
  #connected: ConnectedEvent | undefined;
  #participantId: string | undefined;
  #localStream: MediaStream | undefined;
  #ownsLocalStream = false;
  /** The remote participants as the app has been told. */
  readonly #view: ParticipantView<MediaStream>;
  #activeSpeaker: string | null = null;
  #rttMs: number | null = null;
  #statsTimer: ReturnType<typeof setInterval> | undefined;
  #ended: DisconnectedEvent | undefined;
  #reconnects = 0;
  /** The app's last `subscribe()` choice, sent again to every new node. */
  #subscription: '*' | readonly string[] = '*';
  /** A `migrate` that arrived before `connected`: handled once connected. */
  #deferredMigrate: { session: NodeSession; message: ServerMessageOf<'migrate'>; at: number } | undefined;

  /**
   * The pre-call test (a setup screen, before any join): RTT to the best few regions
   * through one node each, all in parallel, within 2 s. Send `result.probes` to your
   * backend, which passes them to `POST /v1/precall` or the join. See docs/sdk.md.
   */
  static precallTest(options: PrecallOptions): Promise<PrecallResult> {
    return precallTest(options);
  }

  constructor(options: MeridianClientOptions) {
    super();
    this.#options = options;
    this.#source = resolveJoinSource(options.join);
    this.#scheduler = options.scheduler ?? realScheduler;
    this.#view = new ParticipantView<MediaStream>(
      this.#scheduler,
      {
        joined: (participant) => this.emit('participant-joined', { participant }),
        left: (participant) => this.emit('participant-left', { participant }),
        track: (participant, stream, kinds) => this.emit('track', { participant, stream, kinds: [...kinds] }),
      },
      options.rejoinGraceMs ?? 10_000,
      // A stream replacing one the app shows (after a reconnect, a move, a subscribe rebuild)
      // is handed over once its video has decoded a frame: the old picture stays until then.
      (id, _stream, kinds) => (kinds.includes('video') && this.#session ? this.#session.waitForVideo(id, SWITCH_FRAME_WAIT_MS) : undefined),
    );
  }

  /** Where the client is in its lifecycle. */
  get state(): ClientState {
    return this.#state;
  }

  /** Placement and RTT once connected (the current node after a reconnect or migration). */
  get connection(): ConnectedEvent | undefined {
    return this.#connected;
  }

  /** This client's participant id (after `joined`); kept across reconnects. */
  get participantId(): string | undefined {
    return this.#participantId;
  }

  /** The published camera/microphone stream (the same across reconnects). */
  get localStream(): MediaStream | undefined {
    return this.#localStream;
  }

  /** The latest measured RTT to the node, ms. */
  get rttMs(): number | null {
    return this.#rttMs;
  }

  /** The loudest participant. */
  get activeSpeaker(): string | null {
    return this.#activeSpeaker;
  }

  /** How many times the call was rejoined after losing its node. */
  get reconnectCount(): number {
    return this.#reconnects;
  }

  /** Everyone else in the meeting, with their received streams. */
  get participants(): RemoteParticipant[] {
    return [...this.#view.records()].map((p) => ({ id: p.info.id, name: p.info.name, stream: p.stream, kinds: [...p.kinds] }));
  }

  /** Tracks published in the meeting (by anyone else), as the current node announced them. */
  get publishedTracks(): TrackInfo[] {
    return [...(this.#session?.tracks.values() ?? [])];
  }

  /** The placement currently used (for diagnostics). */
  get placement(): PlacementInfo | undefined {
    return this.#session ? placementOf(this.#session.response) : undefined;
  }

  /** The subscribe slots as the current node last described them. */
  get slots(): readonly SlotInfo[] {
    return this.#session?.slots ?? [];
  }

  /**
   * Opens camera and microphone, reaches the meeting node (falling back to another
   * placement if it cannot be reached), joins and publishes. Resolves once media flows to
   * the node; rejects with a {@link MeridianClientError}. Calling it again returns the same promise.
   */
  connect(): Promise<ConnectedEvent> {
    if (this.#connecting) return this.#connecting;
    if (this.#state === 'closed') return Promise.reject(new MeridianClientError(ClientErrorCodes.CLOSED, 'This client has left; create a new one to join again'));
    this.#state = 'connecting';
    this.#connecting = this.#connect().catch((err: unknown) => {
      throw this.#connectFailed(err);
    });
    return this.#connecting;
  }

  /** Leaves the meeting: tells the node, closes both connections and the socket, stops local tracks. Idempotent; also stops a reconnect. */
  leave(): Promise<void> {
    this.#leaving ??= (async () => {
      this.#session?.leave();
      this.#teardown({ code: NodeCloseCode.normal, reason: 'left' });
    })();
    return this.#leaving;
  }

  /** Same as {@link leave}. */
  close(): Promise<void> {
    return this.leave();
  }

  /** Receives only these participants (`'*'`: everyone, the default). */
  subscribe(publisherIds: '*' | readonly string[]): void {
    this.#subscription = publisherIds === '*' ? '*' : [...publisherIds];
    this.#session?.subscribe(this.#subscription);
  }

  /** Mutes or unmutes the microphone (the track keeps flowing as silence). */
  setMicrophoneEnabled(enabled: boolean): void {
    for (const t of this.#localStream?.getAudioTracks() ?? []) t.enabled = enabled;
  }

  /** Turns the camera picture on or off (black frames while off). */
  setCameraEnabled(enabled: boolean): void {
    for (const t of this.#localStream?.getVideoTracks() ?? []) t.enabled = enabled;
  }

  /** Raw WebRTC statistics of both connections to the current node. */
  async getStats(): Promise<{ publish?: RTCStatsReport; subscribe?: RTCStatsReport }> {
    return (await this.#session?.getStats()) ?? {};
  }

  /** Inbound media per subscribe slot of the current node, attributed to participants (counters restart on a new node). */
  async remoteMediaStats(): Promise<InboundMediaStats[]> {
    return (await this.#session?.remoteMediaStats()) ?? [];
  }

  // ------------------------------------------------------------------ connecting

  /** The error `connect()` rejects with; ends the session if it is not over yet. */
  #connectFailed(err: unknown): MeridianClientError {
    if (this.#leaving) return new MeridianClientError(ClientErrorCodes.CLOSED, 'left before the connection was established');
    const ended = this.#ended;
    if (ended) {
      return ended.error
        ? new MeridianClientError(ended.error.code as never, ended.error.message)
        : new MeridianClientError(ClientErrorCodes.SIGNALING_CLOSED, `The node closed the connection (${ended.code}${ended.reason ? `: ${ended.reason}` : ''})`);
    }
    const error = toClientError(err, ClientErrorCodes.SIGNALING_CLOSED, 'Connecting failed');
    this.emit('error', { code: error.code, message: error.message });
    this.#teardown({ code: NodeCloseCode.normal, reason: 'connect failed', error: { code: error.code, message: error.message } });
    return error;
  }

  async #connect(): Promise<ConnectedEvent> {
    const webSocket = this.#webSocket();
    const signal = this.#abort.signal;
    if ((this.#options.publish ?? true) && !this.#localStream) {
      this.#localStream = await this.#openLocalMedia();
      signal.throwIfAborted();
      this.emit('local-stream', { stream: this.#localStream });
    }
    const connection = await connectWithFallback({
      source: this.#source,
      connectTimeoutMs: this.#options.connectTimeoutMs ?? 5_000,
      maxAttempts: this.#options.maxAttempts ?? 8,
      webSocket,
      signal,
      onFallback: (e) => this.emit('fallback', e),
    });
    if (signal.aborted) {
      connection.channel.close(NodeCloseCode.normal, 'left');
      signal.throwIfAborted();
    }
    const session = this.#newSession(connection);
    this.#adopt(session);
    await session.start(this.#options.mediaTimeoutMs ?? 15_000, signal);
    this.#rttMs = await this.#measureRtt(session, signal);
    signal.throwIfAborted();
    const connected = this.#connectedEvent(session);
    this.#connected = connected;
    this.#state = 'connected';
    this.#startStatsTimer();
    this.emit('connected', connected);
    this.#runDeferredMigrate();
    return connected;
  }

  #webSocket(): WebSocketFactory {
    const webSocket = this.#options.webSocketFactory ?? defaultWebSocketFactory();
    if (!webSocket || typeof RTCPeerConnection === 'undefined') throw new MeridianClientError(ClientErrorCodes.UNSUPPORTED, 'This browser lacks WebSocket or WebRTC');
    return webSocket;
  }

  async #openLocalMedia(): Promise<MediaStream> {
    if (this.#options.localStream) return this.#options.localStream;
    const devices = typeof navigator === 'undefined' ? undefined : navigator.mediaDevices;
    if (!devices?.getUserMedia) throw new MeridianClientError(ClientErrorCodes.UNSUPPORTED, 'getUserMedia is not available (a secure context, https or localhost, is needed)');
    try {
      const stream = await devices.getUserMedia(this.#options.media ?? DEFAULT_MEDIA);
      this.#ownsLocalStream = true;
      if (this.#abort.signal.aborted) for (const t of stream.getTracks()) t.stop();
      return stream;
    } catch (err) {
      throw toClientError(err, ClientErrorCodes.MEDIA_DENIED, 'Camera or microphone could not be opened');
    }
  }

  #connectedEvent(session: NodeSession): ConnectedEvent {
    const { joined, response } = session;
    return {
      meetingId: joined.meetingId,
      participantId: joined.participantId,
      region: response.region,
      node: response.node,
      endpoint: response.endpoint,
      rttMs: this.#rttMs,
      fallbacks: response.fallbacks,
      location: response.location,
      attempts: session.attempts,
    };
  }

  async #measureRtt(session: NodeSession, signal: AbortSignal): Promise<number | null> {
    // The selected pair has an RTT once a connectivity check was answered; allow a moment.
    for (let i = 0; i < 10 && !signal.aborted && session.hasMedia; i++) {
      const rtt = await session.readRtt();
      if (rtt !== null) return rtt;
      await new Promise((r) => setTimeout(r, 100));
    }
    return null;
  }

  /**
   * The RTT to `session`, or null when its statistics take longer than `ms` (not worth holding
   * a reconnect for: the stats timer measures it later). Rejects when `signal` aborts.
   */
  async #readRttWithin(session: NodeSession, ms: number, signal: AbortSignal): Promise<number | null> {
    const expired = new AbortController();
    const timer = this.#scheduler.setTimeout(() => expired.abort(), ms);
    const link = linkedAbort(signal, expired.signal);
    try {
      return await abortable(session.readRtt(), link.signal);
    } catch {
      signal.throwIfAborted();
      return null;
    } finally {
      this.#scheduler.clearTimeout(timer);
      link.dispose();
    }
  }

  #startStatsTimer(): void {
    const every = this.#options.statsIntervalMs ?? 2_000;
    if (every <= 0 || this.#statsTimer) return;
    this.#statsTimer = setInterval(() => {
      const session = this.#session;
      if (!session || this.#state !== 'connected') return;
      session.readRtt().then(
        (rtt) => {
          if (rtt === null || this.#state !== 'connected' || session !== this.#session) return;
          this.#rttMs = rtt;
          this.emit('rtt', { rttMs: rtt });
        },
        () => {},
      );
    }, every);
  }

  // ------------------------------------------------------------------ sessions and what the app sees

  /** A session with handlers that act only while it is the one the app sees. */
  #newSession(connection: Connection): NodeSession {
    const session = new NodeSession({
      connection,
      localStream: this.#localStream,
      iceServers: this.#options.iceServers ?? [],
      iceGatheringTimeoutMs: this.#options.iceGatheringTimeoutMs ?? 3_000,
      scheduler: this.#scheduler,
      liveness: this.#options,
    });
    const active = () => session === this.#session;
    session.on('participant-joined', ({ participant }) => active() && this.#view.show(participant));
    session.on('participant-left', ({ participant }) => {
      if (!active()) return;
      // While moving, someone leaving the old node has usually moved ahead of this client.
      if (this.#migration) this.#view.await(participant.id);
      else {
        if (this.#activeSpeaker === participant.id) this.#activeSpeaker = null;
        this.#view.drop(participant.id);
      }
    });
    session.on('track', (e) => active() && this.#view.track(e.participant, e.stream, e.kinds));
    session.on('active-speaker', ({ participantId }) => {
      if (!active()) return;
      this.#activeSpeaker = participantId;
      this.emit('active-speaker', { participantId });
    });
    session.on('migrate', (m) => {
      if (!active()) return;
      if (this.#state === 'connected') void this.#migrate(session, m);
      else this.#deferredMigrate = { session, message: m, at: this.#scheduler.now() };
    });
    session.on('error', (e) => active() && this.emit('error', e));
    session.on('end', (end) => this.#onSessionEnd(session, end));
    return session;
  }

  /** Starts a move the node asked for while the client was still connecting. */
  #runDeferredMigrate(): void {
    const d = this.#deferredMigrate;
    this.#deferredMigrate = undefined;
    if (!d || d.session !== this.#session || d.session.ended) return;
    const left = d.message.deadlineMs - (this.#scheduler.now() - d.at);
    if (left > 0) void this.#migrate(d.session, { ...d.message, deadlineMs: Math.round(left) });
  }

  /** Makes `session` the one the app sees. */
  #adopt(session: NodeSession): void {
    this.#session = session;
    if (this.#subscription !== '*') session.subscribe(this.#subscription);
    this.#participantId = session.joined.participantId;
    this.#view.adopt(session, session.joined.participantId);
    if (session.activeSpeaker !== this.#activeSpeaker) {
      this.#activeSpeaker = session.activeSpeaker;
      this.emit('active-speaker', { participantId: this.#activeSpeaker });
    }
  }

  #onSessionEnd(session: NodeSession, end: SessionEnd): void {
    if (session !== this.#session || this.#state === 'closed') return;
    // A session being started by a reconnect: the reconnect loop sees its start() reject.
    if (this.#state === 'reconnecting') return;
    const canReconnect = this.#state === 'connected' && end.kind === 'lost' && this.#source.canReplace && (this.#options.reconnectBudgetMs ?? RECONNECT_DEFAULTS.budgetMs) > 0;
    if (canReconnect) void this.#reconnect(session, end);
    else this.#endCall(end);
  }

  /** Reports a session end that is not recovered from and closes the client. */
  #endCall(end: SessionEnd): void {
    const close = end.close;
    if (end.kind === 'lost') {
      const error = { code: end.reason === 'signaling-closed' ? ClientErrorCodes.SIGNALING_CLOSED : ClientErrorCodes.MEDIA_FAILED, message: end.message };
      this.emit('error', error);
      this.#teardown({ code: close?.code ?? NodeCloseCode.normal, reason: close?.reason ?? 'client error', error });
      return;
    }
    const quiet = end.close.code === NodeCloseCode.normal || end.close.error !== undefined;
    if (!quiet) this.emit('error', { code: ClientErrorCodes.SIGNALING_CLOSED, message: `The node closed the connection (${end.close.code}${end.close.reason ? `: ${end.close.reason}` : ''})` });
    this.#teardown({ code: end.close.code, reason: end.close.reason, ...(end.close.error ? { error: end.close.error } : {}) });
  }

  // ------------------------------------------------------------------ reconnect

  /** Rejoins after the node of the running call was lost, until it works, a final error, or the budget is spent. */
  async #reconnect(lost: NodeSession, end: Extract<SessionEnd, { kind: 'lost' }>): Promise<void> {
    this.#migration?.abort.abort(new MeridianClientError(ClientErrorCodes.MIGRATION_FAILED, 'The old node was lost during the move'));
    this.#state = 'reconnecting';
    this.#session = undefined;
    this.#reconnects++;
    const policy = new ReconnectPolicy({ budgetMs: this.#options.reconnectBudgetMs ?? RECONNECT_DEFAULTS.budgetMs });
    const startedAt = this.#scheduler.now();
    const elapsed = () => this.#scheduler.now() - startedAt;
    const from = placementOf(lost.response);
    const budget = new AbortController();
    const budgetTimer = this.#scheduler.setTimeout(
      () => budget.abort(new MeridianClientError(ClientErrorCodes.RECONNECT_FAILED, `No node could be joined within ${policy.budgetMs} ms`)),
      policy.budgetMs,
    );
    const link = linkedAbort(this.#abort.signal, budget.signal);
    let last: MeridianClientError | undefined;
    try {
      for (let attempt = 1; ; attempt++) {
        this.emit('reconnecting', { reason: end.reason, attempt, message: end.message, from });
        try {
          const session = await this.#rejoin(policy, { nodeId: lost.nodeId, reason: end.reason }, elapsed, link.signal);
          this.#rttMs = await this.#readRttWithin(session, RECONNECT_RTT_WAIT_MS, link.signal);
          if (session.ended) {
            // Lost again in the moment before the switch to `connected`: this try failed too.
            if (this.#session === session) this.#session = undefined;
            throw new MeridianClientError(ClientErrorCodes.SIGNALING_CLOSED, `Node ${session.nodeId} was lost right after rejoining`, { retryable: true });
          }
          const connected = this.#connectedEvent(session);
          this.#connected = connected;
          this.#state = 'connected';
          this.emit('reconnected', { ...connected, reason: end.reason, reconnectAttempts: attempt, elapsedMs: Math.round(elapsed()), previousNodeId: lost.nodeId });
          this.#runDeferredMigrate();
          return;
        } catch (err) {
          if (this.#abort.signal.aborted) return;
          last = toClientError(err, ClientErrorCodes.SIGNALING_CLOSED, 'Rejoining failed');
          if (budget.signal.aborted || isFinalReconnectError(last.code)) break;
          const delay = policy.delayAfter(attempt, elapsed());
          if (delay === null) break;
          await sleepOn(this.#scheduler, delay, link.signal).catch(() => {});
          if (this.#abort.signal.aborted) return;
          if (budget.signal.aborted) break;
        }
      }
    } finally {
      this.#scheduler.clearTimeout(budgetTimer);
      link.dispose();
      // Its pictures stayed up (frozen) until the new node's streams replaced them.
      lost.releaseMedia();
    }
    const why = last && !(last.code === ClientErrorCodes.CLOSED && budget.signal.aborted) ? `: ${last.code}: ${last.message}` : '';
    const final = last !== undefined && isFinalReconnectError(last.code) && !budget.signal.aborted;
    const error = new MeridianClientError(
      ClientErrorCodes.RECONNECT_FAILED,
      final ? `Rejoining the call was refused${why}` : `Could not rejoin the call within ${policy.budgetMs} ms after losing node ${lost.nodeId} (${end.reason})${why}`,
      { cause: last },
    );
    this.emit('error', { code: error.code, message: error.message });
    this.#teardown({ code: end.close?.code ?? NodeCloseCode.normal, reason: 'reconnect failed', error: { code: error.code, message: error.message } });
  }

  /** One reconnect try: a new placement naming the lost node, its node joined, the same tracks published. */
  async #rejoin(policy: ReconnectPolicy, lost: { nodeId: string; reason: ReconnectReason }, elapsed: () => number, signal: AbortSignal): Promise<NodeSession> {
    const base: JoinRequestOptions = { reason: 'unreachable', unreachableNodeId: lost.nodeId, previousNodeId: lost.nodeId, ...(this.#participantId ? { participantId: this.#participantId } : {}) };
    const response = await abortable(this.#source.request(base), signal);
    if (policy.shouldAvoid(response.node.id, lost, elapsed())) {
      throw new MeridianClientError(ClientErrorCodes.ENDPOINT_UNREACHABLE, `The join source named node ${response.node.id} again, which stopped answering; asking again`, { retryable: true });
    }
    const remaining = Math.max(1, policy.remainingMs(elapsed()));
    const connection = await connectWithFallback({
      source: this.#source,
      initial: response,
      requestOptions: base,
      connectTimeoutMs: Math.min(this.#options.connectTimeoutMs ?? 5_000, remaining),
      maxAttempts: this.#options.maxAttempts ?? 8,
      webSocket: this.#webSocket(),
      signal,
      onFallback: (e) => this.emit('fallback', e),
      sleep: (ms, s) => sleepOn(this.#scheduler, ms, s),
    });
    const session = this.#newSession(connection);
    this.#adopt(session);
    try {
      await session.start(Math.min(this.#options.mediaTimeoutMs ?? 15_000, Math.max(1, policy.remainingMs(elapsed()))), signal);
    } catch (err) {
      if (this.#session === session) this.#session = undefined;
      session.close('reconnect try failed');
      throw err;
    }
    return session;
  }

  // ------------------------------------------------------------------ migration

  /** Moves to the node the control plane re-placed the meeting on, make-before-break. */
  async #migrate(from: NodeSession, m: ServerMessageOf<'migrate'>): Promise<void> {
    if (this.#migration || this.#state !== 'connected' || !this.#source.canReplace) return;
    const migration: Migration = { from, abort: new AbortController(), pending: undefined };
    this.#migration = migration;
    const startedAt = this.#scheduler.now();
    const deadlineAt = startedAt + m.deadlineMs;
    const left = () => Math.max(1, deadlineAt - MIGRATION_DEFAULTS.deadlineMarginMs - this.#scheduler.now());
    this.emit('migrating', { reason: m.reason, deadlineMs: m.deadlineMs, from: placementOf(from.response) });
    const timer = this.#scheduler.setTimeout(() => migration.abort.abort(new MeridianClientError(ClientErrorCodes.MIGRATION_FAILED, `The move did not finish within ${m.deadlineMs} ms`)), left());
    const link = linkedAbort(this.#abort.signal, migration.abort.signal);
    try {
      const base: JoinRequestOptions = { reason: 'migrate', previousNodeId: from.nodeId, ...(this.#participantId ? { participantId: this.#participantId } : {}) };
      const response = await abortable(this.#source.request(base), link.signal);
      if (response.node.id === from.nodeId) throw new MeridianClientError(ClientErrorCodes.MIGRATION_FAILED, `The join source placed the call on the same node (${from.nodeId})`);
      const connection = await connectWithFallback({
        source: this.#source,
        initial: response,
        requestOptions: base,
        connectTimeoutMs: Math.min(this.#options.connectTimeoutMs ?? 5_000, left()),
        maxAttempts: 3,
        webSocket: this.#webSocket(),
        signal: link.signal,
        sleep: (ms, s) => sleepOn(this.#scheduler, ms, s),
      });
      const pending = this.#newSession(connection);
      migration.pending = pending;
      await pending.start(Math.min(this.#options.mediaTimeoutMs ?? 15_000, left()), link.signal);
      await pending.waitForReceiving(Math.min(this.#options.mediaTimeoutMs ?? 15_000, left()), link.signal);
      await pending.waitForFrames(Math.min(MIGRATION_FRAME_WAIT_MS, left()), link.signal);
      link.signal.throwIfAborted();
      if (this.#session !== from || from.ended || pending.ended) throw new MeridianClientError(ClientErrorCodes.MIGRATION_FAILED, 'A node was lost during the move');
      // Switch: the app sees the new node's streams; the old node is left once the others moved too.
      this.#migration = undefined;
      this.#adopt(pending);
      this.#connected = this.#connectedEvent(pending);
      // The old node's session stays (publishing there, unseen) until the others publish on the new node too.
      this.#lingering.set(
        from,
        lingerOnOldNode(from, pending, deadlineAt, this.#scheduler, () => {
          this.#lingering.delete(from);
          from.leave('migrated');
        }),
      );
      this.emit('migrated', { ...this.#connected, reason: m.reason, elapsedMs: Math.round(this.#scheduler.now() - startedAt), previousNodeId: from.nodeId });
    } catch (err) {
      if (this.#migration === migration) this.#migration = undefined;
      migration.pending?.leave('migration failed');
      if (this.#abort.signal.aborted || this.#state !== 'connected') return;
      const error = toClientError(err, ClientErrorCodes.MIGRATION_FAILED, 'Moving to the new node failed');
      // The call stays on the old node; when that one closes, the normal reconnect follows.
      this.emit('error', { code: ClientErrorCodes.MIGRATION_FAILED, message: `${error.code === ClientErrorCodes.MIGRATION_FAILED ? '' : `${error.code}: `}${error.message}` });
    } finally {
      this.#scheduler.clearTimeout(timer);
      link.dispose();
    }
  }

  // ------------------------------------------------------------------ ending

  /** Releases everything once; reports `disconnected` if a session had started. */
  #teardown(info: DisconnectedEvent): void {
    if (this.#state === 'closed') return;
    const hadStarted = this.#state !== 'idle';
    this.#state = 'closed';
    this.#ended = info;
    this.#abort.abort(new MeridianClientError(ClientErrorCodes.CLOSED, 'The client was closed'));
    if (this.#statsTimer) clearInterval(this.#statsTimer);
    this.#statsTimer = undefined;
    this.#session?.close(info.reason);
    this.#migration?.pending?.leave(info.reason);
    for (const [s, cancel] of this.#lingering) {
      cancel();
      s.leave(info.reason);
    }
    this.#lingering.clear();
    if (this.#ownsLocalStream) for (const t of this.#localStream?.getTracks() ?? []) t.stop();
    this.#view.clear();
    if (hadStarted) this.emit('disconnected', info);
  }
}
