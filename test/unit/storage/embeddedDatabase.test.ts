/**
 * The embedded engine (PGlite) is sized for Meridian's small tables, not for a server, and a
 * data directory survives a restart, including the first one, whose cluster a child creates,
 * and closing it leaves the cluster shut down cleanly.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { createDatabase } from '../../../src/storage/index.js';
import { RegionStore } from '../../../src/control/registry/index.js';

test('the embedded engine runs with small buffers instead of the 128 MB server default', async () => {
  const h = await createDatabase({ url: '', dataDir: 'memory://' });
  try {
    const { rows } = await sql<{ shared_buffers: string }>`SHOW shared_buffers`.execute(h.db);
    assert.equal(rows[0]!.shared_buffers, '16MB');
    const work = await sql<{ work_mem: string }>`SHOW work_mem`.execute(h.db);
    assert.equal(work.rows[0]!.work_mem, '1MB');
  } finally {
    await h.close();
  }
});

test('a new data directory is created on first start and what was written is there after a restart', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'meridian-embedded-'));
  try {
    const first = await createDatabase({ url: '', dataDir: dir });
    assert.ok(existsSync(join(dir, 'pglite', 'PG_VERSION')), 'the cluster lives in <dataDir>/pglite');
    await new RegionStore(first.db, 10_000).add({ id: 'persisted-1', name: 'Persisted', lat: 1, lon: 2 });
    await first.close();

    const second = await createDatabase({ url: '', dataDir: dir });
    try {
      const region = (await new RegionStore(second.db, 10_000).list()).find((r) => r.id === 'persisted-1');
      assert.equal(region?.name, 'Persisted');
      const { rows } = await sql<{ shared_buffers: string }>`SHOW shared_buffers`.execute(second.db);
      assert.equal(rows[0]!.shared_buffers, '16MB');
    } finally {
      await second.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

/**
 * The cluster state PostgreSQL keeps in `global/pg_control` (`DBState` after the system
 * identifier and two version words; WebAssembly is little-endian): 1 shut down, 6 in production.
 */
function clusterState(dir: string): number {
  return readFileSync(join(dir, 'pglite', 'global', 'pg_control')).readUInt32LE(16);
}

test('closing the embedded database shuts the cluster down cleanly, so a restart has no WAL to replay', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'meridian-embedded-'));
  try {
    const h = await createDatabase({ url: '', dataDir: dir });
    await new RegionStore(h.db, 10_000).add({ id: 'written-before-close', name: 'Written', lat: 1, lon: 2 });
    assert.equal(clusterState(dir), 6, 'an open cluster is in production');
    await h.close();
    assert.equal(clusterState(dir), 1, 'a closed cluster is shut down (checkpointed), not left for crash recovery');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
