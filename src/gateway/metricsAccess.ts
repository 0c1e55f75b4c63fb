/**
 * Who may read `/metrics`: every loopback caller, and others only with the bearer token
 * `http.metricsToken` (the figures name regions, nodes and load). One rule for the gateway's
 * route and the probe listener of roles without a gateway.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { MeridianError } from '../contracts/index.js';
import { bearerKey } from './auth.js';
import { isLoopbackAddress } from './clientIp.js';

const digest = (v: string): Buffer => createHash('sha256').update(v, 'utf8').digest();

/** Returns a check that throws `FORBIDDEN` / `UNAUTHORIZED` for a caller who may not read metrics. */
export function metricsAccess(token: string): (ip: string, authorization: string | undefined) => void {
  const expected = token ? digest(token) : undefined;
  return (ip, authorization) => {
    if (isLoopbackAddress(ip)) return;
    if (!expected) throw new MeridianError('FORBIDDEN', '/metrics answers loopback callers only; set http.metricsToken to scrape it from elsewhere');
    const given = bearerKey(authorization);
    if (!given || !timingSafeEqual(digest(given), expected)) throw new MeridianError('UNAUTHORIZED', 'Send the metrics token as "Authorization: Bearer <token>"');
  };
}
