/**
 * The relays of this node: for each meeting it shares with other nodes, exactly one
 * RelayLink per other node. The control plane sends a `relay` command per meeting listing
 * *all* the other nodes of the meeting with a fresh relay token for each (docs/cascade.md);
 * {@link RelayManager.apply} reconciles:
 *
 * - of each pair, the node with the smaller id (string compare) dials the other's
 *   `<signaling path>/relay` and presents the token (`hello`); the other accepts. It dials
 *   once it has a participant of its own in the meeting (a relay between a node and an empty
 *   one would carry nothing);
 * - a relay to a node no longer listed is closed (its participants leave for local clients);
 * - a dial that fails is retried with backoff while the peer is listed. Relay tokens are
 *   single-use, so a token that was presented once (the socket opened) is not presented
 *   again. A dialer with a participant that holds no token it can present (none, spent, or
 *   expiring within {@link TOKEN_RENEW_MARGIN_MS}) asks for one in a heartbeat
 *   ({@link RelayManager.tokensWanted}), sent at once ({@link RelayManagerOptions.onTokensWanted});
 *   the control plane answers with a `relay` command.
 *   A dial that never reached the peer retries with the same token.
 *
 * Accepting ({@link RelayManager.accept}, called by the signaling server for upgrades on the
 * relay path): the first message must be `hello` with a relay token this node verifies with
 * its own key (RelayTokenVerifier: audience, kind, expiry, single use), for a meeting this
 * node hosts: one a `relay` command named, or one with a room here. Anything else gets one
 * `error` and a close, as on the client path.
 */
import WebSocket from 'ws';
import type { Logger } from '../../lib/logger.js';
import { MeridianError, isMeridianError } from '../../contracts/errors.js';
import { roomKey } from '../../contracts/meetingKeys.js';
import { CloseCode } from '../../contracts/signaling.js';
import { RELAY_TOKENS_WANTED_MAX, relayDialer, type RelayPeer } from '../../contracts/schemas.js';
import { randomBytes } from 'node:crypto';
import { relayHelloFor, relayMac, relayMacMatches, relaySessionKey, relayTokenExpiresAt, type RelayHelloVerifier } from '../../tokens/index.js';
import type { MediaEngine } from '../engine/MediaEngine.js';
import type { RoomManager } from '../sfu/RoomManager.js';
import { RelayLink, type RelayLimits } from './RelayLink.js';
import { readRelayFrame, relayUrlOf, type OutgoingRelayMessage } from './relayProtocol.js';
import { closeCodeFor } from '../signaling/protocol.js';

/** A `relay` command as the node receives it. */
export interface RelayCommand {
  /** Room key of the meeting. */
  readonly meetingId: string;
  readonly peers: readonly RelayPeer[];
}

/** Construction options. */
export interface RelayManagerOptions {
  readonly nodeId: string;
  readonly engine: MediaEngine;
  readonly rooms: RoomManager;
  /** Checks a `hello` (proof of possession of a relay token for this node). */
  readonly verifyHello: RelayHelloVerifier;
  readonly limits: RelayLimits;
  /**
   * This node may need a relay token now (a relay closed or a dial was refused after its
   * token was presented, or a participant arrived where no usable token is held): the owner
   * sends a heartbeat, which asks for {@link RelayManager.tokensWanted}, without waiting for
   * the next interval.
   */
  readonly onTokensWanted?: () => void;
  /** How long a handshake (`hello` → `welcome`) may take, either side. */
  readonly handshakeTimeoutMs: number;
  /** First retry delay after a failed dial; doubles up to {@link RelayManagerOptions.maxRetryMs}. */
  readonly retryMs?: number;
  readonly maxRetryMs?: number;
  readonly logger: Logger;
}

/** A token that expires sooner than this is asked to be replaced (a few heartbeats ahead). */
export const TOKEN_RENEW_MARGIN_MS = 10_000;

/** What this node knows of one listed peer of one meeting. */
interface Listed {
  peer: RelayPeer;
  /** The token was presented already (it is single-use). */
  tokenSpent: boolean;
  /** When `peer.token` expires (ms since epoch); 0 without one or unreadable. */
  tokenExpiresAt: number;
  dialing: WebSocket | undefined;
  retryTimer: NodeJS.Timeout | undefined;
  failures: number;
}

const key = (meetingId: string, peerNodeId: string): string => `${meetingId}\u0000${peerNodeId}`;

/** Reconciles and holds the relays of one node. */
export class RelayManager {
  readonly #o: RelayManagerOptions;
  readonly #logger: Logger;
  /** meeting → peer node id → listing. */
  readonly #listed = new Map<string, Map<string, Listed>>();
  readonly #links = new Map<string, RelayLink>();
  readonly #handshakes = new Set<WebSocket>();
  #closed = false;

  constructor(options: RelayManagerOptions) {
    this.#o = options;
    this.#logger = options.logger.child({ component: 'relays' });
    options.rooms.on('roomCreated', (room) => {
      for (const link of this.#links.values()) if (link.meetingId === room.id) link.bind(room);
      // A relay carries media only once both sides have people: the dialer waits for its own.
      room.on('participantJoined', () => {
        const listed = this.#listed.get(room.id);
        if (!listed) return;
        for (const peerNodeId of listed.keys()) this.#maybeDial(room.id, peerNodeId);
        this.#askIfWanted(room.id);
      });
    });
  }

  /** Open relays. */
  get linkCount(): number {
    return this.#links.size;
  }

  /** The relay of `meetingId` to `peerNodeId`, if open. */
  linkForTesting(meetingId: string, peerNodeId: string): RelayLink | undefined {
    return this.#links.get(key(meetingId, peerNodeId));
  }

  /** Applies a `relay` command: one relay per listed peer, none to others. */
  apply(command: RelayCommand): void {
    if (this.#closed) return;
    const { meetingId } = command;
    const peers = command.peers.filter((p) => p.nodeId !== this.#o.nodeId);
    let listed = this.#listed.get(meetingId);
    if (!listed) {
      listed = new Map();
      this.#listed.set(meetingId, listed);
    }
    const names = new Set(peers.map((p) => p.nodeId));
    for (const [peerId, entry] of listed) {
      if (names.has(peerId)) continue;
      this.#forget(entry);
      listed.delete(peerId);
    }
    for (const link of [...this.#links.values()]) {
      if (link.meetingId === meetingId && !names.has(link.peerNodeId)) link.close('the peer is no longer a node of the meeting');
    }
    for (const peer of peers) {
      const entry = listed.get(peer.nodeId);
      if (entry) {
        // Listed without a token: the control plane minted none for this pair this time
        // (only changed pairs get one); the token held stays.
        if (peer.token === undefined) entry.peer = { ...peer, ...(entry.peer.token !== undefined ? { token: entry.peer.token } : {}) };
        else {
          if (entry.peer.token !== peer.token) {
            entry.tokenSpent = false;
            entry.tokenExpiresAt = expiresAt(peer.token);
          }
          entry.peer = peer;
        }
      } else {
        listed.set(peer.nodeId, { peer, tokenSpent: false, tokenExpiresAt: expiresAt(peer.token), dialing: undefined, retryTimer: undefined, failures: 0 });
      }
      this.#maybeDial(meetingId, peer.nodeId);
    }
    if (peers.length === 0) this.#listed.delete(meetingId);
    this.#logger.debug({ meetingId, peers: peers.map((p) => p.nodeId) }, 'relay command applied');
  }

  /**
   * Meetings (room keys) this node needs fresh relay tokens for, to ask in its heartbeat: it
   * has a participant there and dials a listed peer it has no relay to, is not dialing, and
   * holds no token it can present (none, spent, or expiring within
   * {@link TOKEN_RENEW_MARGIN_MS}). At most {@link RELAY_TOKENS_WANTED_MAX}; the rest are
   * asked for in the next heartbeat.
   */
  tokensWanted(now = Date.now()): string[] {
    const wanted: string[] = [];
    for (const [meetingId, listed] of this.#listed) {
      if (wanted.length >= RELAY_TOKENS_WANTED_MAX) break;
      if (this.#needsToken(meetingId, listed, now)) wanted.push(meetingId);
    }
    return wanted;
  }

  /** Tells the owner when this node needs a token for `meetingId` ({@link RelayManagerOptions.onTokensWanted}). */
  #askIfWanted(meetingId: string): void {
    const listed = this.#listed.get(meetingId);
    if (this.#o.onTokensWanted && listed && this.#needsToken(meetingId, listed, Date.now())) this.#o.onTokensWanted();
  }

  /** This node has a participant in `meetingId` and needs a token for some listed peer there ({@link RelayManager.#wants}). */
  #needsToken(meetingId: string, listed: ReadonlyMap<string, Listed>, now: number): boolean {
    if (!this.#o.rooms.get(meetingId)?.participantCount) return false;
    for (const [peerNodeId, entry] of listed) if (this.#wants(meetingId, peerNodeId, entry, now)) return true;
    return false;
  }

  /** This node dials `peerNodeId`, has no relay or dial to it, and holds no token it can present. */
  #wants(meetingId: string, peerNodeId: string, entry: Listed, now: number): boolean {
    if (!relayDialer(this.#o.nodeId, peerNodeId) || entry.dialing || this.#links.has(key(meetingId, peerNodeId))) return false;
    return entry.peer.token === undefined || entry.tokenSpent || entry.tokenExpiresAt - now < TOKEN_RENEW_MARGIN_MS;
  }

  /** Takes a WebSocket upgraded on the relay path: waits for `hello`, verifies, and opens the relay. */
  accept(ws: WebSocket, remoteAddress: string | undefined): void {
    if (this.#closed) {
      ws.close(CloseCode.goingAway, 'node shutting down');
      return;
    }
    const logger = this.#logger.child({ remote: remoteAddress });
    this.#handshakes.add(ws);
    ws.on('error', (err) => logger.debug({ err }, 'relay socket error'));
    const refuse = (err: unknown): void => {
      const error = isMeridianError(err) ? err : new MeridianError('INTERNAL');
      if (!isMeridianError(err)) logger.error({ err }, 'relay handshake failed');
      else logger.info({ code: error.code, reason: error.message }, 'relay refused');
      done();
      send(ws, { type: 'error', code: error.code, message: error.message });
      ws.close(closeCodeFor(error.code), error.code);
      setTimeout(() => ws.terminate(), 1_000).unref();
    };
    const timer = setTimeout(() => refuse(new MeridianError('VALIDATION_FAILED', 'No hello message in time')), this.#o.handshakeTimeoutMs);
    timer.unref();
    const done = (): void => {
      clearTimeout(timer);
      ws.off('message', onMessage);
      this.#handshakes.delete(ws);
    };
    const onMessage = (data: WebSocket.RawData, isBinary: boolean): void => {
      const read = readRelayFrame(data, isBinary, this.#o.limits.maxMessageBytes);
      try {
        if ('error' in read) throw read.error;
        if (read.message.type !== 'hello') throw new MeridianError('VALIDATION_FAILED', 'The first relay message must be "hello"');
        const hello = read.message;
        const claims = this.#o.verifyHello(hello);
        const meetingId = roomKey(claims.app, claims.mtg);
        if (!this.#listed.has(meetingId) && !this.#o.rooms.get(meetingId)) throw new MeridianError('MEETING_NOT_FOUND', 'This node does not host the meeting');
        done();
        const nonce = randomBytes(16).toString('base64url');
        const sessionKey = relaySessionKey(claims.secret, hello.nonce, nonce);
        send(ws, { type: 'welcome', nodeId: this.#o.nodeId, nonce, proof: relayMac(sessionKey, 'welcome', this.#o.nodeId) });
        this.#open(ws, meetingId, claims.fromNodeId, sessionKey, 'acceptor');
      } catch (err) {
        refuse(err);
      }
    };
    ws.on('message', onMessage);
    ws.once('close', () => done());
  }

  /** Closes every relay and stops dialing. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const listed of this.#listed.values()) for (const entry of listed.values()) this.#forget(entry);
    this.#listed.clear();
    for (const link of [...this.#links.values()]) link.close('node shutting down', CloseCode.goingAway);
    this.#links.clear();
    for (const ws of this.#handshakes) ws.terminate();
    this.#handshakes.clear();
  }

  #forget(entry: Listed): void {
    if (entry.retryTimer) clearTimeout(entry.retryTimer);
    entry.retryTimer = undefined;
    entry.dialing?.terminate();
    entry.dialing = undefined;
  }

  /**
   * Dials `peerNodeId` for `meetingId` when this node is the dialer, holds an unspent token and
   * has a participant in the meeting: with nobody here there is nothing to send and nobody to
   * send to, so a node placed for a meeting nobody has reached yet opens no relays.
   */
  #maybeDial(meetingId: string, peerNodeId: string): void {
    const entry = this.#listed.get(meetingId)?.get(peerNodeId);
    if (!entry || this.#closed || !relayDialer(this.#o.nodeId, peerNodeId)) return;
    if (!this.#o.rooms.get(meetingId)?.participantCount) return;
    if (this.#links.has(key(meetingId, peerNodeId)) || entry.dialing || entry.retryTimer || entry.tokenSpent || entry.peer.token === undefined) return;
    // An expired token would only be refused: wait for the one the heartbeat asks for.
    if (entry.tokenExpiresAt !== 0 && entry.tokenExpiresAt <= Date.now()) return;
    this.#dial(meetingId, entry);
  }

  #dial(meetingId: string, entry: Listed): void {
    const peer = entry.peer;
    const token = peer.token;
    if (token === undefined) return;
    const logger = this.#logger.child({ meetingId, peerNodeId: peer.nodeId });
    let url: string;
    try {
      url = relayUrlOf(peer.url);
    } catch {
      logger.warn({ url: peer.url }, 'relay peer URL is not a URL; not dialing');
      return;
    }
    const ws = new WebSocket(url, { handshakeTimeout: this.#o.handshakeTimeoutMs, maxPayload: this.#o.limits.maxMessageBytes * 2, perMessageDeflate: false });
    entry.dialing = ws;
    let settled = false;
    const timer = setTimeout(() => fail('no welcome in time'), this.#o.handshakeTimeoutMs);
    timer.unref();
    const fail = (reason: string): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      ws.terminate();
      if (entry.dialing === ws) entry.dialing = undefined;
      entry.failures++;
      logger.info({ reason, failures: entry.failures }, 'relay dial failed');
      this.#scheduleRetry(meetingId, entry);
      if (entry.tokenSpent) this.#askIfWanted(meetingId);
    };
    ws.on('error', (err) => fail(err.message));
    ws.once('close', (code, reason) => fail(`closed ${code} ${reason.toString()}`));
    const hello = relayHelloFor(token);
    ws.once('open', () => {
      // Presented now: from here on the token may be spent, whatever happens next. A dial that
      // never reached the peer (refused, timed out) keeps it for the next attempt.
      entry.tokenSpent = true;
      send(ws, { type: 'hello', token: hello.token, nonce: hello.nonce, proof: hello.proof });
    });
    const onMessage = (data: WebSocket.RawData, isBinary: boolean): void => {
      const read = readRelayFrame(data, isBinary, this.#o.limits.maxMessageBytes);
      if ('error' in read || read.message.type !== 'welcome') {
        fail('error' in read ? read.error.message : read.message.type === 'error' ? `${read.message.code}: ${read.message.message}` : `unexpected ${read.message.type}`);
        return;
      }
      const welcome = read.message;
      const sessionKey = relaySessionKey(hello.secret, hello.nonce, welcome.nonce);
      // Only a holder of the peer's key could compute this: nobody on the path can pose as it.
      if (welcome.nodeId !== peer.nodeId || !relayMacMatches(welcome.proof, sessionKey, 'welcome', peer.nodeId)) {
        fail(`the welcome does not prove it comes from ${peer.nodeId}`);
        return;
      }
      settled = true;
      clearTimeout(timer);
      ws.off('message', onMessage);
      ws.removeAllListeners('close');
      ws.removeAllListeners('error');
      ws.on('error', (err) => logger.debug({ err }, 'relay socket error'));
      entry.dialing = undefined;
      entry.failures = 0;
      this.#open(ws, meetingId, peer.nodeId, sessionKey, 'dialer');
    };
    ws.on('message', onMessage);
  }

  #scheduleRetry(meetingId: string, entry: Listed): void {
    if (this.#closed || this.#listed.get(meetingId)?.get(entry.peer.nodeId) !== entry || entry.retryTimer) return;
    const base = this.#o.retryMs ?? 250;
    const delay = Math.min(this.#o.maxRetryMs ?? 5_000, base * 2 ** Math.min(entry.failures - 1, 10));
    entry.retryTimer = setTimeout(() => {
      entry.retryTimer = undefined;
      this.#maybeDial(meetingId, entry.peer.nodeId);
    }, delay);
    entry.retryTimer.unref();
  }

  #open(ws: WebSocket, meetingId: string, peerNodeId: string, sessionKey: Buffer, role: 'dialer' | 'acceptor'): void {
    const k = key(meetingId, peerNodeId);
    // One relay per pair: a new one (the peer restarted, or re-dialed) replaces the old.
    this.#links.get(k)?.close('replaced by a new relay');
    const link = new RelayLink({
      ws,
      meetingId,
      peerNodeId,
      sessionKey,
      role,
      engine: this.#o.engine,
      limits: this.#o.limits,
      logger: this.#logger,
      onClosed: (closed) => {
        if (this.#links.get(k) === closed) this.#links.delete(k);
        const entry = this.#listed.get(meetingId)?.get(peerNodeId);
        if (entry && !this.#closed) {
          entry.failures++;
          this.#scheduleRetry(meetingId, entry);
          this.#askIfWanted(meetingId);
        }
      },
    });
    this.#links.set(k, link);
    this.#logger.info({ meetingId, peerNodeId }, 'relay open');
    const room = this.#o.rooms.get(meetingId);
    if (room) link.bind(room);
  }
}

function expiresAt(token: string | undefined): number {
  return token === undefined ? 0 : (relayTokenExpiresAt(token) ?? 0);
}

function send(ws: WebSocket, message: OutgoingRelayMessage): void {
  if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(message));
}
