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
