/** The one function that turns the configuration into an embedded or a distributed set of parts. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError, loadConfig } from '../../../src/config/index.js';
import { resolveDeployment } from '../../../src/apps/deployment.js';
import { createPlatform } from '../../../src/apps/wire.js';
import { createLogger } from '../../../src/lib/logger.js';
import { startSfuNodes } from '../../../src/apps/sfuRole.js';

const isConfigError = (key: string) => (err: unknown) => err instanceof ConfigError && err.key === key;
const NATS = 'nats://127.0.0.1:4222';

describe('resolveDeployment', () => {
  test('no transporter: in-process broker, PGlite in the data directory, wait-all readiness, nodes after the gateway port', () => {
    const d = resolveDeployment(loadConfig({ env: {}, overrides: { dataDir: 'memory://', port: 9000 } }));
    assert.equal(d.mode, 'embedded');
    assert.equal(d.brokerTransport, '');
    assert.deepEqual(d.database, { kind: 'pglite', dataDir: 'memory://' });
    assert.equal(d.readiness, 'wait-all');
    assert.equal(d.nodePortBase, 9001);
    assert.equal(d.roleRegion('autoscaler', undefined), undefined, 'an embedded autoscaler scales every region');
  });

  test('embedded without an admin key generates one (credentials.json is skipped for memory://)', () => {
    const d = resolveDeployment(loadConfig({ env: {}, overrides: { dataDir: 'memory://' } }));
    assert.match(d.adminKey(), /^ma_[A-Za-z0-9_-]{40,}$/);
  });

  test('embedded with a database URL shares PostgreSQL (several copies of one process)', () => {
    const d = resolveDeployment(loadConfig({ env: {}, overrides: { databaseUrl: 'postgres://127.0.0.1:5432/x' } }));
    assert.equal(d.mode, 'embedded');
    assert.deepEqual(d.database, { kind: 'postgres', url: 'postgres://127.0.0.1:5432/x' });
  });

  test('a transporter: broker over it, background readiness, no PGlite', async () => {
    const d = resolveDeployment(loadConfig({ env: { MERIDIAN_TRANSPORTER: NATS } }), { env: {} });
    assert.equal(d.mode, 'distributed');
    assert.equal(d.brokerTransport, NATS);
    assert.equal(d.database, undefined);
    assert.equal(d.readiness, 'background');
    await assert.rejects(d.openDatabase('role rooms'), isConfigError('databaseUrl'));
  });

  test('a distributed gateway must be given its admin key, of at least 16 characters', () => {
    assert.throws(() => resolveDeployment(loadConfig({ env: { MERIDIAN_TRANSPORTER: NATS } })).adminKey(), isConfigError('adminKey'));
    assert.throws(() => resolveDeployment(loadConfig({ env: { MERIDIAN_TRANSPORTER: NATS, MERIDIAN_ADMIN_KEY: 'short' } })).adminKey(), isConfigError('adminKey'));
    assert.equal(resolveDeployment(loadConfig({ env: { MERIDIAN_TRANSPORTER: NATS, MERIDIAN_ADMIN_KEY: 'k'.repeat(20) } })).adminKey(), 'k'.repeat(20));
  });

  test('distributed one-region roles need a region, from --region or MERIDIAN_REGION', () => {
    const config = loadConfig({ env: { MERIDIAN_TRANSPORTER: NATS } });
    assert.throws(() => resolveDeployment(config, { env: {} }).roleRegion('autoscaler', undefined), isConfigError('region'));
    assert.equal(resolveDeployment(config, { env: { MERIDIAN_REGION: 'eu-central-1' } }).roleRegion('sfu', undefined), 'eu-central-1');
    assert.equal(resolveDeployment(config, { env: { MERIDIAN_REGION: 'eu-central-1' } }).roleRegion('sfu', 'ap-south-1'), 'ap-south-1');
  });

  test('a distributed meeting node runs with its own id and key, never the master secret', async () => {
    const noKey = resolveDeployment(loadConfig({ env: { MERIDIAN_TRANSPORTER: NATS } }), { env: {} });
    await assert.rejects(noKey.meetingNodes({ broker: undefined as never, tokens: undefined, region: 'eu-central-1' }), isConfigError('sfu.nodeKey'));
    const key = Buffer.alloc(32, 7).toString('base64url');
    const d = resolveDeployment(loadConfig({ env: { MERIDIAN_TRANSPORTER: NATS, MERIDIAN_NODE_ID: 'eu-1', MERIDIAN_NODE_KEY: key, MERIDIAN_SFU_PORT: '7001' } }), { env: {} });
    assert.deepEqual(await d.meetingNodes({ broker: undefined as never, tokens: undefined, region: 'eu-central-1' }), [{ nodeId: 'eu-1', regionId: 'eu-central-1', nodeKey: key, port: 7001 }]);
  });

  test('the clock given is the clock every part uses', () => {
    const clock = { now: () => 42 };
    assert.equal(resolveDeployment(loadConfig({ env: {} }), { clock }).clock, clock);
  });

  test('a distributed role that keeps state refuses to start without a shared database, before touching the broker', async () => {
    const config = loadConfig({ env: { MERIDIAN_TRANSPORTER: NATS, MERIDIAN_LOG_LEVEL: 'silent' } });
    await assert.rejects(createPlatform({ config, roles: ['rooms'], logger: createLogger('silent') }), isConfigError('databaseUrl'));
  });

  test('a distributed autoscaler with neither a token secret nor a database refuses to start, naming tokens.secret', async () => {
    const config = loadConfig({ env: { MERIDIAN_TRANSPORTER: NATS, MERIDIAN_LOG_LEVEL: 'silent' } });
    await assert.rejects(createPlatform({ config, roles: ['autoscaler'], logger: createLogger('silent'), region: 'eu-central-1' }), isConfigError('tokens.secret'));
  });

  test('a node setting the node refuses stops start-up naming the platform key (sfu.iceAddress)', async () => {
    const config = loadConfig({ env: {}, overrides: { sfu: { iceAddress: '203.0.113.9' } } });
    const spec = { nodeId: 'eu-1', regionId: 'eu-central-1', nodeKey: Buffer.alloc(32, 1), port: 0 };
    // The settings are refused before the node exists, so the broker is never used.
    await assert.rejects(startSfuNodes(undefined as never, config, [spec], createLogger('silent')), (e: unknown) => isConfigError('sfu.iceAddress')(e) && /not an address of this machine/.test((e as Error).message));
  });
});
