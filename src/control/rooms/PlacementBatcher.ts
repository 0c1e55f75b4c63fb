/**
 * Writes concurrent placements together: one statement for many meetings instead of one
 * UPDATE per meeting (placements of meetings, {@link MeetingStore.placeMany}, and nodes
 * added to meetings, {@link MeetingStore.addNodes}), so a burst of new meetings (thousands
 * of first joins within seconds) costs the database a few round trips, not thousands. Each
 * meeting in a batch still wins or loses on its own epoch (the statement is
 * {@link MeetingStore.placeMany}'s conditional UPDATE), so the guarantee of the single UPDATE
 * holds: of two writers that read the same epoch, in one batch, in two batches or in two
 * processes, exactly one succeeds.
 *
 * No timer and no added wait when idle: the first placement is written at the end of the
 * current turn of the event loop (`setImmediate`), with whatever else arrived in that turn;
 * placements that arrive while a batch is being written wait for it and go in the next one,
 * all together. So under load the batches grow by themselves and at rest a placement costs
 * one loop turn.
 *
 * Owns nothing in the database; must not decide *where* a meeting goes (RoomManager does).
 */

/** One placement to write: move the meeting to `regionId`/`nodeId` if its epoch is still `expectedEpoch`. */
export interface PlacementWrite {
  readonly appId: string;
  readonly id: string;
  readonly expectedEpoch: number;
  readonly regionId: string;
  readonly nodeId: string;
}

/**
 * Writes a batch in one statement and returns the rows it changed (the placements that won),
 * identified by `appId` and `id`. Each `(appId, id)` appears at most once per batch.
 */
export type WritePlacements<R extends MeetingKey, W extends MeetingKey = PlacementWrite> = (batch: readonly W[]) => Promise<R[]>;

/** What a batched write names its meeting by. */
interface MeetingKey {
  readonly appId: string;
  readonly id: string;
}

interface Waiting<R, W> {
  readonly write: W;
  readonly resolve: (won: R | undefined) => void;
  readonly reject: (err: unknown) => void;
}

/** Default and upper bound of placements per statement (5 bind parameters each). */
export const PLACEMENT_BATCH_MAX = 500;

const keyOf = (w: { appId: string; id: string }): string => `${w.appId}\u0000${w.id}`;

/** Batches placement writes; see the module comment. */
export class PlacementBatcher<R extends MeetingKey, W extends MeetingKey = PlacementWrite> {
  readonly #write: WritePlacements<R, W>;
  readonly #max: number;
  #queue: Waiting<R, W>[] = [];
  /** A flush is scheduled or running: new placements just join the queue. */
  #busy = false;
  #batches = 0;

  constructor(write: WritePlacements<R, W>, opts: { maxBatch?: number } = {}) {
    this.#write = write;
    this.#max = Math.max(1, Math.min(PLACEMENT_BATCH_MAX, Math.floor(opts.maxBatch ?? PLACEMENT_BATCH_MAX)));
  }

  /** Resolves with the changed row when this placement won, `undefined` when the epoch had moved on. */
  place(write: W): Promise<R | undefined> {
    return new Promise<R | undefined>((resolve, reject) => {
      this.#queue.push({ write, resolve, reject });
      if (this.#busy) return;
      this.#busy = true;
      setImmediate(() => void this.#drain());
    });
  }

  /** Statements written so far. */
  batchesForTesting(): number {
    return this.#batches;
  }

  async #drain(): Promise<void> {
    while (this.#queue.length > 0) {
      const batch = this.#take();
      this.#batches++;
      try {
        const won = new Map<string, R>();
        for (const row of await this.#write(batch.map((w) => w.write))) won.set(keyOf(row), row);
        for (const w of batch) w.resolve(won.get(keyOf(w.write)));
      } catch (err) {
        for (const w of batch) w.reject(err);
      }
    }
    this.#busy = false;
  }

  /**
   * Up to `max` queued placements, at most one per meeting: a second placement of a meeting
   * already in this batch waits for the next one, where it sees the epoch the first one
   * moved (and loses, as a second single UPDATE would).
   */
  #take(): Waiting<R, W>[] {
    const batch: Waiting<R, W>[] = [];
    const rest: Waiting<R, W>[] = [];
    const keys = new Set<string>();
    for (const w of this.#queue) {
      const k = keyOf(w.write);
      if (batch.length >= this.#max || keys.has(k)) rest.push(w);
      else {
        keys.add(k);
        batch.push(w);
      }
    }
    this.#queue = rest;
    return batch;
  }
}
