/**
 * Node provisioning: how an autoscaler gets and gives back meeting nodes. The autoscaler
 * decides *how many* and *which*; a provider only starts and stops them. Built by name
 * (`autoscaler.provider`): `local` starts node processes on this machine. A Kubernetes
 * provider is designed in docs/autoscaler.md and not built (no API server to test against).
 */
import { ConfigError } from '../../../config/index.js';

/** A node to start. */
export interface NodeSpec {
  readonly nodeId: string;
  readonly regionId: string;
}

/** What stopping a node did. */
export type StopResult = 'stopped' | 'busy';

export interface StopOptions {
  /**
   * Stop only if the node has no participant and no meeting at that instant; otherwise answer
   * `busy` and leave it running. Providers that cannot ask the node (a signal only) stop it
   * and rely on the autoscaler's own check of the node's heartbeat.
   */
  readonly onlyIfEmpty: boolean;
}

/** Starts and stops meeting nodes. */
export interface NodeProvider {
  /** The name in `autoscaler.provider`. */
  readonly name: string;
  /** Launches a node; resolves once it is launched (it registers with the registry by itself later). */
  start(spec: NodeSpec): Promise<void>;
  /** Stops a node (gracefully, then forcibly); resolves when it is gone. Unknown nodes are `stopped`. */
  stop(nodeId: string, options: StopOptions): Promise<StopResult>;
  /** True while the node's process (or pod) exists. */
  isRunning(nodeId: string): boolean;
  /** Why a node is no longer running (exit code or signal), when it ended on its own. */
  exitReason(nodeId: string): string | undefined;
  /** Stops every node this provider started; idempotent. */
  close(): Promise<void>;
  /**
   * Relays a control-plane command to a node it started that has no broker of its own (a
   * forked node process); false when it does not hold the node or the node hears commands itself.
   */
  command?(nodeId: string, c: import('./nodeProcessProtocol.js').NodeProcessCommand): boolean;
}

/** Names accepted by {@link createNodeProvider}. */
export const KNOWN_PROVIDERS: readonly string[] = Object.freeze(['local']);

/**
 * Builds the provider called `name` from the builders the wiring offers. Throws a
 * `ConfigError` naming `autoscaler.provider` for an unknown (or unbuilt) provider.
 */
export function createNodeProvider(name: string, builders: Readonly<Record<string, () => NodeProvider>>): NodeProvider {
  const build = KNOWN_PROVIDERS.includes(name) && Object.prototype.hasOwnProperty.call(builders, name) ? builders[name] : undefined;
  if (!build) {
    const hint = name === 'kubernetes' ? ' (designed in docs/autoscaler.md, not built in this release)' : '';
    throw new ConfigError('autoscaler.provider', `unknown node provider ${JSON.stringify(name)}${hint}; known providers: ${KNOWN_PROVIDERS.join(', ')}`);
  }
  return build();
}
