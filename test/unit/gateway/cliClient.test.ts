/**
 * The client subcommands of the CLI against a listening gateway (over the fake services).
 * Kept next to the gateway tests because they exercise its HTTP contract end to end.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { registerClientCommands, type CliIo } from '../../../src/apps/cli/commands/index.js';
import { ADMIN_KEY, startTestGateway, type TestGateway } from './fakeServices.js';

interface Run {
  out: string;
  err: string;
  failed: boolean;
}

async function cli(args: string[], env: NodeJS.ProcessEnv): Promise<Run> {
  const run: Run = { out: '', err: '', failed: false };
  const io: CliIo = {
    out: (t) => void (run.out += t),
    err: (t) => void (run.err += t),
    fail: () => void (run.failed = true),
    env,
    fetch: (...a) => fetch(...a),
  };
  const program = new Command('meridian').exitOverride();
  registerClientCommands(program, io);
  await program.parseAsync(['node', 'meridian', ...args]);
  return run;
}

describe('meridian client commands', () => {
  let gw: TestGateway;
  let url: string;
  let env: NodeJS.ProcessEnv;
  before(async () => {
    gw = await startTestGateway();
    await gw.app.listen({ port: 0, host: '127.0.0.1' });
    const addr = gw.app.server.address();
    url = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
    env = { MERIDIAN_URL: url, MERIDIAN_ADMIN_KEY: ADMIN_KEY };
  });
  after(() => gw.close());

  test('regions list prints a table of regions with node counts', async () => {
    const r = await cli(['regions', 'list'], env);
    assert.equal(r.failed, false, r.err);
    const lines = r.out.trim().split('\n');
    assert.match(lines[0]!, /^ID\s+NAME\s+STATUS\s+LAT\s+LON\s+NODES\s+PARTICIPANTS\s+CAPACITY$/);
    assert.equal(lines.length, 4);
    assert.match(r.out, /ap-south-1\s+Mumbai\s+active\s+19\.08\s+72\.88\s+1\/1\s+2\s+-/);
  });

  test('regions list --json prints the API response', async () => {
    const r = await cli(['regions', 'list', '--json'], env);
    assert.equal(JSON.parse(r.out).regions.length, 3);
  });

  test('regions add fills in coordinates of a known AWS region', async () => {
    const r = await cli(['regions', 'add', 'sa-east-1'], env);
    assert.equal(r.failed, false, r.err);
    assert.match(r.out, /added sa-east-1 \(Sao Paulo\) at -23\.53, -46\.63/);
    assert.equal(gw.state.regions.get('sa-east-1')?.lat, -23.53);
  });

  test('regions add of an unknown id needs --lat and --lon', async () => {
    const r = await cli(['regions', 'add', 'onprem-1'], env);
    assert.equal(r.failed, true);
    assert.match(r.err, /^error VALIDATION_FAILED: 'onprem-1' is not a known AWS region/);
    const ok = await cli(['regions', 'add', 'onprem-1', '--name', 'Basement', '--lat', '-33.9', '--lon', '18.4', '--capacity', '50'], env);
    assert.equal(ok.failed, false, ok.err);
    assert.equal(gw.state.regions.get('onprem-1')?.capacity, 50);
  });

  test('an API error prints "error CODE: message" and fails the command', async () => {
    const r = await cli(['regions', 'add', 'ap-south-1'], env);
    assert.equal(r.failed, true);
    assert.match(r.err, /^error REGION_EXISTS: /);
    assert.equal(r.out, '');
  });

  test('regions drain and remove', async () => {
    const d = await cli(['regions', 'drain', 'onprem-1'], env);
    assert.match(d.out, /onprem-1 is draining/);
    const rm = await cli(['regions', 'remove', 'onprem-1', '--force'], env);
    assert.equal(rm.failed, false, rm.err);
    assert.match(rm.out, /removed onprem-1/);
    assert.equal(gw.state.regions.has('onprem-1'), false);
  });

  test('regions drain --migrate, nodes drain --migrate and regions remove --migrate move live meetings and say how many', async () => {
    const live = (id: string, regionId: string) =>
      gw.state.meetings.set(id, { id, appId: 'acme', forceRegion: null, status: 'live', regionId, nodeId: `${regionId}-n1`, nodes: [{ nodeId: `${regionId}-n1`, regionId, role: 'home' }], createdAt: '', placedAt: '' });
    live('cli-a', 'eu-central-1');
    live('cli-b', 'eu-central-1');
    const d = await cli(['regions', 'drain', 'eu-central-1', '--migrate'], env);
    assert.equal(d.failed, false, d.err);
    assert.match(d.out, /eu-central-1 is draining: 2 live meeting\(s\) moved to other regions\n$/);
    assert.equal(gw.state.meetings.get('cli-a')!.regionId, 'elsewhere-1');

    live('cli-c', 'us-east-1');
    const n = await cli(['nodes', 'drain', 'us-east-1-n1', '--migrate'], env);
    assert.equal(n.failed, false, n.err);
    assert.match(n.out, /us-east-1-n1 \(us-east-1\) is cordoned: no new meetings; 1 live meeting\(s\) moved\n$/);
    const unknown = await cli(['nodes', 'drain', 'nope-n1'], env);
    assert.equal(unknown.failed, true);
    assert.match(unknown.err, /^error NODE_NOT_FOUND: /);

    assert.equal((await cli(['regions', 'add', 'af-south-1'], env)).failed, false);
    live('cli-d', 'af-south-1');
    const rm = await cli(['regions', 'remove', 'af-south-1', '--migrate', '--json'], env);
    assert.equal(rm.failed, false, rm.err);
    assert.deepEqual(JSON.parse(rm.out), { id: 'af-south-1', removed: true, meetingsEnded: 0, nodesRemoved: 1, migrated: 1 });
    assert.equal(gw.state.meetings.get('cli-d')!.status, 'live', 'moved, not ended');
  });

  test('rank prints the location and the ordered regions', async () => {
    const r = await cli(['rank', '49.36.0.1', '--count', '2'], env);
    assert.equal(r.failed, false, r.err);
    assert.match(r.out, /^49\.36\.0\.1 → Mumbai, IN/);
    assert.match(r.out, /\n1\s+ap-south-1\s+Mumbai/);
    assert.equal(r.out.trim().split('\n').length, 4);
  });

  test('rank of a bad address prints INVALID_IP', async () => {
    const r = await cli(['rank', 'nope'], env);
    assert.equal(r.failed, true);
    assert.match(r.err, /^error INVALID_IP: /);
  });

  test('keys create prints a new key for the app', async () => {
    const r = await cli(['keys', 'create', '--app', 'initech', '--label', 'ci', '--json'], env);
    const created = JSON.parse(r.out);
    assert.equal(created.appId, 'initech');
    assert.equal(gw.state.keys.get(created.key)?.appId, 'initech');
  });

  test('the admin key is read from credentials.json in MERIDIAN_DATA_DIR', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'meridian-cli-'));
    writeFileSync(join(dataDir, 'credentials.json'), JSON.stringify({ adminKey: ADMIN_KEY }));
    const r = await cli(['regions', 'list', '--json'], { MERIDIAN_URL: url, MERIDIAN_DATA_DIR: dataDir });
    assert.equal(r.failed, false, r.err);
  });

  test('without any admin key the command says where to put one', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'meridian-cli-'));
    const r = await cli(['regions', 'list'], { MERIDIAN_URL: url, MERIDIAN_DATA_DIR: dataDir });
    assert.equal(r.failed, true);
    assert.match(r.err, /^error UNAUTHORIZED: no admin key/);
  });

  test('a wrong admin key prints UNAUTHORIZED', async () => {
    const r = await cli(['regions', 'list', '--admin-key', 'wrong'], env);
    assert.match(r.err, /^error UNAUTHORIZED: /);
  });

  test('an unreachable platform prints SERVICE_UNAVAILABLE', async () => {
    const r = await cli(['regions', 'list', '--url', 'http://127.0.0.1:1'], env);
    assert.equal(r.failed, true);
    assert.match(r.err, /^error SERVICE_UNAVAILABLE: cannot reach http:\/\/127\.0\.0\.1:1/);
  });
});
