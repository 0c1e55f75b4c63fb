/**
 * One joined session with one meeting node: its signaling channel, the publish connection
 * (this client offers the local tracks), the subscribe connection (the node offers one
 * m-line per slot), who the node says is in the meeting, and the liveness of it all.
 *
 * {@link MeridianClient} keeps one active session and, while reconnecting or migrating,
 * builds the next one; a session never outlives its node. It reports what the app should
 * see as events, and its end once: `lost` (worth a reconnect) or `ended` (the call is over).
 */
import type { Connection } from './Connector.js';
import { ClientErrorCodes, MeridianClientError, toClientError } from './errors.js';
import { waitForIceGathering } from './iceGathering.js';
import type { JoinResponse } from './JoinSource.js';
import { LivenessMonitor, type LivenessOptions } from './LivenessMonitor.js';
import { NodeCloseCode, type MediaKind, type ParticipantInfo, type ServerMessage, type ServerMessageOf, type SlotInfo, type TrackInfo } from './protocol.js';
import { decideAfterClose, type ReconnectReason } from './ReconnectPolicy.js';
import { sleepOn, type Scheduler } from './scheduler.js';
import type { ChannelClose, SignalingChannel } from './SignalingChannel.js';
import { changedParticipants, SlotTable } from './SlotTable.js';
import { rttFromStats, summarizeInbound, type InboundMediaStats } from './stats.js';
import { subscribeOfferAction } from './subscribeSession.js';
import { TypedEmitter } from '../lib/TypedEmitter.js';
import { abortable, linkedAbort, waitConnected, withTimeout } from './waits.js';

/** Inputs of a {@link NodeSession}. */
export interface NodeSessionOptions {
  readonly connection: Connection;
  /** The tracks to publish (the same stream on every node of a call), or none. */
  readonly localStream: MediaStream | undefined;
  readonly iceServers: RTCIceServer[];
  readonly iceGatheringTimeoutMs: number;
  readonly scheduler: Scheduler;
  readonly liveness: LivenessOptions;
}

/** A remote participant as one session knows it. */
export interface SessionParticipant {
  readonly info: ParticipantInfo;
  stream: MediaStream | null;
  kinds: MediaKind[];
}

/** How a session ended. */
export type SessionEnd =
  /** The node or the path to it failed: reconnecting elsewhere may continue the call. */
  | { readonly kind: 'lost'; readonly reason: ReconnectReason; readonly message: string; readonly close?: ChannelClose }
  /** The node ended the session on purpose or refused this client: the call is over. */
  | { readonly kind: 'ended'; readonly close: ChannelClose };

/** Event name → payload of a {@link NodeSession}. */
export interface NodeSessionEvents {
  'participant-joined': { readonly participant: ParticipantInfo };
  'participant-left': { readonly participant: ParticipantInfo };
  track: { readonly participant: ParticipantInfo; readonly stream: MediaStream; readonly kinds: readonly MediaKind[] };
  'active-speaker': { readonly participantId: string | null };
  'track-published': { readonly track: TrackInfo };
  migrate: ServerMessageOf<'migrate'>;
  /** Something went wrong that does not end the session by itself. */
  error: { readonly code: string; readonly message: string };
  /** Fired once; the session is closed by then. */
  end: SessionEnd;
}

/** A session with one meeting node. */
export class NodeSession extends TypedEmitter<NodeSessionEvents> {
  readonly #options: NodeSessionOptions;
  readonly #channel: SignalingChannel;
  readonly #liveness: LivenessMonitor;
  /** Aborted when the session ends: stops setup work in progress. */
  readonly #abort = new AbortController();
  readonly #participants = new Map<string, SessionParticipant>();
  readonly #tracks = new Map<string, TrackInfo>();
  readonly #slots = new SlotTable<MediaStreamTrack>();
  #assigned = new Map<string, MediaStreamTrack[]>();
  #activeSpeaker: string | null;
  #publishPc: RTCPeerConnection | undefined;
  #subscribePc: RTCPeerConnection | undefined;
  /** `session` of the subscribe connection (null: the node sent none). */
  #subscribeSession: number | null | undefined;
  #subscribeQueue: Promise<void> = Promise.resolve();
  #subscribeWaiters: Array<() => void> = [];
  #awaitAnswer: { resolve: (sdp: string) => void; reject: (err: unknown) => void } | undefined;
  #ended: SessionEnd | undefined;

  constructor(options: NodeSessionOptions) {
    super();
    this.#options = options;
    const { channel, joined } = options.connection;
    this.#channel = channel;
    this.#activeSpeaker = joined.activeSpeaker;
    for (const t of joined.tracks) this.#tracks.set(t.trackId, t);
    for (const p of joined.participants) if (p.id !== joined.participantId) this.#participants.set(p.id, { info: p, stream: null, kinds: [] });
    this.#liveness = new LivenessMonitor(
      options.scheduler,
      (id) => this.#channel.send({ type: 'ping', id }),
      (loss) => this.#end({ kind: 'lost', reason: loss.reason, message: loss.message }),
      options.liveness,
    );
  }

  /** The node of this session. */
  get nodeId(): string {
    return this.#options.connection.response.node.id;
  }

  /** The join response this session was reached with. */
  get response(): JoinResponse {
    return this.#options.connection.response;
  }

  /** The node's `joined` message. */
  get joined(): ServerMessageOf<'joined'> {
    return this.#options.connection.joined;
  }

  /** Connection attempts it took to reach the node. */
  get attempts(): number {
    return this.#options.connection.attempts;
  }

  /** The others, as this node knows them. */
  get participants(): ReadonlyMap<string, SessionParticipant> {
    return this.#participants;
  }

  /** Tracks published by the others on this node. */
  get tracks(): ReadonlyMap<string, TrackInfo> {
    return this.#tracks;
  }

  /** Participants with at least one track published on this node. */
  get publishers(): Set<string> {
    return new Set([...this.#tracks.values()].map((t) => t.participantId));
  }

  /** The loudest participant as this node last said. */
  get activeSpeaker(): string | null {
    return this.#activeSpeaker;
  }

  /** The subscribe slots as this node last described them. */
  get slots(): readonly SlotInfo[] {
    return this.#slots.slots();
  }

  /** True once a peer connection exists (publishing, or receiving). */
  get hasMedia(): boolean {
    return this.#publishPc !== undefined || this.#subscribePc !== undefined;
  }

  /** How the session ended, once it has. */
  get ended(): SessionEnd | undefined {
    return this.#ended;
  }

  /**
   * Starts handling the node's messages, publishes the local tracks (resolves once the
   * publish connection is connected) and starts the liveness checks. Rejects if that fails,
   * the session ends meanwhile, or `signal` aborts.
   */
  async start(mediaTimeoutMs: number, signal: AbortSignal): Promise<void> {
    const link = linkedAbort(signal, this.#abort.signal);
    try {
      this.#channel.listen({
        message: (m) => this.#onMessage(m),
        close: (c) => this.#onClose(c),
        protocolError: (reason) => this.emit('error', { code: ClientErrorCodes.PROTOCOL_ERROR, message: `Unreadable message from the node: ${reason}` }),
      });
      link.signal.throwIfAborted();
      this.#liveness.start();
      // Raced with the signal as a whole: the offer/answer steps (ICE gathering, the node's
      // answer, setRemoteDescription) have only their own timeouts, which a reconnect budget
      // or a migration deadline must cut short; the session is closed by whoever aborted.
      if (this.#options.localStream) await abortable(this.#publish(this.#options.localStream, mediaTimeoutMs, link.signal), link.signal);
      link.signal.throwIfAborted();
    } catch (err) {
      throw this.#endedError() ?? err;
    } finally {
      link.dispose();
    }
  }

  /**
   * Resolves once media from the others can flow: at once when nobody publishes on this node,
   * else when the subscribe connection is connected. Rejects on timeout, end or abort.
   */
  async waitForReceiving(timeoutMs: number, signal: AbortSignal): Promise<void> {
    if (this.#tracks.size === 0) return;
    const link = linkedAbort(signal, this.#abort.signal);
    try {
      const created = new Promise<void>((resolve) => {
        if (this.#subscribePc) resolve();
        else this.#subscribeWaiters.push(resolve);
      });
      await abortable(
        withTimeout(created, timeoutMs, () => new MeridianClientError(ClientErrorCodes.MEDIA_FAILED, `The node did not offer a subscribe connection within ${timeoutMs} ms`)),
        link.signal,
      );
      await waitConnected(this.#subscribePc!, timeoutMs, link.signal);
    } catch (err) {
      throw this.#endedError() ?? err;
    } finally {
      link.dispose();
    }
  }

  /**
   * Waits, at most `timeoutMs`, until every video slot carrying a participant has decoded a
   * frame (so switching the app to this session's streams shows pictures, not black).
   * Never rejects: a slow key frame only makes the switch less smooth.
   */
  async waitForFrames(timeoutMs: number, signal: AbortSignal): Promise<void> {
    const scheduler = this.#options.scheduler;
    // Statistics that never come must not hold the switch past `timeoutMs` either.
    const expired = new AbortController();
    const timer = scheduler.setTimeout(() => expired.abort(), timeoutMs);
    const link = linkedAbort(signal, expired.signal);
    try {
      while (!link.signal.aborted && !this.#ended) {
        const video = (await abortable(this.remoteMediaStats(), link.signal)).filter((s) => s.kind === 'video' && s.participantId !== null);
        if (video.every((s) => (s.framesDecoded ?? 0) > 0)) return;
        await sleepOn(scheduler, 50, link.signal);
      }
    } catch {
      // timed out, aborted, or no statistics: switch anyway
    } finally {
      scheduler.clearTimeout(timer);
      link.dispose();
    }
  }

  /**
   * Waits, at most `timeoutMs`, until a video slot carrying `participantId` on this node has
   * decoded a frame. Never rejects. Used before replacing a stream the app shows, so the
   * switch goes from picture to picture.
   */
  async waitForVideo(participantId: string, timeoutMs: number): Promise<void> {
    const until = this.#options.scheduler.now() + timeoutMs;
    while (!this.#ended && this.#options.scheduler.now() < until) {
      const stats = (await this.remoteMediaStats().catch(() => [])).filter((x) => x.kind === 'video' && x.participantId === participantId);
      if (stats.some((x) => (x.framesDecoded ?? 0) > 0)) return;
      await new Promise<void>((resolve) => this.#options.scheduler.setTimeout(resolve, 40));
    }
  }

  /** Receives only these participants (`'*'`: everyone). */
  subscribe(publisherIds: '*' | readonly string[]): void {
    this.#channel.send({ type: 'subscribe', publisherIds: publisherIds === '*' ? '*' : [...publisherIds] });
  }

  /** Raw statistics of both connections. */
  async getStats(): Promise<{ publish?: RTCStatsReport; subscribe?: RTCStatsReport }> {
    const [publish, subscribe] = await Promise.all([this.#publishPc?.getStats(), this.#subscribePc?.getStats()]);
    return { ...(publish ? { publish } : {}), ...(subscribe ? { subscribe } : {}) };
  }

  /** Inbound media per subscribe slot of this node. */
  async remoteMediaStats(): Promise<InboundMediaStats[]> {
    const pc = this.#subscribePc;
    if (!pc) return [];
    return summarizeInbound(await pc.getStats(), this.#slots.slots());
  }

  /** The RTT to the node now, or null when not measured (yet). */
  async readRtt(): Promise<number | null> {
    const pc = this.#publishPc ?? this.#subscribePc;
    if (!pc || this.#ended) return null;
    return rttFromStats(await pc.getStats());
  }

  /** Tells the node this client leaves, then closes. Idempotent. */
  leave(reason = 'left'): void {
    if (this.#ended) {
      this.releaseMedia();
      return;
    }
    this.#channel.send({ type: 'leave' });
    this.close(reason);
  }

  /** Closes the socket and both connections without `leave`; no `end` event. Idempotent. */
  close(reason = 'closed'): void {
    if (this.#ended) {
      this.releaseMedia();
      return;
    }
    this.#ended = { kind: 'ended', close: { code: NodeCloseCode.normal, reason, local: true } };
    this.#release(reason);
  }

  // ------------------------------------------------------------------ media

  /** The publish connection: this client offers its tracks; the node answers. */
  async #publish(stream: MediaStream, timeoutMs: number, signal: AbortSignal): Promise<void> {
    const pc = new RTCPeerConnection({ bundlePolicy: 'max-bundle', iceServers: this.#options.iceServers });
    this.#publishPc = pc;
    pc.addEventListener('connectionstatechange', () => {
      if (pc === this.#publishPc) this.#liveness.peerState('publish', pc.connectionState);
    });
    // The same MediaStreamTracks on every node of the call: no new getUserMedia on reconnect.
    for (const track of stream.getTracks()) pc.addTransceiver(track, { direction: 'sendonly', streams: [stream] });
    await pc.setLocalDescription(await pc.createOffer());
    await waitForIceGathering(pc, this.#options.iceGatheringTimeoutMs);
    signal.throwIfAborted();
    const answer = new Promise<string>((resolve, reject) => {
      this.#awaitAnswer = { resolve, reject };
    });
    if (!this.#channel.send({ type: 'offer', sdp: pc.localDescription!.sdp })) throw new MeridianClientError(ClientErrorCodes.SIGNALING_CLOSED, 'The node closed the connection before the offer was sent');
    const sdp = await withTimeout(answer, timeoutMs, () => new MeridianClientError(ClientErrorCodes.MEDIA_FAILED, `The node did not answer the publish offer within ${timeoutMs} ms`));
    await pc.setRemoteDescription({ type: 'answer', sdp });
    await waitConnected(pc, timeoutMs, signal);
  }

  /** Subscribe-connection work runs in message order, one job at a time. */
  #enqueueSubscribe(job: () => Promise<void>): void {
    this.#subscribeQueue = this.#subscribeQueue
      .then(() => (this.#ended ? undefined : job()))
      .catch((err: unknown) => {
        if (this.#ended) return;
        const message = toClientError(err, ClientErrorCodes.MEDIA_FAILED, "Answering the node's subscribe offer failed").message;
        this.emit('error', { code: ClientErrorCodes.MEDIA_FAILED, message });
        this.#end({ kind: 'lost', reason: 'media-failed', message });
      });
  }

  /** Answers the node's subscribe offer; a new `session` number gets a new connection (issue 8). */
  async #answerSubscribeOffer(m: ServerMessageOf<'offer'>): Promise<void> {
    const action = subscribeOfferAction(this.#subscribeSession, m.session);
    if (action === 'rebuild') {
      // The node replaced its side of the subscribe connection: the old one carries nothing any more.
      const old = this.#subscribePc;
      this.#subscribePc = undefined;
      this.#liveness.forgetPeer('subscribe');
      old?.close();
      this.#slots.clear();
    }
    this.#slots.setSlots(m.slots);
    let pc = this.#subscribePc;
    if (!pc) {
      const created = new RTCPeerConnection({ bundlePolicy: 'max-bundle', iceServers: this.#options.iceServers });
      created.addEventListener('connectionstatechange', () => {
        if (created === this.#subscribePc) this.#liveness.peerState('subscribe', created.connectionState);
      });
      this.#subscribePc = pc = created;
      this.#subscribeSession = m.session ?? null;
      for (const resolve of this.#subscribeWaiters.splice(0)) resolve();
    }
    await pc.setRemoteDescription({ type: 'offer', sdp: m.sdp });
    for (const t of pc.getTransceivers()) if (t.mid) this.#slots.setReceiver(t.mid, t.receiver.track);
    await pc.setLocalDescription(await pc.createAnswer());
    await waitForIceGathering(pc, this.#options.iceGatheringTimeoutMs);
    if (this.#ended || pc !== this.#subscribePc) return;
    this.#channel.send(m.session === undefined ? { type: 'answer', sdp: pc.localDescription!.sdp } : { type: 'answer', sdp: pc.localDescription!.sdp, session: m.session });
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

  // ------------------------------------------------------------------ node messages

  #onMessage(m: ServerMessage): void {
    if (this.#ended) return;
    switch (m.type) {
      case 'answer':
        this.#awaitAnswer?.resolve(m.sdp);
        this.#awaitAnswer = undefined;
        return;
      case 'offer':
        this.#enqueueSubscribe(() => this.#answerSubscribeOffer(m));
        return;
      case 'subscriptions':
        // After any offer still being answered, so new mids have their receivers.
        this.#enqueueSubscribe(async () => {
          this.#slots.setSlots(m.slots);
          this.#refreshStreams();
        });
        return;
      case 'participant-joined': {
        const { participant } = m;
        if (participant.id === this.joined.participantId || this.#participants.has(participant.id)) return;
        this.#participants.set(participant.id, { info: participant, stream: null, kinds: [] });
        this.emit('participant-joined', { participant });
        this.#refreshStreams();
        return;
      }
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
        this.emit('track-published', { track: m.track });
        return;
      case 'track-unpublished':
        this.#tracks.delete(m.trackId);
        return;
      case 'active-speaker':
        this.#activeSpeaker = m.participantId;
        this.emit('active-speaker', { participantId: m.participantId });
        return;
      case 'pong':
        this.#liveness.pong(m.id);
        return;
      case 'migrate':
        this.emit('migrate', m);
        return;
      case 'error':
        // The node closes the socket next; #onClose reports the end.
        this.emit('error', { code: m.code, message: m.message });
        return;
      case 'joined':
        return;
    }
  }

  #onClose(c: ChannelClose): void {
    if (c.local || this.#ended) return;
    const why = `The node closed the connection (${c.code}${c.reason ? `: ${c.reason}` : ''})`;
    if (decideAfterClose(c).action === 'end') this.#end({ kind: 'ended', close: c });
    else this.#end({ kind: 'lost', reason: 'signaling-closed', message: why, close: c });
  }

  // ------------------------------------------------------------------ ending

  /** The error a setup step rejects with once the session has ended. */
  #endedError(): MeridianClientError | undefined {
    const e = this.#ended;
    if (!e) return undefined;
    if (e.kind === 'ended' && e.close.error) return new MeridianClientError(e.close.error.code as never, e.close.error.message);
    if (e.kind === 'lost') return new MeridianClientError(e.reason === 'signaling-closed' ? ClientErrorCodes.SIGNALING_CLOSED : ClientErrorCodes.MEDIA_FAILED, e.message, { retryable: true });
    return new MeridianClientError(ClientErrorCodes.SIGNALING_CLOSED, `The node closed the connection (${e.close.code}${e.close.reason ? `: ${e.close.reason}` : ''})`);
  }

  #end(end: SessionEnd): void {
    if (this.#ended) return;
    this.#ended = end;
    // A lost session keeps its subscribe connection open (unused) until the client is done
    // recovering: the remote videos then show their last picture, not black.
    this.#release(end.kind === 'lost' ? end.reason : 'ended', end.kind === 'lost');
    this.emit('end', end);
  }

  /** Closes what a lost session kept for the frozen pictures (idempotent). */
  releaseMedia(): void {
    this.#subscribePc?.close();
  }

  #release(reason: string, keepSubscribe = false): void {
    this.#liveness.stop();
    this.#abort.abort(new MeridianClientError(ClientErrorCodes.CLOSED, 'The session with the node ended'));
    this.#awaitAnswer?.reject(this.#endedError());
    this.#awaitAnswer = undefined;
    this.#channel.close(NodeCloseCode.normal, reason);
    this.#publishPc?.close();
    if (!keepSubscribe) this.#subscribePc?.close();
    this.#subscribeWaiters = [];
  }
}
