/**
 * How many TCP connections each client address holds on the signaling port, with a cap: one
 * host cannot take the node's sockets (file descriptors, memory, upgrade slots) from
 * everyone else. Counted from accept to close, whatever the connection is doing (waiting for
 * its upgrade, joined, a plain HTTP request). IPv6 clients are counted per /64, the block one
 * subscriber typically gets: counting single addresses would let one host use 2^64 of them.
 */
import ipaddr from 'ipaddr.js';

/** The key a connection from `remote` is counted under. */
export function addressKey(remote: string | undefined): string {
  if (!remote) return 'unknown';
  let parsed: ipaddr.IPv4 | ipaddr.IPv6;
  try {
    parsed = ipaddr.parse(remote);
  } catch {
    return remote;
  }
  if (parsed.kind() === 'ipv4') return parsed.toString();
  const v6 = parsed as ipaddr.IPv6;
  if (v6.isIPv4MappedAddress()) return v6.toIPv4Address().toString();
  return `${v6.parts
    .slice(0, 4)
    .map((p) => p.toString(16))
    .join(':')}::/64`;
}

/** Open connections per client address, at most `max` each. */
export class ConnectionsPerAddress {
  readonly #max: number;
  readonly #counts = new Map<string, number>();

  constructor(max: number) {
    this.#max = max;
  }

  /** Counts a new connection from `remote`; returns its key, or undefined when the address is at the cap. */
  tryAcquire(remote: string | undefined): string | undefined {
    const key = addressKey(remote);
    const n = this.#counts.get(key) ?? 0;
    if (n >= this.#max) return undefined;
    this.#counts.set(key, n + 1);
    return key;
  }

  /** A connection counted under `key` closed. */
  release(key: string): void {
    const n = this.#counts.get(key) ?? 0;
    if (n <= 1) this.#counts.delete(key);
    else this.#counts.set(key, n - 1);
  }

  /** Connections counted for `remote` now. */
  count(remote: string | undefined): number {
    return this.#counts.get(addressKey(remote)) ?? 0;
  }
}
