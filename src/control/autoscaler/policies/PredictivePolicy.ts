/**
 * The predictive policy: plans for the load expected one horizon ahead (the time a new node
 * takes to become ready, plus a sync), so nodes are there before the participants.
 *
 * The forecast is built from readings a person can check (each is in the logged reason):
 * - **now**: the participants connected now (never plan below what is already there);
 * - **trend**: Holt's linear smoothing of the participant count, extrapolated by the horizon;
 * - **live meetings**: meetings placed within the last horizon (or the join-token lifetime,
 *   if shorter: a placement nobody connected to by then will not fill) are expected to fill
 *   to the size meetings in this region usually have, learned from what nodes report in
 *   heartbeats (participants per hosted meeting). When many meetings start at once their
 *   first joiners arrive before the rest, so the meeting count leads the participant count;
 * - **scheduled**: meetings announced to start within the horizon (or running) reserve
 *   their whole expected size, on top of the largest of the three readings above, which
 *   then leave those meetings' own participants out;
 * - **daily profile**: how much the load rose on earlier days between this minute of the day
 *   and the coming ones (a 09:00 surge comes again at 09:00), added to what is connected now
 *   and used when that is higher than all of the above. When the region was full the load
 *   seen was less than the demand, so such a minute is recorded as twice the load seen.
 *
 * The node count is `ceil((forecast − scheduled) × (1 + headroom) / node capacity)` plus
 * `ceil(scheduled / node capacity)` whole nodes for announced meetings (a meeting lives on one
 * node); a lower count must hold for `stabilisationMs` before it is used, so noise does not
 * remove and re-add nodes. `headroom` is `autoscaler.predictive.headroom`, smaller than the
 * reactive policy's: the forecast already holds the coming growth, headroom only its error.
 */
import { DailyProfile } from './DailyProfile.js';
import { HoltForecaster } from './HoltForecaster.js';
import { RecommendationWindow, fmt, nodesFor, type RegionSample, type ScalingDecision, type ScalingPolicy } from './ScalingPolicy.js';

export interface PredictivePolicyOptions {
  readonly headroom: number;
  readonly syncIntervalMs: number;
  readonly horizonMs: number;
  readonly alpha: number;
  readonly beta: number;
  readonly stabilisationMs: number;
  /** 0 disables the daily profile. */
  readonly profileSlotMs: number;
  readonly profileDecay: number;
  /** Join-token lifetime: new placements count as meetings to come for at most this long. Default: the horizon. */
  readonly placementTtlMs?: number;
}

/**
 * Serving nodes this full mean the region was short: the load seen is only a floor of the
 * demand (joins beyond it were refused or went to another region). The profile then records
 * {@link CENSORED_FACTOR} times the load, so a surge that found the region full is planned
 * for generously the next day instead of creeping up one node a day; an over-estimate fades
 * by `profileDecay` a day and is replaced by what is seen once the region is no longer full.
 */
const SATURATED = 0.9;
const CENSORED_FACTOR = 2;

/** How fast the usual meeting size follows what is observed (time constant). */
const MEETING_SIZE_TAU_MS = 15 * 60_000;

export class PredictivePolicy implements ScalingPolicy {
  readonly name = 'predictive';
  readonly #o: PredictivePolicyOptions;
  readonly #holt: HoltForecaster;
  readonly #profile: DailyProfile | undefined;
  readonly #window: RecommendationWindow;
  /** Participants per live meeting, smoothed over ~15 min; 0 until seen. */
  #meetingSize = 0;
  #lastAt: number | undefined;
  /** Live meeting counts of the last horizon, oldest first. */
  readonly #meetingHistory: Array<{ at: number; count: number }> = [];
  /** Participants in the region when each scheduled meeting started (its growth counts toward it). */
  readonly #baselines = new Map<string, number>();

  constructor(options: PredictivePolicyOptions) {
    this.#o = options;
    this.#holt = new HoltForecaster({ alpha: options.alpha, beta: options.beta, referenceMs: options.syncIntervalMs });
    this.#profile = options.profileSlotMs > 0 ? new DailyProfile(options.profileSlotMs, options.profileDecay) : undefined;
    this.#window = new RecommendationWindow(options.stabilisationMs);
  }

  decide(s: RegionSample): ScalingDecision {
    const { now, participants, liveMeetings } = s;
    const h = this.#o.horizonMs;
    const sched = this.#scheduled(s);
    // Earlier days' rise from this minute to the coming ones (a level would carry yesterday's
    // noise and trend; a rise does not).
    const rise = this.#profile ? Math.max(0, this.#profile.peak(now, now + h) - this.#profile.at(now)) : 0;
    // The trend and the meeting reading follow everything but the announced meetings, whose
    // capacity is reserved whole: their own arrivals must not be extrapolated on top.
    const other = Math.max(0, participants - sched.arrived);
    this.#holt.observe(now, other);
    const saturated = s.readyNodes > 0 && participants >= SATURATED * s.readyNodes * s.nodeCapacity;
    this.#profile?.observe(now, saturated ? participants * CENSORED_FACTOR : participants);
    this.#learnMeetingSize(now, participants, s.reportedMeetings ?? liveMeetings);

    const trend = Math.max(0, this.#holt.forecast(h));
    const profile = participants + rise;
    const young = this.#newMeetings(now, liveMeetings);
    const growth = young * Math.max(0, this.#meetingSize - 1);
    const meetings = other + growth;
    const readings: Array<[string, number]> = [
      ['now', other],
      ['trend', trend],
      ['live-meetings', meetings],
    ];
    let [driver, base] = readings[0]!;
    for (const [name, value] of readings) if (value > base + 1e-9) [driver, base] = [name, value];
    let forecast = base + sched.reserved;
    if (sched.reserved > 0) driver = 'scheduled';
    if (profile > forecast + 1e-9) [driver, forecast] = ['daily-profile', profile];

    // An announced meeting lives on one node: its seats are reserved as whole nodes, not spread
    // over the others as headroom (where no single node might have room for it).
    const reservedNodes = sched.reserved > 0 ? Math.ceil(sched.reserved / s.nodeCapacity - 1e-9) : 0;
    const wanted = nodesFor(Math.max(0, forecast - sched.reserved), this.#o.headroom, s.nodeCapacity) + reservedNodes;
    const desired = this.#window.push(now, wanted);
    const held = desired > wanted;
    if (held) driver = 'stabilisation';

    const parts = [
      `now ${fmt(participants)}`,
      `trend ${fmt(trend)} (${this.#holt.trendPerMinute >= 0 ? '+' : ''}${fmt(this.#holt.trendPerMinute)}/min)`,
      `live meetings ${fmt(liveMeetings)}, ${fmt(young)} new × ${Math.max(0, this.#meetingSize - 1).toFixed(1)} still to come = ${fmt(meetings)}`,
      ...(this.#profile ? [`daily profile +${fmt(rise)} = ${fmt(profile)}`] : []),
      ...(sched.reserved > 0 ? [`scheduled +${fmt(sched.reserved)} (${sched.names}; ${fmt(sched.arrived)} arrived)`] : []),
    ];
    const reason =
      `forecast ${fmt(forecast)} participants in ${Math.round(h / 1000)} s [${parts.join('; ')}] + ${Math.round(this.#o.headroom * 100)} % headroom${reservedNodes > 0 ? ` (scheduled meetings on ${reservedNodes} whole node(s))` : ''} → ${wanted} node(s) of ${fmt(s.nodeCapacity)}` +
      (held ? `; keeping ${desired} for the ${Math.round(this.#o.stabilisationMs / 1000)} s stabilisation window` : '');
    return { desired, forecast, driver, reason };
  }

  /**
   * How many more meetings are live now than one window ago (net: started minus ended); the
   * window is the horizon, or the join-token lifetime when that is shorter.
   */
  #newMeetings(now: number, liveMeetings: number): number {
    const from = now - Math.min(this.#o.horizonMs, this.#o.placementTtlMs ?? Infinity);
    while (this.#meetingHistory.length > 1 && this.#meetingHistory[1]!.at <= from) this.#meetingHistory.shift();
    const then = this.#meetingHistory[0]?.count ?? liveMeetings;
    this.#meetingHistory.push({ at: now, count: liveMeetings });
    return Math.max(0, liveMeetings - then);
  }

  #learnMeetingSize(now: number, participants: number, liveMeetings: number): void {
    const dt = this.#lastAt === undefined ? 0 : Math.max(0, now - this.#lastAt);
    this.#lastAt = now;
    if (liveMeetings <= 0 || participants <= 0) return;
    const size = participants / liveMeetings;
    if (this.#meetingSize === 0) {
      this.#meetingSize = size;
      return;
    }
    const w = 1 - Math.exp(-dt / MEETING_SIZE_TAU_MS);
    this.#meetingSize += w * (size - this.#meetingSize);
  }

  /**
   * Announced meetings that matter now: from one horizon before their start until their end,
   * each reserves its whole expected size. `arrived` estimates how many of those are already
   * connected: the growth of the region since the meeting started, up to its size.
   */
  #scheduled(s: RegionSample): { reserved: number; arrived: number; names: string } {
    let reserved = 0;
    let arrived = 0;
    const names: string[] = [];
    const active = new Set<string>();
    for (const m of s.scheduled) {
      if (s.now < m.startsAt - this.#o.horizonMs || s.now >= m.endsAt) continue;
      active.add(m.id);
      reserved += m.participants;
      names.push(`${m.id} ${fmt(m.participants)}`);
      if (s.now >= m.startsAt) {
        if (!this.#baselines.has(m.id)) this.#baselines.set(m.id, s.participants);
        arrived += Math.min(m.participants, Math.max(0, s.participants - this.#baselines.get(m.id)!));
      }
    }
    for (const id of this.#baselines.keys()) if (!active.has(id)) this.#baselines.delete(id);
    return { reserved, arrived: Math.min(arrived, s.participants), names: names.join(', ') };
  }
}
