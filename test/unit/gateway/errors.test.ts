import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { ERROR_CATALOG, MeridianError } from '../../../src/contracts/index.js';
import { toHttpError } from '../../../src/gateway/index.js';
import { DEFAULTS } from '../../../src/config/index.js';
import { ADMIN_KEY, bearer, startTestGateway, type TestGateway } from './fakeServices.js';

function assertErrorBody(res: { statusCode: number; headers: Record<string, unknown>; body: string }, code: keyof typeof ERROR_CATALOG): void {
  assert.match(String(res.headers['content-type']), /^application\/json/);
  const body = JSON.parse(res.body) as { error: { code: string; message: string } };
  assert.equal(typeof body.error, 'object', `no error object in ${res.body}`);
  assert.equal(typeof body.error.message, 'string');
  assert.ok(body.error.message.length > 0);
  assert.ok(body.error.code in ERROR_CATALOG, `${body.error.code} is not in ERROR_CATALOG`);
  assert.equal(body.error.code, code, res.body);
  assert.equal(res.statusCode, ERROR_CATALOG[code].status);
}

describe('gateway errors', () => {
  let gw: TestGateway;
  before(async () => {
    gw = await startTestGateway({ config: { http: { ...DEFAULTS.http, bodyLimitBytes: 1024, demo: false } } });
  });
  after(() => gw.close());

  test('malformed JSON gets 400 INVALID_JSON and nothing is written', async () => {
    const before = gw.state.meetings.size;
    const res = await gw.app.inject({
      method: 'POST',
      url: '/v1/meetings',
      headers: { ...bearer(gw.appKey), 'content-type': 'application/json' },
      payload: '{"id": "m-broken",',
    });
    assertErrorBody(res, 'INVALID_JSON');
    assert.equal(gw.state.calls.create, 0);
    assert.equal(gw.state.meetings.size, before);
  });

  test('an empty JSON body gets 400 INVALID_JSON', async () => {
    const res = await gw.app.inject({ method: 'POST', url: '/v1/meetings', headers: { ...bearer(gw.appKey), 'content-type': 'application/json' }, payload: '' });
    assertErrorBody(res, 'INVALID_JSON');
  });

  test('a body over http.bodyLimitBytes gets 413 PAYLOAD_TOO_LARGE', async () => {
    const res = await gw.app.inject({
      method: 'POST',
      url: '/v1/meetings/m1/join',
      headers: { ...bearer(gw.appKey), 'content-type': 'application/json' },
      payload: JSON.stringify({ participant: { id: 'p1', name: 'x'.repeat(2000) } }),
    });
    assertErrorBody(res, 'PAYLOAD_TOO_LARGE');
    assert.equal(gw.state.calls.join.length, 0);
  });

  test('a text/plain body gets 415 UNSUPPORTED_MEDIA_TYPE', async () => {
    const res = await gw.app.inject({ method: 'POST', url: '/v1/meetings', headers: { ...bearer(gw.appKey), 'content-type': 'text/plain' }, payload: 'hello' });
    assertErrorBody(res, 'UNSUPPORTED_MEDIA_TYPE');
  });

  test('a body that breaks the schema gets 400 VALIDATION_FAILED naming the field', async () => {
    const res = await gw.app.inject({ method: 'POST', url: '/v1/meetings/m1/join', headers: bearer(gw.appKey), payload: { participant: { id: 'p1' } } });
    assertErrorBody(res, 'VALIDATION_FAILED');
    assert.match(JSON.parse(res.body).error.message, /name/);
  });

  test('an unknown body property is rejected, not silently dropped', async () => {
    const res = await gw.app.inject({ method: 'POST', url: '/v1/meetings', headers: bearer(gw.appKey), payload: { forceregion: 'ap-south-1' } });
    assertErrorBody(res, 'VALIDATION_FAILED');
    assert.equal(gw.state.calls.create, 0);
  });

  test('an invalid path parameter gets 400 VALIDATION_FAILED', async () => {
    const res = await gw.app.inject({ method: 'GET', url: '/v1/admin/regions/Not_A_Region', headers: bearer(ADMIN_KEY) });
    assertErrorBody(res, 'VALIDATION_FAILED');
  });

  test('an unknown route gets 404 ROUTE_NOT_FOUND', async () => {
    for (const [method, url] of [
      ['GET', '/nope'],
      ['DELETE', '/v1/meetings'],
      ['GET', '/v1/meetings/m1/join'],
    ] as const) {
      const res = await gw.app.inject({ method, url, headers: bearer(gw.appKey) });
      assertErrorBody(res, 'ROUTE_NOT_FOUND');
    }
  });

  test('a malformed URL encoding gets a catalog error, not Fastify\'s default body', async () => {
    const res = await gw.app.inject({ method: 'GET', url: '/v1/meetings/%E0%A4%A', headers: bearer(gw.appKey) });
    assertErrorBody(res, 'ROUTE_NOT_FOUND');
  });

  test('a service error keeps its code and status', async () => {
    const res = await gw.app.inject({ method: 'GET', url: '/v1/meetings/does-not-exist', headers: bearer(gw.appKey) });
    assertErrorBody(res, 'MEETING_NOT_FOUND');
    const conflict = await gw.app.inject({ method: 'POST', url: '/v1/admin/regions', headers: bearer(ADMIN_KEY), payload: { id: 'ap-south-1', name: 'again', lat: 1, lon: 1 } });
    assertErrorBody(conflict, 'REGION_EXISTS');
  });

  test('an unexpected failure is 500 INTERNAL without its message', async () => {
    const original = gw.broker.call.bind(gw.broker);
    (gw.broker as { call: unknown }).call = (action: string, ...rest: unknown[]) =>
      action === 'rooms.get' ? Promise.reject(new Error('db password is hunter2')) : (original as (...a: unknown[]) => unknown)(action, ...rest);
    try {
      const res = await gw.app.inject({ method: 'GET', url: '/v1/meetings/m1', headers: bearer(gw.appKey) });
      assertErrorBody(res, 'INTERNAL');
      assert.doesNotMatch(res.body, /hunter2/);
    } finally {
      (gw.broker as { call: unknown }).call = original;
    }
  });

  test('a service that is not running gives 503 SERVICE_UNAVAILABLE with Retry-After', async () => {
    const svc = gw.broker.getLocalService('regionProvider');
    assert.ok(svc);
    await gw.broker.destroyService(svc);
    const res = await gw.app.inject({ method: 'GET', url: '/v1/regions/rank?ip=8.8.8.8', headers: bearer(gw.appKey) });
    assertErrorBody(res, 'SERVICE_UNAVAILABLE');
    assert.equal(res.headers['retry-after'], '1');
  });
});

describe('toHttpError', () => {
  test('maps Fastify parser errors by code', () => {
    const mk = (code: string, statusCode: number) => Object.assign(new Error('x'), { code, statusCode });
    assert.equal(toHttpError(mk('FST_ERR_CTP_INVALID_JSON_BODY', 400)).code, 'INVALID_JSON');
    assert.equal(toHttpError(mk('FST_ERR_CTP_BODY_TOO_LARGE', 413)).code, 'PAYLOAD_TOO_LARGE');
    assert.equal(toHttpError(mk('FST_ERR_CTP_INVALID_MEDIA_TYPE', 415)).code, 'UNSUPPORTED_MEDIA_TYPE');
    assert.equal(toHttpError(Object.assign(new SyntaxError('Unexpected token'), { statusCode: 400 })).code, 'INVALID_JSON');
  });

  test('keeps MeridianErrors and wraps unknown failures as INTERNAL', () => {
    const e = new MeridianError('NODE_UNAVAILABLE');
    assert.equal(toHttpError(e), e);
    assert.equal(toHttpError(new TypeError('boom')).code, 'INTERNAL');
    assert.equal(toHttpError(Object.assign(new Error('t'), { name: 'RequestTimeoutError' })).code, 'SERVICE_UNAVAILABLE');
  });
});
