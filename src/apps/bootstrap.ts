/**
 * Start-up steps that run once the broker is up: the first start of an empty installation,
 * and waiting for this process's meeting nodes to register.
 */
import type { ServiceBroker } from 'moleculer';
import { ConfigError, type Config } from '../config/index.js';
import { Actions } from '../contracts/index.js';
import { call } from '../fabric/index.js';
import type { Clock } from '../lib/clock.js';
import type { Logger } from '../lib/logger.js';
import type { DatabaseHandle } from '../storage/index.js';
import { findAwsRegion } from '../control/provider/awsRegions.js';
import type { Deployment } from './deployment.js';

/**
 * First start of an empty installation: the default regions and a first app key. A marker
 * row makes it happen once, even if the operator later removes every region. Returns the app
 * key when this call created it.
 */
export async function bootstrap(
  broker: ServiceBroker,
  database: DatabaseHandle,
  config: Readonly<Config>,
  deployment: Pick<Deployment, 'clock' | 'recordFirstAppKey'>,
  logger: Logger,
): Promise<string | undefined> {
  const marker = await database.db
    .insertInto('secrets')
    .values({ name: 'bootstrapped_at', value: new Date(deployment.clock.now()).toISOString() })
    .onConflict((oc) => oc.column('name').doNothing())
    .returning('name')
    .executeTakeFirst();
  if (!marker) return undefined;
  for (const id of config.regions.defaults) {
    const aws = findAwsRegion(id);
    if (!aws) throw new ConfigError('regions.defaults', `unknown AWS region '${id}'`);
    await call(broker, Actions.regions.add, { id: aws.id, name: aws.name, lat: aws.lat, lon: aws.lon });
  }
  const { key, appId } = await call(broker, Actions.auth.createKey, { appId: 'default', label: 'first app key' });
  deployment.recordFirstAppKey(key, appId);
  logger.info({ regions: config.regions.defaults }, 'first start: default regions and an app key created');
  return key;
}

/** Waits until the registry lists every node as healthy (their first heartbeat arrived). */
export async function waitForNodes(broker: ServiceBroker, nodeIds: readonly string[], timeoutMs: number, clock: Clock): Promise<void> {
  const deadline = clock.now() + timeoutMs;
  for (;;) {
    const { regions } = await call(broker, Actions.regions.list, {});
    const healthy = new Set(regions.flatMap((r) => r.nodes.filter((n) => n.healthy).map((n) => n.id)));
    if (nodeIds.every((id) => healthy.has(id))) return;
    if (clock.now() > deadline) throw new Error(`meeting nodes did not register within ${timeoutMs} ms: ${nodeIds.filter((id) => !healthy.has(id)).join(', ')}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
