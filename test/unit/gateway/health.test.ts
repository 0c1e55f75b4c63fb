import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { bearer, startTestGateway } from './fakeServices.js';
import { ManualClock } from '../../helpers/clock.js';

describe('probes and metrics', () => {
  test('readyz is 503 NOT_READY before the platform is ready and 200 after', async () => {
    const gw = await startTestGateway({ ready: false });
    try {
      const before = await gw.app.inject({ method: 'GET', url: '/readyz' });
      assert.equal(before.statusCode, 503);
      assert.equal(before.json().error.code, 'NOT_READY');
      assert.ok(Number(before.headers['retry-after']) > 0);
      gw.setReady(true);
      const after = await gw.app.inject({ method: 'GET', url: '/readyz' });
      assert.equal(after.statusCode, 200);
      assert.deepEqual(after.json(), { ready: true });
    } finally {
      await gw.close();
    }
  });

  test('readyz turns 503 again when the platform starts stopping', async () => {
    const gw = await startTestGateway();
    try {
      assert.equal((await gw.app.inject({ method: 'GET', url: '/readyz' })).statusCode, 200);
      gw.setReady(false);
      assert.equal((await gw.app.inject({ method: 'GET', url: '/readyz' })).statusCode, 503);
    } finally {
      await gw.close();
    }
  });

  test('a request arriving while the gateway closes gets NOT_READY in the error shape, not Fastify\'s body', async () => {
    const gw = await startTestGateway();
    const closing = gw.app.close();
    try {
      const res = await gw.app.inject({ method: 'GET', url: '/v1/meetings/m1', headers: bearer(gw.appKey) });
      assert.equal(res.statusCode, 503);
      assert.deepEqual(res.json(), { error: { code: 'NOT_READY', message: 'The platform is starting or stopping' } });
    } finally {
      await closing;
      await gw.broker.stop();
    }
  });

  test('healthz is 200 even before the platform is ready', async () => {
    const gw = await startTestGateway({ ready: false });
    try {
      const res = await gw.app.inject({ method: 'GET', url: '/healthz' });
      assert.equal(res.statusCode, 200);
    } finally {
      await gw.close();
    }
  });

  test('API routes answer 503 NOT_READY until ready, without touching the services', async () => {
    const gw = await startTestGateway({ ready: false });
    try {
      const res = await gw.app.inject({ method: 'POST', url: '/v1/meetings/m1/join', headers: bearer(gw.appKey), payload: { participant: { id: 'p', name: 'P' } } });
      assert.equal(res.statusCode, 503);
      assert.equal(res.json().error.code, 'NOT_READY');
      assert.equal(gw.state.calls.verifyKey, 0);
      assert.equal(gw.state.calls.join.length, 0);
    } finally {
      await gw.close();
    }
  });

  test('metrics expose join counters by outcome and placement after joins', async () => {
    const gw = await startTestGateway();
    try {
      await gw.app.inject({ method: 'POST', url: '/v1/meetings', headers: bearer(gw.appKey), payload: { id: 'mx' } });
      for (const id of ['a', 'b']) {
        const r = await gw.app.inject({ method: 'POST', url: '/v1/meetings/mx/join', headers: bearer(gw.appKey), payload: { participant: { id, name: id } } });
        assert.equal(r.statusCode, 200);
      }
      await gw.app.inject({ method: 'POST', url: '/v1/meetings/missing/join', headers: bearer(gw.appKey), payload: { participant: { id: 'c', name: 'c' } } });

      const res = await gw.app.inject({ method: 'GET', url: '/metrics' });
      assert.equal(res.statusCode, 200);
      assert.match(String(res.headers['content-type']), /^text\/plain/);
      assert.match(res.body, /meridian_joins_total\{outcome="ok",placement="ranked"\} 1/);
      assert.match(res.body, /meridian_joins_total\{outcome="ok",placement="existing"\} 1/);
      assert.match(res.body, /meridian_joins_total\{outcome="MEETING_NOT_FOUND",placement="none"\} 1/);
      assert.match(res.body, /meridian_join_duration_seconds_count\{outcome="ok"\} 2/);
      assert.match(res.body, /meridian_http_requests_total\{method="POST",route="\/v1\/meetings\/:meetingId\/join",status="200"\} 2/);
    } finally {
      await gw.close();
    }
  });

  test('metrics gauges report regions and nodes from the registry at scrape time', async () => {
    const clock = new ManualClock();
    const gw = await startTestGateway({ clock });
    try {
      const first = await gw.app.inject({ method: 'GET', url: '/metrics' });
      assert.match(first.body, /meridian_regions\{status="active"\} 3/);
      await gw.app.inject({ method: 'POST', url: '/v1/admin/regions/us-east-1/drain', headers: bearer('ma_test-admin-key-0123456789') });
      const within = await gw.app.inject({ method: 'GET', url: '/metrics' });
      assert.match(within.body, /meridian_regions\{status="active"\} 3/, 'scrapes within the snapshot window share one registry read');
      clock.advance(1_001); // past the scrape snapshot window
      const res = await gw.app.inject({ method: 'GET', url: '/metrics' });
      assert.match(res.body, /meridian_regions\{status="active"\} 2/);
      assert.match(res.body, /meridian_regions\{status="draining"\} 1/);
      assert.match(res.body, /meridian_nodes\{region="ap-south-1",state="healthy"\} 1/);
      assert.match(res.body, /meridian_registry_up 1/);
    } finally {
      await gw.close();
    }
  });

  test('metrics still render when the registry is unreachable', async () => {
    const gw = await startTestGateway();
    try {
      await gw.broker.destroyService(gw.broker.getLocalService('regions')!);
      const res = await gw.app.inject({ method: 'GET', url: '/metrics' });
      assert.equal(res.statusCode, 200);
      assert.match(res.body, /meridian_registry_up 0/);
      assert.doesNotMatch(res.body, /meridian_regions\{/);
    } finally {
      await gw.close();
    }
  });

  test('each gateway has its own metrics registry', async () => {
    const a = await startTestGateway();
    const b = await startTestGateway();
    try {
      await a.app.inject({ method: 'GET', url: '/healthz' });
      const res = await b.app.inject({ method: 'GET', url: '/metrics' });
      assert.doesNotMatch(res.body, /route="\/healthz"/);
    } finally {
      await a.close();
      await b.close();
    }
  });
});
