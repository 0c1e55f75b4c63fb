/**
 * A Node stand-in for a browser: a signaling WebSocket plus node-datachannel peer
 * connections that publish synthetic VP8-like and Opus-like RTP and record what they
 * receive. Used by the media integration tests; it speaks the protocol in
 * src/media/signaling/protocol.ts exactly as the browser SDK will.
 */
import nodeDataChannel from 'node-datachannel';
import WebSocket from 'ws';
import { acquireNativeRuntime } from '../../../../src/media/engine/NativeRuntime.js';
import { applyAnswerThenCandidates, withoutCandidates } from '../../../../src/media/engine/OffererRace.js';
import { LOOPBACK_PEER_CONFIG, announcesLoopbackOnly, candidateAddresses } from '../../../helpers/media.js';
import type { ServerMessage } from '../../../../src/media/signaling/protocol.js';
import { parseRtcpFeedback, type RtcpFeedback } from '../../../../src/media/sfu/Rtcp.js';
import { waitFor } from '../../../helpers/waitFor.js';

type AnyServerMessage = ServerMessage & Record<string, unknown>;

/** A received RTP packet's header fields. */
export interface ReceivedPacket {
  readonly mid: string;
  readonly ssrc: number;
  readonly seq: number;
  readonly ts: number;
  readonly pt: number;
  readonly marker: boolean;
  readonly length: number;
  /** First payload byte after the 12-byte header (our synthetic packets carry no extensions to the subscriber). */
  readonly payload0: number;
  readonly at: number;
}

export const AUDIO_LEVEL_EXT_ID = 1;
const PEER_CONFIG: nodeDataChannel.RtcConfig = { ...LOOPBACK_PEER_CONFIG, iceServers: [] };

function waitGathered(pc: nodeDataChannel.PeerConnection, timeoutMs = 5_000): Promise<void> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const check = (): void => {
      if (pc.gatheringState() === 'complete') resolve();
      else if (Date.now() - started > timeoutMs) reject(new Error('gathering timeout'));
      else setTimeout(check, 5);
    };
    check();
  });
}

/** Waits for `predicate` to hold: the shared polling helper (test/helpers/waitFor.ts) under this file's argument order. */
export async function waitUntil(predicate: () => boolean, timeoutMs: number, what: string): Promise<void> {
  await waitFor(what, predicate, { timeoutMs, intervalMs: 10 });
}

/**
 * Every SDP a node sent to a test client in this process that announced a candidate off
 * 127.0.0.0/8 (or none at all). Media tests assert it stays empty: the honest check that
 * test media stays on loopback is on the candidates the node actually announced.
 */
export const nonLoopbackSdps: string[] = [];

/** One simulated participant. */
export class TestClient {
  readonly ws: WebSocket;
  readonly messages: AnyServerMessage[] = [];
  readonly received: ReceivedPacket[] = [];
  /** RTCP feedback the publisher side received from the node. */
  readonly publisherFeedback: RtcpFeedback[] = [];
  closeCode: number | undefined;
  closed: Promise<number>;
  readonly #runtime = acquireNativeRuntime();
  #pub: nodeDataChannel.PeerConnection | undefined;
  #sub: nodeDataChannel.PeerConnection | undefined;
  #pubVideo: nodeDataChannel.Track | undefined;
  #pubAudio: nodeDataChannel.Track | undefined;
  readonly #subTracks = new Map<string, nodeDataChannel.Track>();
  readonly #tracks: nodeDataChannel.Track[] = [];
  #keyFrameWanted = true;
  #closedLocally = false;
  #answering: Promise<void> = Promise.resolve();
  /** Failures answering subscribe offers (none expected). */
  readonly errors: Error[] = [];
  #waiters: Array<() => void> = [];

  private constructor(ws: WebSocket) {
    this.ws = ws;
    this.closed = new Promise((resolve) =>
      ws.on('close', (code) => {
        this.closeCode = code;
        this.#notify();
        resolve(code);
      }),
    );
    ws.on('error', () => {});
    ws.on('message', (data) => {
      const msg = JSON.parse(String(data)) as AnyServerMessage;
      this.messages.push(msg);
      // The node's answers announce its candidates; its offers announce none (OffererRace.ts),
      // and whatever an SDP announces must be loopback.
      const sdp = msg.sdp as string;
      if (msg.type === 'answer' && !announcesLoopbackOnly(sdp)) nonLoopbackSdps.push(sdp);
      if (msg.type === 'offer' && candidateAddresses(sdp).some((a) => !announcesLoopbackOnly(`a=candidate:1 1 udp 1 ${a} 1 typ host`))) nonLoopbackSdps.push(sdp);
      if (msg.type === 'offer') {
        this.#answering = this.#answering
          .then(() => this.#answerSubscribeOffer(msg.sdp as string, msg.session as number))
          .catch((err: unknown) => {
            // A client closing mid-negotiation is normal; anything else is kept for assertions.
            if (!this.#closedLocally) this.errors.push(err as Error);
          });
      }
      this.#notify();
    });
  }

  /** Opens the socket (does not join). */
  static async connect(url: string): Promise<TestClient> {
    const ws = new WebSocket(url);
    const client = new TestClient(ws);
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    return client;
  }

  /** Connects and joins; resolves with the `joined` message. */
  static async join(url: string, token: string): Promise<{ client: TestClient; joined: AnyServerMessage }> {
    const client = await TestClient.connect(url);
    client.send({ type: 'join', token });
    const joined = await client.next((m) => m.type === 'joined' || m.type === 'error');
    if (joined.type !== 'joined') throw new Error(`join refused: ${JSON.stringify(joined)}`);
    return { client, joined };
  }

  send(message: unknown): void {
    this.ws.send(typeof message === 'string' ? message : JSON.stringify(message));
  }

  /** The first message (already received or future) matching `predicate`. */
  async next(predicate: (m: AnyServerMessage) => boolean, timeoutMs = 5_000): Promise<AnyServerMessage> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.messages.find(predicate);
      if (found) return found;
      if (Date.now() > deadline) throw new Error(`no matching message; got ${this.messages.map((m) => m.type).join(',')}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, 50);
        this.#waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  /** Publishes a video and/or an audio track; resolves when the node answered and DTLS is up. */
  async publish(opts: { videoSsrc?: number; audioSsrc?: number }): Promise<void> {
    const pc = this.#runtime.createPeer('test-pub', PEER_CONFIG);
    this.#pub = pc;
    if (opts.videoSsrc) {
      const v = new nodeDataChannel.Video('0', 'SendOnly');
      v.addVP8Codec(96);
      v.addSSRC(opts.videoSsrc, 'test', 'test-stream', 'test-video');
      this.#pubVideo = this.#runtime.adoptTrack(pc.addTrack(v));
      this.#tracks.push(this.#pubVideo);
      this.#pubVideo.onMessage((m) => this.#onPublisherRtcp(m));
    }
    if (opts.audioSsrc) {
      const a = new nodeDataChannel.Audio('1', 'SendOnly');
      a.addOpusCodec(111);
      a.addSSRC(opts.audioSsrc, 'test', 'test-stream', 'test-audio');
      this.#pubAudio = this.#runtime.adoptTrack(pc.addTrack(a));
      this.#tracks.push(this.#pubAudio);
      this.#pubAudio.onMessage(() => {});
    }
    pc.setLocalDescription('offer');
    await waitGathered(pc);
    // Announce the audio-level extension the way Chromium does.
    const offer = pc
      .localDescription()!
      .sdp.replace(/(a=mid:1\r\n)/, `$1a=extmap:${AUDIO_LEVEL_EXT_ID} urn:ietf:params:rtp-hdrext:ssrc-audio-level\r\n`);
    const before = this.messages.length;
    // The offerer-race workaround (src/media/engine/OffererRace.ts): no candidates in the
    // offer, the answer's candidates only after its fingerprint is committed.
    this.send({ type: 'offer', sdp: withoutCandidates(offer) });
    const answer = await this.next((m) => m.type === 'answer' && this.messages.indexOf(m) >= before);
    applyAnswerThenCandidates(pc, answer.sdp as string);
    const tracks = [this.#pubVideo, this.#pubAudio].filter((t): t is nodeDataChannel.Track => t !== undefined);
    // 15 s: a DTLS flight lost on a busy machine is resent after 1 s, then 2 s, then 4 s.
    await waitUntil(() => tracks.every((t) => t.isOpen()) || pc.state() === 'closed' || pc.state() === 'failed', 15_000, 'publisher tracks open');
    if (!tracks.every((t) => t.isOpen())) throw new Error(`publish connection ${pc.state()}`);
  }

  /** The answer SDP the node gave on the publish session (for assertions). */
  get publishAnswer(): string | undefined {
    return this.#pub?.remoteDescription()?.sdp;
  }

  /** Sends one VP8-like packet (one packet per frame). A key frame when one was asked for, or `forceKey`. */
  sendVideo(seq: number, ts: number, ssrc: number, opts: { forceKey?: boolean; size?: number } = {}): boolean {
    if (this.#closedLocally) return false;
    if (!this.#pubVideo) throw new Error('not publishing video');
    const key = opts.forceKey ?? this.#keyFrameWanted;
    this.#keyFrameWanted = false;
    const b = Buffer.alloc(opts.size ?? 1100);
    b[0] = 0x80;
    b[1] = 0x80 | 96; // marker: one packet per frame
    b.writeUInt16BE(seq & 0xffff, 2);
    b.writeUInt32BE(ts >>> 0, 4);
    b.writeUInt32BE(ssrc, 8);
    b[12] = 0x10; // VP8 descriptor: S=1, PID=0
    b[13] = key ? 0x00 : 0x01; // VP8 payload header: P=0 on key frames
    return this.#sendSafely(this.#pubVideo, b);
  }

  /** Sends one Opus-like packet with an RFC 6464 audio level (0 loud … 127 silent). */
  sendAudio(seq: number, ts: number, ssrc: number, level: number): boolean {
    if (this.#closedLocally) return false;
    if (!this.#pubAudio) throw new Error('not publishing audio');
    const b = Buffer.alloc(12 + 4 + 60);
    b[0] = 0x90; // V=2, X=1
    b[1] = 111;
    b.writeUInt16BE(seq & 0xffff, 2);
    b.writeUInt32BE(ts >>> 0, 4);
    b.writeUInt32BE(ssrc, 8);
    b.writeUInt16BE(0xbede, 12);
    b.writeUInt16BE(1, 14);
    b[16] = (AUDIO_LEVEL_EXT_ID << 4) | 0; // one byte of data
    b[17] = 0x80 | (level & 0x7f);
    return this.#sendSafely(this.#pubAudio, b);
  }

  /** Sends raw RTCP from the subscriber side of slot `mid` (no media handler: raw RTCP passes). */
  sendSubscriberRtcp(mid: string, packet: Buffer): boolean {
    const track = this.#subTracks.get(mid);
    if (!track) throw new Error(`no subscribe track ${mid}`);
    return track.sendMessageBinary(packet);
  }

  /** The address and port the subscribe connection's media flows from (the node's side). */
  subscribeRemoteAddress(): { address: string; port: number } | undefined {
    const pair = this.#sub?.getSelectedCandidatePair();
    return pair ? { address: pair.remote.address, port: pair.remote.port } : undefined;
  }

  /** Subscribe connection state (diagnostics). */
  subscribeStateForTesting(): Record<string, string> | undefined {
    const pc = this.#sub;
    return pc && { state: pc.state(), ice: pc.iceState(), signaling: pc.signalingState(), tracks: [...this.#subTracks.values()].map((t) => `${t.mid()}:${t.isOpen()}`).join(' ') };
  }

  /** Received packets of one SSRC. */
  packetsOf(ssrc: number): ReceivedPacket[] {
    return this.received.filter((p) => p.ssrc === ssrc);
  }

  /** Closes peers and the socket; releases the native runtime. */
  async close(): Promise<void> {
    if (this.#closedLocally) return;
    this.#closedLocally = true;
    for (const t of [...this.#tracks, ...this.#subTracks.values()]) {
      try {
        t.close();
      } catch {
        // already closed
      }
    }
    this.#pub?.close();
    this.#sub?.close();
    if (this.ws.readyState === WebSocket.OPEN || this.ws.readyState === WebSocket.CONNECTING) {
      this.ws.close();
      await Promise.race([this.closed, new Promise((r) => setTimeout(r, 1_000))]);
    }
    this.ws.terminate();
    this.#runtime.release();
  }

  /** A track the node closed under us throws; a pump must not crash the test process. */
  #sendSafely(track: nodeDataChannel.Track, packet: Buffer): boolean {
    try {
      return track.sendMessageBinary(packet);
    } catch {
      return false;
    }
  }

  #onPublisherRtcp(packet: Buffer): void {
    for (const fb of parseRtcpFeedback(packet)) {
      this.publisherFeedback.push(fb);
      if (fb.kind === 'pli' || fb.kind === 'fir') this.#keyFrameWanted = true;
    }
  }

  /** Subscribe sessions this client answered (a restart by the node starts a new one). */
  readonly subscribeSessions: number[] = [];
  #subSession = 0;

  async #answerSubscribeOffer(sdp: string, session: number): Promise<void> {
    if (this.#closedLocally) return;
    if (session !== this.#subSession) {
      // A new session: the node restarted its side; start a new connection too.
      for (const t of this.#subTracks.values()) t.close();
      this.#subTracks.clear();
      this.#sub?.close();
      this.#sub = undefined;
      this.#subSession = session;
      this.subscribeSessions.push(session);
    }
    if (!this.#sub) {
      this.#sub = this.#runtime.createPeer('test-sub', PEER_CONFIG);
      this.#sub.onTrack((track) => {
        this.#runtime.adoptTrack(track);
        const mid = track.mid();
        this.#subTracks.set(mid, track);
        track.onMessage((m) => {
          if (m.length < 12 || (m[1]! >= 192 && m[1]! <= 223)) return;
          this.received.push({
            mid,
            ssrc: m.readUInt32BE(8),
            seq: m.readUInt16BE(2),
            ts: m.readUInt32BE(4),
            pt: m[1]! & 0x7f,
            marker: (m[1]! & 0x80) !== 0,
            length: m.length,
            payload0: m[12] ?? -1,
            at: performance.now(),
          });
        });
      });
    }
    this.#sub.setRemoteDescription(sdp, 'offer');
    this.#sub.setLocalDescription('answer');
    await waitGathered(this.#sub);
    if (this.#closedLocally) return;
    this.send({ type: 'answer', sdp: this.#sub.localDescription()!.sdp, session });
  }

  #notify(): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const w of waiters) w();
  }
}
