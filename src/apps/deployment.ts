/**
 * The one place that chooses the deployment. {@link resolveDeployment} turns the
 * configuration into the parts that differ between an embedded installation (`meridian
 * start`: one process, in-process broker, PGlite in the data directory, forked node
 * processes, credentials.json) and a distributed one (`meridian serve --role …`: NATS,
 * PostgreSQL, `serve --role sfu` node processes, credentials from the environment). The
 * wiring (`wire.ts`) builds each role from these parts and never asks which mode it is in.
 * Model: livekit `pkg/routing/interfaces.go` (`CreateRouter`) and `pkg/service/wire.go`.
 */
import { hostname } from 'node:os';
import type { ServiceBroker } from 'moleculer';
import { ConfigError, deploymentMode, type Config, type DeploymentMode } from '../config/index.js';
import { Actions } from '../contracts/index.js';
import { call } from '../fabric/index.js';
import { systemClock, type Clock } from '../lib/clock.js';
import { createLogger, type Logger } from '../lib/logger.js';
import { createDatabase, type DatabaseHandle } from '../storage/index.js';
import type { JoinTokenIssuer } from '../tokens/index.js';
import { getOrCreateSecret } from '../control/auth/index.js';
import { generateMasterSecret } from '../tokens/index.js';
import type { NodeLauncher } from '../control/autoscaler/index.js';
import { generateAdminKey, readCredentials, writeCredentials } from './credentials.js';
import { forkLauncher, serveLauncher } from './nodeLaunchers.js';
import { securePrivateTree } from './privateFiles.js';
import { TOKEN_SECRET_ROW, embeddedTokenSecret } from './tokenSecretFile.js';
import type { SfuSpec } from './sfuRole.js';

/** Where the control plane keeps its state. */
export type DatabaseSource = { readonly kind: 'postgres'; readonly url: string } | { readonly kind: 'pglite'; readonly dataDir: string };

/**
 * When a gateway reports ready. `wait-all`: start-up waits until every service a join needs
 * answers (they start in this process). `background`: the other roles may start later or
 * restart, so start-up does not wait; the gateway serves NOT_READY until they answer.
 */
export type ReadinessPolicy = 'wait-all' | 'background';

/** The parts of one deployment; see {@link resolveDeployment}. */
export interface Deployment {
  readonly mode: DeploymentMode;
  /** Time for everything the wiring builds. */
  readonly clock: Clock;
  /** Moleculer transporter URL; empty = in-process broker. */
  readonly brokerTransport: string;
  /** The database this deployment shares; undefined = none (distributed without `databaseUrl`). */
  readonly database: DatabaseSource | undefined;
  readonly readiness: ReadinessPolicy;
  /** First signaling port of the meeting nodes this process starts; 0 = any free port. */
  readonly nodePortBase: number;
  /** Opens {@link database}; throws `ConfigError` naming `databaseUrl` when there is none. */
  openDatabase(forWhat: string): Promise<DatabaseHandle>;
  /**
   * The token master secret: `tokens.secret` when configured; else, with PGlite, a 0600 file
   * in the data directory (moved there from the database by this call if an older version
   * kept it in the `secrets` table); with PostgreSQL, the `secrets` table every copy shares.
   */
  tokenSecret(database: DatabaseHandle): Promise<string>;
  /** The admin credential of a gateway (configured, or from credentials.json when embedded). */
  adminKey(): string;
  /** Records the first app key where a newcomer finds it (embedded: credentials.json). */
  recordFirstAppKey(appKey: string, appId: string): void;
  /** The region a one-region role (`sfu`, `autoscaler`) serves; undefined = every region. */
  roleRegion(role: 'sfu' | 'autoscaler', given: string | undefined): string | undefined;
  /** How an autoscaler starts node processes. */
  nodeLauncher(ctx: { broker: ServiceBroker; tokens: JoinTokenIssuer }): NodeLauncher;
  /** The meeting nodes an `sfu` role runs in this process. */
  meetingNodes(ctx: { broker: ServiceBroker; tokens: JoinTokenIssuer | undefined; region: string | undefined }): Promise<SfuSpec[]>;
}

export interface ResolveDeploymentOptions {
  clock?: Clock;
  /** For what start-up fixes (file modes, the secret's move); default: a silent logger. */
  logger?: Logger;
  /** Read for `MERIDIAN_REGION`; defaults to `process.env`. */
  env?: NodeJS.ProcessEnv;
}

/** Builds the parts of the deployment `config` describes. */
export function resolveDeployment(config: Readonly<Config>, opts: ResolveDeploymentOptions = {}): Deployment {
  const clock = opts.clock ?? systemClock;
  const env = opts.env ?? process.env;
  const logger = opts.logger ?? createLogger('silent');
  return deploymentMode(config) === 'embedded' ? embedded(config, clock, logger) : distributed(config, clock, env);
}

function databaseSource(url: string, dataDir: string): DatabaseSource {
  return url ? { kind: 'postgres', url } : { kind: 'pglite', dataDir };
}

function opener(source: DatabaseSource | undefined, afterOpen: () => void = () => {}, logger?: Logger): Deployment['openDatabase'] {
  return async (forWhat) => {
    if (!source) throw new ConfigError('databaseUrl', `${forWhat} needs MERIDIAN_DATABASE_URL (e.g. postgres://meridian@db:5432/meridian); every copy must share one database`);
    const database = source.kind === 'postgres' ? await createDatabase({ url: source.url, dataDir: '' }) : await createDatabase({ url: '', dataDir: source.dataDir, maintenance: { logger } });
    afterOpen();
    return database;
  };
}

/** The secret in the database every copy shares (created by the first), unless configured. */
async function sharedTokenSecret(config: Readonly<Config>, database: DatabaseHandle): Promise<string> {
  return config.tokens.secret || getOrCreateSecret(database.db, TOKEN_SECRET_ROW, generateMasterSecret);
}

/**
 * Makes the data directory private (0700, files 0600), also one an older version left
 * readable, and logs what it changed or could not change.
 */
function privateDataDir(dataDir: string, logger: Logger): () => void {
  return () => {
    if (dataDir === 'memory://') return;
    const { fixed, failed } = securePrivateTree(dataDir);
    if (fixed > 0) logger.info({ dataDir, fixed }, 'data directory made private to its owner (0700, files 0600)');
    if (failed.length > 0) logger.warn({ dataDir, failed: failed.slice(0, 5), count: failed.length }, 'could not make every entry of the data directory private');
  };
}

function configuredAdminKey(config: Readonly<Config>): string | undefined {
  if (!config.adminKey) return undefined;
  if (config.adminKey.length < 16) throw new ConfigError('adminKey', 'MERIDIAN_ADMIN_KEY must be at least 16 characters');
  return config.adminKey;
}

/**
 * One process: in-process broker; PGlite in `dataDir` (or PostgreSQL when `databaseUrl` is
 * set, as the multi-copy tests do); forked node processes; credentials.json.
 */
function embedded(config: Readonly<Config>, clock: Clock, logger: Logger): Deployment {
  const database = databaseSource(config.databaseUrl, config.dataDir);
  const secureDataDir = privateDataDir(config.dataDir, logger);
  // After the gateway's port, one per node.
  const nodePortBase = config.sfu.port || (config.port ? config.port + 1 : 0);
  return {
    mode: 'embedded',
    clock,
    brokerTransport: '',
    database,
    readiness: 'wait-all',
    nodePortBase,
    // After PGlite opened: it unpacks its initial files with its own modes.
    openDatabase: opener(database, secureDataDir, logger),
    async tokenSecret(handle) {
      if (handle.kind !== 'pglite' || config.dataDir === 'memory://') return sharedTokenSecret(config, handle);
      return embeddedTokenSecret(config.dataDir, handle, config.tokens.secret, logger);
    },
    adminKey() {
      const configured = configuredAdminKey(config);
      if (configured) return configured;
      secureDataDir();
      const creds = readCredentials(config.dataDir);
      if (creds.adminKey) return creds.adminKey;
      const adminKey = generateAdminKey();
      writeCredentials(config.dataDir, { ...creds, adminKey });
      return adminKey;
    },
    recordFirstAppKey(appKey, appId) {
      writeCredentials(config.dataDir, { ...readCredentials(config.dataDir), appKey, appId });
    },
    roleRegion: (_role, given) => given,
    nodeLauncher: ({ broker, tokens }) => forkLauncher({ broker, config, tokens, portBase: nodePortBase }),
    // One node per `sfu.embeddedRegions` entry that exists, keys derived from the master secret.
    async meetingNodes({ broker, tokens }) {
      if (!tokens) throw new ConfigError('tokens.secret', 'in-process meeting nodes derive their keys from the token master secret');
      const { regions } = await call(broker, Actions.regions.list, {});
      const existing = new Set(regions.map((r) => r.id));
      return config.sfu.embeddedRegions
        .filter((id) => existing.has(id))
        .map((regionId, i) => {
          const nodeId = `${regionId}-node-1`;
          return { nodeId, regionId, nodeKey: tokens.nodeKey(nodeId), port: nodePortBase ? nodePortBase + i : 0 };
        });
    },
  };
}

/**
 * Roles in separate processes: NATS (or another transporter), PostgreSQL when given,
 * `serve --role sfu` node processes, the admin key from the environment.
 */
function distributed(config: Readonly<Config>, clock: Clock, env: NodeJS.ProcessEnv): Deployment {
  // PGlite is one process's file: a distributed installation shares PostgreSQL or nothing.
  const database: DatabaseSource | undefined = config.databaseUrl ? databaseSource(config.databaseUrl, '') : undefined;
  const nodePortBase = config.sfu.port;
  const roleRegion = (role: 'sfu' | 'autoscaler', given: string | undefined): string => {
    const region = given ?? env.MERIDIAN_REGION;
    if (!region) throw new ConfigError('region', `serve --role ${role} needs --region <id> (or MERIDIAN_REGION)${role === 'autoscaler' ? ': one autoscaler per region' : ''}`);
    return region;
  };
  return {
    mode: 'distributed',
    clock,
    brokerTransport: config.transporter,
    database,
    readiness: 'background',
    nodePortBase,
    openDatabase: opener(database),
    tokenSecret: (handle) => sharedTokenSecret(config, handle),
    adminKey() {
      const configured = configuredAdminKey(config);
      if (!configured) throw new ConfigError('adminKey', 'MERIDIAN_ADMIN_KEY is required when the gateway runs in distributed mode');
      return configured;
    },
    // Distributed mode never writes credentials.json: the operator reads the key from the output.
    recordFirstAppKey: () => {},
    roleRegion,
    nodeLauncher: ({ tokens }) => serveLauncher({ config, tokens, portBase: nodePortBase }, { MERIDIAN_TRANSPORTER: config.transporter, MERIDIAN_NAMESPACE: config.namespace }),
    // One node per process, its id and key given: a node process never holds the master secret.
    async meetingNodes({ region }) {
      const regionId = roleRegion('sfu', region);
      if (!config.sfu.nodeKey) throw new ConfigError('sfu.nodeKey', 'serve --role sfu needs MERIDIAN_NODE_KEY (meridian keys node-key <nodeId> derives it from the token secret)');
      return [{ nodeId: config.sfu.nodeId || hostname(), regionId, nodeKey: config.sfu.nodeKey, port: config.sfu.port || config.port }];
    },
  };
}
