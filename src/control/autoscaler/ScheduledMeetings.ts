/**
 * Meetings announced ahead of time (`autoscaler.scheduleMeeting`), per region. Kept in
 * memory by every autoscaler copy (the announcement is broadcast to all of them); an entry
 * is forgotten once its meeting's time is over.
 */
import type { ScheduledMeeting } from '../../contracts/index.js';
import type { ScheduledDemand } from './policies/ScalingPolicy.js';

export class ScheduledMeetings {
  readonly #byId = new Map<string, { meeting: ScheduledMeeting; demand: ScheduledDemand }>();

  /** Adds or replaces (same id) an announcement. */
  add(meeting: ScheduledMeeting): void {
    const startsAt = Date.parse(meeting.startsAt);
    if (!Number.isFinite(startsAt)) return;
    this.#byId.set(meeting.id, {
      meeting,
      demand: { id: meeting.id, startsAt, endsAt: startsAt + meeting.durationMinutes * 60_000, participants: meeting.expectedParticipants },
    });
  }

  /** Announcements not over at `now`, soonest first; older ones are dropped. */
  upcoming(now: number): ScheduledMeeting[] {
    this.#prune(now);
    return [...this.#byId.values()].sort((a, b) => a.demand.startsAt - b.demand.startsAt).map((e) => e.meeting);
  }

  /** The announcements as demand for a policy. */
  demand(now: number): ScheduledDemand[] {
    this.#prune(now);
    return [...this.#byId.values()].map((e) => e.demand);
  }

  #prune(now: number): void {
    for (const [id, e] of this.#byId) if (e.demand.endsAt <= now) this.#byId.delete(id);
  }
}
