/** `meridian plan-regions` against a listening platform (real services, in-memory PGlite). */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { registerClientCommands, type CliIo } from '../../../src/apps/cli/commands/index.js';
import { parseCandidates } from '../../../src/apps/cli/commands/planCommand.js';
import type { Platform } from '../../../src/apps/wire.js';
import { TEST_ADMIN_KEY, registerDefaultNodes, startTestPlatform } from '../../helpers/platform.js';
import { REFERENCE_DIR } from '../../helpers/awsReference.js';

async function cli(args: string[], env: NodeJS.ProcessEnv) {
  const run = { out: '', err: '', failed: false };
  const io: CliIo = { out: (t) => void (run.out += t), err: (t) => void (run.err += t), fail: () => void (run.failed = true), env, fetch: (...a) => fetch(...a) };
  const program = new Command('meridian').exitOverride();
  registerClientCommands(program, io);
  await program.parseAsync(['node', 'meridian', ...args]);
  return run;
}

describe('meridian plan-regions', { timeout: 120_000 }, () => {
  let p: Platform;
  let env: NodeJS.ProcessEnv;
  const dir = mkdtempSync(join(tmpdir(), 'meridian-plan-'));
  before(async () => {
    p = await startTestPlatform();
    await registerDefaultNodes(p);
    const app = p.gateway!;
    await app.listen({ port: 0, host: '127.0.0.1' });
    const addr = app.server.address();
    env = { MERIDIAN_URL: `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`, MERIDIAN_ADMIN_KEY: TEST_ADMIN_KEY };
    const key = (await app.inject({ method: 'POST', url: '/v1/admin/keys', headers: { authorization: `Bearer ${TEST_ADMIN_KEY}` }, payload: { appId: 'acme' } })).json().key;
    await app.inject({ method: 'POST', url: '/v1/meetings', headers: { authorization: `Bearer ${key}` }, payload: { id: 'plan' } });
    // Joins from addresses DB-IP places in Sydney (1.1.1.1) and Mumbai (49.36.0.1).
    for (const [ip, n] of [['1.1.1.1', 5], ['49.36.0.1', 2]] as const) {
      for (let i = 0; i < n; i++) {
        await app.inject({ method: 'POST', url: '/v1/meetings/plan/join', headers: { authorization: `Bearer ${key}`, 'x-forwarded-for': ip }, remoteAddress: '127.0.0.1', payload: { participant: { id: `p${i}`, name: 'P' } } });
      }
    }
  });
  after(() => p.close());

  test('recommends from a candidates CSV, prints the estimate and writes the map', async () => {
    const svg = join(dir, 'plan.svg');
    const r = await cli(['plan-regions', '--candidates', join(REFERENCE_DIR, 'aws-regions.csv'), '--max', '1', '--svg', svg], env);
    assert.equal(r.failed, false, r.err);
    assert.match(r.out, /^recommended ap-southeast-2: p50 [\d.]+ ms, p95 [\d.]+ ms/);
    assert.match(r.out, /from 7 joins in 2 network prefixes/);
    assert.match(r.out, /one more region: \+ap-south-1/);
    assert.match(readFileSync(svg, 'utf8'), /<svg [^>]*>[\s\S]*>ap-southeast-2<\/text>/);
  });

  test('--json prints the API answer; bad flags and files fail with a code', async () => {
    const r = await cli(['plan-regions', '--max', '2', '--json'], env);
    assert.equal(r.failed, false, r.err);
    assert.equal(JSON.parse(r.out).recommended.length, 2);
    const bad = join(dir, 'bad.csv');
    writeFileSync(bad, 'id,lat,lon\nnot a region,1,2\n');
    const e1 = await cli(['plan-regions', '--candidates', bad], env);
    assert.equal(e1.failed, true);
    assert.match(e1.err, /^error VALIDATION_FAILED: .*not a region/);
    const e2 = await cli(['plan-regions', '--max', '0'], env);
    assert.match(e2.err, /^error VALIDATION_FAILED: --max/);
  });

  test('parses JSON candidates and the reference CSV', () => {
    assert.deepEqual(parseCandidates('[{"id":"x-1","lat":1,"lon":2}]', 'f'), [{ id: 'x-1', lat: 1, lon: 2 }]);
    const aws = parseCandidates(readFileSync(join(REFERENCE_DIR, 'aws-regions.csv'), 'utf8'), 'aws');
    assert.equal(aws.length, 11);
    assert.deepEqual(aws[0], { id: 'us-east-1', lat: 39.04, lon: -77.49, name: 'Ashburn (N. Virginia)' });
  });
});
