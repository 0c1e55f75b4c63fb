/**
 * The one place that builds a Moleculer broker. Embedded mode: no transporter, every
 * service in this process. Distributed mode: the same services over NATS. Domain code
 * never knows which.
 */
import { ServiceBroker, type BrokerOptions } from 'moleculer';
import type { Logger } from 'pino';
import { TypeBoxValidation } from './TypeBoxValidation.js';
import { MeridianRegenerator } from './errors.js';

export interface BrokerSettings {
  nodeID: string;
  namespace: string;
  /** `nats://…` or empty for in-process. */
  transporter: string;
  logger: Logger;
  /** Request timeout default, ms. */
  requestTimeout?: number;
}

export function createBroker(s: BrokerSettings): ServiceBroker {
  const opts: BrokerOptions = {
    nodeID: s.nodeID,
    namespace: s.namespace,
    transporter: s.transporter || null,
    // Services log through our pino instance, with the broker's bindings.
    logger: { type: 'Pino', options: { level: s.logger.level as never, pino: { instance: s.logger } } } as never,
    validator: false,
    middlewares: [TypeBoxValidation()],
    errorRegenerator: new MeridianRegenerator(),
    requestTimeout: s.requestTimeout ?? 5_000,
    retryPolicy: { enabled: false },
    heartbeatInterval: 2,
    heartbeatTimeout: 6,
    registry: { strategy: 'RoundRobin', preferLocal: true },
    serializer: 'JSON',
    metrics: false,
    tracing: false,
    contextParamsCloning: false,
    transit: { maxQueueSize: 50_000, disableReconnect: false },
  };
  return new ServiceBroker(opts);
}
