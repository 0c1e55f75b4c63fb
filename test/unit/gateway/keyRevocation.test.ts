/**
 * App-key revocation: `DELETE /v1/admin/keys/:keyId` refuses the key on the very next
 * request although the gateway's verification cache (30 s) still held it, because the
 * `auth.keyRevoked` event drops it; and the event reaches gateways on other brokers.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { FastifyInstance } from 'fastify';
import type { ServiceBroker } from 'moleculer';
import { Command } from 'commander';
import { startTestPlatform, TEST_ADMIN_KEY } from '../../helpers/platform.js';
import { waitFor } from '../../helpers/waitFor.js';
import { ManualClock } from '../../helpers/clock.js';
import type { Platform } from '../../../src/apps/wire.js';
import { createBroker } from '../../../src/fabric/index.js';
import { createDatabase, type DatabaseHandle } from '../../../src/storage/index.js';
import { ApiKeyStore, createAuthService } from '../../../src/control/auth/index.js';
import { createGateway } from '../../../src/gateway/index.js';
import { AppKeyVerifier } from '../../../src/gateway/AppKeyVerifier.js';
import { DEFAULTS } from '../../../src/config/index.js';
import { MeridianError, type KeyCreateResult, type KeyInfo } from '../../../src/contracts/index.js';
import { registerClientCommands, type CliIo } from '../../../src/apps/cli/commands/index.js';
import { silent } from './fakeServices.js';

const bearer = (key: string) => ({ authorization: `Bearer ${key}` });
/** An app route: 404 MEETING_NOT_FOUND proves the key was accepted, 401 that it was refused. */
const probe = (app: FastifyInstance, key: string) => app.inject({ method: 'GET', url: '/v1/meetings/nothing-here', headers: bearer(key) });

describe('app key revocation through the admin API', () => {
  let p: Platform;
  let app: FastifyInstance;
  before(async () => {
    p = await startTestPlatform();
    app = p.gateway!;
  });
  after(() => p.close());

  const createKey = async (label?: string): Promise<KeyCreateResult> => {
    const res = await app.inject({ method: 'POST', url: '/v1/admin/keys', headers: bearer(TEST_ADMIN_KEY), payload: { appId: 'acme', ...(label ? { label } : {}) } });
    assert.equal(res.statusCode, 201, res.body);
    return res.json();
  };

  test('a revoked key gets 401 on the next request, though the gateway had it cached', async () => {
    const created = await createKey();
    assert.equal((await probe(app, created.key)).statusCode, 404);
    const revoke = await app.inject({ method: 'DELETE', url: `/v1/admin/keys/${created.keyId}`, headers: bearer(TEST_ADMIN_KEY) });
    assert.equal(revoke.statusCode, 200, revoke.body);
    assert.equal(revoke.json().keyId, created.keyId);
    assert.ok(revoke.json().revokedAt);
    const after = await probe(app, created.key);
    assert.equal(after.statusCode, 401);
    assert.equal(after.json().error.code, 'UNAUTHORIZED');
  });

  test('keys are listed with app, label, creation, last use and revocation, never the key', async () => {
    const used = await createKey('ci runner');
    const unused = await createKey();
    assert.equal((await probe(app, used.key)).statusCode, 404);
    const listed = await waitFor('last use recorded', async () => {
      const res = await app.inject({ method: 'GET', url: '/v1/admin/keys', headers: bearer(TEST_ADMIN_KEY) });
      const keys = res.json().keys as KeyInfo[];
      return keys.find((k) => k.keyId === used.keyId)?.lastUsedAt ? { res, keys } : undefined;
    });
    assert.equal(listed.res.headers['cache-control'], 'no-store');
    assert.doesNotMatch(listed.res.body, new RegExp(used.key));
    assert.doesNotMatch(listed.res.body, /hash/);
    const u = listed.keys.find((k) => k.keyId === used.keyId)!;
    assert.equal(u.appId, 'acme');
    assert.equal(u.label, 'ci runner');
    assert.equal(u.revokedAt, null);
    assert.ok(Date.parse(u.createdAt) <= Date.parse(u.lastUsedAt!));
    const n = listed.keys.find((k) => k.keyId === unused.keyId)!;
    assert.equal(n.lastUsedAt, null);
    assert.equal(n.label, null);
  });

  test('revoking twice keeps the first revocation time', async () => {
    const created = await createKey();
    const first = await app.inject({ method: 'DELETE', url: `/v1/admin/keys/${created.keyId}`, headers: bearer(TEST_ADMIN_KEY) });
    const second = await app.inject({ method: 'DELETE', url: `/v1/admin/keys/${created.keyId}`, headers: bearer(TEST_ADMIN_KEY) });
    assert.equal(second.statusCode, 200);
    assert.equal(second.json().revokedAt, first.json().revokedAt);
  });

  test('an unknown key id gets 404 KEY_NOT_FOUND, a malformed one 400, an app key 403', async () => {
    const unknown = await app.inject({ method: 'DELETE', url: '/v1/admin/keys/key_0000000000000000', headers: bearer(TEST_ADMIN_KEY) });
    assert.equal(unknown.statusCode, 404);
    assert.equal(unknown.json().error.code, 'KEY_NOT_FOUND');
    const malformed = await app.inject({ method: 'DELETE', url: '/v1/admin/keys/a%20b', headers: bearer(TEST_ADMIN_KEY) });
    assert.equal(malformed.statusCode, 400);
    const created = await createKey();
    const asApp = await app.inject({ method: 'DELETE', url: `/v1/admin/keys/${created.keyId}`, headers: bearer(created.key) });
    assert.equal(asApp.statusCode, 403);
    assert.equal((await probe(app, created.key)).statusCode, 404, 'the key still works');
  });

  test('meridian keys list and keys revoke work against a running gateway', async () => {
    const created = await createKey('from cli');
    await app.listen({ port: 0, host: '127.0.0.1' });
    const addr = app.server.address();
    const url = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
    const run = async (args: string[]) => {
      const r = { out: '', err: '', failed: false };
      const io: CliIo = { out: (t) => void (r.out += t), err: (t) => void (r.err += t), fail: () => void (r.failed = true), env: { MERIDIAN_URL: url, MERIDIAN_ADMIN_KEY: TEST_ADMIN_KEY }, fetch: (...a) => fetch(...a) };
      const program = new Command('meridian').exitOverride();
      registerClientCommands(program, io);
      await program.parseAsync(['node', 'meridian', ...args]);
      return r;
    };
    const list = await run(['keys', 'list']);
    assert.equal(list.failed, false, list.err);
    assert.match(list.out, /^KEY ID\s+APP\s+LABEL\s+CREATED\s+LAST USED\s+REVOKED\n/);
    assert.match(list.out, new RegExp(`${created.keyId}\\s+acme\\s+from cli\\s+\\S+\\s+never\\s+-`));
    const revoke = await run(['keys', 'revoke', created.keyId]);
    assert.equal(revoke.failed, false, revoke.err);
    assert.match(revoke.out, new RegExp(`revoked ${created.keyId} \\(app acme\\)`));
    assert.equal((await probe(app, created.key)).statusCode, 401);
    const missing = await run(['keys', 'revoke', 'key_nope']);
    assert.equal(missing.failed, true);
    assert.match(missing.err, /KEY_NOT_FOUND/);
  });
});

describe('a revocation reaches every gateway copy', () => {
  // Three brokers in one process over Moleculer's in-memory transporter: one holds the auth
  // service (real store, in-memory PGlite), two hold a gateway each. The gateways' clocks
  // never move, so their 30 s caches cannot expire: only the event can refuse the key.
  const namespace = `revoke-${process.pid}`;
  let database: DatabaseHandle;
  let control: ServiceBroker;
  const gatewayBrokers: ServiceBroker[] = [];
  const gateways: FastifyInstance[] = [];

  before(async () => {
    database = await createDatabase({ url: '', dataDir: 'memory://' });
    control = createBroker({ nodeID: 'control', namespace, transporter: 'Fake', logger: silent });
    control.createService(createAuthService({ keys: new ApiKeyStore(database.db) }));
    control.createService({
      name: 'rooms',
      actions: {
        get: () => {
          throw new MeridianError('MEETING_NOT_FOUND');
        },
      },
    });
    await control.start();
    for (const id of ['gw-a', 'gw-b']) {
      const broker = createBroker({ nodeID: id, namespace, transporter: 'Fake', logger: silent });
      await broker.start();
      gatewayBrokers.push(broker);
      gateways.push(await createGateway({ broker, config: DEFAULTS, logger: silent, adminKey: 'admin-key-for-revocation-test', isReady: () => true, processMetrics: false, clock: new ManualClock() }));
    }
    for (const b of [control, ...gatewayBrokers]) await b.waitForServices(['auth', 'rooms', 'gateway'], 5_000);
    // waitForServices is satisfied by one `gateway`; a broadcast reaches only the nodes whose
    // listeners the auth broker has heard of, so wait until it knows both gateways.
    await waitFor('the auth broker knows both gateways', () => {
      const nodes = (control.registry.getServiceList({ onlyAvailable: true }) as Array<{ name: string; nodeID: string }>).filter((s) => s.name === 'gateway').map((s) => s.nodeID);
      return ['gw-a', 'gw-b'].every((id) => nodes.includes(id)) || undefined;
    }, { timeoutMs: 5_000, intervalMs: 20 });
  });
  after(async () => {
    for (const g of gateways) await g.close();
    for (const b of [...gatewayBrokers, control]) await b.stop();
    await database.close();
  });

  test('both gateways refuse a key revoked through one of them', async () => {
    const created = (await control.call('auth.createKey', { appId: 'acme' })) as KeyCreateResult;
    for (const g of gateways) assert.equal((await probe(g, created.key)).statusCode, 404);
    const revoke = await gateways[0]!.inject({ method: 'DELETE', url: `/v1/admin/keys/${created.keyId}`, headers: bearer('admin-key-for-revocation-test') });
    assert.equal(revoke.statusCode, 200, revoke.body);
    // Delivery through the transporter is asynchronous: wait for it, never for a TTL.
    for (const [i, g] of gateways.entries()) {
      await waitFor(`gateway ${i} refuses the key`, async () => (await probe(g, created.key)).statusCode === 401, { timeoutMs: 2_000, intervalMs: 10 });
    }
  });

  test('a closed gateway stops listening; the others keep hearing revocations', async () => {
    const broker = gatewayBrokers[1]!;
    const extra = await createGateway({ broker, config: DEFAULTS, logger: silent, adminKey: 'admin-key-for-revocation-test', isReady: () => true, processMetrics: false, clock: new ManualClock() });
    const created = (await control.call('auth.createKey', { appId: 'acme' })) as KeyCreateResult;
    assert.equal((await probe(gateways[1]!, created.key)).statusCode, 404);
    await extra.close();
    await control.call('auth.revokeKey', { keyId: created.keyId });
    await waitFor('the remaining gateway refuses the key', async () => (await probe(gateways[1]!, created.key)).statusCode === 401, { timeoutMs: 2_000, intervalMs: 10 });
  });
});

describe('AppKeyVerifier.forget', () => {
  test('an answer asked for before a revocation is not cached after it', async () => {
    let release!: (v: { keyId: string; appId: string }) => void;
    let calls = 0;
    const broker = {
      call: () => {
        calls++;
        return calls === 1 ? new Promise((resolve) => (release = resolve)) : Promise.resolve({ keyId: 'k1', appId: 'acme' });
      },
    };
    const verifier = new AppKeyVerifier({ broker, clock: new ManualClock() });
    const first = verifier.verify('mk_key', 'digest-1');
    verifier.forget('k1');
    release({ keyId: 'k1', appId: 'acme' });
    assert.deepEqual(await first, { keyId: 'k1', appId: 'acme' });
    await verifier.verify('mk_key', 'digest-1');
    assert.equal(calls, 2, 'the second request asked the auth service again');
  });

  test('forgetting one key keeps the others cached', async () => {
    let calls = 0;
    const broker = { call: (_a: string, p: unknown) => (calls++, Promise.resolve({ keyId: (p as { key: string }).key === 'a' ? 'ka' : 'kb', appId: 'acme' })) };
    const verifier = new AppKeyVerifier({ broker, clock: new ManualClock() });
    await verifier.verify('a', 'da');
    await verifier.verify('b', 'db');
    verifier.forget('ka');
    await verifier.verify('a', 'da');
    await verifier.verify('b', 'db');
    assert.equal(calls, 3, 'only the forgotten key was asked about again');
  });
});
