/**
 * The seam between the SFU and a WebRTC stack. Everything above this interface (rooms,
 * forwarding, signaling) deals in SDP strings and decrypted RTP/RTCP Buffers; ICE, DTLS and
 * SRTP stay below it. `NodeDatachannelEngine` implements it with libdatachannel; a werift
 * or a native worker implementation would plug in the same way.
 *
 * One `PeerSession` is one RTCPeerConnection. The SFU uses two per participant, which is
 * what a browser handles best:
 * - the *publish* session, where the client offers its tracks and the node answers
 *   (`acceptOffer`, then `onTrack` per received m-line), and
 * - the *subscribe* session, where the node adds send tracks and offers
 *   (`addOutboundTrack`, `createOffer`, `acceptAnswer`), renegotiating as tracks are added.
 */

/** Audio or video. */
export type MediaKind = 'audio' | 'video';

/** Connection state of a session, as in RTCPeerConnection. */
export type PeerState = 'new' | 'connecting' | 'connected' | 'disconnected' | 'failed' | 'closed';

/** What the engine learned about a received track from the remote offer. */
export interface InboundTrackInfo {
  /** m-line id in the offer. */
  readonly mid: string;
  readonly kind: MediaKind;
  /** Primary SSRC the remote announced (0 when the offer had none). */
  readonly ssrc: number;
  /** Payload type the remote will send. */
  readonly payloadType: number;
  /** Codec name, e.g. `VP8`, `opus`. */
  readonly codec: string;
  readonly clockRate: number;
  /** Header extension id of the RFC 6464 audio level, when negotiated. */
  readonly audioLevelExtensionId: number | undefined;
  /** `a=msid` of the sender: stream id and track id, when given. */
  readonly streamId: string | undefined;
  readonly remoteTrackId: string | undefined;
}

/** A received track: decrypted RTP in, key-frame requests out. */
export interface InboundTrack {
  readonly info: InboundTrackInfo;
  /**
   * Sets the one receiver of this track's RTP packets. The Buffer is owned by the receiver
   * (the engine hands over a fresh copy per packet).
   */
  onPacket(listener: (packet: Buffer) => void): void;
  /** Asks the sender for a key frame (RTCP PLI). */
  requestKeyFrame(): boolean;
  /**
   * Asks the sender to resend packets (by the sequence numbers this track received). Only a
   * track relayed from another node has it: a client's publisher is never asked (the node
   * answers NACKs from its own buffer), a relayed track's node is, when that buffer misses.
   */
  requestRetransmission?(seqs: readonly number[]): void;
  /** Called once when the track ends (remote removed it, or the session closed). */
  onClose(listener: () => void): void;
  readonly closed: boolean;
}

/** What the node sends on an outbound track. */
export interface OutboundTrackSpec {
  /** m-line id; unique within the session. */
  readonly mid: string;
  readonly kind: MediaKind;
  readonly ssrc: number;
  readonly payloadType: number;
  /** `VP8` for video, `opus` for audio. */
  readonly codec: string;
  /** `a=msid` stream id and track id announced to the receiver. */
  readonly streamId: string;
  readonly trackId: string;
}

/** A track the node sends: RTP Buffers out, the receiver's RTCP in. */
export interface OutboundTrack {
  readonly spec: OutboundTrackSpec;
  /** Sends one RTP packet (header already rewritten). False when not sent (not open yet). */
  send(packet: Buffer): boolean;
  /** Sets the one receiver of (compound) RTCP packets from the remote receiver. */
  onRtcp(listener: (packet: Buffer) => void): void;
  /** True once DTLS is up and packets can flow. */
  readonly open: boolean;
  readonly closed: boolean;
  close(): void;
}

/** One peer connection. */
export interface PeerSession {
  readonly id: string;
  readonly state: PeerState;
  /**
   * Applies a remote offer and resolves with the answer SDP once ICE gathering has completed
   * (no trickle). Rejects with a `VALIDATION_FAILED` MeridianError for unusable SDP.
   */
  acceptOffer(sdp: string): Promise<string>;
  /** Adds a track to send; it is negotiated by the next `createOffer`. */
  addOutboundTrack(spec: OutboundTrackSpec): OutboundTrack;
  /** Creates a (re-)offer covering all outbound tracks, after ICE gathering has completed. */
  createOffer(): Promise<string>;
  /** Applies the remote answer to our last offer. */
  acceptAnswer(sdp: string): void;
  /**
   * Sets the receiver of tracks announced by remote offers. Call it before `acceptOffer`; a
   * session that never calls it (a subscribe session) registers nothing native for tracks.
   */
  onTrack(listener: (track: InboundTrack) => void): void;
  /** Sets the receiver of connection state changes. */
  onStateChange(listener: (state: PeerState) => void): void;
  /** Closes the connection and all its tracks. Idempotent. */
  close(): void;
}

/** Options for one session. */
export interface PeerSessionOptions {
  /** Shows up in native logs; not used for routing. */
  readonly label: string;
}

/** Creates sessions and owns the native resources they share. */
export interface MediaEngine {
  readonly name: string;
  createPeer(options: PeerSessionOptions): PeerSession;
  /** Open sessions (for stats and teardown tests). */
  readonly peerCount: number;
  /** Closes every session and releases native resources. Idempotent. */
  close(): void;
}
