/**
 * Distributed mode: an app key revoked through one gateway copy is refused by the other
 * copy at once (the `auth.keyRevoked` event crosses NATS), although that copy had just
 * verified the key and would trust it for its 30 s cache lifetime otherwise. Also: a
 * console login made on one gateway copy opens the console on the other (the session
 * cookie and its CSRF token are signed with keys derived from the shared admin key).
 * The time from the revocation's answer to the other copy's first refusal is reported.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Cluster, ADMIN_KEY } from './distributed-harness.js';
import { waitFor } from '../helpers/waitFor.js';

test('a key revoked through one gateway is refused by the other gateway copy, well inside its cache lifetime', { timeout: 300_000 }, async (t) => {
  const cluster = await Cluster.start({ name: 'revoke', gateways: 2, rooms: 1 });
  try {
    for (const n of cluster.notes) t.diagnostic(n);
    const created = await cluster.http<{ key: string; keyId: string }>('POST', 0, '/v1/admin/keys', { appId: 'revoke-e2e', label: 'revoked across gateways' }, ADMIN_KEY);
    assert.equal(created.status, 201);
    const { key, keyId } = created.body;
    // Both copies verify (and cache) the key: an authenticated miss is 404, a refusal 401.
    for (const g of [0, 1]) assert.equal((await cluster.http('GET', g, '/v1/meetings/nothing-here', undefined, key)).status, 404, `gateway ${g + 1} accepts the key`);

    const revoked = await cluster.http<{ revokedAt: string }>('DELETE', 0, `/v1/admin/keys/${keyId}`, undefined, ADMIN_KEY);
    assert.equal(revoked.status, 200, JSON.stringify(revoked.body));
    const revokedAt = performance.now();
    // The other copy's cache would hold the key for 30 s; the event must clear it long before.
    let firstRefusalMs = 0;
    await waitFor(
      'gateway 2 refuses the revoked key',
      async () => {
        const r = await cluster.http<{ error?: { code: string } }>('GET', 1, '/v1/meetings/nothing-here', undefined, key);
        if (r.status !== 401) return undefined;
        firstRefusalMs = performance.now() - revokedAt;
        return r.body.error?.code === 'UNAUTHORIZED';
      },
      { timeoutMs: 10_000, intervalMs: 20 },
    );
    t.diagnostic(`gateway 2 refused the key ${firstRefusalMs.toFixed(0)} ms after gateway 1 answered the revocation`);
    assert.equal((await cluster.http('GET', 0, '/v1/meetings/nothing-here', undefined, key)).status, 401, 'gateway 1 refuses it too');
    const join = await cluster.http('POST', 1, '/v1/meetings/nothing-here/join', { participant: { id: 'ann', name: 'Ann' } }, key);
    assert.equal(join.status, 401, 'a join with the revoked key is refused');
    // The platform's own key keeps working everywhere.
    for (const g of [0, 1]) assert.notEqual((await cluster.http('GET', g, '/v1/meetings/nothing-here', undefined, cluster.appKey)).status, 401);
  } finally {
    await cluster.stop();
  }
});

test('a console login on one gateway copy opens the console on the other', { timeout: 300_000 }, async () => {
  const cluster = await Cluster.start({ name: 'console', gateways: 2, rooms: 1 });
  try {
    const [g1, g2] = cluster.gateways as [string, string];
    const login = await fetch(`${g1}/console/login`, { method: 'POST', redirect: 'manual', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ key: ADMIN_KEY }) });
    assert.equal(login.status, 303);
    const cookie = login.headers.get('set-cookie')!.split(';')[0]!;
    assert.match(cookie, /^meridian_console=/);
    const session = (await (await fetch(`${g1}/console/api/session`, { headers: { cookie } })).json()) as { csrfToken: string };
    const state = await fetch(`${g2}/console/api/state`, { headers: { cookie } });
    assert.equal(state.status, 200);
    const regions = ((await state.json()) as { regions: Array<{ id: string; nodes: unknown[] }> }).regions;
    assert.deepEqual(regions.map((r) => r.id).sort(), ['ap-south-1', 'eu-central-1', 'us-east-1']);
    assert.ok(regions.every((r) => r.nodes.length >= 1), 'each region shows its nodes');
    // The token read on gateway 1 is accepted by gateway 2; a forged one is not.
    const forged = await fetch(`${g2}/console/api/admin/regions/us-east-1`, { method: 'PATCH', headers: { cookie, 'x-csrf-token': 'forged', 'content-type': 'application/json' }, body: JSON.stringify({ name: 'X' }) });
    assert.equal(forged.status, 403);
    const drain = await fetch(`${g2}/console/api/admin/regions/us-east-1/drain`, { method: 'POST', headers: { cookie, 'x-csrf-token': session.csrfToken, 'content-type': 'application/json' }, body: '{}' });
    assert.equal(drain.status, 200, await drain.text());
    const region = await cluster.http<{ status: string }>('GET', 0, '/v1/admin/regions/us-east-1', undefined, ADMIN_KEY);
    assert.equal(region.body.status, 'draining');
  } finally {
    await cluster.stop();
  }
});
