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
import { startProbeServer } from './probeServer.js';
import { startSfuNodes, type SfuSpec } from './sfuRole.js';
import { registerDemoRoutes } from './demo/index.js';
import { autoscalerNeedsDatabase, checkAutoscalerConfig, createAutoscalerRole } from './autoscalerRole.js';
import type { AutoscalerHandle } from '../control/autoscaler/index.js';
import type { SfuNode } from '../media/index.js';

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
  /** Region of an `sfu` role in distributed mode (`--region`). */
  region?: string;
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
  /** Meeting nodes running in this process. */
  readonly sfuNodes: readonly SfuNode[];
  /** The autoscalers of this process (role `autoscaler`): status, metrics, readiness. */
  readonly autoscaler: AutoscalerHandle | undefined;
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
    if (has('autoscaler')) checkAutoscalerConfig(config);
    const needsDatabase = roles.some((r) => DATABASE_ROLES.has(r)) || (has('autoscaler') && autoscalerNeedsDatabase(config));
    const database = needsDatabase ? await createDatabase({ url: config.databaseUrl, dataDir: config.databaseUrl ? '' : config.dataDir }) : undefined;
    if (database) closers.push(() => database.close());

    let tokens: JoinTokenIssuer | undefined;
    if (database && (has('rooms') || has('sfu') || has('autoscaler'))) {
      const secret = config.tokens.secret || (await getOrCreateSecret(database.db, 'token_master_secret', generateMasterSecret));
      tokens = new JoinTokenIssuer(parseMasterSecret(secret), config.tokens.ttlSeconds);
    } else if (has('autoscaler') && config.tokens.secret) {
      tokens = new JoinTokenIssuer(parseMasterSecret(config.tokens.secret), config.tokens.ttlSeconds);
    }

    if (has('regions')) broker.createService(createRegionsService({ store: new RegionStore(database!.db, config.nodes.heartbeatTimeoutMs), logger, heartbeatTimeoutMs: config.nodes.heartbeatTimeoutMs }));
    if (has('auth')) broker.createService(createAuthService({ keys: new ApiKeyStore(database!.db) }));
    if (has('region-provider')) broker.createService(await createRegionProviderFromConfig(config, logger));
    if (has('rooms')) {
      broker.createService(
        createRoomsService({ store: new MeetingStore(database!.db), tokens: tokens!, logger, heartbeatTimeoutMs: config.nodes.heartbeatTimeoutMs, rankCount: config.ranking.count }),
      );
    }

    // The autoscaler starts node processes (min per region) once the broker runs; readiness waits for them below.
    const autoscaler = has('autoscaler') ? createAutoscalerRole({ broker, config, tokens, logger, region: opts.region }) : undefined;
    if (autoscaler) broker.createService(autoscaler.service);

    // Roles without an HTTP listener of their own still answer /healthz and /readyz on
    // `port` in distributed mode, so supervisors probe every role the same way; /healthz answers
    // while the broker starts (which waits for the services a role depends on).
    // A meeting node's signaling listener takes `port` too, unless `sfu.port` moves it elsewhere.
    const portTaken = has('gateway') || (has('sfu') && (!config.sfu.port || config.sfu.port === config.port));
    if (opts.listen && !portTaken) {
      const probes = await startProbeServer({ host: config.host, port: config.port, isReady: () => ready, ...(autoscaler ? { metrics: () => autoscaler.handle.metrics.render() } : {}) });
      closers.push(() => probes.close());
      logger.info({ port: probes.port }, 'health probes listening (/healthz, /readyz)');
    }

    await broker.start();
    closers.push(() => broker.stop());

    let appKey: string | undefined;
    if (opts.bootstrap && database) appKey = await bootstrap(broker, database, config, logger);

    let sfuNodes: SfuNode[] = [];
    let adminKey: string | undefined;
    let gateway: FastifyInstance | undefined;
    let url: string | undefined;
    if (has('gateway')) {
      adminKey = resolveAdminKey(config, !config.transporter);
      // The demo page, its join route (http.demo) and the browser SDK bundle (/sdk/meridian.js).
      gateway = await createGateway({ broker, config, logger, adminKey, isReady: () => ready, extraRoutes: (app) => registerDemoRoutes(app, { broker, config }) });
      closers.push(() => gateway!.close());
      if (opts.listen) {
        await gateway.listen({ port: config.port, host: config.host });
        const addr = gateway.server.address();
        const port = typeof addr === 'object' && addr ? addr.port : config.port;
        url = config.publicUrl || `http://${config.host === '0.0.0.0' || config.host === '::' ? '127.0.0.1' : config.host}:${port}`;
      }
    }

    if (has('sfu')) {
      const specs = await sfuSpecs(broker, config, tokens, opts.region);
      const sfu = await startSfuNodes(broker, config, specs, logger);
      closers.push(() => sfu.close());
      sfuNodes = sfu.nodes;
      await waitForNodes(broker, specs.map((s) => s.nodeId), 15_000);
    }
    if (autoscaler) {
      closers.push(() => autoscaler.handle.close());
      await autoscaler.handle.whenReady(config.autoscaler.nodeStartTimeoutMs);
    }

    // Ready once the services a join needs answer through the broker.
    const needed = [Services.rooms, Services.regionProvider, Services.auth, Services.regions];
    if (has('gateway') && config.transporter) {
      // Distributed: other roles may start later (or restart); serve NOT_READY until they
      // are there instead of failing start-up.
      void (async () => {
        while (!closed) {
          try {
            await broker.waitForServices(needed, 5_000, 200);
            if (!closed) ready = true;
            logger.info('gateway ready: every service a join needs is reachable');
            return;
          } catch {
            logger.warn({ needed }, 'gateway waiting for services');
          }
        }
      })();
    } else {
      await broker.waitForServices(has('gateway') ? needed : [], 30_000);
      ready = true;
    }

    return { broker, config, logger, gateway, url, adminKey, appKey, database, tokens, sfuNodes, autoscaler: autoscaler?.handle, isReady: () => ready, close };
  } catch (err) {
    await close();
    throw err;
  }
}

/**
 * Which nodes this process runs. Embedded: one per `sfu.embeddedRegions` entry that exists,
 * keys derived here from the master secret, ports after the gateway's. Distributed: one node,
 * its id and key given (a node process never holds the master secret).
 */
async function sfuSpecs(broker: ServiceBroker, config: Readonly<Config>, tokens: JoinTokenIssuer | undefined, region: string | undefined): Promise<SfuSpec[]> {
  if (!config.transporter) {
    const { regions } = await call(broker, Actions.regions.list, {});
    const existing = new Set(regions.map((r) => r.id));
    return config.sfu.embeddedRegions
      .filter((id) => existing.has(id))
      .map((regionId, i) => {
        const nodeId = `${regionId}-node-1`;
        return { nodeId, regionId, nodeKey: tokens!.nodeKey(nodeId), port: config.sfu.port ? config.sfu.port + i : config.port ? config.port + 1 + i : 0 };
      });
  }
  const regionId = region ?? process.env.MERIDIAN_REGION;
  if (!regionId) throw new ConfigError('region', 'serve --role sfu needs --region <id> (or MERIDIAN_REGION)');
  if (!config.sfu.nodeKey) throw new ConfigError('sfu.nodeKey', 'serve --role sfu needs MERIDIAN_NODE_KEY (meridian keys node-key <nodeId> derives it from the token secret)');
  return [{ nodeId: config.sfu.nodeId || hostname(), regionId, nodeKey: config.sfu.nodeKey, port: config.sfu.port || config.port }];
}

/** Waits until the registry lists every node as healthy (their first heartbeat arrived). */
async function waitForNodes(broker: ServiceBroker, nodeIds: string[], timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { regions } = await call(broker, Actions.regions.list, {});
    const healthy = new Set(regions.flatMap((r) => r.nodes.filter((n) => n.healthy).map((n) => n.id)));
    if (nodeIds.every((id) => healthy.has(id))) return;
    if (Date.now() > deadline) throw new Error(`meeting nodes did not register within ${timeoutMs} ms: ${nodeIds.filter((id) => !healthy.has(id)).join(', ')}`);
    await new Promise((r) => setTimeout(r, 100));
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
