/**
 * The one place HTTP errors are shaped. Whatever fails — Fastify's body parser, schema
 * validation, a credential check, a service behind the broker, a bug — the client gets
 * `{ "error": { "code", "message" } }` with the code's catalog status, and 5xx failures
 * are logged with the original error. `INTERNAL` never carries the original message.
 */
import type { Socket } from 'node:net';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { MeridianError, type ErrorCode } from '../contracts/index.js';
import { toMeridianError } from '../fabric/index.js';

/** Fastify's own error codes → ours. */
const FASTIFY_CODES: Readonly<Record<string, ErrorCode>> = {
  FST_ERR_CTP_INVALID_JSON_BODY: 'INVALID_JSON',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'INVALID_JSON',
  FST_ERR_CTP_BODY_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'VALIDATION_FAILED',
  FST_ERR_VALIDATION: 'VALIDATION_FAILED',
  FST_ERR_BAD_URL: 'ROUTE_NOT_FOUND',
  FST_ERR_MAX_PARAM_LENGTH: 'ROUTE_NOT_FOUND',
  FST_ERR_NOT_FOUND: 'ROUTE_NOT_FOUND',
  // @fastify/csrf-protection (the console's state-changing requests).
  FST_CSRF_INVALID_TOKEN: 'CSRF_INVALID',
  FST_CSRF_MISSING_SECRET: 'CSRF_INVALID',
};

/** Other 4xx statuses Fastify may raise, by status. */
const FASTIFY_STATUSES: Readonly<Record<number, ErrorCode>> = {
  400: 'VALIDATION_FAILED',
  404: 'ROUTE_NOT_FOUND',
  413: 'PAYLOAD_TOO_LARGE',
  415: 'UNSUPPORTED_MEDIA_TYPE',
};

/** Seconds a client should wait before retrying a retryable 429/503 of this code. */
const RETRY_AFTER_SECONDS: Partial<Record<ErrorCode, number>> = {
  NOT_READY: 2,
  NO_REGION_AVAILABLE: 5,
};

interface FastifyLikeError {
  code?: unknown;
  statusCode?: unknown;
  message?: string;
  validation?: ReadonlyArray<{ instancePath?: string; message?: string }>;
  validationContext?: string;
}

/**
 * Maps any thrown value to a {@link MeridianError}. Fastify's errors are recognised by
 * their `FST_ERR_*` code (the JSON parser's SyntaxError arrives wrapped as
 * `FST_ERR_CTP_INVALID_JSON_BODY`); everything else goes through {@link toMeridianError}.
 */
export function toHttpError(err: unknown): MeridianError {
  if (err instanceof MeridianError) return err;
  const e = (err ?? {}) as FastifyLikeError;
  const byCode = typeof e.code === 'string' ? FASTIFY_CODES[e.code] : undefined;
  if (byCode === 'VALIDATION_FAILED' && Array.isArray(e.validation)) {
    const violations = e.validation.slice(0, 5).map((v) => `${e.validationContext ?? 'request'}${v.instancePath ?? ''}: ${v.message ?? 'invalid'}`);
    return new MeridianError('VALIDATION_FAILED', e.message || undefined, { violations });
  }
  if (byCode === 'INVALID_JSON' || byCode === 'PAYLOAD_TOO_LARGE' || byCode === 'UNSUPPORTED_MEDIA_TYPE' || byCode === 'ROUTE_NOT_FOUND') {
    return new MeridianError(byCode);
  }
  if (byCode) return new MeridianError(byCode, e.message || undefined);
  // A JSON SyntaxError that reached us unwrapped (custom parsers, older paths).
  if (err instanceof SyntaxError && e.statusCode === 400) return new MeridianError('INVALID_JSON');
  if (typeof e.code === 'string' && e.code.startsWith('FST_') && typeof e.statusCode === 'number') {
    const byStatus = FASTIFY_STATUSES[e.statusCode];
    if (byStatus) return new MeridianError(byStatus, e.message || undefined);
  }
  return toMeridianError(err);
}

/**
 * True when the client went away mid-request (a body cut short, a reset connection, the
 * request timeout closing a slow body): nobody is left to answer and it is not our failure.
 */
export function isClientAbort(err: unknown, request: FastifyRequest): boolean {
  const e = (err ?? {}) as { code?: unknown; message?: unknown };
  if (e.code === 'ECONNRESET' || e.code === 'ECONNABORTED' || e.code === 'EPIPE' || e.code === 'ERR_STREAM_PREMATURE_CLOSE') return true;
  if (e.message === 'aborted') return true;
  return request.raw.aborted || request.raw.socket?.destroyed === true;
}

/** Sends `err` as an error response (status, body, `Retry-After`, `WWW-Authenticate`). */
export function sendError(request: FastifyRequest, reply: FastifyReply, err: unknown): FastifyReply {
  if (!(err instanceof MeridianError) && isClientAbort(err, request)) {
    request.log.debug({ reqId: request.id, code: (err as { code?: unknown } | null)?.code, method: request.method, url: request.url }, 'client aborted the request');
    return reply.code(400).send();
  }
  const me = toHttpError(err);
  // NOT_READY is the expected answer while starting or stopping (probes poll it): not an error.
  if (me.status >= 500 && me.code !== 'NOT_READY') {
    request.log.error({ reqId: request.id, err, code: me.code, method: request.method, url: request.url }, 'request failed');
  } else {
    request.log.debug({ reqId: request.id, code: me.code, method: request.method, url: request.url, message: me.message }, 'request rejected');
  }
  // Never leak the text of an unexpected failure; the log has it.
  const body = me.code === 'INTERNAL' ? { code: me.code, message: new MeridianError('INTERNAL').message } : me.toJSON();
  if (me.retryable && (me.status === 503 || me.status === 429)) {
    const hinted = me.data?.retryAfterSeconds;
    const seconds = typeof hinted === 'number' && hinted > 0 ? Math.ceil(hinted) : (RETRY_AFTER_SECONDS[me.code] ?? 1);
    void reply.header('retry-after', String(seconds));
  }
  if (me.status === 401) void reply.header('www-authenticate', 'Bearer');
  return reply.code(me.status).type('application/json; charset=utf-8').send({ error: body });
}

/**
 * Installs the error handler, the not-found handler and (through {@link frameworkErrorHandler})
 * the router's own errors, so no Fastify default error body ever reaches a client.
 */
export function installErrorHandlers(app: FastifyInstance): void {
  app.setErrorHandler((err: FastifyError, request, reply) => sendError(request, reply, err));
  app.setNotFoundHandler((request, reply) => sendError(request, reply, new MeridianError('ROUTE_NOT_FOUND', `No route ${request.method} ${(request.url.split('?')[0] ?? '').slice(0, 200)}`)));
}

/** For Fastify's `frameworkErrors` option (bad URL encoding, over-long path params). */
export function frameworkErrorHandler(err: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  sendError(request, reply, err);
}

/** Node's own HTTP parser errors → ours (the connection never became a Fastify request). */
function clientErrorCode(err: { code?: unknown }): 'REQUEST_TIMEOUT' | 'HEADERS_TOO_LARGE' | 'BAD_REQUEST' {
  if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT') return 'REQUEST_TIMEOUT';
  if (err.code === 'HPE_HEADER_OVERFLOW') return 'HEADERS_TOO_LARGE';
  return 'BAD_REQUEST';
}

/**
 * For Fastify's `clientErrorHandler`: a request Node's parser refused (oversized headers,
 * a bad request line) or that did not arrive within the headers or request timeout gets
 * our error body on the raw socket, then the connection is closed. Logged at debug:
 * these are the client's doing (or an attacker's), not ours.
 */
export function clientErrorHandler(logger: Logger): (err: Error & { code?: string }, socket: Socket) => void {
  return (err, socket) => {
    if (err.code === 'ECONNRESET' || socket.destroyed) {
      logger.debug({ code: err.code }, 'client connection reset');
      return;
    }
    const me = new MeridianError(clientErrorCode(err));
    logger.debug({ code: me.code, parserCode: err.code }, 'client error on the HTTP connection');
    if (socket.writable) {
      const body = JSON.stringify({ error: me.toJSON() });
      const reason = { 400: 'Bad Request', 408: 'Request Timeout', 431: 'Request Header Fields Too Large' }[me.status as 400 | 408 | 431];
      const retry = me.retryable ? 'Retry-After: 1\r\n' : '';
      socket.end(`HTTP/1.1 ${me.status} ${reason}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\n${retry}Connection: close\r\n\r\n${body}`, () => socket.destroy());
    } else {
      socket.destroy();
    }
  };
}
