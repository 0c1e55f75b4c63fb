/**
 * The reactive policy: Kubernetes' HorizontalPodAutoscaler rules on participants per node,
 * for comparison with the predictive one.
 *
 * - target utilisation `1 / (1 + headroom)` of a node's capacity;
 * - `ratio = participants / (target × capacity × current nodes)`, with starting nodes counted
 *   as carrying nothing (as the HPA counts pods that are not ready when scaling up);
 * - no change while `|ratio − 1| ≤ tolerance` (10 %); otherwise `ceil(current × ratio)`;
 * - scale-up at most to `max(2 × current, current + 4)` per sync (the HPA's default policies);
 * - scale-down takes the highest recommendation of the last `stabilisationMs` (300 s).
 *
 * It sees only the present: no trend, no meetings, no schedule.
 */
import { RecommendationWindow, fmt, nodesFor, type RegionSample, type ScalingDecision, type ScalingPolicy } from './ScalingPolicy.js';

export interface ReactivePolicyOptions {
  readonly headroom: number;
  readonly tolerance: number;
  readonly stabilisationMs: number;
}

export class ReactivePolicy implements ScalingPolicy {
  readonly name = 'reactive';
  readonly #o: ReactivePolicyOptions;
  readonly #window: RecommendationWindow;

  constructor(options: ReactivePolicyOptions) {
    this.#o = options;
    this.#window = new RecommendationWindow(options.stabilisationMs);
  }

  decide(s: RegionSample): ScalingDecision {
    const { now, participants, nodeCapacity } = s;
    const target = 1 / (1 + this.#o.headroom);
    const current = s.readyNodes + s.startingNodes;
    let recommendation: number;
    let driver: string;
    let why: string;
    if (current === 0) {
      recommendation = nodesFor(participants, this.#o.headroom, nodeCapacity);
      driver = 'now';
      why = `no node yet: ${fmt(participants)} participants need ${recommendation}`;
    } else {
      const ratio = participants / (target * nodeCapacity * current);
      if (Math.abs(ratio - 1) <= this.#o.tolerance) {
        recommendation = current;
        driver = 'tolerance';
        why = `utilisation ${(ratio * target * 100).toFixed(0)} % is within ${Math.round(this.#o.tolerance * 100)} % of the ${Math.round(target * 100)} % target`;
      } else {
        recommendation = Math.ceil(current * ratio - 1e-9);
        const limit = Math.max(2 * current, current + 4);
        driver = 'now';
        why = `utilisation ${(ratio * target * 100).toFixed(0)} % vs target ${Math.round(target * 100)} % → ${recommendation}`;
        if (recommendation > limit) {
          recommendation = limit;
          driver = 'rate-limit';
          why += `, limited to ${limit} this sync`;
        }
      }
    }
    let desired = recommendation;
    const stabilised = this.#window.push(now, recommendation);
    if (recommendation < current) {
      desired = Math.min(current, stabilised);
      if (desired > recommendation) {
        driver = 'stabilisation';
        why += `; keeping ${desired}: highest recommendation of the last ${Math.round(this.#o.stabilisationMs / 1000)} s`;
      }
    }
    return { desired, forecast: participants, driver, reason: `${fmt(participants)} participants on ${current} node(s) of ${fmt(nodeCapacity)}: ${why}` };
  }
}
