/**
 * The one wiring file: builds the broker, the database, the services of the requested roles
 * and the gateway, each from exactly the parts it needs. Which parts (broker transport,
 * database, node launcher, admin-key source, readiness policy, clock) is decided once, by
 * {@link resolveDeployment}; nothing here or in domain code asks which mode it is in.
 */
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import type { ServiceBroker } from 'moleculer';
import type { FastifyInstance } from 'fastify';
import type { Config } from '../config/index.js';
import { ConfigError } from '../config/index.js';
import { Services } from '../contracts/index.js';
import { createBroker } from '../fabric/index.js';
import type { Clock } from '../lib/clock.js';
import { createLogger, type Logger } from '../lib/logger.js';
import type { DatabaseHandle } from '../storage/index.js';
import { RegionStore, createRegionsService } from '../control/registry/index.js';
import { MeetingStore, createRoomsService } from '../control/rooms/index.js';
import { ApiKeyStore, createAuthService } from '../control/auth/index.js';
import { JoinTokenIssuer, parseMasterSecret } from '../tokens/index.js';
import { createRegionProviderFromConfig } from '../control/provider/index.js';
import { createGateway } from '../gateway/index.js';
import { DATABASE_ROLES, type Role } from './roles.js';
import { resolveDeployment, type Deployment } from './deployment.js';
import { bootstrap, waitForNodes } from './bootstrap.js';
import { startProbeServer } from './probeServer.js';
import { startSfuNodes } from './sfuRole.js';
import { registerDemoRoutes } from './demo/index.js';
import { checkAutoscalerConfig, createAutoscalerRole } from './autoscalerRole.js';
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
  /** Region of an `sfu` or `autoscaler` role (`--region`). */
  region?: string;
  /** Time for the parts this builds; default the system clock. */
  clock?: Clock;
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

/** The services a join needs; a gateway is ready once they answer through the broker. */
const JOIN_SERVICES = [Services.rooms, Services.regionProvider, Services.auth, Services.regions];

/** The state roles share: the database and the token issuer whose secret it holds (or the config gives). */
interface ControlState {
  readonly database: DatabaseHandle;
  readonly tokens: JoinTokenIssuer;
}

/** The issuer from the master secret where the deployment keeps it (`Deployment.tokenSecret`). */
async function tokenIssuer(config: Readonly<Config>, deployment: Deployment, database: DatabaseHandle): Promise<JoinTokenIssuer> {
  return new JoinTokenIssuer(parseMasterSecret(await deployment.tokenSecret(database)), config.tokens.ttlSeconds);
}

/**
 * Whether this process opens the database: for a role that keeps state there, for an
 * autoscaler that must read the token master secret from it (none configured, one shared),
 * or for a region provider that persists what clients measured (when one is configured).
 */
function needsDatabase(roles: readonly Role[], config: Readonly<Config>, deployment: Deployment): boolean {
  return (
    roles.some((r) => DATABASE_ROLES.has(r)) ||
    (roles.includes('autoscaler') && !config.tokens.secret && deployment.database !== undefined) ||
    // Learned measurements persist when a database is configured; without one they live in memory.
    (roles.includes('region-provider') && config.ranking.learning.enabled && deployment.database !== undefined)
  );
}

/** The rooms service's quota, expiry and sweep settings (`meetings.*`, and the token lifetime the release waits for). */
function meetingSettings(config: Readonly<Config>): { maxMeetingsPerApp: number; idleTtlMs: number; sweepIntervalMs: number; tokenTtlMs: number } {
  const m = config.meetings;
  return { maxMeetingsPerApp: m.maxPerApp, idleTtlMs: m.idleTtlSeconds * 1000, sweepIntervalMs: m.sweepIntervalMs, tokenTtlMs: config.tokens.ttlSeconds * 1000 };
}

/** Creates the services of the roles that keep state in the database. */
function createStateServices(broker: ServiceBroker, roles: readonly Role[], state: ControlState, config: Readonly<Config>, logger: Logger, clock: Clock): void {
  const { db } = state.database;
  const { heartbeatTimeoutMs } = config.nodes;
  if (roles.includes('regions')) broker.createService(createRegionsService({ store: new RegionStore(db, heartbeatTimeoutMs, clock), logger, heartbeatTimeoutMs, clock }));
  if (roles.includes('auth')) broker.createService(createAuthService({ keys: new ApiKeyStore(db) }));
  if (roles.includes('rooms')) broker.createService(createRoomsService({ store: new MeetingStore(db, clock), tokens: state.tokens, logger, heartbeatTimeoutMs, rankCount: config.ranking.count, clock, cascade: config.cascade, latency: config.latency, ...meetingSettings(config) }));
}

export async function createPlatform(opts: PlatformOptions): Promise<Platform> {
  const { config, roles } = opts;
  const has = (r: Role) => roles.includes(r);
  const logger = opts.logger ?? createLogger(config.logLevel);
  const deployment = resolveDeployment(config, { logger, ...(opts.clock ? { clock: opts.clock } : {}) });
  const nodeID = opts.nodeID ?? `${hostname()}-${roles.length > 2 ? 'embedded' : roles.join('+')}-${randomBytes(3).toString('hex')}`;
  const broker = createBroker({ nodeID, namespace: config.namespace, transporter: deployment.brokerTransport, logger: logger.child({ broker: nodeID }) });

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
    // Resolved before anything connects, so a missing key stops start-up at once.
    const adminKey = has('gateway') ? deployment.adminKey() : undefined;
    let state: ControlState | undefined;
    if (needsDatabase(roles, config, deployment)) {
      const database = await deployment.openDatabase(`role ${roles.join('+')}`);
      closers.push(() => database.close());
      state = { database, tokens: await tokenIssuer(config, deployment, database) };
      createStateServices(broker, roles, state, config, logger, deployment.clock);
    }
    // Without the database, only a configured master secret can mint tokens or derive keys.
    const tokens = state?.tokens ?? (config.tokens.secret ? new JoinTokenIssuer(parseMasterSecret(config.tokens.secret), config.tokens.ttlSeconds) : undefined);
    // Learned measurements and join counts persist in the database when this process has it.
    if (has('region-provider')) broker.createService(await createRegionProviderFromConfig(config, logger, undefined, deployment.clock, state?.database.db));

    // The autoscaler starts node processes (min per region) once the broker runs; readiness waits for them below.
    let autoscaler: ReturnType<typeof createAutoscalerRole> | undefined;
    if (has('autoscaler')) {
      if (!tokens) throw new ConfigError('tokens.secret', 'the autoscaler derives node keys from the token master secret: set MERIDIAN_TOKEN_SECRET, or MERIDIAN_DATABASE_URL to read it from the database');
      autoscaler = createAutoscalerRole({ broker, config, deployment, tokens, logger, region: deployment.roleRegion('autoscaler', opts.region) });
      broker.createService(autoscaler.service);
    }

    // Roles without an HTTP listener of their own still answer /healthz and /readyz on
    // `port`, so supervisors probe every role the same way; /healthz answers while the
    // broker starts (which waits for the services a role depends on). A meeting node's
    // signaling listener takes `port` too, unless `sfu.port` moves it elsewhere.
    const portTaken = has('gateway') || (has('sfu') && (!config.sfu.port || config.sfu.port === config.port));
    if (opts.listen && !portTaken) {
      const scaler = autoscaler?.handle;
      const probes = await startProbeServer({ host: config.host, port: config.port, isReady: () => ready, metricsToken: config.http.metricsToken, ...(scaler ? { metrics: () => scaler.metrics.render() } : {}) });
      closers.push(() => probes.close());
      logger.info({ port: probes.port }, 'health probes listening (/healthz, /readyz)');
    }

    await broker.start();
    closers.push(() => broker.stop());

    const appKey = opts.bootstrap && state ? await bootstrap(broker, state.database, config, deployment, logger) : undefined;

    let gateway: FastifyInstance | undefined;
    let url: string | undefined;
    if (adminKey !== undefined) {
      // The demo page, its join route (http.demo) and the browser SDK bundle (/sdk/meridian.js).
      const app = await createGateway({ broker, config, logger, adminKey, clock: deployment.clock, isReady: () => ready, extraRoutes: (a) => registerDemoRoutes(a, { broker, config }) });
      gateway = app;
      closers.push(() => app.close());
      if (opts.listen) {
        await app.listen({ port: config.port, host: config.host });
        const addr = app.server.address();
        const port = typeof addr === 'object' && addr ? addr.port : config.port;
        url = config.publicUrl || `http://${config.host === '0.0.0.0' || config.host === '::' ? '127.0.0.1' : config.host}:${port}`;
      }
    }

    let sfuNodes: SfuNode[] = [];
    if (has('sfu')) {
      const specs = await deployment.meetingNodes({ broker, tokens, region: opts.region });
      const sfu = await startSfuNodes(broker, config, specs, logger);
      closers.push(() => sfu.close());
      sfuNodes = sfu.nodes;
      await waitForNodes(broker, specs.map((s) => s.nodeId), 15_000, deployment.clock);
    }
    if (autoscaler) {
      const { handle } = autoscaler;
      closers.push(() => handle.close());
      await handle.whenReady(config.autoscaler.nodeStartTimeoutMs);
    }

    if (has('gateway') && deployment.readiness === 'background') {
      // Other roles may start later (or restart): serve NOT_READY until they are there
      // instead of failing start-up.
      void (async () => {
        while (!closed) {
          try {
            await broker.waitForServices(JOIN_SERVICES, 5_000, 200);
            if (!closed) ready = true;
            logger.info('gateway ready: every service a join needs is reachable');
            return;
          } catch {
            logger.warn({ needed: JOIN_SERVICES }, 'gateway waiting for services');
          }
        }
      })();
    } else {
      await broker.waitForServices(has('gateway') ? JOIN_SERVICES : [], 30_000);
      ready = true;
    }

    return { broker, config, logger, gateway, url, adminKey, appKey, database: state?.database, tokens, sfuNodes, autoscaler: autoscaler?.handle, isReady: () => ready, close };
  } catch (err) {
    await close();
    throw err;
  }
}
