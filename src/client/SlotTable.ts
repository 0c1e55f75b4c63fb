/**
 * Which remote participant each received track belongs to. The node sends media on
 * *slots* (one m-line of the subscribe connection each) and says in `offer` and
 * `subscriptions` messages which participant a slot carries now; a slot is reused for the
 * next publisher when its track goes away, without renegotiation. So the browser's receiver
 * tracks are fixed per slot, and their owner is looked up here.
 *
 * Generic over the track type so the logic runs in Node tests without WebRTC.
 */
import type { SlotInfo } from './protocol.js';

/** The slots of a subscribe connection and the receiver track of each. */
export class SlotTable<Track> {
  #slots: SlotInfo[] = [];
  readonly #receivers = new Map<string, Track>();

  /** Replaces the slot list (every `offer`/`subscriptions` message carries all of them). */
  setSlots(slots: readonly SlotInfo[]): void {
    this.#slots = [...slots];
  }

  /** The current slot list. */
  slots(): readonly SlotInfo[] {
    return this.#slots;
  }

  /** Records the receiver track of slot `mid` (from the browser's transceivers). */
  setReceiver(mid: string, track: Track): void {
    this.#receivers.set(mid, track);
  }

  /** Forgets everything (a new subscribe connection). */
  clear(): void {
    this.#slots = [];
    this.#receivers.clear();
  }

  /**
   * Tracks per participant, in slot order, for slots that carry a participant that
   * `isKnown` accepts and whose receiver exists. Slots pointing at a participant that has
   * left (until the node's next `subscriptions`) are skipped.
   */
  assignments(isKnown: (participantId: string) => boolean): Map<string, Track[]> {
    const out = new Map<string, Track[]>();
    for (const slot of this.#slots) {
      if (!slot.participantId || !isKnown(slot.participantId)) continue;
      const track = this.#receivers.get(slot.mid);
      if (track === undefined) continue;
      const list = out.get(slot.participantId);
      if (list) list.push(track);
      else out.set(slot.participantId, [track]);
    }
    return out;
  }
}

/** Participants whose track list differs between two {@link SlotTable.assignments} results. */
export function changedParticipants<Track>(before: ReadonlyMap<string, readonly Track[]>, after: ReadonlyMap<string, readonly Track[]>): string[] {
  const ids = new Set([...before.keys(), ...after.keys()]);
  const changed: string[] = [];
  for (const id of ids) {
    const a = before.get(id) ?? [];
    const b = after.get(id) ?? [];
    if (a.length !== b.length || a.some((t, i) => t !== b[i])) changed.push(id);
  }
  return changed;
}
