/**
 * A PostgreSQL connection that breaks while a query is running on it (a server restart, a
 * proxy or NAT dropping the socket) fails that query with a storage error and leaves the
 * process serving: pg emits 'error' on a checked-out client, which nothing else listens to.
 */
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { sql } from 'kysely';
import { createDatabase, type DatabaseHandle } from '../../src/storage/index.js';
import { createTestDatabase } from '../helpers/postgres.js';

let db: Awaited<ReturnType<typeof createTestDatabase>>;
let handle: DatabaseHandle | undefined;
let proxy: net.Server;
const sockets = new Set<net.Socket>();

before(async () => {
  db = await createTestDatabase();
  const target = new URL(db.url);
  // A loopback TCP proxy in front of the server, so the test can cut live connections.
  proxy = net.createServer((client) => {
    const upstream = net.connect(Number(target.port || 5432), target.hostname);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => {});
    }
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
});
after(async () => {
  await handle?.close();
  proxy.close();
  await db.drop();
});

test('a connection reset during a query fails that query and the next query succeeds', async () => {
  const { port } = proxy.address() as net.AddressInfo;
  const url = new URL(db.url);
  url.host = `127.0.0.1:${port}`;
  handle = await createDatabase({ url: url.toString(), dataDir: '' });
  const uncaught: unknown[] = [];
  const onUncaught = (err: unknown): void => void uncaught.push(err);
  process.on('uncaughtException', onUncaught);
  try {
    const slow = sql`SELECT pg_sleep(5)`.execute(handle.db);
    // Let the query reach the server, then reset every proxied socket.
    await new Promise((r) => setTimeout(r, 300));
    for (const s of sockets) s.resetAndDestroy();
    await assert.rejects(slow);
    await new Promise((r) => setTimeout(r, 100));
    assert.deepEqual(uncaught, [], 'no error escaped to the process');
    const { rows } = await sql<{ one: number }>`SELECT 1 AS one`.execute(handle.db);
    assert.equal(rows[0]?.one, 1);
  } finally {
    process.off('uncaughtException', onUncaught);
  }
});
