/**
 * Just enough of RTCPeerConnection and MediaStream for the SDK's subscribe-connection logic
 * in Node: descriptions are stored as given, gathering is complete at once, one receiver
 * per `a=mid:` line of the remote offer. Installed on globalThis by {@link installFakeWebRtc}.
 */

let nextTrack = 0;

/** A receiver track. */
export class FakeTrack {
  readonly id = `track-${nextTrack++}`;
  constructor(readonly kind: 'audio' | 'video') {}
}

/** A stream of fake tracks. */
export class FakeMediaStream {
  constructor(readonly tracks: FakeTrack[] = []) {}
  getTracks(): FakeTrack[] {
    return this.tracks;
  }
  getVideoTracks(): FakeTrack[] {
    return this.tracks.filter((t) => t.kind === 'video');
  }
  getAudioTracks(): FakeTrack[] {
    return this.tracks.filter((t) => t.kind === 'audio');
  }
}

/** A peer connection that records what the SDK does with it. */
export class FakePeerConnection {
  static readonly created: FakePeerConnection[] = [];
  /** While true, `getStats()` never settles (a browser stuck on a dying connection). */
  static hangStats = false;
  connectionState = 'new';
  readonly iceGatheringState = 'complete';
  localDescription: { type: string; sdp: string } | null = null;
  remoteDescription: { type: string; sdp: string } | null = null;
  closed = false;
  /** Reported as `framesDecoded` of every video receiver. */
  framesDecoded = 0;
  readonly #transceivers = new Map<string, { mid: string; receiver: { track: FakeTrack } }>();
  readonly #listeners = new Map<string, Set<() => void>>();
  #sending = 0;

  constructor() {
    FakePeerConnection.created.push(this);
  }
  addEventListener(type: string, fn: () => void): void {
    const set = this.#listeners.get(type) ?? new Set();
    this.#listeners.set(type, set);
    set.add(fn);
  }
  removeEventListener(type: string, fn: () => void): void {
    this.#listeners.get(type)?.delete(fn);
  }
  /** A publish transceiver (only counted: the fake sends nothing). */
  addTransceiver(_track: unknown, _init?: unknown): void {
    this.#sending++;
  }
  async createOffer(): Promise<{ type: 'offer'; sdp: string }> {
    return { type: 'offer', sdp: `offer-${FakePeerConnection.created.indexOf(this)}-${this.#sending}` };
  }
  async setRemoteDescription(d: { type: string; sdp: string }): Promise<void> {
    this.remoteDescription = d;
    // The node answered our publish offer: ICE/DTLS "connect" at once.
    if (d.type === 'answer') queueMicrotask(() => !this.closed && this.setState('connected'));
    for (const m of d.sdp.matchAll(/^m=(audio|video).*\r?\n(?:(?!m=).*\r?\n)*?a=mid:(\S+)/gm)) {
      const mid = m[2]!;
      if (!this.#transceivers.has(mid)) this.#transceivers.set(mid, { mid, receiver: { track: new FakeTrack(m[1] as 'audio' | 'video') } });
    }
  }
  getTransceivers() {
    return [...this.#transceivers.values()];
  }
  async createAnswer(): Promise<{ type: 'answer'; sdp: string }> {
    return { type: 'answer', sdp: `answer-${FakePeerConnection.created.indexOf(this)}` };
  }
  async setLocalDescription(d: { type: string; sdp: string }): Promise<void> {
    this.localDescription = d;
  }
  async getStats(): Promise<Map<string, unknown>> {
    if (FakePeerConnection.hangStats) return new Promise(() => {});
    const out = new Map<string, unknown>();
    for (const t of this.#transceivers.values()) {
      const kind = t.receiver.track.kind;
      out.set(`in-${t.mid}`, { id: `in-${t.mid}`, type: 'inbound-rtp', mid: t.mid, kind, packetsReceived: 1, ...(kind === 'video' ? { framesDecoded: this.framesDecoded } : {}) });
    }
    return out;
  }
  /** Moves the connection state, as ICE/DTLS would. */
  setState(state: string): void {
    this.connectionState = state;
    for (const fn of this.#listeners.get('connectionstatechange') ?? []) fn();
  }
  close(): void {
    this.closed = true;
    this.connectionState = 'closed';
  }
}

/** Puts the fakes on globalThis; returns a function that removes them again. */
export function installFakeWebRtc(): () => void {
  const g = globalThis as Record<string, unknown>;
  const before = { pc: g.RTCPeerConnection, ms: g.MediaStream };
  g.RTCPeerConnection = FakePeerConnection;
  g.MediaStream = FakeMediaStream;
  FakePeerConnection.created.length = 0;
  FakePeerConnection.hangStats = false;
  return () => {
    g.RTCPeerConnection = before.pc;
    g.MediaStream = before.ms;
    if (before.pc === undefined) delete g.RTCPeerConnection;
    if (before.ms === undefined) delete g.MediaStream;
  };
}
