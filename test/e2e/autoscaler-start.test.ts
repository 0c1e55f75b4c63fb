/**
 * `meridian start` (the compiled CLI, as `npm start` runs it) with the autoscaler: one
 * autoscaler per default region, each starting its minimum node as a process of its own;
 * `/readyz` turns 200 only once those nodes registered; SIGTERM stops them all. Bad
 * autoscaler settings stop start-up with a message naming the key.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, spawnMeridian } from '../helpers/process.js';
import { childrenOf } from '../helpers/process.js';

const REGIONS = ['ap-south-1', 'eu-central-1', 'us-east-1'];


const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

test('meridian start runs an autoscaler per region whose node processes register before /readyz turns 200, and stops them on SIGTERM', { timeout: 120_000 }, async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'meridian-autoscaler-'));
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const started = spawnMeridian(['start'], { MERIDIAN_PORT: String(port), MERIDIAN_DATA_DIR: dataDir, MERIDIAN_LOG_LEVEL: 'warn', MERIDIAN_HOST: '127.0.0.1', MERIDIAN_ICE_ADDRESS: '127.0.0.1' });
  const pid = started.child.pid!;
  let nodePids: number[] = [];
  try {
    const deadline = Date.now() + 90_000;
    let sawNotReady = false;
    for (;;) {
      assert.equal(started.child.exitCode, null, `meridian start exited:\n${started.output()}`);
      assert.ok(Date.now() < deadline, `not ready within 90 s:\n${started.output()}`);
      const status = await fetch(`${base}/readyz`).then((r) => r.status, () => 0);
      if (status === 503) sawNotReady = true;
      if (status === 200) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    // At the first 200, every default region already has a healthy node.
    const creds = JSON.parse(readFileSync(join(dataDir, 'credentials.json'), 'utf8')) as { adminKey: string };
    const list = (await (await fetch(`${base}/v1/admin/regions`, { headers: { authorization: `Bearer ${creds.adminKey}` } })).json()) as { regions: Array<{ id: string; nodes: Array<{ id: string; healthy: boolean; status: string }> }> };
    assert.deepEqual(list.regions.map((r) => r.id).sort(), REGIONS);
    for (const r of list.regions) assert.equal(r.nodes.filter((n) => n.healthy && n.status === 'active').length, 1, `${r.id} has its minimum node`);
    if (!sawNotReady) process.stderr.write('note: /readyz was never seen answering 503 (start-up was faster than the first probe)\n');
    assert.match(started.output(), /Autoscaler: {5}predictive policy, 1–10 node process\(es\) per region/);

    nodePids = childrenOf(pid);
    assert.equal(nodePids.length, REGIONS.length, 'one node process per region, children of the platform');

    started.child.kill('SIGTERM');
    assert.equal(await started.exited, 0, `exits cleanly on SIGTERM:\n${started.output()}`);
    for (const p of nodePids) assert.equal(alive(p), false, `node process ${p} stopped with the platform`);
  } finally {
    started.child.kill('SIGKILL');
    for (const p of nodePids) if (alive(p)) process.kill(p, 'SIGKILL');
  }
});

for (const [what, env, key] of [
  ['minNodes above maxNodes', { MERIDIAN_AUTOSCALER_MIN_NODES: '4', MERIDIAN_AUTOSCALER_MAX_NODES: '2' }, 'autoscaler.minNodes'],
  ['a negative headroom', { MERIDIAN_AUTOSCALER_HEADROOM: '-0.5' }, 'autoscaler.headroom'],
  ['an unknown policy', { MERIDIAN_AUTOSCALER_POLICY: 'hunch' }, 'autoscaler.policy'],
] as const) {
  test(`meridian start with ${what} stops with exit code 2 and a message naming ${key}`, { timeout: 60_000 }, async () => {
    const port = await freePort();
    const bad = spawnMeridian(['start'], { ...env, MERIDIAN_PORT: String(port), MERIDIAN_DATA_DIR: mkdtempSync(join(tmpdir(), 'meridian-autoscaler-bad-')), MERIDIAN_LOG_LEVEL: 'warn' });
    try {
      assert.equal(await bad.exited, 2, bad.output());
      assert.match(bad.output(), new RegExp(`invalid configuration: ${key.replace('.', '\\.')}: `));
      assert.equal(childrenOf(bad.child.pid!).length, 0);
    } finally {
      bad.child.kill('SIGKILL');
    }
  });
}
