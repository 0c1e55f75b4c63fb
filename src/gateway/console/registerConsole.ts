/**
 * The console's HTTP side, under `/console`:
 * - `GET /console/login` and `POST /console/login` (an HTML form with the admin key): on
 *   success a signed session cookie (`HttpOnly`, `SameSite=Strict`, `Path=/console`,
 *   `Max-Age` = the session TTL, `Secure` over https) and a redirect to `/console`; on
 *   failure no cookie and a redirect back to `/console/login?failed` (the form says so);
 * - `GET /console` (the page), its assets under `/console/assets/`;
 * - `/console/api/…`, session only: `session` (the CSRF token), `state`, `series`, `events`
 *   (server-sent events), `rank`, and `admin/*`, which forwards to `/v1/admin/*` with the
 *   admin key held here (the browser never has it). Every state-changing request also needs
 *   the session's CSRF token in `x-csrf-token`, or it gets 403 `CSRF_INVALID`;
 * - `POST /console/logout`.
 *
 * Cookies are signed and parsed with @fastify/cookie's signer and parser, CSRF tokens made
 * and checked with @fastify/csrf: HMAC tokens bound to the login's nonce, under a secret
 * derived from the admin key, so any gateway copy checks them and no second cookie is
 * needed. Both are used as functions rather than registered plugins, so the rest of the
 * API stays free of cookie handling.
 */
import { createHmac } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyCookie from '@fastify/cookie';
import { Tokens } from '@fastify/csrf';
import { Type, type Static } from '@sinclair/typebox';
import type { FastifyInstance, FastifyReply, FastifyRequest, onRequestHookHandler } from 'fastify';
import type { ServiceBroker } from 'moleculer';
import type { Logger } from 'pino';
import type { Config } from '../../config/index.js';
import { MeridianError } from '../../contracts/index.js';
import type { Clock } from '../../lib/clock.js';
import type { Authenticator } from '../auth.js';
import { clientIp } from '../clientIp.js';
import type { GatewayMetrics } from '../metrics.js';
import { ConsoleFeed, type ConsoleSnapshot, type FeedTimers } from './ConsoleFeed.js';
import { ConsoleSessions, type ConsoleSession } from './ConsoleSessions.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The console login of this request (set by the console's session guard). */
    consoleSession: ConsoleSession | null;
  }
}

/** @fastify/cookie's cookie functions (its typings put them on the plugin's interface). */
const cookies = fastifyCookie as unknown as fastifyCookie.FastifyCookie;

/** What {@link registerConsole} needs. */
export interface ConsoleDeps {
  readonly broker: ServiceBroker;
  readonly auth: Authenticator;
  readonly metrics: GatewayMetrics;
  /** Held server-side: the console's API forwards admin requests with it. */
  readonly adminKey: string;
  readonly logger: Logger;
  readonly clock: Clock;
  readonly settings: Readonly<Config['console']>;
  /** `publicUrl` of the deployment: an `https:` one makes the cookies `Secure`. */
  readonly publicUrl: string;
  /** Where the built page is (default `<repo>/dist/client`, written by `npm run build`). */
  readonly assetsDir?: string;
  readonly timers?: FeedTimers;
}

/** Name of the session cookie. */
export const SESSION_COOKIE = 'meridian_console';
const COOKIE_PATH = '/console';

/** The default bundle directory: `dist/client` of this checkout (same depth from src/ and dist/). */
const DEFAULT_ASSETS_DIR = fileURLToPath(new URL('../../../dist/client/', import.meta.url));

const ASSETS: Record<string, { file: string; type: string }> = {
  'console.js': { file: 'console/console.js', type: 'text/javascript; charset=utf-8' },
  'console.js.map': { file: 'console/console.js.map', type: 'application/json; charset=utf-8' },
  'console.css': { file: 'console/console.css', type: 'text/css; charset=utf-8' },
  // Natural Earth outlines (world-atlas), copied by the build: the map needs nothing from the internet.
  'countries-110m.json': { file: 'console/countries-110m.json', type: 'application/json; charset=utf-8' },
};

/** The page talks to its own origin only; nothing is fetched from elsewhere. */
const PAGE_HEADERS = {
  'content-security-policy':
    "default-src 'self'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store',
};

const LoginBody = Type.Object({ key: Type.String({ minLength: 1, maxLength: 512 }) }, { additionalProperties: false });
type LoginBody = Static<typeof LoginBody>;
const RankQuery = Type.Object({ ip: Type.String({ minLength: 1, maxLength: 64 }), count: Type.Optional(Type.Integer({ minimum: 1, maximum: 20 })) }, { additionalProperties: false });
type RankQuery = Static<typeof RankQuery>;

/** A key derived from the admin key for one purpose (cookie signing, CSRF tokens). */
function derivedKey(adminKey: string, purpose: string): string {
  return createHmac('sha256', adminKey).update(`meridian console ${purpose}`).digest('base64url');
}

/**
 * Registers the console routes on `app` (see the module comment) and returns the feed
 * behind its live view. The feed's timers stop when `app` closes, and open event streams
 * are ended before the server stops accepting connections.
 */
export async function registerConsole(app: FastifyInstance, deps: ConsoleDeps): Promise<ConsoleFeed> {
  const { settings, clock } = deps;
  const logger = deps.logger.child({ module: 'console' });
  const assetsDir = deps.assetsDir ?? DEFAULT_ASSETS_DIR;
  const sessions = new ConsoleSessions({ ttlMs: settings.sessionTtlSeconds * 1000, clock });
  const feed = new ConsoleFeed({
    broker: deps.broker,
    logger,
    clock,
    joins: () => deps.metrics.joinsByRegion(),
    updateIntervalMs: settings.updateIntervalMs,
    sampleIntervalMs: settings.sampleIntervalMs,
    ...(deps.timers ? { timers: deps.timers } : {}),
  });
  const streams = new Set<() => void>();
  // Started here, not in an onReady hook: such a hook delays the gateway's own preClose,
  // and with it the NOT_READY answer to requests that arrive while it closes.
  feed.start();
  app.addHook('preClose', (done) => {
    for (const end of [...streams]) end();
    done();
  });
  app.addHook('onClose', async () => feed.close());

  const secure = (request: FastifyRequest): boolean => request.protocol === 'https' || deps.publicUrl.startsWith('https:');
  const cookieOptions = (request: FastifyRequest) => ({ path: COOKIE_PATH, httpOnly: true, sameSite: 'strict' as const, secure: secure(request) });

  const sendFile = async (reply: FastifyReply, file: string, type: string, headers: Record<string, string>, transform?: (text: string) => string) => {
    let body: Buffer | string;
    try {
      body = await readFile(join(assetsDir, file));
    } catch {
      throw new MeridianError('ROUTE_NOT_FOUND', `The console bundle ${file} has not been built; run \`npm run build\``);
    }
    if (transform) body = transform(body.toString('utf8'));
    return reply.headers({ 'content-type': type, 'x-content-type-options': 'nosniff', ...headers }).send(body);
  };

  const signer = cookies.signerFactory(derivedKey(deps.adminKey, 'cookie'));
  // Tokens are bound to the login (its nonce): a token of another or an ended session is refused.
  const tokens = new Tokens({ userInfo: true, hmacKey: derivedKey(deps.adminKey, 'csrf hmac') });
  const csrfSecret = derivedKey(deps.adminKey, 'csrf secret');
  app.decorateRequest('consoleSession', null);
  // HTML forms post urlencoded bodies; only the login form is let through, everything
  // else keeps answering 415 UNSUPPORTED_MEDIA_TYPE.
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string', bodyLimit: 4_096 }, (request, body, done) => {
    if (request.routeOptions.url !== '/console/login') return done(new MeridianError('UNSUPPORTED_MEDIA_TYPE'), undefined);
    done(null, Object.fromEntries(new URLSearchParams(body as string)));
  });

  const sessionOf = (request: FastifyRequest): ConsoleSession | undefined => {
    const header = request.headers.cookie;
    if (!header || header.length > 8_192) return undefined;
    const raw = cookies.parse(header)[SESSION_COOKIE];
    if (!raw) return undefined;
    const unsigned = signer.unsign(raw);
    return unsigned.valid && unsigned.value !== null ? sessions.read(unsigned.value) : undefined;
  };
  const requireSession: onRequestHookHandler = (request, _reply, done) => {
    const session = sessionOf(request);
    if (!session) return done(new MeridianError('UNAUTHORIZED', 'Log in to the console first'));
    request.consoleSession = session;
    done();
  };
  const requireCsrf: onRequestHookHandler = (request, _reply, done) => {
    const token = request.headers['x-csrf-token'];
    const nonce = request.consoleSession?.nonce;
    if (typeof token !== 'string' || token.length > 256 || !nonce || !tokens.verify(csrfSecret, token, nonce)) {
      logger.warn({ ip: clientIp(request), method: request.method, url: request.routeOptions.url }, 'console request refused: no valid CSRF token');
      return done(new MeridianError('CSRF_INVALID'));
    }
    done();
  };
  const changing = [requireSession, requireCsrf];
  const setCookie = (reply: FastifyReply, name: string, value: string, opts: fastifyCookie.SerializeOptions) => {
    const prev = reply.getHeader('set-cookie');
    const list = prev === undefined ? [] : Array.isArray(prev) ? prev.map(String) : [String(prev)];
    reply.header('set-cookie', [...list, cookies.serialize(name, value, opts)]);
  };

  // ---------------------------------------------------------------- pages
  const loginPage = (reply: FastifyReply, error?: string) =>
    sendFile(reply, 'console/login.html', 'text/html; charset=utf-8', PAGE_HEADERS, (html) =>
      error ? html.replace('<p id="login-error" class="error" role="alert" hidden></p>', `<p id="login-error" class="error" role="alert">${error}</p>`) : html,
    );

  app.get('/console', (request, reply) => {
    if (!sessionOf(request)) return reply.redirect('/console/login', 303);
    return sendFile(reply, 'console/index.html', 'text/html; charset=utf-8', PAGE_HEADERS);
  });
  app.get('/console/', (_request, reply) => reply.redirect('/console', 301));
  app.get<{ Querystring: { failed?: string } }>('/console/login', (request, reply) => {
    if (sessionOf(request)) return reply.redirect('/console', 303);
    return loginPage(reply, request.query.failed !== undefined ? 'That is not the admin key.' : undefined);
  });
  for (const [name, asset] of Object.entries(ASSETS)) {
    app.get(`/console/assets/${name}`, (_request, reply) => sendFile(reply, asset.file, asset.type, { 'cache-control': 'no-cache' }));
  }

  app.post<{ Body: LoginBody }>('/console/login', { schema: { body: LoginBody } }, async (request, reply) => {
    // The key is compared and dropped: never logged, never echoed, never in a URL.
    if (!deps.auth.isAdminKey(request.body.key)) {
      logger.warn({ ip: clientIp(request) }, 'console login refused: not the admin key');
      // Post/redirect/get: the form comes back with the message, and a reload does not resend the key.
      return reply.redirect('/console/login?failed', 303);
    }
    const { session, value } = sessions.issue();
    logger.info({ ip: clientIp(request), expiresAt: new Date(session.expiresAt).toISOString() }, 'console login');
    setCookie(reply, SESSION_COOKIE, signer.sign(value), { ...cookieOptions(request), maxAge: Math.floor(sessions.ttlMs / 1000) });
    return reply.redirect('/console', 303);
  });

  app.post('/console/logout', { onRequest: changing }, async (request, reply) => {
    sessions.end(request.consoleSession!);
    setCookie(reply, SESSION_COOKIE, '', { ...cookieOptions(request), maxAge: 0, expires: new Date(0) });
    return reply.code(204).send();
  });

  // ---------------------------------------------------------------- API
  app.get('/console/api/session', { onRequest: requireSession }, async (request, reply) => {
    const session = request.consoleSession!;
    const csrfToken = tokens.create(csrfSecret, session.nonce);
    return reply.header('cache-control', 'no-store').send({ csrfToken, expiresAt: new Date(session.expiresAt).toISOString() });
  });

  app.get('/console/api/state', { onRequest: requireSession }, async (_request, reply) => reply.header('cache-control', 'no-store').send(await feed.snapshot()));

  app.get('/console/api/series', { onRequest: requireSession }, async (_request, reply) =>
    reply.header('cache-control', 'no-store').send({ intervalMs: settings.sampleIntervalMs, regions: feed.series() }),
  );

  app.get('/console/api/events', { onRequest: requireSession }, (request, reply) => {
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', connection: 'keep-alive', 'x-accel-buffering': 'no' });
    res.write(`retry: ${Math.max(1_000, settings.updateIntervalMs)}\n\n`);
    let ended = false;
    const end = () => {
      if (ended) return;
      ended = true;
      streams.delete(end);
      unsubscribe();
      res.end();
    };
    const push = (snapshot: ConsoleSnapshot) => {
      if (ended) return;
      // A session that expired (or logged out here) while the stream was open ends it.
      if (!sessionOf(request)) {
        res.write('event: expired\ndata: {}\n\n');
        return end();
      }
      res.write(`event: state\ndata: ${JSON.stringify(snapshot)}\n\n`);
    };
    const unsubscribe = feed.subscribe(push);
    streams.add(end);
    request.raw.on('close', end);
    void feed.snapshot().then(push);
  });

  app.get<{ Querystring: RankQuery }>('/console/api/rank', { onRequest: requireSession, schema: { querystring: RankQuery } }, async (request, reply) => {
    const q = new URLSearchParams({ ip: request.query.ip, count: String(request.query.count ?? 5) });
    return forward(app, deps.adminKey, 'GET', `/v1/regions/rank?${q}`, undefined, reply);
  });

  // The region planner (`GET /v1/admin/regions/plan`) where the deployment has one; a 404
  // becomes `{ available: false }` so the page hides its panel without a failed request.
  app.get('/console/api/plan', { onRequest: requireSession }, async (_request, reply) => {
    const res = await app.inject({ method: 'GET', url: '/v1/admin/regions/plan', headers: { authorization: `Bearer ${deps.adminKey}` } });
    reply.header('cache-control', 'no-store');
    if (res.statusCode === 404) return reply.send({ available: false });
    if (res.statusCode !== 200) return reply.code(res.statusCode).header('content-type', 'application/json; charset=utf-8').send(res.rawPayload);
    return reply.send({ available: true, plan: res.json() as unknown });
  });

  // Everything an operator does goes through the admin API, with the admin key held here.
  const adminPrefix = '/console/api/admin/';
  const toAdminUrl = (request: FastifyRequest): string => {
    const rest = request.url.slice(adminPrefix.length);
    const path = rest.split('?')[0]!;
    if (path.split('/').some((seg) => /^(\.|%2e){1,2}$/i.test(seg))) throw new MeridianError('ROUTE_NOT_FOUND');
    return `/v1/admin/${rest}`;
  };
  app.get(`${adminPrefix}*`, { onRequest: requireSession }, (request, reply) => forward(app, deps.adminKey, 'GET', toAdminUrl(request), undefined, reply));
  for (const method of ['POST', 'PATCH', 'DELETE'] as const) {
    app.route({
      method,
      url: `${adminPrefix}*`,
      onRequest: changing,
      handler: (request, reply) => {
        logger.info({ method, url: toAdminUrl(request) }, 'console action');
        return forward(app, deps.adminKey, method, toAdminUrl(request), request.body, reply);
      },
    });
  }
  return feed;
}

/** Sends `method url` through `app` with the admin key and relays the answer as it is. */
async function forward(app: FastifyInstance, adminKey: string, method: 'GET' | 'POST' | 'PATCH' | 'DELETE', url: string, body: unknown, reply: FastifyReply): Promise<FastifyReply> {
  const headers: Record<string, string> = { authorization: `Bearer ${adminKey}` };
  if (body !== undefined && body !== null) headers['content-type'] = 'application/json';
  const res = await app.inject({ method, url, headers, ...(body !== undefined && body !== null ? { payload: JSON.stringify(body) } : {}) });
  reply.code(res.statusCode).header('cache-control', 'no-store');
  for (const h of ['content-type', 'retry-after', 'location']) {
    const v = res.headers[h];
    if (typeof v === 'string') reply.header(h, v);
  }
  return reply.send(res.rawPayload);
}
