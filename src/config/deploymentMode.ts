/**
 * The one test of which deployment a configuration describes. Embedded: every service in one
 * process on an in-process broker. Distributed: roles in separate processes that meet over
 * the configured transporter. `src/apps/deployment.ts` turns the mode into the parts the
 * wiring needs; nothing else asks.
 */
import type { Config } from './schema.js';

/** `embedded` (`meridian start`) or `distributed` (`meridian serve --role …`). */
export type DeploymentMode = 'embedded' | 'distributed';

/** The mode a configuration describes: distributed exactly when a transporter is set. */
export function deploymentMode(config: Pick<Config, 'transporter'>): DeploymentMode {
  return config.transporter ? 'distributed' : 'embedded';
}

/**
 * `http.demo` when no source sets it: the demo page is on for a newcomer's embedded start and
 * off in a distributed installation unless asked for.
 */
export const DEMO_BY_DEFAULT: Readonly<Record<DeploymentMode, boolean>> = { embedded: true, distributed: false };

/**
 * `host` when no source sets it. An embedded start is one person trying Meridian on their
 * machine: nothing (the demo route, the API, the meeting nodes) is reachable from the network
 * until they say so (`MERIDIAN_HOST=0.0.0.0`). A distributed installation listens everywhere.
 */
export const HOST_BY_DEFAULT: Readonly<Record<DeploymentMode, string>> = { embedded: '127.0.0.1', distributed: '0.0.0.0' };

/** True for a loopback literal (`127.x.x.x`, `::1`, `localhost`). */
export function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

/**
 * `sfu.iceAddress` when no source sets it: an embedded platform whose gateway listens on
 * loopback has its nodes announce loopback for media too (opening the gateway with
 * `MERIDIAN_HOST` opens media on every interface); otherwise every non-loopback interface.
 */
export function defaultIceAddress(mode: DeploymentMode, host: string): string {
  if (mode !== 'embedded' || !isLoopbackHost(host)) return '';
  return host === '::1' ? '::1' : '127.0.0.1';
}
