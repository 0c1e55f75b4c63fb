/**
 * The network prefix a client address belongs to: IPv4 /24, IPv6 /48. Measurements are
 * learned and kept per prefix, never per address: a /24 or /48 is the smallest block that
 * is routed as one on the Internet, so clients in it share a path to each region, and a
 * prefix does not identify a person the way an address can.
 *
 * IPv6 forms that carry an IPv4 address (`::ffff:a.b.c.d`, NAT64, 6to4) give the IPv4 /24,
 * as the locator looks them up as that address.
 */
import { isIP } from 'node:net';
import { embeddedV4 } from './GeoIpLocator.js';
import { intToIpv4, ipv6Range, ipv6ToWords } from './IpRanges.js';

/** `a.b.c.0/24` or `x:y:z::/48` for a valid literal; `undefined` for anything else. */
export function networkPrefix(ip: string): string | undefined {
  const family = isIP(ip);
  if (family === 4) return `${ip.slice(0, ip.lastIndexOf('.'))}.0/24`;
  if (family !== 6) return undefined;
  const words = ipv6ToWords(ip);
  const v4 = embeddedV4(words, ipv6Range(words));
  if (v4 >= 0) return `${intToIpv4(v4 & 0xffffff00)}/24`;
  return `${words[0]!.toString(16)}:${words[1]!.toString(16)}:${words[2]!.toString(16)}::/48`;
}
