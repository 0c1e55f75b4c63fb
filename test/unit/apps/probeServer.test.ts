/**
 * The probe listener of roles without a gateway (the autoscaler's `/metrics` in distributed
 * mode) follows the gateway's rule for metrics: loopback callers read them, others need the
 * bearer token `http.metricsToken`, and without one they are refused.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startProbeServer, type ProbeServer } from '../../../src/apps/probeServer.js';
import { metricsAccess } from '../../../src/gateway/metricsAccess.js';

const codeOf = (fn: () => void): string | undefined => {
  try {
    fn();
    return undefined;
  } catch (err) {
    return (err as { code: string }).code;
  }
};

describe('metrics access', () => {
  test('loopback callers read metrics without a token, IPv4-mapped included', () => {
    const check = metricsAccess('');
    for (const ip of ['127.0.0.1', '127.8.9.10', '::1', '::ffff:127.0.0.1']) assert.equal(codeOf(() => check(ip, undefined)), undefined, ip);
  });

  test('without a configured token, a caller elsewhere is FORBIDDEN whatever it sends', () => {
    const check = metricsAccess('');
    assert.equal(codeOf(() => check('10.1.2.3', undefined)), 'FORBIDDEN');
    assert.equal(codeOf(() => check('10.1.2.3', 'Bearer anything')), 'FORBIDDEN');
  });

  test('with a token, a caller elsewhere needs exactly that bearer token', () => {
    const check = metricsAccess('scrape-secret-0123456789');
    assert.equal(codeOf(() => check('2001:db8::7', undefined)), 'UNAUTHORIZED');
    assert.equal(codeOf(() => check('2001:db8::7', 'Bearer scrape-secret-012345678')), 'UNAUTHORIZED');
    assert.equal(codeOf(() => check('2001:db8::7', 'Bearer scrape-secret-0123456789')), undefined);
  });
});

describe('probe server', () => {
  let server: ProbeServer;
  before(async () => {
    server = await startProbeServer({ host: '127.0.0.1', port: 0, isReady: () => true, metricsToken: '', metrics: async () => ({ contentType: 'text/plain; version=0.0.4', text: 'meridian_up 1\n' }) });
  });
  after(() => server.close());

  test('serves /metrics to a loopback caller, and health and readiness to anyone', async () => {
    const base = `http://127.0.0.1:${server.port}`;
    const metrics = await fetch(`${base}/metrics`);
    assert.equal(metrics.status, 200);
    assert.equal(await metrics.text(), 'meridian_up 1\n');
    assert.equal((await fetch(`${base}/healthz`)).status, 200);
    assert.equal((await fetch(`${base}/readyz`)).status, 200);
    const missing = await fetch(`${base}/nope`);
    assert.equal(missing.status, 404);
    assert.equal((await missing.json()).error.code, 'ROUTE_NOT_FOUND');
  });
});
