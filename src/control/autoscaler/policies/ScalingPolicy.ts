/**
 * Scaling policies: an interface, and a registry that builds one by name
 * (`autoscaler.policy`). A policy turns what a region looks like now into the number of
 * nodes it should have. Policies are pure functions of their inputs and their own history:
 * time is passed in, never read from a clock, so the benchmark replays a day in a second.
 * One policy object serves one region (it keeps that region's history).
 */
import { ConfigError, type Config } from '../../../config/index.js';
import { PredictivePolicy } from './PredictivePolicy.js';
import { ReactivePolicy } from './ReactivePolicy.js';

/** A meeting announced ahead of time, as demand. */
export interface ScheduledDemand {
  readonly id: string;
  /** ms since epoch */
  readonly startsAt: number;
  readonly endsAt: number;
  readonly participants: number;
}

/** What a policy sees of its region at one sync. */
export interface RegionSample {
  /** ms since epoch (simulated time in the benchmark). */
  readonly now: number;
  /** Participants on the region's healthy nodes (cordoned ones included: they still carry load). */
  readonly participants: number;
  /** Live meetings placed in the region (placements, including ones whose first client is still connecting). */
  readonly liveMeetings: number;
  /**
   * Meetings the region's healthy nodes report hosting (heartbeats). When given, the usual
   * meeting size is learned from it instead of from placements: a placement whose people
   * never connect does not make meetings look smaller.
   */
  readonly reportedMeetings?: number;
  /** Participants one node takes. */
  readonly nodeCapacity: number;
  /** Nodes serving now (healthy, not cordoned). */
  readonly readyNodes: number;
  /** Nodes asked for and not registered yet. */
  readonly startingNodes: number;
  /** Announced meetings of the region (past ones may be included; policies filter). */
  readonly scheduled: readonly ScheduledDemand[];
}

/** A policy's answer. */
export interface ScalingDecision {
  /** Nodes wanted, before the region's min/max. */
  readonly desired: number;
  /** Participants planned for. */
  readonly forecast: number;
  /** What drove the answer, as a short label (metrics): e.g. `trend`, `scheduled`, `tolerance`. */
  readonly driver: string;
  /** Why, for people: logged with every decision. */
  readonly reason: string;
}

/** Decides how many nodes a region needs. */
export interface ScalingPolicy {
  /** The name in `autoscaler.policy`. */
  readonly name: string;
  decide(sample: RegionSample): ScalingDecision;
}

/** The settings policies are built from (the `autoscaler` config section). */
export type ScalingPolicySettings = Pick<Config['autoscaler'], 'headroom' | 'syncIntervalMs' | 'predictive' | 'reactive'>;

/** What policies need to know beyond the `autoscaler` section. */
export interface ScalingPolicyContext {
  /**
   * How long a placement's join tokens are valid (`tokens.ttlSeconds`): a new placement that
   * nobody connected to within it will not fill, so it stops counting as a meeting to come.
   */
  readonly placementTtlMs?: number;
}

type PolicyFactory = (settings: ScalingPolicySettings, context: ScalingPolicyContext) => ScalingPolicy;

/** Policy name → factory. */
const POLICIES: Readonly<Record<string, PolicyFactory>> = Object.freeze({
  predictive: (s: ScalingPolicySettings, c: ScalingPolicyContext) => new PredictivePolicy({ syncIntervalMs: s.syncIntervalMs, ...s.predictive, placementTtlMs: c.placementTtlMs }),
  reactive: (s: ScalingPolicySettings) => new ReactivePolicy({ headroom: s.headroom, ...s.reactive }),
});

/** Names accepted by {@link createScalingPolicy}, sorted. */
export const KNOWN_POLICIES: readonly string[] = Object.freeze(Object.keys(POLICIES).sort());

/**
 * Builds the policy called `name` (a fresh one per region). Throws a `ConfigError` naming
 * `autoscaler.policy` and listing the known policies when there is none by that name.
 */
export function createScalingPolicy(name: string, settings: ScalingPolicySettings, context: ScalingPolicyContext = {}): ScalingPolicy {
  const factory = Object.prototype.hasOwnProperty.call(POLICIES, name) ? POLICIES[name] : undefined;
  if (!factory) throw new ConfigError('autoscaler.policy', `unknown scaling policy ${JSON.stringify(name)}; known policies: ${KNOWN_POLICIES.join(', ')}`);
  return factory(settings, context);
}

/** Nodes needed to carry `participants` with `headroom` spare (0 participants → 0 nodes). */
export function nodesFor(participants: number, headroom: number, nodeCapacity: number): number {
  if (participants <= 0 || nodeCapacity <= 0) return 0;
  return Math.ceil((participants * (1 + headroom)) / nodeCapacity - 1e-9);
}

/** Keeps recommendations for a window and answers their maximum (scale-down stabilisation). */
export class RecommendationWindow {
  readonly #windowMs: number;
  #items: Array<{ at: number; value: number }> = [];

  constructor(windowMs: number) {
    this.#windowMs = windowMs;
  }

  /** Records `value` at `at` and returns the highest value recorded within the window. */
  push(at: number, value: number): number {
    this.#items.push({ at, value });
    const from = at - this.#windowMs;
    while (this.#items.length > 1 && this.#items[0]!.at < from) this.#items.shift();
    let max = value;
    for (const i of this.#items) if (i.at >= from && i.value > max) max = i.value;
    return max;
  }
}

/** 1234.5 → "1,235" */
export const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');
