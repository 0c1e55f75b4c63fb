/**
 * Builds the HTTP API edge: one Fastify instance, every route schema-validated, every
 * error shaped by one handler, every service reached through the broker. The caller
 * owns the lifecycle (`listen`, `close`).
 */
import Fastify, { LogController, type FastifyInstance } from 'fastify';
import { MEETING_ID_MAX_LENGTH } from '../contracts/index.js';
import { AppKeyVerifier } from './AppKeyVerifier.js';
import { Authenticator } from './auth.js';
import { listenForKeyRevocations } from './KeyRevocationListener.js';
import { trustProxyOption } from './clientIp.js';
import { clientErrorHandler, frameworkErrorHandler, installErrorHandlers } from './errorHandler.js';
import { installRateLimits } from './rateLimits.js';
import { GatewayMetrics } from './metrics.js';
import { registerAdminRoutes } from './routes/admin.js';
import { registerConsole } from './console/index.js';
import { systemClock } from '../lib/clock.js';
import { readinessGate, registerHealthRoutes } from './routes/health.js';
import { registerMeetingRoutes } from './routes/meetings.js';
import { registerPlanRoutes } from './routes/plan.js';
import { registerPrecallRoutes } from './routes/precall.js';
import { registerRegionRoutes } from './routes/regions.js';
import type { GatewayOptions, RouteDeps } from './types.js';

/**
 * Creates the gateway (not listening). Throws `TypeError` for an empty admin key and
 * `ConfigError` for a `trustedProxies` entry that is not an address or range.
 */
export async function createGateway(opts: GatewayOptions): Promise<FastifyInstance> {
  const { broker, config } = opts;
  const logger = opts.logger.child({ module: 'gateway' });
  const metrics = new GatewayMetrics({ broker, logger, processMetrics: opts.processMetrics ?? true, ...(opts.clock ? { clock: opts.clock } : {}) });
  const { requestTimeoutMs, headersTimeoutMs, keepAliveTimeoutMs } = config.http;

  const app = Fastify({
    loggerInstance: logger,
    // Per-request info logs cost more than the join itself; errors are logged by the handler.
    logController: new LogController({ disableRequestLogging: true }),
    // No pino child logger per request (one allocation and bindings serialisation per join):
    // `request.log` is the gateway's logger, and the error handler names the request id itself.
    childLoggerFactory: (parent) => parent,
    trustProxy: trustProxyOption(config.trustedProxies),
    bodyLimit: config.http.bodyLimitBytes,
    frameworkErrors: frameworkErrorHandler,
    // Path parameters as long as the ids they carry (meeting and node ids: 128), so every id
    // the API creates can be addressed.
    routerOptions: { maxParamLength: MEETING_ID_MAX_LENGTH },
    // Slow clients cannot hold connections: the whole request (headers and body) must arrive
    // within requestTimeoutMs, the headers within headersTimeoutMs, and an idle kept-alive
    // connection closes after keepAliveTimeoutMs. Node checks these every
    // connectionsCheckingInterval (30 s by default: far too coarse for a 10 s header limit).
    requestTimeout: requestTimeoutMs,
    keepAliveTimeout: keepAliveTimeoutMs,
    connectionTimeout: requestTimeoutMs + keepAliveTimeoutMs,
    http: { headersTimeout: headersTimeoutMs, connectionsCheckingInterval: Math.max(25, Math.min(1_000, Math.floor(headersTimeoutMs / 4))) },
    // Node's own parser errors (431, 400, 408) in our error format.
    clientErrorHandler: clientErrorHandler(logger),
    // Reject unknown properties (a typo such as `forceregion` must not be ignored silently);
    // coerce querystring scalars (`count=3`, `force=true`) and single values into arrays.
    ajv: { customOptions: { removeAdditional: false, coerceTypes: 'array', useDefaults: true, allErrors: false } },
    // While closing, requests still in flight on kept-alive connections get our
    // NOT_READY body from the readiness gate instead of Fastify's own 503 body.
    return503OnClosing: false,
    // The instance is typed with pino's Logger; callers see the plain FastifyInstance.
  }) as unknown as FastifyInstance;

  // Rate limits come first: a refused request costs one counter, nothing else.
  const limits = await installRateLimits(app, { ...config.rateLimit });
  const appKeys = new AppKeyVerifier({ broker, ttlMs: (opts.appKeyCacheSeconds ?? 30) * 1000, ...(opts.clock ? { clock: opts.clock } : {}) });
  const auth = new Authenticator({ adminKey: opts.adminKey, appKeys, limits });

  // JSON only: without this, text/plain bodies would be parsed and fail validation
  // instead of getting 415 UNSUPPORTED_MEDIA_TYPE.
  app.removeContentTypeParser('text/plain');
  app.decorateRequest('principal', null);
  app.decorateRequest('joinedRegion', null);
  const stopListening = listenForKeyRevocations(broker, appKeys);
  app.addHook('onClose', stopListening);
  installErrorHandlers(app);

  let closing = false;
  app.addHook('preClose', async () => {
    closing = true;
  });
  const isReady = (): boolean => !closing && opts.isReady();
  app.addHook('onRequest', readinessGate(isReady));
  // A callback hook (no promise per request): counting has nothing to wait for.
  app.addHook('onResponse', (request, reply, done) => {
    const route = request.is404 ? 'unmatched' : (request.routeOptions.url ?? 'unmatched');
    metrics.observeHttp(request.method, route, reply.statusCode, reply.elapsedTime / 1000);
    if (request.joinedRegion !== null && reply.statusCode < 300) metrics.observeJoinRegion(request.joinedRegion);
    done();
  });

  const deps: RouteDeps = { broker, auth, metrics, isReady, metricsToken: config.http.metricsToken };
  registerHealthRoutes(app, deps);
  registerMeetingRoutes(app, deps);
  registerRegionRoutes(app, deps);
  registerAdminRoutes(app, deps);
  registerPrecallRoutes(app, deps);
  registerPlanRoutes(app, deps);
  if (config.console.enabled) {
    await registerConsole(app, {
      broker,
      auth,
      metrics,
      adminKey: opts.adminKey,
      logger,
      clock: opts.clock ?? systemClock,
      settings: config.console,
      publicUrl: config.publicUrl,
      ...(opts.consoleAssetsDir ? { assetsDir: opts.consoleAssetsDir } : {}),
      ...(opts.consoleTimers ? { timers: opts.consoleTimers } : {}),
    });
  }
  if (opts.extraRoutes) await opts.extraRoutes(app);

  await app.ready();
  return app;
}
