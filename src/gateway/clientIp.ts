/**
 * The client's address. Fastify computes `request.ip` with its `trustProxy` option: the
 * `X-Forwarded-For` chain is walked from the socket peer backwards and only hops from
 * trusted proxies are skipped, so a client cannot place itself anywhere by sending the
 * header directly. We only translate the config and tidy the result.
 */
import { isIP } from 'node:net';
import type { FastifyRequest } from 'fastify';
import { ConfigError } from '../config/index.js';
import { MeridianError } from '../contracts/index.js';

/**
 * Fastify's `trustProxy` value for `config.trustedProxies` (IPs, CIDRs, or proxy-addr's
 * names `loopback`, `linklocal`, `uniquelocal`). Empty → trust nobody. Throws
 * {@link ConfigError} for an entry that is not an address or range.
 */
export function trustProxyOption(trusted: readonly string[]): false | string[] {
  if (trusted.length === 0) return false;
  for (const entry of trusted) {
    if (!isTrustEntry(entry)) throw new ConfigError('trustedProxies', `${JSON.stringify(entry)} is not an IP address, CIDR range or one of ${[...NAMED_RANGES].join(', ')}`);
  }
  return [...trusted];
}

const NAMED_RANGES = new Set(['loopback', 'linklocal', 'uniquelocal']);

function isTrustEntry(entry: string): boolean {
  if (NAMED_RANGES.has(entry)) return true;
  const slash = entry.indexOf('/');
  if (slash < 0) return isIP(entry) !== 0;
  const family = isIP(entry.slice(0, slash));
  const suffix = entry.slice(slash + 1);
  if (family === 0) return false;
  if (/^\d{1,3}$/.test(suffix)) return Number(suffix) <= (family === 4 ? 32 : 128);
  return family === 4 && isIP(suffix) === 4; // a netmask such as 255.255.255.0
}

/** `request.ip` per request: Fastify walks the X-Forwarded-For chain again on every read. */
const addresses = new WeakMap<FastifyRequest, string>();

/**
 * `request.ip` (the `trustedProxies` rules applied), computed once per request however many
 * limits and routes ask for it.
 */
export function requestAddress(request: FastifyRequest): string {
  let ip = addresses.get(request);
  if (ip === undefined) {
    ip = request.ip;
    addresses.set(request, ip);
  }
  return ip;
}

/**
 * The client's IP as a plain literal: IPv4-mapped IPv6 (`::ffff:1.2.3.4`, what a
 * dual-stack socket reports for IPv4 peers) becomes `1.2.3.4`. A trusted proxy that
 * forwards garbage yields `INVALID_IP` rather than a request located nowhere.
 */
export function clientIp(request: FastifyRequest): string {
  const ip = requestAddress(request);
  if (ip.startsWith('::ffff:') && isIP(ip.slice(7)) === 4) return ip.slice(7);
  if (isIP(ip) === 0) throw new MeridianError('INVALID_IP', 'The client address (from X-Forwarded-For) is not an IP address');
  return ip;
}

/** True for a loopback peer (`127.0.0.0/8`, `::1`, or either mapped into IPv6). */
export function isLoopbackAddress(ip: string): boolean {
  const plain = ip.startsWith('::ffff:') ? ip.slice(7) : ip;
  return plain === '::1' || (isIP(plain) === 4 && plain.startsWith('127.'));
}
