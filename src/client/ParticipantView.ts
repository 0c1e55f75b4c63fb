/**
 * The remote participants as the app has been told about them (`participant-joined`,
 * `track`, `participant-left`), kept steady across node changes: after a reconnect or a
 * migration the new node announces everyone again, but the app hears `participant-joined`
 * only for someone new, and `participant-left` only for someone who does not turn up on the
 * new node within a grace period (they may still be moving). Streams are re-sent as `track`.
 *
 * Generic over the stream type and driven by an injected scheduler, so it runs in Node tests.
 */
import type { MediaKind, ParticipantInfo } from './protocol.js';
import type { Scheduler, TimerHandle } from './scheduler.js';

/** A participant and what is received from it. */
export interface ViewRecord<Stream> {
  readonly info: ParticipantInfo;
  stream: Stream | null;
  kinds: MediaKind[];
}

/** Where the view's announcements go (the client's events). */
export interface ViewSink<Stream> {
  joined(info: ParticipantInfo): void;
  left(info: ParticipantInfo): void;
  track(info: ParticipantInfo, stream: Stream, kinds: readonly MediaKind[]): void;
}

/** Delays the replacement of a shown stream (e.g. until the new one has decoded a frame). */
export type ReplaceGate<Stream> = (participantId: string, stream: Stream, kinds: readonly MediaKind[]) => Promise<void> | undefined;

/** What the view needs to know of the current node's session. */
export interface ViewSource<Stream> {
  readonly participants: ReadonlyMap<string, { readonly info: ParticipantInfo; readonly stream: Stream | null; readonly kinds: readonly MediaKind[] }>;
}

/** The app's view of the remote participants. */
export class ParticipantView<Stream> {
  readonly #records = new Map<string, ViewRecord<Stream>>();
  /** Participants missing from the current node: id → grace timer. */
  readonly #awaiting = new Map<string, TimerHandle>();
  readonly #scheduler: Scheduler;
  readonly #sink: ViewSink<Stream>;
  readonly #graceMs: number;
  readonly #beforeReplace: ReplaceGate<Stream> | undefined;
  /** The newest stream change per participant still waiting at the gate. */
  readonly #switching = new Map<string, symbol>();
  #selfId: string | undefined;
  #current: ViewSource<Stream> | undefined;

  /**
   * @param beforeReplace called when a participant's shown stream is about to be replaced;
   *   a promise it returns delays the replacement until it settles (the newest stream wins).
   */
  constructor(scheduler: Scheduler, sink: ViewSink<Stream>, graceMs: number, beforeReplace?: ReplaceGate<Stream>) {
    this.#scheduler = scheduler;
    this.#sink = sink;
    this.#graceMs = graceMs;
    this.#beforeReplace = beforeReplace;
  }

  /** Everyone the app knows, in the order they were announced. */
  records(): IterableIterator<ViewRecord<Stream>> {
    return this.#records.values();
  }

  /** True while the app knows this participant (waiting ones included). */
  has(id: string): boolean {
    return this.#records.has(id);
  }

  /** Participants kept through the grace period (not on the current node yet). */
  get awaiting(): readonly string[] {
    return [...this.#awaiting.keys()];
  }

  /**
   * The app now sees `source` (a new node): those it lacks wait for the grace period, new
   * ones are announced, known ones keep their tile and get their new stream when there is one.
   */
  adopt(source: ViewSource<Stream>, selfId: string): void {
    this.#current = source;
    this.#selfId = selfId;
    for (const id of this.#records.keys()) if (!source.participants.has(id)) this.await(id);
    for (const p of source.participants.values()) {
      this.show(p.info);
      if (p.stream !== null) this.track(p.info, p.stream, p.kinds);
    }
  }

  /** Someone is there: announced unless already known (a returning participant just stops waiting). */
  show(info: ParticipantInfo): void {
    const waiting = this.#awaiting.get(info.id);
    if (waiting !== undefined) {
      this.#scheduler.clearTimeout(waiting);
      this.#awaiting.delete(info.id);
    }
    if (info.id === this.#selfId || this.#records.has(info.id)) return;
    this.#records.set(info.id, { info, stream: null, kinds: [] });
    this.#sink.joined(info);
  }

  /** A participant's received stream changed (a replacement may wait at the gate first). */
  track(info: ParticipantInfo, stream: Stream, kinds: readonly MediaKind[]): void {
    this.show(info);
    const p = this.#records.get(info.id);
    if (!p) return;
    const token = Symbol(info.id);
    this.#switching.set(info.id, token);
    const gate = p.stream !== null && p.stream !== stream ? this.#beforeReplace?.(info.id, stream, kinds) : undefined;
    const apply = () => {
      if (this.#switching.get(info.id) !== token) return; // a newer stream came meanwhile
      this.#switching.delete(info.id);
      const current = this.#records.get(info.id);
      if (!current) return; // left meanwhile
      current.stream = stream;
      current.kinds = [...kinds];
      this.#sink.track(current.info, stream, kinds);
    };
    if (gate) gate.then(apply, apply);
    else apply();
  }

  /** Keeps a participant (and its last stream) for the grace period, then drops it unless the current node has it. */
  await(id: string): void {
    if (!this.#records.has(id) || this.#awaiting.has(id)) return;
    this.#awaiting.set(
      id,
      this.#scheduler.setTimeout(() => {
        this.#awaiting.delete(id);
        if (this.#current?.participants.has(id)) return;
        this.drop(id);
      }, this.#graceMs),
    );
  }

  /** Someone left for good. */
  drop(id: string): void {
    const waiting = this.#awaiting.get(id);
    if (waiting !== undefined) this.#scheduler.clearTimeout(waiting);
    this.#awaiting.delete(id);
    const p = this.#records.get(id);
    if (!p) return;
    this.#records.delete(id);
    this.#switching.delete(id);
    this.#sink.left(p.info);
  }

  /** Forgets everyone without announcements (the client closed). */
  clear(): void {
    for (const t of this.#awaiting.values()) this.#scheduler.clearTimeout(t);
    this.#awaiting.clear();
    this.#switching.clear();
    this.#records.clear();
    this.#current = undefined;
  }
}
