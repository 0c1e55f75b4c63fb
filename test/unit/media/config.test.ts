/** The node's settings: defaults, validation naming the bad key, and freezing. */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { resolveSfuNodeSettings, SFU_NODE_DEFAULTS, SfuNodeSettingsError } from '../../../src/media/index.js';
import { ConfigError, DEFAULTS, loadConfig } from '../../../src/config/index.js';

describe('SFU node settings', () => {
  test('fills defaults and freezes the result', () => {
    const s = resolveSfuNodeSettings({ nodeId: 'n1', regionId: 'eu-central-1', ice: { bindAddress: '127.0.0.1' } });
    assert.equal(s.signaling.path, SFU_NODE_DEFAULTS.signaling.path);
    assert.equal(s.ice.bindAddress, '127.0.0.1');
    assert.ok(s.heartbeatIntervalMs <= 2_000);
    assert.ok(Object.isFrozen(s) && Object.isFrozen(s.ice));
  });

  test('a bad value stops start-up with a message naming the key', () => {
    assert.throws(() => resolveSfuNodeSettings({ nodeId: 'n1', regionId: 'eu-central-1', heartbeatIntervalMs: 5_000 }), /"heartbeatIntervalMs"/);
    assert.throws(() => resolveSfuNodeSettings({ nodeId: 'n1', regionId: 'EU!' }), /"regionId"/);
    assert.throws(() => resolveSfuNodeSettings({ nodeId: 'n1', regionId: 'eu-central-1', signaling: { maxMessageBytes: 10 } }), /"signaling\.maxMessageBytes"/);
    assert.throws(() => resolveSfuNodeSettings({ nodeId: 'n1', regionId: 'eu-central-1', ice: { portRangeBegin: 40_000 } }), /"ice\.portRangeEnd"/);
    assert.throws(() => resolveSfuNodeSettings({ nodeId: 'n1', regionId: 'eu-central-1', ice: { udpMux: true } }), /"ice\.udpMux"/);
    // Node's HTTP server requires its headers timeout (the upgrade timeout) within the request timeout.
    assert.throws(() => resolveSfuNodeSettings({ nodeId: 'n1', regionId: 'eu-central-1', signaling: { upgradeTimeoutMs: 20_000, requestTimeoutMs: 10_000 } }), /"signaling\.requestTimeoutMs"/);
    assert.throws(() => resolveSfuNodeSettings({ nodeId: 'n1', regionId: 'eu-central-1', tokens: { maxTtlSeconds: 86_400 } }), /"tokens\.maxTtlSeconds"/);
  });

  test('refuses an ICE bind address that is not on this machine', () => {
    assert.throws(() => resolveSfuNodeSettings({ nodeId: 'n1', regionId: 'eu-central-1', ice: { bindAddress: '203.0.113.9' } }), /"ice\.bindAddress".*not an address of this machine/);
  });
});

describe('one schema for node settings', () => {
  test('the platform config refuses what the node refuses, naming its own key', () => {
    const refused = (key: string) => (e: unknown) => e instanceof ConfigError && e.key === key;
    // capacity 0 would make the autoscaler divide by zero; the node refuses it too.
    assert.throws(() => loadConfig({ env: { MERIDIAN_SFU_CAPACITY: '0' } }), refused('sfu.capacity'));
    assert.throws(() => resolveSfuNodeSettings({ nodeId: 'n1', regionId: 'eu-central-1', capacity: 0 }), /"capacity"/);
    assert.throws(() => loadConfig({ env: {}, overrides: { sfu: { publicUrl: `ws://${'a'.repeat(2048)}` } } }), refused('sfu.publicUrl'));
    assert.throws(() => loadConfig({ env: { MERIDIAN_NODE_ID: 'bad id' } }), refused('sfu.nodeId'));
    assert.throws(() => loadConfig({ env: { MERIDIAN_SFU_MAX_CONNECTIONS_PER_ADDRESS: '0' } }), refused('sfu.maxConnectionsPerAddress'));
  });

  test('the platform defaults are the node defaults', () => {
    assert.equal(DEFAULTS.sfu.capacity, SFU_NODE_DEFAULTS.capacity);
    assert.equal(DEFAULTS.sfu.graceMs, SFU_NODE_DEFAULTS.graceMs);
    assert.equal(DEFAULTS.sfu.iceAddress, SFU_NODE_DEFAULTS.ice.bindAddress);
    assert.equal(DEFAULTS.sfu.maxConnectionsPerAddress, SFU_NODE_DEFAULTS.signaling.maxConnectionsPerAddress);
    assert.equal(DEFAULTS.tokens.ttlSeconds, SFU_NODE_DEFAULTS.tokens.maxTtlSeconds);
  });

  test('a bad setting is an SfuNodeSettingsError carrying the key', () => {
    assert.throws(
      () => resolveSfuNodeSettings({ nodeId: 'n1', regionId: 'eu-central-1', ice: { bindAddress: '203.0.113.9' } }),
      (e: unknown) => e instanceof SfuNodeSettingsError && e.key === 'ice.bindAddress',
    );
  });
});
