/**
 * MediaEngine on node-datachannel (libdatachannel): ICE, DTLS and SRTP run in C++, and
 * JavaScript sees decrypted RTP/RTCP Buffers. About 50–60% of a bare UDP relay's packet
 * rate on one core (shared/reference/media-hot-path.md), several times werift's.
 *
 * Rules this file follows, each learnt the hard way:
 * - Offers are edited before `setRemoteDescription` (Sdp.ts): no transport-cc, one codec.
 * - Received tracks get an `RtcpReceivingSession` (receiver reports, REMB, PLI via
 *   `requestKeyframe`).
 * - Every native PeerConnection is created, and every native Track adopted, through
 *   NativeRuntime the moment it exists: a Track without a close handler keeps the process
 *   alive, and one collected by GC makes the process-global `cleanup()` crash (see there).
 * - Tracks are closed before their PeerConnection.
 * - libdatachannel's offerer race (OffererRace.ts): an answer's candidates are added only
 *   after the answer is applied; on loopback our offers carry no candidates.
 */
import nodeDataChannel from 'node-datachannel';
import type { Logger } from '../../lib/logger.js';
import { MeridianError } from '../../contracts/errors.js';
import { acquireNativeRuntime, type NativeRuntime } from './NativeRuntime.js';
import { applyAnswerThenCandidates, withoutCandidates } from './OffererRace.js';
import { assertSdpShape, filterPublishOffer, stripTransportCc } from './Sdp.js';
import type {
  InboundTrack,
  InboundTrackInfo,
  MediaEngine,
  OutboundTrack,
  OutboundTrackSpec,
  PeerSession,
  PeerSessionOptions,
  PeerState,
} from './MediaEngine.js';

type NativePeer = nodeDataChannel.PeerConnection;
type NativeTrack = nodeDataChannel.Track;

/** ICE and transport settings of the engine. */
export interface NodeDatachannelEngineOptions {
  /**
   * Local address ICE binds to and announces. Unset: every host interface except loopback
   * (what a browser on another machine, or a local Chromium, needs). `127.0.0.1`: loopback
   * only (Node test clients on this machine; Chromium offers no loopback candidates unless
   * started with `--allow-loopback-in-peer-connection`).
   */
  readonly bindAddress?: string | undefined;
  /** UDP port range for ICE (inclusive); 0/unset = ephemeral ports. */
  readonly portRangeBegin?: number | undefined;
  readonly portRangeEnd?: number | undefined;
  /** Share one UDP port between all sessions (needs `portRangeBegin === portRangeEnd`). */
  readonly enableIceUdpMux?: boolean | undefined;
  /** STUN/TURN servers, `stun:host:port` form. Default none: host candidates only. */
  readonly iceServers?: readonly string[] | undefined;
  /** How long to wait for ICE gathering before answering with what is there. */
  readonly gatheringTimeoutMs?: number | undefined;
  readonly logger: Logger;
}

/** libdatachannel-backed engine. */
export class NodeDatachannelEngine implements MediaEngine {
  readonly name = 'node-datachannel';
  readonly #options: NodeDatachannelEngineOptions;
  readonly #peers = new Set<NdcPeerSession>();
  readonly #runtime: NativeRuntime;
  #closed = false;

  constructor(options: NodeDatachannelEngineOptions) {
    this.#options = options;
    this.#runtime = acquireNativeRuntime();
  }

  get peerCount(): number {
    return this.#peers.size;
  }

  createPeer(options: PeerSessionOptions): PeerSession {
    if (this.#closed) throw new MeridianError('NODE_UNAVAILABLE', 'The media engine is closed');
    const o = this.#options;
    const config: nodeDataChannel.RtcConfig = {
      iceServers: [...(o.iceServers ?? [])],
      disableAutoNegotiation: true,
      forceMediaTransport: true,
    };
    if (o.bindAddress) config.bindAddress = o.bindAddress;
    if (o.portRangeBegin) config.portRangeBegin = o.portRangeBegin;
    if (o.portRangeEnd) config.portRangeEnd = o.portRangeEnd;
    if (o.enableIceUdpMux) config.enableIceUdpMux = true;
    const peer = new NdcPeerSession(
      options.label,
      this.#runtime,
      config,
      o.gatheringTimeoutMs ?? 5_000,
      isLoopback(o.bindAddress),
      o.logger,
      () => this.#peers.delete(peer),
    );
    this.#peers.add(peer);
    return peer;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const peer of [...this.#peers]) peer.close();
    this.#peers.clear();
    this.#runtime.release();
  }
}

/** True for an ICE bind address on 127.0.0.0/8 or ::1: peers can only be on this machine, no NAT between. */
function isLoopback(address: string | undefined): boolean {
  return address !== undefined && (/^127\.\d+\.\d+\.\d+$/.test(address) || address === '::1');
}

/** Wraps a native callback so that an exception is logged instead of crashing the process. */
function guard<A extends unknown[]>(logger: Logger, what: string, fn: (...args: A) => void): (...args: A) => void {
  return (...args: A) => {
    try {
      fn(...args);
    } catch (err) {
      logger.error({ err, callback: what }, 'media callback failed');
    }
  };
}

const PEER_STATES: ReadonlySet<string> = new Set(['new', 'connecting', 'connected', 'disconnected', 'failed', 'closed']);

class NdcPeerSession implements PeerSession {
  readonly id: string;
  readonly #pc: NativePeer;
  readonly #runtime: NativeRuntime;
  readonly #gatheringTimeoutMs: number;
  readonly #offerWithoutCandidates: boolean;
  readonly #logger: Logger;
  readonly #onClosed: () => void;
  readonly #inbound = new Set<NdcInboundTrack>();
  readonly #outbound = new Map<string, NdcOutboundTrack>();
  #offeredTracks: ReadonlyMap<string, InboundTrackInfo> = new Map();
  #state: PeerState = 'new';
  #closed = false;
  #gatherWaiters: Array<() => void> = [];
  #nativeTrackHandler = false;
  #trackListener: (track: InboundTrack) => void = () => {};
  #stateListener: (state: PeerState) => void = () => {};

  constructor(
    id: string,
    runtime: NativeRuntime,
    config: nodeDataChannel.RtcConfig,
    gatheringTimeoutMs: number,
    offerWithoutCandidates: boolean,
    logger: Logger,
    onClosed: () => void,
  ) {
    this.id = id;
    this.#runtime = runtime;
    this.#gatheringTimeoutMs = gatheringTimeoutMs;
    this.#offerWithoutCandidates = offerWithoutCandidates;
    this.#logger = logger;
    this.#onClosed = onClosed;
    // Every native callback is guarded: an exception thrown there is uncaught and would
    // take the whole node down.
    const pc = runtime.createPeer(
      id,
      config,
      guard(logger, 'peer state', (s: string) => {
        if (this.#closed || !PEER_STATES.has(s)) return;
        this.#state = s as PeerState;
        this.#stateListener(this.#state);
      }),
    );
    this.#pc = pc;
    pc.onGatheringStateChange(
      guard(logger, 'gathering state', (s: string) => {
        if (s === 'complete') this.#flushGatherWaiters();
      }),
    );
    // No native onTrack handler yet: see onTrack().
  }

  get state(): PeerState {
    if (this.#closed) return 'closed';
    // Ask the native side: state callbacks arrive asynchronously, a failure inside a
    // synchronous call (setRemoteDescription) is visible here at once.
    const native = this.#pc.state();
    return PEER_STATES.has(native) ? (native as PeerState) : this.#state;
  }

  /**
   * Registers the native `onTrack` handler on first use (call it before `acceptOffer`).
   * Subscribe sessions never receive tracks and never call it: every native handler is a
   * thread-safe function, i.e. a libuv async handle that the loop scans on each wake-up.
   */
  onTrack(listener: (track: InboundTrack) => void): void {
    this.#trackListener = listener;
    if (this.#nativeTrackHandler || this.#closed) return;
    this.#nativeTrackHandler = true;
    this.#pc.onTrack(guard(this.#logger, 'remote track', (track: NativeTrack) => this.#handleRemoteTrack(track)));
  }

  onStateChange(listener: (state: PeerState) => void): void {
    this.#stateListener = listener;
  }

  async acceptOffer(sdp: string): Promise<string> {
    this.#assertOpen();
    const filtered = filterPublishOffer(sdp);
    this.#offeredTracks = filtered.tracks;
    try {
      this.#pc.setRemoteDescription(filtered.sdp, 'offer');
      this.#pc.setLocalDescription('answer');
    } catch (err) {
      throw new MeridianError('VALIDATION_FAILED', `Invalid SDP offer: ${(err as Error).message}`);
    }
    await this.#gathered();
    this.#assertOpen();
    const local = this.#pc.localDescription();
    if (!local) throw new MeridianError('INTERNAL', 'No local answer was generated');
    return stripTransportCc(local.sdp);
  }

  addOutboundTrack(spec: OutboundTrackSpec): OutboundTrack {
    this.#assertOpen();
    if (this.#outbound.has(spec.mid)) throw new MeridianError('INTERNAL', `Duplicate outbound mid ${spec.mid}`);
    let native: NativeTrack;
    let track: NdcOutboundTrack | undefined;
    // Closed by the remote, the peer or ourselves: release the wrapper's callbacks too.
    const onNativeClosed = (): void => track?.close();
    if (spec.kind === 'video') {
      const desc = new nodeDataChannel.Video(spec.mid, 'SendOnly');
      desc.addVideoCodec(spec.payloadType, spec.codec);
      desc.addSSRC(spec.ssrc, spec.streamId, spec.streamId, spec.trackId);
      native = this.#runtime.adoptTrack(this.#pc.addTrack(desc), onNativeClosed);
    } else {
      const desc = new nodeDataChannel.Audio(spec.mid, 'SendOnly');
      if (spec.codec.toLowerCase() === 'opus') desc.addOpusCodec(spec.payloadType);
      else desc.addAudioCodec(spec.payloadType, spec.codec);
      desc.addSSRC(spec.ssrc, spec.streamId, spec.streamId, spec.trackId);
      native = this.#runtime.adoptTrack(this.#pc.addTrack(desc), onNativeClosed);
    }
    const created = new NdcOutboundTrack(native, spec, this.#logger, () => this.#outbound.delete(spec.mid));
    track = created;
    this.#outbound.set(spec.mid, created);
    return created;
  }

  async createOffer(): Promise<string> {
    this.#assertOpen();
    this.#pc.setLocalDescription('offer');
    await this.#gathered();
    this.#assertOpen();
    const local = this.#pc.localDescription();
    if (!local) throw new MeridianError('INTERNAL', 'No local offer was generated');
    // On loopback, no candidates: the answerer cannot reach us before our fingerprint check
    // is armed (OffererRace.ts) and learns our address from our checks. Not elsewhere: a
    // client behind a NAT must send checks to us first, so it needs our candidates.
    return this.#offerWithoutCandidates ? withoutCandidates(local.sdp) : local.sdp;
  }

  acceptAnswer(sdp: string): void {
    this.#assertOpen();
    assertSdpShape(sdp);
    try {
      // Candidates only once the answer's fingerprint is committed (OffererRace.ts).
      applyAnswerThenCandidates(this.#pc, sdp);
    } catch (err) {
      throw new MeridianError('VALIDATION_FAILED', `Invalid SDP answer: ${(err as Error).message}`);
    }
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    // Tracks first: see the module comment.
    for (const t of this.#inbound) t.closeNative();
    for (const t of this.#outbound.values()) t.close();
    this.#inbound.clear();
    this.#outbound.clear();
    try {
      this.#pc.close();
    } catch (err) {
      this.#logger.warn({ err, peer: this.id }, 'closing a peer connection failed');
    }
    this.#flushGatherWaiters();
    this.#trackListener = () => {};
    const listener = this.#stateListener;
    this.#stateListener = () => {};
    this.#onClosed();
    listener('closed');
  }

  #handleRemoteTrack(native: NativeTrack): void {
    let track: NdcInboundTrack | undefined;
    // Adopted before anything else: see NativeRuntime.
    this.#runtime.adoptTrack(native, () => track?.closeNative());
    if (this.#closed) {
      native.close();
      return;
    }
    const info = this.#offeredTracks.get(native.mid());
    const dir = native.direction();
    if (!info || (dir !== 'RecvOnly' && dir !== 'SendRecv')) {
      // Not a track the client publishes (data m-line, recvonly m-line): nothing to receive.
      native.close();
      return;
    }
    const inbound: NdcInboundTrack = new NdcInboundTrack(native, info, this.#logger, () => this.#inbound.delete(inbound));
    track = inbound;
    this.#inbound.add(inbound);
    this.#trackListener(inbound);
  }

  #gathered(): Promise<void> {
    if (this.#closed || this.#pc.gatheringState() === 'complete') return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#logger.warn({ peer: this.id }, 'ICE gathering timed out; using the candidates found so far');
        done();
      }, this.#gatheringTimeoutMs);
      timer.unref();
      const done = (): void => {
        clearTimeout(timer);
        this.#gatherWaiters = this.#gatherWaiters.filter((w) => w !== done);
        resolve();
      };
      this.#gatherWaiters.push(done);
    });
  }

  #flushGatherWaiters(): void {
    const waiters = this.#gatherWaiters;
    this.#gatherWaiters = [];
    for (const w of waiters) w();
  }

  #assertOpen(): void {
    if (this.#closed) throw new MeridianError('NODE_UNAVAILABLE', 'The peer connection is closed');
  }
}

class NdcInboundTrack implements InboundTrack {
  readonly info: InboundTrackInfo;
  readonly #native: NativeTrack;
  readonly #logger: Logger;
  readonly #onClosed: () => void;
  #closed = false;
  #closeListeners: Array<() => void> = [];

  constructor(native: NativeTrack, info: InboundTrackInfo, logger: Logger, onClosed: () => void) {
    this.info = info;
    this.#native = native;
    this.#logger = logger;
    this.#onClosed = onClosed;
    native.setMediaHandler(new nodeDataChannel.RtcpReceivingSession());
  }

  get closed(): boolean {
    return this.#closed;
  }

  onPacket(listener: (packet: Buffer) => void): void {
    if (this.#closed) return;
    this.#native.onMessage(guard(this.#logger, 'inbound packet', listener));
  }

  requestKeyFrame(): boolean {
    if (this.#closed) return false;
    try {
      // libdatachannel throws a C++ exception that the binding does not catch (the process
      // aborts) when the track is not open yet: check first.
      if (!this.#native.isOpen()) return false;
      return this.#native.requestKeyframe();
    } catch {
      return false;
    }
  }

  onClose(listener: () => void): void {
    if (this.#closed) listener();
    else this.#closeListeners.push(listener);
  }

  closeNative(): void {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.#native.close();
    } catch {
      // already gone
    }
    this.#onClosed();
    const listeners = this.#closeListeners;
    this.#closeListeners = [];
    for (const l of listeners) {
      try {
        l();
      } catch {
        // listeners must not break teardown
      }
    }
  }
}

class NdcOutboundTrack implements OutboundTrack {
  readonly spec: OutboundTrackSpec;
  readonly #native: NativeTrack;
  readonly #logger: Logger;
  readonly #onClosed: () => void;
  #open = false;
  #closed = false;

  constructor(native: NativeTrack, spec: OutboundTrackSpec, logger: Logger, onClosed: () => void) {
    this.spec = spec;
    this.#native = native;
    this.#logger = logger;
    this.#onClosed = onClosed;
    // No `onOpen` handler: each handler is a thread-safe function, i.e. one more libuv async
    // handle, and libuv scans every async handle of the loop on each wake-up (once per
    // received packet batch). `open` asks the native track until it is open instead.
  }

  get open(): boolean {
    if (this.#open) return true;
    if (this.#closed || !this.#native.isOpen()) return false;
    this.#open = true;
    return true;
  }

  get closed(): boolean {
    return this.#closed;
  }

  send(packet: Buffer): boolean {
    if (!this.#open && !this.open) return false;
    try {
      return this.#native.sendMessageBinary(packet);
    } catch {
      return false;
    }
  }

  onRtcp(listener: (packet: Buffer) => void): void {
    if (this.#closed) return;
    this.#native.onMessage(guard(this.#logger, 'subscriber RTCP', listener));
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#open = false;
    try {
      this.#native.close();
    } catch {
      // already gone
    }
    this.#onClosed();
  }
}
