/** The node's settings: defaults, validation naming the bad key, and freezing. */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { resolveSfuNodeSettings, SFU_NODE_DEFAULTS } from '../../../src/media/index.js';

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
  });

  test('refuses an ICE bind address that is not on this machine', () => {
    assert.throws(() => resolveSfuNodeSettings({ nodeId: 'n1', regionId: 'eu-central-1', ice: { bindAddress: '203.0.113.9' } }), /"ice\.bindAddress".*not an address of this machine/);
  });
});
