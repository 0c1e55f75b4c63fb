/**
 * Which local addresses ICE can announce. A browser on this machine does not offer
 * loopback candidates, so a node bound only to 127.0.0.1 is unreachable from it; the node
 * checks its ICE bind address against the machine's interfaces at start-up and logs the
 * addresses it will announce.
 */
import { networkInterfaces } from 'node:os';

/** One usable interface address. */
export interface HostAddress {
  readonly interface: string;
  readonly address: string;
  readonly family: 'IPv4' | 'IPv6';
  readonly internal: boolean;
}

/** Every address of every interface (link-local IPv6 left out: ICE does not use them). */
export function hostAddresses(): HostAddress[] {
  const out: HostAddress[] = [];
  for (const [name, infos] of Object.entries(networkInterfaces())) {
    for (const info of infos ?? []) {
      if (info.family === 'IPv6' && info.address.toLowerCase().startsWith('fe80:')) continue;
      out.push({ interface: name, address: info.address, family: info.family, internal: info.internal });
    }
  }
  return out;
}

/**
 * The addresses ICE will announce for `bindAddress`: that address alone, or every
 * non-internal address when unset or a wildcard.
 */
export function announcedIceAddresses(bindAddress: string | undefined): string[] {
  if (bindAddress && bindAddress !== '0.0.0.0' && bindAddress !== '::') return [bindAddress];
  return hostAddresses()
    .filter((a) => !a.internal)
    .map((a) => a.address);
}

/** True when `address` is a wildcard or belongs to an interface of this machine. */
export function isLocalAddress(address: string): boolean {
  if (address === '0.0.0.0' || address === '::') return true;
  return hostAddresses().some((a) => a.address === address);
}
