/**
 * `meridian start` as a real process: the operator contract (env vars, readyz, admin and
 * rank routes, credentials in the data directory), clean exit on SIGTERM and SIGINT with the
 * database shut down, and data kept across restarts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, lstatSync, mkdtempSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, spawnMeridian, waitForStatus } from '../helpers/process.js';

/** Entries below `dir` (links not followed) that group or others may read, write or enter. */
function readableByOthers(dir: string): string[] {
  const out: string[] = [];
  const visit = (p: string) => {
    const st = lstatSync(p);
    if (st.isSymbolicLink()) return;
    if ((st.mode & 0o077) !== 0) out.push(`${p} ${(st.mode & 0o777).toString(8)}`);
    if (st.isDirectory()) for (const name of readdirSync(p)) visit(join(p, name));
  };
  visit(dir);
  return out;
}

/**
 * The state PostgreSQL keeps in the embedded cluster's `global/pg_control` (`DBState` after
 * the system identifier and two version words; WebAssembly is little-endian): 1 shut down,
 * 6 in production (what a process that exits without closing the database leaves).
 */
function clusterState(dataDir: string): number {
  return readFileSync(join(dataDir, 'pglite', 'global', 'pg_control')).readUInt32LE(16);
}

/** Files below `dir` whose bytes contain `needle`. */
function filesContaining(dir: string, needle: string): string[] {
  const out: string[] = [];
  const visit = (p: string) => {
    const st = lstatSync(p);
    if (st.isDirectory()) for (const name of readdirSync(p)) visit(join(p, name));
    else if (st.isFile() && readFileSync(p).includes(Buffer.from(needle))) out.push(p);
  };
  visit(dir);
  return out;
}

test('meridian start serves the API from one data directory and keeps it across restarts', { timeout: 120_000 }, async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'meridian-e2e-'));
  // As an operator's `mkdir data` leaves it: start-up makes it private.
  chmodSync(dataDir, 0o755);
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const env = { MERIDIAN_PORT: String(port), MERIDIAN_DATA_DIR: dataDir, MERIDIAN_TRUSTED_PROXIES: '127.0.0.1', MERIDIAN_LOG_LEVEL: 'warn' };

  const first = spawnMeridian(['start'], env);
  try {
    await waitForStatus(`${base}/readyz`, 200, 60_000, first);
    assert.match(first.output(), new RegExp(`http://127\\.0\\.0\\.1:${port}`), 'prints the URL');
    const creds = JSON.parse(readFileSync(join(dataDir, 'credentials.json'), 'utf8')) as { adminKey: string; appKey: string };
    assert.ok(first.output().includes(creds.adminKey), 'prints the first admin key');
    assert.ok(first.output().includes(creds.appKey), 'prints the first app key');
    assert.equal(statSync(join(dataDir, 'credentials.json')).mode & 0o077, 0, 'credentials are private to the user');
    assert.equal(statSync(dataDir).mode & 0o777, 0o700, 'the data directory is private');
    assert.equal(statSync(join(dataDir, 'token-secret')).mode & 0o777, 0o600, 'the token master secret has its own private file');
    assert.deepEqual(readableByOthers(dataDir), [], 'nothing in the data directory is readable by others');
    const secret = readFileSync(join(dataDir, 'token-secret'), 'utf8').trim();
    assert.deepEqual(filesContaining(join(dataDir, 'pglite'), secret), [], 'the master secret is in no database file');
    const admin = { authorization: `Bearer ${creds.adminKey}`, 'content-type': 'application/json' };

    const regions = (await (await fetch(`${base}/v1/admin/regions`, { headers: admin })).json()) as { regions: Array<{ id: string }> };
    assert.deepEqual(regions.regions.map((r) => r.id).sort(), ['ap-south-1', 'eu-central-1', 'us-east-1']);

    const add = await fetch(`${base}/v1/admin/regions`, { method: 'POST', headers: admin, body: JSON.stringify({ id: 'ap-southeast-1', name: 'Singapore', lat: 1.29, lon: 103.85 }) });
    assert.equal(add.status, 201);

    const key = await fetch(`${base}/v1/admin/keys`, { method: 'POST', headers: admin, body: '{}' });
    assert.equal(key.status, 201);
    const appKey = ((await key.json()) as { key: string }).key;
    assert.match(appKey, /^mk_/);

    const rank = (await (await fetch(`${base}/v1/regions/rank?ip=49.36.0.1&count=3`, { headers: admin })).json()) as { location: { source: string }; regions: unknown[] };
    assert.equal(rank.location.source, 'geoip');

    const app = { authorization: `Bearer ${appKey}`, 'content-type': 'application/json' };
    const created = await fetch(`${base}/v1/meetings`, { method: 'POST', headers: app, body: JSON.stringify({ id: 'e2e-standup' }) });
    assert.equal(created.status, 201);
    const joinRes = await fetch(`${base}/v1/meetings/e2e-standup/join`, { method: 'POST', headers: { ...app, 'x-forwarded-for': '49.36.0.1' }, body: JSON.stringify({ participant: { id: 'ann', name: 'Ann' } }) });
    const body = (await joinRes.json()) as { error?: { code: string }; region?: { id: string } };
    // With media nodes running (embedded SFU) the join lands in Mumbai; with none, it says so clearly.
    if (joinRes.status === 200) assert.equal(body.region!.id, 'ap-south-1');
    else assert.deepEqual([joinRes.status, body.error!.code], [503, 'NO_REGION_AVAILABLE']);

    first.child.kill('SIGTERM');
    assert.equal(await first.exited, 0, 'exits cleanly on SIGTERM');
    assert.equal(clusterState(dataDir), 1, 'the database was shut down before the exit, so the restart replays no WAL');
  } finally {
    first.child.kill('SIGKILL');
  }

  const second = spawnMeridian(['start'], env);
  try {
    await waitForStatus(`${base}/readyz`, 200, 60_000, second);
    const creds = JSON.parse(readFileSync(join(dataDir, 'credentials.json'), 'utf8')) as { adminKey: string };
    const regions = (await (await fetch(`${base}/v1/admin/regions`, { headers: { authorization: `Bearer ${creds.adminKey}` } })).json()) as { regions: Array<{ id: string }> };
    assert.ok(regions.regions.some((r) => r.id === 'ap-southeast-1'), 'a region added at runtime survives a restart');
    assert.ok(!second.output().includes(creds.adminKey), 'keys are printed only when created');
    // Ctrl-C at a terminal.
    second.child.kill('SIGINT');
    assert.equal(await second.exited, 0);
    assert.equal(clusterState(dataDir), 1, 'the database was shut down on SIGINT too');
  } finally {
    second.child.kill('SIGKILL');
  }
});

test('a bad configuration value stops start-up with a message naming the key', { timeout: 30_000 }, async () => {
  const bad = spawnMeridian(['start'], { MERIDIAN_PORT: 'not-a-port', MERIDIAN_DATA_DIR: mkdtempSync(join(tmpdir(), 'meridian-bad-')) });
  const code = await bad.exited;
  assert.equal(code, 2);
  assert.match(bad.output(), /invalid configuration: port: MERIDIAN_PORT/);
});
