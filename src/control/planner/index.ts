/**
 * Region planner: from the join history (clients by network prefix) and what clients
 * measured, which set of K regions would serve them best, and what one more would gain.
 *
 * Owns the estimate and the search, and the SVG map of a plan. Pure: reads nothing itself;
 * the `regionProvider` service feeds it its join history and learned measurements. Must not
 * touch the registry (it recommends; operators add regions).
 */
export { planRegions, DEFAULT_PLAN_BUDGET, type PlanInput, type PlanClient, type PlanRegion } from './RegionPlanner.js';
export { renderPlanSvg } from './planMap.js';
