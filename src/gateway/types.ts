import type { FastifyInstance } from 'fastify';
import type { ServiceBroker } from 'moleculer';
import type { Logger } from 'pino';
import type { Config } from '../config/index.js';
import type { Caller } from '../fabric/index.js';
import type { Authenticator } from './auth.js';
import type { GatewayMetrics } from './metrics.js';
import type { Clock } from '../lib/clock.js';
import type { FeedTimers } from './console/index.js';

/** What {@link createGateway} needs. */
export interface GatewayOptions {
  /** Every service is reached through this broker (embedded or over NATS). */
  broker: ServiceBroker;
  config: Readonly<Config>;
  logger: Logger;
  /** The deployment's admin credential (`Authorization: Bearer <adminKey>`). */
  adminKey: string;
  /** `/readyz` and the `/v1` routes answer 503 `NOT_READY` until this returns true. */
  isReady: () => boolean;
  /**
   * Adds routes or plugins (demo page, signaling WebSocket) after the API routes, under the
   * same error handling. This is the only place to extend the instance: it is `ready()` when
   * {@link createGateway} returns.
   */
  extraRoutes?: (app: FastifyInstance) => void | Promise<void>;
  /** Seconds an app key is trusted without asking the auth service again. Default 30. */
  appKeyCacheSeconds?: number;
  /** Export Node process metrics on `/metrics`. Default true. */
  processMetrics?: boolean;
  /** Ages the app-key cache, the metrics snapshot and console sessions; the system clock unless a test passes one. */
  clock?: Clock;
  /** Where the built console page is (default `<repo>/dist/client`); tests point it elsewhere. */
  consoleAssetsDir?: string;
  /** Timers of the console's live view and series sampler; tests fire them by hand. */
  consoleTimers?: FeedTimers;
}

/** What the route modules get: the collaborators, never the options bag. */
export interface RouteDeps {
  broker: Caller;
  auth: Authenticator;
  metrics: GatewayMetrics;
  isReady: () => boolean;
  /** Bearer token `/metrics` asks of non-loopback callers; empty = loopback callers only. */
  metricsToken: string;
}
