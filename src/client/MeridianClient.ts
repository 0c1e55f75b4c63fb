/**
 * The browser client of a Meridian meeting. It takes a join response (or a way to get one
 * from the app's backend), reaches the meeting node with fallback, publishes camera and
 * microphone on one peer connection (the client offers), receives everyone else on a second
 * one (the node offers), and reports what happens as typed events.
 *
 * ```ts
 * const client = new MeridianClient({ join: '/api/meetings/standup/join' });
 * client.on('track', ({ participant, stream }) => attach(participant.id, stream));
 * client.on('participant-left', ({ participant }) => detach(participant.id));
 * const { region, node, rttMs } = await client.connect();
 * ```
 */
import { connectWithFallback, placementOf, type FallbackEvent, type PlacementInfo } from './Connector.js';
import { ClientErrorCodes, MeridianClientError, toClientError } from './errors.js';
import { waitForIceGathering } from './iceGathering.js';
import { waitConnected, withTimeout } from './waits.js';
import { resolveJoinSource, type ClientLocationInfo, type FallbackRegion, type JoinResponse, type JoinSource, type RegionInfo, type ResolvedJoinSource } from './JoinSource.js';
import { NodeCloseCode, type MediaKind, type ParticipantInfo, type ServerMessage, type SlotInfo, type TrackInfo } from './protocol.js';
import { defaultWebSocketFactory, type ChannelClose, type SignalingChannel, type WebSocketFactory } from './SignalingChannel.js';
import { changedParticipants, SlotTable } from './SlotTable.js';
import { rttFromStats, summarizeInbound, type InboundMediaStats } from './stats.js';
import { TypedEmitter } from '../lib/TypedEmitter.js';

/** Options of {@link MeridianClient}. */
export interface MeridianClientOptions {
  /**
   * The join response from the app's backend; or the URL of a backend route that returns
   * one (POSTed `{ unreachableNodeId? }` as JSON, with the page's cookies); or a function
   * returning one. Only a URL or a function allows fallback to another node.
   */
  readonly join: JoinSource;
  /** How long the node's WebSocket may take to open and answer `joined`. Default 5000 ms. */
  readonly connectTimeoutMs?: number;
  /** Connection attempts in total, fallbacks included. Default 8. */
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
  /** Replaces the WebSocket constructor (tests). */
  readonly webSocketFactory?: WebSocketFactory;
}

/** Where the client is connected. Payload of `connected` and the result of `connect()`. */
export interface ConnectedEvent {
  readonly meetingId: string;
  /** This client's participant id in the meeting. */
  readonly participantId: string;
  readonly region: RegionInfo;
  readonly node: { readonly id: string; readonly url: string };
  readonly endpoint: string;
  /** Measured round-trip time to the node (selected ICE pair), or null when not measured yet. */
  readonly rttMs: number | null;
  /** The next regions of the client's ranked list, as the join API returned them. */
  readonly fallbacks: readonly FallbackRegion[];
  /** Where the join API located the client. */
  readonly location: ClientLocationInfo;
  /** Connection attempts it took (1 = the first node answered). */
  readonly attempts: number;
}

/** A remote participant and what is received from it. */
export interface RemoteParticipant {
  readonly id: string;
  readonly name: string;
  /** Its audio and video, or null before anything is received. Replaced (a new object) when its tracks change. */
  readonly stream: MediaStream | null;
  /** Kinds of the tracks in `stream`. */
  readonly kinds: readonly MediaKind[];
}

/** Why the client left the meeting. */
export interface DisconnectedEvent {
  /** WebSocket close code (1000 after `leave()`; see docs/signaling.md for the node's codes). */
  readonly code: number;
  readonly reason: string;
  /** The node's or the SDK's error that ended the session, if any. */
  readonly error?: { readonly code: string; readonly message: string };
}

/** Event name → payload. */
export interface MeridianClientEvents {
  /** The local camera/microphone stream is ready (before the node is reached). */
  'local-stream': { readonly stream: MediaStream };
  /** Joined and publishing; carries the region, node and RTT. */
  connected: ConnectedEvent;
  /** Someone is in the meeting (also fired for those already there when this client joins). */
  'participant-joined': { readonly participant: ParticipantInfo };
  'participant-left': { readonly participant: ParticipantInfo };
  /** A participant's received stream changed: attach `stream` to its element. */
  track: { readonly participant: ParticipantInfo; readonly stream: MediaStream; readonly kinds: readonly MediaKind[] };
  /** The loudest participant (null when nobody is speaking or the speaker left). */
  'active-speaker': { readonly participantId: string | null };
  /** A new RTT reading to the node. */
  rtt: { readonly rttMs: number };
  /** The node of a placement could not be reached; the SDK moved to another one. */
  fallback: FallbackEvent;
  /** The session ended (after `leave()`, or the node closed it). Fired once. */
  disconnected: DisconnectedEvent;
  /** Something failed; `code` is an SDK code or a platform error code. */
  error: { readonly code: string; readonly message: string };
}

/** Lifecycle of a client. A closed client cannot connect again: make a new one. */
export type ClientState = 'idle' | 'connecting' | 'connected' | 'closed';

interface ParticipantRecord {
  info: ParticipantInfo;
  stream: MediaStream | null;
  kinds: MediaKind[];
}

const DEFAULT_MEDIA: MediaStreamConstraints = {
  audio: true,
  video: { width: { ideal: 640 }, height: { ideal: 480 }, frameRate: { ideal: 24 } },
};

/** A participant's connection to one meeting. */
export class MeridianClient extends TypedEmitter<MeridianClientEvents> {
  readonly #options: MeridianClientOptions;
  readonly #source: ResolvedJoinSource;
  readonly #abort = new AbortController();
  #state: ClientState = 'idle';
  #connecting: Promise<ConnectedEvent> | undefined;
  #leaving: Promise<void> | undefined;
  #channel: SignalingChannel | undefined;
  #response: JoinResponse | undefined;
  #connected: ConnectedEvent | undefined;
  #participantId: string | undefined;
  #localStream: MediaStream | undefined;
  #ownsLocalStream = false;
  #publishPc: RTCPeerConnection | undefined;
  #subscribePc: RTCPeerConnection | undefined;
  #subscribeQueue: Promise<void> = Promise.resolve();
  #awaitAnswer: { resolve: (sdp: string) => void; reject: (err: unknown) => void } | undefined;
  readonly #participants = new Map<string, ParticipantRecord>();
  readonly #tracks = new Map<string, TrackInfo>();
  readonly #slots = new SlotTable<MediaStreamTrack>();
  #assigned = new Map<string, MediaStreamTrack[]>();
  #activeSpeaker: string | null = null;
  #rttMs: number | null = null;
  #statsTimer: ReturnType<typeof setInterval> | undefined;
  #ended: DisconnectedEvent | undefined;

  constructor(options: MeridianClientOptions) {
    super();
    this.#options = options;
    this.#source = resolveJoinSource(options.join);
  }

  /** Where the client is in its lifecycle. */
  get state(): ClientState {
    return this.#state;
  }

  /** Placement and RTT once connected. */
  get connection(): ConnectedEvent | undefined {
    return this.#connected;
  }

  /** This client's participant id (after `joined`). */
  get participantId(): string | undefined {
    return this.#participantId;
  }

  /** The published camera/microphone stream. */
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

  /** Everyone else in the meeting, with their received streams. */
  get participants(): RemoteParticipant[] {
    return [...this.#participants.values()].map((p) => ({ id: p.info.id, name: p.info.name, stream: p.stream, kinds: [...p.kinds] }));
  }

  /** Tracks published in the meeting (by anyone else), as the node announced them. */
  get publishedTracks(): TrackInfo[] {
    return [...this.#tracks.values()];
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

  /** Leaves the meeting: tells the node, closes both connections and the socket, stops local tracks. Idempotent. */
  leave(): Promise<void> {
    this.#leaving ??= (async () => {
      if (this.#channel?.open) this.#channel.send({ type: 'leave' });
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
    this.#channel?.send({ type: 'subscribe', publisherIds: publisherIds === '*' ? '*' : [...publisherIds] });
  }

  /** Mutes or unmutes the microphone (the track keeps flowing as silence). */
  setMicrophoneEnabled(enabled: boolean): void {
    for (const t of this.#localStream?.getAudioTracks() ?? []) t.enabled = enabled;
  }

  /** Turns the camera picture on or off (black frames while off). */
  setCameraEnabled(enabled: boolean): void {
    for (const t of this.#localStream?.getVideoTracks() ?? []) t.enabled = enabled;
  }

  /** Raw WebRTC statistics of both connections. */
  async getStats(): Promise<{ publish?: RTCStatsReport; subscribe?: RTCStatsReport }> {
    const [publish, subscribe] = await Promise.all([this.#publishPc?.getStats(), this.#subscribePc?.getStats()]);
    return { ...(publish ? { publish } : {}), ...(subscribe ? { subscribe } : {}) };
  }

  /** Inbound media per subscribe slot, attributed to participants (packets, frames decoded, audio samples). */
  async remoteMediaStats(): Promise<InboundMediaStats[]> {
    const pc = this.#subscribePc;
    if (!pc) return [];
    return summarizeInbound(await pc.getStats(), this.#slots.slots());
  }

  // ------------------------------------------------------------------ connecting

  /** The error `connect()` rejects with; ends the session if it is not over yet. */
  #connectFailed(err: unknown): MeridianClientError {
    if (this.#leaving) return new MeridianClientError(ClientErrorCodes.CLOSED, 'left before the connection was established');
    const ended = this.#ended;
    if (ended) {
      // The node closed the session while media was being set up; #onChannelClose reported it.
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
    const webSocket = this.#options.webSocketFactory ?? defaultWebSocketFactory();
    if (!webSocket || typeof RTCPeerConnection === 'undefined') throw new MeridianClientError(ClientErrorCodes.UNSUPPORTED, 'This browser lacks WebSocket or WebRTC');
    const signal = this.#abort.signal;
    const publish = this.#options.publish ?? true;
    if (publish) {
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
    const { channel, joined, response } = connection;
    this.#channel = channel;
    this.#response = response;
    this.#participantId = joined.participantId;
    this.#activeSpeaker = joined.activeSpeaker;
    for (const t of joined.tracks) this.#tracks.set(t.trackId, t);
    channel.listen({
      message: (m) => this.#onMessage(m),
      close: (c) => this.#onChannelClose(c),
      protocolError: (reason) => this.emit('error', { code: ClientErrorCodes.PROTOCOL_ERROR, message: `Unreadable message from the node: ${reason}` }),
    });
    for (const p of joined.participants) this.#addParticipant(p);
    if (joined.activeSpeaker) this.emit('active-speaker', { participantId: joined.activeSpeaker });

    if (this.#localStream) await this.#publish(this.#localStream, channel);
    this.#rttMs = await this.#measureRtt(signal);
    signal.throwIfAborted();

    const connected: ConnectedEvent = {
      meetingId: joined.meetingId,
      participantId: joined.participantId,
      region: response.region,
      node: response.node,
      endpoint: response.endpoint,
      rttMs: this.#rttMs,
      fallbacks: response.fallbacks,
      location: response.location,
      attempts: connection.attempts,
    };
    this.#connected = connected;
    this.#state = 'connected';
    this.#startStatsTimer();
    this.emit('connected', connected);
    return connected;
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

  /** The publish connection: this client offers its tracks; the node answers. */
  async #publish(stream: MediaStream, channel: SignalingChannel): Promise<void> {
    const pc = new RTCPeerConnection({ bundlePolicy: 'max-bundle', iceServers: this.#options.iceServers ?? [] });
    this.#publishPc = pc;
    pc.addEventListener('connectionstatechange', () => {
      if (pc.connectionState === 'failed' && this.#state === 'connected') this.#fail(ClientErrorCodes.MEDIA_FAILED, 'The publish connection to the node failed');
    });
    for (const track of stream.getTracks()) pc.addTransceiver(track, { direction: 'sendonly', streams: [stream] });
    await pc.setLocalDescription(await pc.createOffer());
    await waitForIceGathering(pc, this.#options.iceGatheringTimeoutMs ?? 3_000);
    const answer = new Promise<string>((resolve, reject) => {
      this.#awaitAnswer = { resolve, reject };
    });
    if (!channel.send({ type: 'offer', sdp: pc.localDescription!.sdp })) throw new MeridianClientError(ClientErrorCodes.SIGNALING_CLOSED, 'The node closed the connection before the offer was sent');
    const timeoutMs = this.#options.mediaTimeoutMs ?? 15_000;
    const sdp = await withTimeout(answer, timeoutMs, () => new MeridianClientError(ClientErrorCodes.MEDIA_FAILED, `The node did not answer the publish offer within ${timeoutMs} ms`));
    await pc.setRemoteDescription({ type: 'answer', sdp });
    await waitConnected(pc, timeoutMs, this.#abort.signal);
  }

  async #measureRtt(signal: AbortSignal): Promise<number | null> {
    const pc = this.#publishPc ?? this.#subscribePc;
    if (!pc) return null;
    // The selected pair has an RTT once a connectivity check was answered; allow a moment.
    for (let i = 0; i < 10 && !signal.aborted; i++) {
      const rtt = rttFromStats(await pc.getStats());
      if (rtt !== null) return rtt;
      await new Promise((r) => setTimeout(r, 100));
    }
    return null;
  }

  #startStatsTimer(): void {
    const every = this.#options.statsIntervalMs ?? 2_000;
    if (every <= 0) return;
    this.#statsTimer = setInterval(() => {
      const pc = this.#publishPc ?? this.#subscribePc;
      if (!pc || this.#state !== 'connected') return;
      pc.getStats().then(
        (report) => {
          const rtt = rttFromStats(report);
          if (rtt === null || this.#state !== 'connected') return;
          this.#rttMs = rtt;
          this.emit('rtt', { rttMs: rtt });
        },
        () => {},
      );
    }, every);
  }

  // ------------------------------------------------------------------ node messages

  #onMessage(m: ServerMessage): void {
    switch (m.type) {
      case 'answer':
        this.#awaitAnswer?.resolve(m.sdp);
        this.#awaitAnswer = undefined;
        return;
      case 'offer':
        // Slot updates go through the same queue as answers, so they apply in message order.
        this.#enqueueSubscribe(() => this.#answerSubscribeOffer(m.sdp, m.slots));
        return;
      case 'subscriptions':
        // Applied after any offer still being answered, so new mids have their receivers.
        this.#enqueueSubscribe(async () => {
          this.#slots.setSlots(m.slots);
          this.#refreshStreams();
        });
        return;
      case 'participant-joined':
        this.#addParticipant(m.participant);
        return;
      case 'participant-left': {
        const p = this.#participants.get(m.participantId);
        if (!p) return;
        this.#participants.delete(m.participantId);
        this.#assigned.delete(m.participantId);
        for (const [id, t] of this.#tracks) if (t.participantId === m.participantId) this.#tracks.delete(id);
        this.emit('participant-left', { participant: p.info });
        return;
      }
      case 'track-published':
        this.#tracks.set(m.track.trackId, m.track);
        return;
      case 'track-unpublished':
        this.#tracks.delete(m.trackId);
        return;
      case 'active-speaker':
        this.#activeSpeaker = m.participantId;
        this.emit('active-speaker', { participantId: m.participantId });
        return;
      case 'error':
        // The node closes the socket next; #onChannelClose reports the end.
        this.emit('error', { code: m.code, message: m.message });
        return;
      case 'joined':
        return;
    }
  }

  #addParticipant(info: ParticipantInfo): void {
    if (info.id === this.#participantId || this.#participants.has(info.id)) return;
    this.#participants.set(info.id, { info, stream: null, kinds: [] });
    this.emit('participant-joined', { participant: info });
    this.#refreshStreams();
  }

  #enqueueSubscribe(job: () => Promise<void>): void {
    this.#subscribeQueue = this.#subscribeQueue
      .then(() => (this.#state === 'closed' ? undefined : job()))
      .catch((err: unknown) => {
        if (this.#state !== 'closed') this.#fail(ClientErrorCodes.MEDIA_FAILED, toClientError(err, ClientErrorCodes.MEDIA_FAILED, 'Answering the node\'s subscribe offer failed').message);
      });
  }

  /** The subscribe connection: the node offers one m-line per slot; this client answers. */
  async #answerSubscribeOffer(sdp: string, slots: readonly SlotInfo[]): Promise<void> {
    this.#slots.setSlots(slots);
    let pc = this.#subscribePc;
    if (!pc) {
      const created = new RTCPeerConnection({ bundlePolicy: 'max-bundle', iceServers: this.#options.iceServers ?? [] });
      created.addEventListener('connectionstatechange', () => {
        if (created.connectionState === 'failed' && this.#state !== 'closed') this.#fail(ClientErrorCodes.MEDIA_FAILED, 'The subscribe connection to the node failed');
      });
      this.#subscribePc = pc = created;
    }
    await pc.setRemoteDescription({ type: 'offer', sdp });
    for (const t of pc.getTransceivers()) if (t.mid) this.#slots.setReceiver(t.mid, t.receiver.track);
    await pc.setLocalDescription(await pc.createAnswer());
    await waitForIceGathering(pc, this.#options.iceGatheringTimeoutMs ?? 3_000);
    if (this.#state === 'closed') return;
    this.#channel?.send({ type: 'answer', sdp: pc.localDescription!.sdp });
    this.#refreshStreams();
  }

  /** Rebuilds the stream of every participant whose slots changed and announces it. */
  #refreshStreams(): void {
    const next = this.#slots.assignments((id) => this.#participants.has(id));
    const changed = changedParticipants(this.#assigned, next);
    this.#assigned = next;
    for (const id of changed) {
      const p = this.#participants.get(id);
      if (!p) continue;
      const tracks = next.get(id) ?? [];
      p.stream = new MediaStream(tracks);
      p.kinds = tracks.map((t) => t.kind as MediaKind);
      this.emit('track', { participant: p.info, stream: p.stream, kinds: [...p.kinds] });
    }
  }

  // ------------------------------------------------------------------ ending

  #onChannelClose(c: ChannelClose): void {
    if (c.local || this.#state === 'closed') return;
    const quiet = c.code === NodeCloseCode.normal || c.error !== undefined;
    if (!quiet) this.emit('error', { code: ClientErrorCodes.SIGNALING_CLOSED, message: `The node closed the connection (${c.code}${c.reason ? `: ${c.reason}` : ''})` });
    this.#awaitAnswer?.reject(new MeridianClientError(ClientErrorCodes.SIGNALING_CLOSED, `The node closed the connection (${c.code})`));
    this.#teardown({ code: c.code, reason: c.reason, ...(c.error ? { error: c.error } : {}) });
  }

  #fail(code: string, message: string): void {
    if (this.#state === 'closed') return;
    this.emit('error', { code, message });
    this.#channel?.send({ type: 'leave' });
    this.#teardown({ code: NodeCloseCode.normal, reason: 'client error', error: { code, message } });
  }

  /** Releases everything once; reports `disconnected` if a session had started. */
  #teardown(info: DisconnectedEvent): void {
    if (this.#state === 'closed') return;
    const hadStarted = this.#state !== 'idle';
    this.#state = 'closed';
    this.#ended = info;
    this.#abort.abort(new MeridianClientError(ClientErrorCodes.CLOSED, 'The client was closed'));
    if (this.#statsTimer) clearInterval(this.#statsTimer);
    this.#statsTimer = undefined;
    this.#awaitAnswer?.reject(new MeridianClientError(ClientErrorCodes.CLOSED, 'The client was closed'));
    this.#awaitAnswer = undefined;
    this.#channel?.close(NodeCloseCode.normal, info.reason);
    this.#publishPc?.close();
    this.#subscribePc?.close();
    if (this.#ownsLocalStream) for (const t of this.#localStream?.getTracks() ?? []) t.stop();
    this.#participants.clear();
    this.#assigned.clear();
    this.#tracks.clear();
    this.#slots.clear();
    if (hadStarted) this.emit('disconnected', info);
  }

  /** The placement currently used (for diagnostics). */
  get placement(): PlacementInfo | undefined {
    return this.#response ? placementOf(this.#response) : undefined;
  }

  /** The subscribe slots as the node last described them. */
  get slots(): readonly SlotInfo[] {
    return this.#slots.slots();
  }
}
