/**
 * `/metrics` names regions, nodes and load (issue 14, finding 7: it was open to anyone).
 * It answers loopback callers; others need the bearer token `http.metricsToken`, and without
 * one configured they are refused.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULTS } from '../../../src/config/index.js';
import { startTestGateway, type TestGateway } from './fakeServices.js';

const remote = { 'x-forwarded-for': '198.51.100.20' };

describe('/metrics access', () => {
  let open: TestGateway;
  let tokened: TestGateway;
  before(async () => {
    open = await startTestGateway({ config: { trustedProxies: ['127.0.0.1'] } });
    tokened = await startTestGateway({ config: { trustedProxies: ['127.0.0.1'], http: { ...DEFAULTS.http, metricsToken: 'scrape-secret-0123456789' } } });
  });
  after(async () => {
    await open?.close();
    await tokened?.close();
  });

  test('a loopback caller gets the metrics without a token', async () => {
    const res = await open.app.inject({ method: 'GET', url: '/metrics' });
    assert.equal(res.statusCode, 200);
    assert.match(res.body, /meridian_http_requests_total/);
  });

  test('a caller elsewhere is refused with 403 FORBIDDEN when no token is configured', async () => {
    const res = await open.app.inject({ method: 'GET', url: '/metrics', headers: remote });
    assert.equal(res.statusCode, 403);
    assert.equal(res.json().error.code, 'FORBIDDEN');
    assert.doesNotMatch(res.body, /meridian_/);
  });

  test('with http.metricsToken, a caller elsewhere needs that bearer token', async () => {
    const none = await tokened.app.inject({ method: 'GET', url: '/metrics', headers: remote });
    assert.equal(none.statusCode, 401);
    assert.equal(none.json().error.code, 'UNAUTHORIZED');
    const wrong = await tokened.app.inject({ method: 'GET', url: '/metrics', headers: { ...remote, authorization: 'Bearer scrape-secret-0123456780' } });
    assert.equal(wrong.statusCode, 401);
    const right = await tokened.app.inject({ method: 'GET', url: '/metrics', headers: { ...remote, authorization: 'Bearer scrape-secret-0123456789' } });
    assert.equal(right.statusCode, 200);
    assert.match(right.body, /meridian_http_requests_total/);
  });
});
