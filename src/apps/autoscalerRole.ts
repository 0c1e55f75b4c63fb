/**
 * Wiring of the `autoscaler` role: the service, and the local process provider with the
 * launcher that fits the deployment. Embedded (no transporter): node processes are forked
 * and report over IPC, relayed here to the broker. Distributed: each node is a
 * `meridian serve --role sfu --region R` process given its id, key and the transporter.
 */
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ServiceBroker, ServiceSchema } from 'moleculer';
import type { Config } from '../config/index.js';
import { ConfigError } from '../config/index.js';
import { Actions, Events, type EventMap } from '../contracts/index.js';
import { call } from '../fabric/index.js';
import type { Logger } from '../lib/logger.js';
import type { JoinTokenIssuer } from '../control/auth/index.js';
import { nodeSignalingUrl } from './sfuRole.js';
import {
  LocalProcessProvider,
  commandLauncher,
  KNOWN_PROVIDERS,
  createAutoscalerService,
  createNodeProvider,
  createScalingPolicy,
  ipcLauncher,
  type AutoscalerHandle,
  type NodeLauncher,
} from '../control/autoscaler/index.js';

export interface AutoscalerRoleOptions {
  broker: ServiceBroker;
  config: Readonly<Config>;
  /** Derives node keys (needs the master secret). */
  tokens: JoinTokenIssuer | undefined;
  logger: Logger;
  /** `serve --role autoscaler --region R`: scale only this region. */
  region?: string | undefined;
}

/** Checks the autoscaler's named choices (policy, provider) before anything starts; throws `ConfigError`. */
export function checkAutoscalerConfig(config: Readonly<Config>): void {
  createScalingPolicy(config.autoscaler.policy, config.autoscaler);
  if (!KNOWN_PROVIDERS.includes(config.autoscaler.provider)) createNodeProvider(config.autoscaler.provider, {});
}

/** True when this role must open the database: to read the token master secret. */
export function autoscalerNeedsDatabase(config: Readonly<Config>): boolean {
  return !config.tokens.secret && (!config.transporter || !!config.databaseUrl);
}

/** Builds the service (create it before the broker starts) and its handle. */
export function createAutoscalerRole(o: AutoscalerRoleOptions): { service: ServiceSchema; handle: AutoscalerHandle } {
  const { config, tokens } = o;
  if (!tokens) throw new ConfigError('tokens.secret', 'the autoscaler derives node keys from the token master secret: set MERIDIAN_TOKEN_SECRET, or MERIDIAN_DATABASE_URL to read it from the database');
  const regionId = o.region ?? (config.transporter ? process.env.MERIDIAN_REGION : undefined);
  if (config.transporter && !regionId) throw new ConfigError('region', 'serve --role autoscaler needs --region <id> (or MERIDIAN_REGION): one autoscaler per region');
  const provider = createNodeProvider(config.autoscaler.provider, {
    local: () =>
      new LocalProcessProvider({
        launcher: config.transporter ? serveLauncher(config, tokens) : forkLauncher(o.broker, config, tokens),
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
    regions: regionId ? [regionId] : config.autoscaler.regions.length > 0 ? config.autoscaler.regions : 'all',
    provider,
    logger: o.logger,
  });
  // Forked node processes have no broker: commands for them (e.g. migrate a meeting) are
  // relayed over IPC by the provider that started them. Nodes with a broker hear them themselves.
  schema.events = {
    ...(schema.events ?? {}),
    [Events.nodeCommand]: {
      handler(ctx: { params: EventMap['nodes.command'] }) {
        const c = ctx.params;
        handle.provider.command?.(c.nodeId, { type: c.command, meetingId: c.meetingId, reason: c.reason, deadlineMs: c.deadlineMs });
      },
    },
  };
  return { service: schema, handle };
}

/** First signaling port of the node processes; 0 = any free port. */
function portBase(config: Readonly<Config>): number {
  if (config.sfu.port) return config.sfu.port;
  // Embedded: after the gateway's port, as the in-process nodes had.
  return !config.transporter && config.port ? config.port + 1 : 0;
}

/** The node process entry next to this file: TypeScript under tsx (tests), JavaScript in dist/. */
function nodeProcessEntry(): { entry: string; execArgv: string[] } {
  const here = fileURLToPath(import.meta.url);
  const ts = here.endsWith('.ts');
  return { entry: join(dirname(here), 'nodeProcess', ts ? 'main.ts' : 'main.js'), execArgv: ts ? ['--import', 'tsx'] : [] };
}

function forkLauncher(broker: ServiceBroker, config: Readonly<Config>, tokens: JoinTokenIssuer): NodeLauncher {
  const { entry, execArgv } = nodeProcessEntry();
  const base = portBase(config);
  return ipcLauncher({
    entry,
    execArgv,
    settings: (spec, slot) => {
      const port = base ? base + slot : 0;
      return {
        nodeId: spec.nodeId,
        regionId: spec.regionId,
        nodeKey: tokens.nodeKey(spec.nodeId).toString('base64url'),
        host: config.host,
        port,
        publicUrl: nodeSignalingUrl(config, port),
        capacity: config.sfu.capacity,
        graceMs: config.sfu.graceMs,
        iceAddress: config.sfu.iceAddress,
        logLevel: config.logLevel,
      };
    },
    relay: {
      heartbeat: async (params) => {
        await call(broker, Actions.regions.heartbeat, params);
      },
      meetingEnded: async (meetingId, nodeId) => {
        await call(broker, Actions.rooms.meetingEnded, { meetingId, nodeId });
      },
    },
  });
}

function serveLauncher(config: Readonly<Config>, tokens: JoinTokenIssuer): NodeLauncher {
  const bin = resolve(dirname(fileURLToPath(import.meta.url)), '../../bin/meridian.js');
  const base = portBase(config);
  return commandLauncher({
    command: process.execPath,
    args: (spec) => [bin, 'serve', '--role', 'sfu', '--region', spec.regionId],
    env: (spec, slot) => ({
      ...process.env,
      MERIDIAN_TRANSPORTER: config.transporter,
      MERIDIAN_NAMESPACE: config.namespace,
      MERIDIAN_REGION: spec.regionId,
      MERIDIAN_NODE_ID: spec.nodeId,
      MERIDIAN_NODE_KEY: tokens.nodeKey(spec.nodeId).toString('base64url'),
      // The node's own port (this process's MERIDIAN_PORT is its probe port).
      MERIDIAN_PORT: '0',
      MERIDIAN_SFU_PORT: String(base ? base + slot : 0),
      MERIDIAN_SFU_PUBLIC_URL: '',
      MERIDIAN_SFU_CAPACITY: String(config.sfu.capacity),
      MERIDIAN_SFU_GRACE_MS: String(config.sfu.graceMs),
      MERIDIAN_LOG_LEVEL: config.logLevel,
      // A node process holds only its own key, never the master secret or the database.
      MERIDIAN_TOKEN_SECRET: '',
      MERIDIAN_DATABASE_URL: '',
    }),
  });
}
