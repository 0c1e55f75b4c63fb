/**
 * Wiring of the `autoscaler` role: the service, and the local process provider with the
 * launcher the deployment chose (`deployment.ts`: forked node processes reporting over IPC
 * when embedded, `meridian serve --role sfu` processes when distributed).
 */
import type { ServiceBroker, ServiceSchema } from 'moleculer';
import type { Config } from '../config/index.js';
import { Actions, Events, type EventMap } from '../contracts/index.js';
import { call } from '../fabric/index.js';
import type { Logger } from '../lib/logger.js';
import type { JoinTokenIssuer } from '../tokens/index.js';
import { LocalProcessProvider, KNOWN_PROVIDERS, createAutoscalerService, createNodeProvider, createScalingPolicy, type AutoscalerHandle } from '../control/autoscaler/index.js';
import type { Deployment } from './deployment.js';

export interface AutoscalerRoleOptions {
  broker: ServiceBroker;
  config: Readonly<Config>;
  deployment: Pick<Deployment, 'nodeLauncher'>;
  /** Derives node keys (needs the master secret). */
  tokens: JoinTokenIssuer;
  logger: Logger;
  /** Scale only this region; undefined = `autoscaler.regions`, or every region. */
  region: string | undefined;
}

/** Checks the autoscaler's named choices (policy, provider) before anything starts; throws `ConfigError`. */
export function checkAutoscalerConfig(config: Readonly<Config>): void {
  createScalingPolicy(config.autoscaler.policy, config.autoscaler);
  if (!KNOWN_PROVIDERS.includes(config.autoscaler.provider)) createNodeProvider(config.autoscaler.provider, {});
}

/** Builds the service (create it before the broker starts) and its handle. */
export function createAutoscalerRole(o: AutoscalerRoleOptions): { service: ServiceSchema; handle: AutoscalerHandle } {
  const { config, tokens, region } = o;
  const provider = createNodeProvider(config.autoscaler.provider, {
    local: () =>
      new LocalProcessProvider({
        launcher: o.deployment.nodeLauncher({ broker: o.broker, tokens }),
        logger: o.logger,
        // A node process that ended on its own is dead now: deregister it at once, so the next
        // rejoin re-places its meetings instead of waiting for the heartbeat to go stale.
        onUnexpectedExit: (spec, reason) =>
          void call(o.broker, Actions.regions.nodeDown, { nodeId: spec.nodeId, reason: 'process-exited', detail: reason }).catch((err: unknown) =>
            o.logger.warn({ err, nodeId: spec.nodeId }, 'could not report a node exit; its heartbeat will go stale'),
          ),
      }),
  });
  const { schema, handle } = createAutoscalerService({
    settings: config.autoscaler,
    nodeCapacity: config.sfu.capacity,
    placementTtlMs: config.tokens.ttlSeconds * 1000,
    regions: region ? [region] : config.autoscaler.regions.length > 0 ? config.autoscaler.regions : 'all',
    provider,
    logger: o.logger,
  });
  // Forked node processes have no broker: commands for them (migrate a meeting, relays) are
  // relayed over IPC by the provider that started them. Nodes with a broker hear them themselves.
  schema.events = {
    ...(schema.events ?? {}),
    [Events.nodeCommand]: {
      handler(ctx: { params: EventMap['nodes.command'] }) {
        const c = ctx.params;
        if (c.command === 'migrate') handle.provider.command?.(c.nodeId, { type: c.command, meetingId: c.meetingId, reason: c.reason, deadlineMs: c.deadlineMs });
        else if (c.command === 'relay') handle.provider.command?.(c.nodeId, { type: c.command, meetingId: c.meetingId, peers: c.peers });
      },
    },
  };
  return { service: schema, handle };
}
