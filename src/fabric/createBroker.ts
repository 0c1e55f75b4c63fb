/**
 * The one place that builds a Moleculer broker. Embedded mode: no transporter, every
 * service in this process. Distributed mode: the same services over NATS. Domain code
 * never knows which.
 */
import { ServiceBroker, type BrokerOptions } from 'moleculer';
import pino, { type Logger } from 'pino';
import { TypeBoxValidation } from './TypeBoxValidation.js';
import { loggerStream } from '../lib/logger.js';
import { MeridianRegenerator, isTransientBrokerError } from './errors.js';

export interface BrokerSettings {
  nodeID: string;
  namespace: string;
  /** `nats://…` or empty for in-process. */
  transporter: string;
  logger: Logger;
  /** Request timeout default, ms. */
  requestTimeout?: number;
}

const LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'];
function brokerLevel(level: string): string {
  return LEVELS.indexOf(level) > LEVELS.indexOf('warn') ? level : 'warn';
}

/**
 * NATS URLs get explicit options: reconnect forever (a NATS restart must not need a process
 * restart), quickly, and notice a silently dead server within ~30 s. Other transporter URLs
 * are passed to Moleculer as they are.
 */
function transporterOptions(url: string, nodeID: string): BrokerOptions['transporter'] {
  if (!url) return null;
  if (!/^nats:\/\//i.test(url)) return url;
  return {
    type: 'NATS',
    options: { url, name: nodeID, reconnect: true, maxReconnectAttempts: -1, reconnectTimeWait: 1_000, pingInterval: 10_000, maxPingOut: 3 },
  } as BrokerOptions['transporter'];
}

export function createBroker(s: BrokerSettings): ServiceBroker {
  const opts: BrokerOptions = {
    nodeID: s.nodeID,
    namespace: s.namespace,
    transporter: transporterOptions(s.transporter, s.nodeID),
    // The broker's own chatter (start-up, discovery) at warn and above; our services log
    // through their own pino child loggers. Same JSON shape and ISO timestamps.
    logger: {
      type: 'Pino',
      // Same destination as ours: JSON to stdout, or the pretty stream at a terminal.
      options: { level: brokerLevel(s.logger.level) as never, pino: { options: { timestamp: pino.stdTimeFunctions.isoTime, base: { broker: s.nodeID } }, destination: loggerStream(s.logger) } },
    } as never,
    validator: false,
    middlewares: [TypeBoxValidation()],
    errorRegenerator: new MeridianRegenerator(),
    requestTimeout: s.requestTimeout ?? 5_000,
    // On, but with no retries by default: only the idempotent actions that `CALL_POLICY`
    // gives `retries` are retried, and only after a broker failure (see isTransientBrokerError).
    retryPolicy: { enabled: true, retries: 0, delay: 100, maxDelay: 1_000, factor: 2, check: isTransientBrokerError as never },
    // A copy that dies without saying goodbye (kill -9, lost machine) drops out after 3–6 s.
    heartbeatInterval: 1,
    heartbeatTimeout: 3,
    // Graceful stop: in-flight actions finish (up to 5 s) before the broker leaves.
    tracking: { enabled: true, shutdownTimeout: 5_000 },
    registry: { strategy: 'RoundRobin', preferLocal: true },
    serializer: 'JSON',
    metrics: false,
    tracing: false,
    contextParamsCloning: false,
    transit: { maxQueueSize: 50_000, disableReconnect: false },
    // Signals belong to the process's owner (the CLI's stopOnSignals), which closes the whole
    // platform, database last. Moleculer's own SIGINT/SIGTERM handler stopped the broker and
    // called process.exit(0) first, so `meridian start` exited before PGlite's shutdown
    // checkpoint and every restart replayed the WAL of an unclean stop.
    skipProcessEventRegistration: true,
  };
  return new ServiceBroker(opts);
}
