/**
 * The one wiring file: builds the broker, the database, the services of the requested
 * roles and the gateway. Embedded and distributed mode differ only in what this receives
 * (transporter, database URL, roles); no domain code asks which mode it is in.
 */
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import type { ServiceBroker } from 'moleculer';
import type { FastifyInstance } from 'fastify';
import type { Config } from '../config/index.js';
import { ConfigError } from '../config/index.js';
import { Actions, Services } from '../contracts/index.js';
import { createBroker, call } from '../fabric/index.js';
import { createLogger, type Logger } from '../lib/logger.js';
import { createDatabase, type DatabaseHandle } from '../storage/index.js';
import { RegionStore, createRegionsService } from '../control/registry/index.js';
import { MeetingStore, createRoomsService } from '../control/rooms/index.js';
import { ApiKeyStore, JoinTokenIssuer, createAuthService, generateMasterSecret, getOrCreateSecret, parseMasterSecret } from '../control/auth/index.js';
import { createRegionProviderFromConfig } from '../control/provider/index.js';
import { findAwsRegion } from '../control/provider/awsRegions.js';
import { createGateway } from '../gateway/index.js';
import { DATABASE_ROLES, type Role } from './roles.js';
import { generateAdminKey, readCredentials, writeCredentials } from './credentials.js';

export interface PlatformOptions {
  config: Readonly<Config>;
  roles: readonly Role[];
  logger?: Logger;
  /** Broker node id; defaults to `<hostname>-<role>-<random>`. */
  nodeID?: string;
  /** Start the HTTP listener (false in tests that use `inject`). */
  listen?: boolean;
  /** Create default regions and a first app key on an empty database (embedded start). */
  bootstrap?: boolean;
}

/** A running Meridian process (all roles in embedded mode, one or a few in distributed). */
export interface Platform {
  readonly broker: ServiceBroker;
  readonly config: Readonly<Config>;
  readonly logger: Logger;
  readonly gateway: FastifyInstance | undefined;
  /** Base URL of the gateway when listening. */
  readonly url: string | undefined;
  readonly adminKey: string | undefined;
  /** The first app key, when this start created it. */
  readonly appKey: string | undefined;
  readonly database: DatabaseHandle | undefined;
  /** Mints join tokens and derives node keys (control-plane roles holding the master secret). */
  readonly tokens: JoinTokenIssuer | undefined;
  isReady(): boolean;
  /** Stops everything this process started; idempotent. */
  close(): Promise<void>;
}

export async function createPlatform(opts: PlatformOptions): Promise<Platform> {
  const { config, roles } = opts;
  const has = (r: Role) => roles.includes(r);
  const logger = opts.logger ?? createLogger(config.logLevel);
  const nodeID = opts.nodeID ?? `${hostname()}-${roles.length > 2 ? 'embedded' : roles.join('+')}-${randomBytes(3).toString('hex')}`;
  const broker = createBroker({ nodeID, namespace: config.namespace, transporter: config.transporter, logger: logger.child({ broker: nodeID }) });

  const closers: Array<() => Promise<unknown>> = [];
  let closed: Promise<void> | undefined;
  let ready = false;
  const close = () =>
    (closed ??= (async () => {
      ready = false;
      for (const c of closers.reverse()) await c().catch((err) => logger.warn({ err }, 'error while closing'));
    })());

  try {
    const database = roles.some((r) => DATABASE_ROLES.has(r)) ? await createDatabase({ url: config.databaseUrl, dataDir: config.databaseUrl ? '' : config.dataDir }) : undefined;
    if (database) closers.push(() => database.close());

    let tokens: JoinTokenIssuer | undefined;
    if (database && (has('rooms') || has('sfu'))) {
      const secret = config.tokens.secret || (await getOrCreateSecret(database.db, 'token_master_secret', generateMasterSecret));
      tokens = new JoinTokenIssuer(parseMasterSecret(secret), config.tokens.ttlSeconds);
    }

    if (has('regions')) broker.createService(createRegionsService({ store: new RegionStore(database!.db, config.nodes.heartbeatTimeoutMs), logger }));
    if (has('auth')) broker.createService(createAuthService({ keys: new ApiKeyStore(database!.db) }));
    if (has('region-provider')) broker.createService(await createRegionProviderFromConfig(config, logger));
    if (has('rooms')) {
      broker.createService(
        createRoomsService({ store: new MeetingStore(database!.db), tokens: tokens!, logger, heartbeatTimeoutMs: config.nodes.heartbeatTimeoutMs, rankCount: config.ranking.count }),
      );
    }

    await broker.start();
    closers.push(() => broker.stop());

    let appKey: string | undefined;
    if (opts.bootstrap && database) appKey = await bootstrap(broker, database, config, logger);

    let adminKey: string | undefined;
    let gateway: FastifyInstance | undefined;
    let url: string | undefined;
    if (has('gateway')) {
      adminKey = resolveAdminKey(config, !config.transporter);
      gateway = await createGateway({ broker, config, logger, adminKey, isReady: () => ready });
      closers.push(() => gateway!.close());
      if (opts.listen) {
        await gateway.listen({ port: config.port, host: config.host });
        const addr = gateway.server.address();
        const port = typeof addr === 'object' && addr ? addr.port : config.port;
        url = config.publicUrl || `http://${config.host === '0.0.0.0' || config.host === '::' ? '127.0.0.1' : config.host}:${port}`;
      }
    }

    // Ready once the services a join needs answer through the broker.
    const needed = [Services.rooms, Services.regionProvider, Services.auth, Services.regions];
    await broker.waitForServices(has('gateway') ? needed : [], 30_000);
    ready = true;

    return { broker, config, logger, gateway, url, adminKey, appKey, database, tokens, isReady: () => ready, close };
  } catch (err) {
    await close();
    throw err;
  }
}

/**
 * Admin credential: the configured one; in embedded mode, the one in credentials.json or a
 * freshly generated one written there. Distributed gateways must be given one.
 */
function resolveAdminKey(config: Readonly<Config>, embedded: boolean): string {
  if (config.adminKey) {
    if (config.adminKey.length < 16) throw new ConfigError('adminKey', 'MERIDIAN_ADMIN_KEY must be at least 16 characters');
    return config.adminKey;
  }
  if (!embedded) throw new ConfigError('adminKey', 'MERIDIAN_ADMIN_KEY is required when the gateway runs in distributed mode');
  const creds = readCredentials(config.dataDir);
  if (creds.adminKey) return creds.adminKey;
  const adminKey = generateAdminKey();
  writeCredentials(config.dataDir, { ...creds, adminKey });
  return adminKey;
}

/**
 * First start of an empty installation: the default regions and a first app key. A marker
 * row makes it happen once, even if the operator later removes every region.
 */
async function bootstrap(broker: ServiceBroker, database: DatabaseHandle, config: Readonly<Config>, logger: Logger): Promise<string | undefined> {
  const marker = await database.db
    .insertInto('secrets')
    .values({ name: 'bootstrapped_at', value: new Date().toISOString() })
    .onConflict((oc) => oc.column('name').doNothing())
    .returning('name')
    .executeTakeFirst();
  if (!marker) return undefined;
  for (const id of config.regions.defaults) {
    const aws = findAwsRegion(id);
    if (!aws) throw new ConfigError('regions.defaults', `unknown AWS region '${id}'`);
    await call(broker, Actions.regions.add, { id: aws.id, name: aws.name, lat: aws.lat, lon: aws.lon });
  }
  const { key, appId } = await call(broker, Actions.auth.createKey, { appId: 'default', label: 'first app key' });
  if (!config.transporter) writeCredentials(config.dataDir, { ...readCredentials(config.dataDir), appKey: key, appId });
  logger.info({ regions: config.regions.defaults }, 'first start: default regions and an app key created');
  return key;
}
