/**
 * How an autoscaler starts a meeting-node process, one launcher per deployment (chosen in
 * `deployment.ts`). Embedded: `child_process.fork` of `nodeProcess/main`, reporting over IPC,
 * relayed here to the broker. Distributed: a `meridian serve --role sfu --region R` process
 * given its id, its key and the broker's address, never the master secret or the database.
 */
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ServiceBroker } from 'moleculer';
import type { Config } from '../config/index.js';
import { Actions } from '../contracts/index.js';
import { call } from '../fabric/index.js';
import type { JoinTokenIssuer } from '../tokens/index.js';
import { commandLauncher, ipcLauncher, type NodeLauncher } from '../control/autoscaler/index.js';
import { nodeSignalingUrl } from './sfuRole.js';

/** The node process entry next to this file: TypeScript under tsx (tests), JavaScript in dist/. */
function nodeProcessEntry(): { entry: string; execArgv: string[] } {
  const here = fileURLToPath(import.meta.url);
  const ts = here.endsWith('.ts');
  return { entry: join(dirname(here), 'nodeProcess', ts ? 'main.ts' : 'main.js'), execArgv: ts ? ['--import', 'tsx'] : [] };
}

/** What a launcher needs from the process that runs the autoscaler. */
export interface LauncherContext {
  readonly broker: ServiceBroker;
  readonly config: Readonly<Config>;
  /** Derives each node's key. */
  readonly tokens: JoinTokenIssuer;
  /** First signaling port of the node processes; 0 = any free port. */
  readonly portBase: number;
}

/** Embedded: forked node processes without a broker; their reports reach the broker through this process. */
export function forkLauncher(ctx: LauncherContext): NodeLauncher {
  const { broker, config, tokens, portBase } = ctx;
  const { entry, execArgv } = nodeProcessEntry();
  return ipcLauncher({
    entry,
    execArgv,
    settings: (spec, slot) => {
      const port = portBase ? portBase + slot : 0;
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
        tokenTtlSeconds: config.tokens.ttlSeconds,
        maxConnectionsPerAddress: config.sfu.maxConnectionsPerAddress,
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

/**
 * Distributed: `meridian serve --role sfu` processes that join the broker themselves;
 * `brokerEnv` carries the broker's address (the variables `serve` reads).
 */
export function serveLauncher(ctx: Omit<LauncherContext, 'broker'>, brokerEnv: Readonly<Record<string, string>>): NodeLauncher {
  const { config, tokens, portBase } = ctx;
  const bin = resolve(dirname(fileURLToPath(import.meta.url)), '../../bin/meridian.js');
  return commandLauncher({
    command: process.execPath,
    args: (spec) => [bin, 'serve', '--role', 'sfu', '--region', spec.regionId],
    env: (spec, slot) => ({
      ...process.env,
      ...brokerEnv,
      MERIDIAN_REGION: spec.regionId,
      MERIDIAN_NODE_ID: spec.nodeId,
      MERIDIAN_NODE_KEY: tokens.nodeKey(spec.nodeId).toString('base64url'),
      // The node's own port (this process's MERIDIAN_PORT is its probe port).
      MERIDIAN_PORT: '0',
      MERIDIAN_SFU_PORT: String(portBase ? portBase + slot : 0),
      MERIDIAN_SFU_PUBLIC_URL: '',
      MERIDIAN_SFU_CAPACITY: String(config.sfu.capacity),
      MERIDIAN_SFU_GRACE_MS: String(config.sfu.graceMs),
      MERIDIAN_TOKEN_TTL_SECONDS: String(config.tokens.ttlSeconds),
      MERIDIAN_SFU_MAX_CONNECTIONS_PER_ADDRESS: String(config.sfu.maxConnectionsPerAddress),
      MERIDIAN_LOG_LEVEL: config.logLevel,
      // A node process holds only its own key, never the master secret or the database.
      MERIDIAN_TOKEN_SECRET: '',
      MERIDIAN_DATABASE_URL: '',
    }),
  });
}
