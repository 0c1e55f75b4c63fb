/**
 * The autoscaler: one control loop per region that keeps enough meeting nodes for the
 * load expected a few minutes ahead, and removes nodes without ending a live meeting.
 *
 * Owns: scaling policies (`policies/`, pluggable by name), the per-region loop
 * (`RegionAutoscaler`), announced meetings, node providers (`providers/`: how nodes are
 * started and stopped), the `autoscaler` service and its metrics. Reads the registry and
 * meeting placements, and cordons/deregisters nodes, only through their actions; never
 * touches the database or the media plane (a node process is started from a path the
 * wiring gives). Design and figures: docs/autoscaler.md.
 */
export { createAutoscalerService, type AutoscalerServiceDeps, type AutoscalerHandle } from './autoscaler.service.js';
export { RegionAutoscaler, type RegionAutoscalerOptions, type AutoscalerObserver } from './RegionAutoscaler.js';
export { AutoscalerMetrics } from './AutoscalerMetrics.js';
export { brokerControlPlane, type RegionControlPlane } from './ControlPlane.js';
export { ScheduledMeetings } from './ScheduledMeetings.js';
export {
  createScalingPolicy,
  KNOWN_POLICIES,
  nodesFor,
  type ScalingPolicy,
  type ScalingPolicySettings,
  type ScalingPolicyContext,
  type ScalingDecision,
  type RegionSample,
  type ScheduledDemand,
} from './policies/ScalingPolicy.js';
export { createNodeProvider, KNOWN_PROVIDERS, type NodeProvider, type NodeSpec, type StopOptions, type StopResult } from './providers/NodeProvider.js';
export {
  LocalProcessProvider,
  ipcLauncher,
  commandLauncher,
  type LocalProcessProviderOptions,
  type NodeLauncher,
  type LaunchedNode,
  type NodeRelay,
  type IpcLauncherOptions,
  type CommandLauncherOptions,
} from './providers/LocalProcessProvider.js';
export type { NodeProcessSettings, ParentMessage, ChildMessage } from './providers/nodeProcessProtocol.js';
