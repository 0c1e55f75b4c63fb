import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError, loadConfig } from '../../../src/config/index.js';
import { createLogger } from '../../../src/lib/logger.js';
import { createPlatform } from '../../../src/apps/wire.js';
import { EMBEDDED_ROLES } from '../../../src/apps/roles.js';

const isConfigError = (key: string, message?: RegExp) => (err: unknown) => err instanceof ConfigError && err.key === key && (!message || message.test(err.message));

describe('autoscaler configuration', () => {
  test('minNodes above maxNodes stops start-up with a message naming the key', () => {
    assert.throws(() => loadConfig({ env: { MERIDIAN_AUTOSCALER_MIN_NODES: '5', MERIDIAN_AUTOSCALER_MAX_NODES: '3' } }), isConfigError('autoscaler.minNodes', /must not exceed autoscaler\.maxNodes \(got minNodes 5 > maxNodes 3\)/));
  });

  test('a negative headroom stops start-up with a message naming the key', () => {
    assert.throws(() => loadConfig({ env: { MERIDIAN_AUTOSCALER_HEADROOM: '-0.2' } }), isConfigError('autoscaler.headroom', /-0\.2/));
    assert.throws(() => loadConfig({ env: {}, overrides: { autoscaler: { headroom: -1 } } }), isConfigError('autoscaler.headroom'));
  });

  test('an unknown key in the autoscaler section is refused by name', () => {
    assert.throws(() => loadConfig({ env: {}, overrides: { autoscaler: { maxNode: 3 } } as never }), isConfigError('autoscaler.maxNode', /unknown setting/));
  });

  test('an unknown policy stops the platform from starting, naming autoscaler.policy', async () => {
    const config = loadConfig({ env: {}, overrides: { dataDir: 'memory://', logLevel: 'silent', adminKey: 'test-admin-key-0123456789abcdef', autoscaler: { policy: 'crystal-ball' } } as never });
    await assert.rejects(
      createPlatform({ config, roles: [...EMBEDDED_ROLES, 'autoscaler'], logger: createLogger('silent'), listen: false, bootstrap: false }),
      isConfigError('autoscaler.policy', /unknown scaling policy "crystal-ball"; known policies: predictive, reactive/),
    );
  });

  test('the Kubernetes provider is refused with a pointer to its design', async () => {
    const config = loadConfig({ env: { MERIDIAN_AUTOSCALER_PROVIDER: 'kubernetes' }, overrides: { dataDir: 'memory://', logLevel: 'silent', adminKey: 'test-admin-key-0123456789abcdef' } as never });
    await assert.rejects(
      createPlatform({ config, roles: [...EMBEDDED_ROLES, 'autoscaler'], logger: createLogger('silent'), listen: false, bootstrap: false }),
      isConfigError('autoscaler.provider', /docs\/autoscaler\.md/),
    );
  });
});
