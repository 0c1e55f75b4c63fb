/**
 * The demo join route when a page joins again (node lost, or told to migrate): it keeps the
 * page's participant id, but only one this route handed out (`demo-…`), so a page cannot
 * pose as an app's own user.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { FastifyInstance } from 'fastify';
import { registerDemoRoutes } from '../../../src/apps/demo/index.js';
import type { Platform } from '../../../src/apps/wire.js';
import { createGateway } from '../../../src/gateway/index.js';
import { createLogger } from '../../../src/lib/logger.js';
import { heartbeat, startTestPlatform, TEST_ADMIN_KEY } from '../../helpers/platform.js';

let platform: Platform;
let app: FastifyInstance;
before(async () => {
  platform = await startTestPlatform({ nodes: { heartbeatTimeoutMs: 600_000 } });
  for (const r of ['us-east-1', 'eu-central-1', 'ap-south-1']) await heartbeat(platform, `${r}-n1`, r);
  const config = { ...platform.config, http: { ...platform.config.http, demo: true } };
  app = await createGateway({
    broker: platform.broker,
    config,
    logger: createLogger('silent'),
    adminKey: TEST_ADMIN_KEY,
    isReady: () => true,
    processMetrics: false,
    extraRoutes: (a) => registerDemoRoutes(a, { broker: platform.broker, config }),
  });
});
after(async () => {
  await app.close();
  await platform.close();
});

const demoJoin = (payload: Record<string, unknown>) => app.inject({ method: 'POST', url: '/demo/join', payload });
const subOf = (token: string) => (JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as { sub: string }).sub;

test('a page joining again with its demo participant id keeps it, with reason and previous node', async () => {
  const first = await demoJoin({ meetingId: 'demo-rejoin', name: 'Ann', asIfFrom: 'mumbai' });
  assert.equal(first.statusCode, 200, first.body);
  const id = subOf(first.json().token);
  const again = await demoJoin({ meetingId: 'demo-rejoin', name: 'Ann', asIfFrom: 'mumbai', participantId: id, reason: 'migrate', previousNodeId: first.json().node.id });
  assert.equal(again.statusCode, 200, again.body);
  assert.equal(subOf(again.json().token), id);
  assert.equal(again.json().node.id, first.json().node.id);
});

test('a participant id this route did not hand out is refused with VALIDATION_FAILED', async () => {
  for (const participantId of ['alice', 'demo-', 'demo-a b', `demo-${'x'.repeat(101)}`]) {
    const res = await demoJoin({ meetingId: 'demo-rejoin', name: 'Mallory', participantId });
    assert.equal(res.statusCode, 400, participantId);
    assert.equal(res.json().error.code, 'VALIDATION_FAILED');
  }
  const badReason = await demoJoin({ meetingId: 'demo-rejoin', name: 'Ann', reason: 'because' });
  assert.equal(badReason.statusCode, 400);
});
