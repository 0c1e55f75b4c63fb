/**
 * The gateway: Meridian's public HTTP API (Fastify 5). It owns HTTP concerns only —
 * credentials, schema validation, client addresses, error shaping, metrics — and reaches
 * every service through the broker with the typed `call()`; it holds no domain state and
 * must not import services, storage or the SFU.
 */
export { createGateway } from './createGateway.js';
export type { GatewayOptions } from './types.js';
export type { Principal } from './auth.js';
export { toHttpError } from './errorHandler.js';
export type { ErrorBody } from './httpSchemas.js';
