/** Starts an SfuNode for tests: loopback ICE, random port, silent logs, short timers. */
import { createLogger } from '../../../../src/lib/logger.js';
import { SfuNode, type SfuNodeOptions } from '../../../../src/media/index.js';
import { NODE_KEY } from './tokens.js';
import { LOOPBACK_ICE } from '../../../helpers/media.js';

export async function startNode(overrides: Partial<SfuNodeOptions> = {}): Promise<SfuNode> {
  const node = new SfuNode({
    nodeId: 'node-test-1',
    regionId: 'eu-central-1',
    host: '127.0.0.1',
    port: 0,
    capacity: 20,
    graceMs: 200,
    nodeKey: NODE_KEY,
    logger: createLogger((process.env.TEST_LOG_LEVEL as 'silent' | undefined) ?? 'silent'),
    ice: LOOPBACK_ICE,
    ...overrides,
  });
  await node.start();
  return node;
}
