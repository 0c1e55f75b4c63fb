import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig, ConfigError, DEFAULTS } from '../../../src/config/index.js';

test('defaults apply when nothing is set', () => {
  const c = loadConfig({ env: {} });
  assert.equal(c.port, 8080);
  assert.equal(c.dataDir, './data');
  assert.deepEqual(c.regions.defaults, DEFAULTS.regions.defaults);
});

test('environment variables override defaults, with types', () => {
  const c = loadConfig({ env: { MERIDIAN_PORT: '9090', MERIDIAN_TRUSTED_PROXIES: '127.0.0.1, 10.0.0.0/8', MERIDIAN_DEMO: 'false', MERIDIAN_FALLBACK_LAT: '12.5' } });
  assert.equal(c.port, 9090);
  assert.deepEqual(c.trustedProxies, ['127.0.0.1', '10.0.0.0/8']);
  assert.equal(c.http.demo, false);
  assert.equal(c.geoip.fallback.lat, 12.5);
});

test('a bad port stops start-up with a message naming the key', () => {
  assert.throws(() => loadConfig({ env: { MERIDIAN_PORT: 'eighty' } }), (err: unknown) => err instanceof ConfigError && err.key === 'port' && /MERIDIAN_PORT/.test(err.message));
  assert.throws(() => loadConfig({ env: { MERIDIAN_PORT: '70000' } }), (err: unknown) => err instanceof ConfigError && err.key === 'port');
});

test('a config file is read, and an unknown key in it is refused by name', () => {
  const dir = mkdtempSync(join(tmpdir(), 'meridian-cfg-'));
  const good = join(dir, 'good.json');
  writeFileSync(good, JSON.stringify({ geoip: { cacheSize: 10 } }));
  assert.equal(loadConfig({ env: {}, file: good }).geoip.cacheSize, 10);
  const bad = join(dir, 'bad.json');
  writeFileSync(bad, JSON.stringify({ geoip: { cacheSzie: 10 } }));
  assert.throws(() => loadConfig({ env: {}, file: bad }), (err: unknown) => err instanceof ConfigError && err.key === 'geoip.cacheSzie');
});

test('out-of-range nested values are refused by their dotted key', () => {
  assert.throws(() => loadConfig({ env: {}, overrides: { geoip: { fallback: { lat: 123, lon: 0, label: 'x' } } } }), (err: unknown) => err instanceof ConfigError && err.key === 'geoip.fallback.lat');
});

test('the loaded config is frozen', () => {
  const c = loadConfig({ env: {} });
  assert.throws(() => {
    (c as { port: number }).port = 1;
  });
  assert.throws(() => {
    (c.geoip as { cacheSize: number }).cacheSize = 1;
  });
});

test('every environment variable is documented in docs/configuration.md', async () => {
  const { readFileSync } = await import('node:fs');
  const { ENV_VARS } = await import('../../../src/config/index.js');
  const doc = readFileSync(new URL('../../../docs/configuration.md', import.meta.url), 'utf8');
  assert.deepEqual(ENV_VARS.filter(([name, key]) => !doc.includes(`\`${name}\``) || !doc.includes(`\`${key}\``)).map(([n]) => n), []);
});

test('the demo route is on by default in embedded mode and off in distributed mode unless asked for', () => {
  assert.equal(loadConfig({ env: {} }).http.demo, true);
  assert.equal(loadConfig({ env: { MERIDIAN_TRANSPORTER: 'nats://127.0.0.1:4222' } }).http.demo, false);
  assert.equal(loadConfig({ env: { MERIDIAN_TRANSPORTER: 'nats://127.0.0.1:4222', MERIDIAN_DEMO: 'true' } }).http.demo, true);
});

test('an embedded start listens on loopback and its nodes announce loopback for media unless told otherwise', () => {
  const embedded = loadConfig({ env: {} });
  assert.equal(embedded.host, '127.0.0.1');
  assert.equal(embedded.sfu.iceAddress, '127.0.0.1');
  // Opening the gateway to the network on purpose opens media on every interface too.
  const open = loadConfig({ env: { MERIDIAN_HOST: '0.0.0.0' } });
  assert.equal(open.host, '0.0.0.0');
  assert.equal(open.sfu.iceAddress, '');
  // An explicit ICE address wins whatever the host (no node is started here: these are only settings).
  const allInterfaces = '';
  assert.equal(loadConfig({ env: { ['MERIDIAN_ICE_ADDRESS']: allInterfaces } }).sfu.iceAddress, '127.0.0.1', 'an empty variable counts as unset');
  assert.equal(loadConfig({ env: {}, overrides: { sfu: { ['iceAddress']: allInterfaces } } }).sfu.iceAddress, '', 'an empty override is a choice');
  assert.equal(loadConfig({ env: { MERIDIAN_HOST: '0.0.0.0', MERIDIAN_ICE_ADDRESS: '127.0.0.1' } }).sfu.iceAddress, '127.0.0.1');
});

test('a distributed installation keeps listening everywhere by default', () => {
  const c = loadConfig({ env: { MERIDIAN_TRANSPORTER: 'nats://127.0.0.1:4222' } });
  assert.equal(c.host, '0.0.0.0');
  assert.equal(c.sfu.iceAddress, '');
  assert.equal(loadConfig({ env: { MERIDIAN_TRANSPORTER: 'nats://127.0.0.1:4222', MERIDIAN_HOST: '127.0.0.1' } }).host, '127.0.0.1');
});

test('a headers timeout longer than the request timeout is refused by name', () => {
  assert.throws(
    () => loadConfig({ env: { MERIDIAN_HEADERS_TIMEOUT_MS: '20000', MERIDIAN_REQUEST_TIMEOUT_MS: '10000' } }),
    (err: unknown) => err instanceof ConfigError && err.key === 'http.headersTimeoutMs',
  );
});

test('cascade: on by default with a 40 ms gain; the relay refresh is independent of the token lifetime (it carries no tokens)', () => {
  const c = loadConfig({ env: {} });
  assert.deepEqual(c.cascade, { enabled: true, gainMs: 40, maxNodesPerMeeting: 8, relayRefreshMs: 20_000 });
  assert.equal(loadConfig({ env: { MERIDIAN_CASCADE: 'false', MERIDIAN_CASCADE_GAIN_MS: '25' } }).cascade.gainMs, 25);
  assert.equal(loadConfig({ env: { MERIDIAN_CASCADE: 'false' } }).cascade.enabled, false);
  assert.equal(loadConfig({ env: { MERIDIAN_TOKEN_TTL_SECONDS: '10' } }).cascade.relayRefreshMs, 20_000);
  assert.equal(loadConfig({ env: { MERIDIAN_TOKEN_TTL_SECONDS: '30' }, overrides: { cascade: { relayRefreshMs: 60_000 } } as never }).cascade.relayRefreshMs, 60_000);
  assert.throws(() => loadConfig({ env: {}, overrides: { cascade: { relayRefreshMs: 500 } } as never }), (err: unknown) => err instanceof ConfigError && err.key === 'cascade.relayRefreshMs');
  assert.throws(() => loadConfig({ env: {}, overrides: { cascade: { maxNodesPerMeeting: 0 } } as never }), (err: unknown) => err instanceof ConfigError && err.key === 'cascade.maxNodesPerMeeting');
});
