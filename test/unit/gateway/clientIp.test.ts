import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError } from '../../../src/config/index.js';
import { trustProxyOption } from '../../../src/gateway/clientIp.js';
import { bearer, startTestGateway } from './fakeServices.js';

const MUMBAI = '49.36.0.1';

describe('client address', () => {
  test('X-Forwarded-For is ignored when no proxy is trusted', async () => {
    const gw = await startTestGateway({ config: { trustedProxies: [] } });
    try {
      const res = await gw.app.inject({ method: 'GET', url: '/v1/regions/rank', headers: { ...bearer(gw.appKey), 'x-forwarded-for': MUMBAI }, remoteAddress: '127.0.0.1' });
      assert.equal(res.json().location.ip, '127.0.0.1');
    } finally {
      await gw.close();
    }
  });

  test('X-Forwarded-For is ignored when the peer is not a trusted proxy', async () => {
    const gw = await startTestGateway({ config: { trustedProxies: ['10.0.0.0/8'] } });
    try {
      const res = await gw.app.inject({ method: 'GET', url: '/v1/regions/rank', headers: { ...bearer(gw.appKey), 'x-forwarded-for': MUMBAI }, remoteAddress: '203.0.113.9' });
      assert.equal(res.json().location.ip, '203.0.113.9');
    } finally {
      await gw.close();
    }
  });

  test('X-Forwarded-For from a trusted proxy is the client address sent to rooms.join', async () => {
    const gw = await startTestGateway({ config: { trustedProxies: ['127.0.0.1'] } });
    try {
      await gw.app.inject({ method: 'POST', url: '/v1/meetings', headers: bearer(gw.appKey), payload: { id: 'm-ip' } });
      const res = await gw.app.inject({
        method: 'POST',
        url: '/v1/meetings/m-ip/join',
        headers: { ...bearer(gw.appKey), 'x-forwarded-for': MUMBAI },
        remoteAddress: '127.0.0.1',
        payload: { participant: { id: 'asha', name: 'Asha' } },
      });
      assert.equal(res.statusCode, 200, res.body);
      assert.equal(gw.state.calls.join.at(-1)!.ip, MUMBAI);
    } finally {
      await gw.close();
    }
  });

  test('only hops added by trusted proxies are skipped: a spoofed first hop is not believed', async () => {
    const gw = await startTestGateway({ config: { trustedProxies: ['127.0.0.1'] } });
    try {
      // The client sent "X-Forwarded-For: 49.36.0.1" itself; the proxy appended the real peer.
      const res = await gw.app.inject({ method: 'GET', url: '/v1/regions/rank', headers: { ...bearer(gw.appKey), 'x-forwarded-for': `${MUMBAI}, 8.8.8.8` }, remoteAddress: '127.0.0.1' });
      assert.equal(res.json().location.ip, '8.8.8.8');
    } finally {
      await gw.close();
    }
  });

  test('an IPv4-mapped IPv6 peer is reported as plain IPv4', async () => {
    const gw = await startTestGateway();
    try {
      const res = await gw.app.inject({ method: 'GET', url: '/v1/regions/rank', headers: bearer(gw.appKey), remoteAddress: '::ffff:8.8.8.8' });
      assert.equal(res.json().location.ip, '8.8.8.8');
    } finally {
      await gw.close();
    }
  });

  test('a trustedProxies entry that is not an address or range stops start-up with the key named', () => {
    assert.throws(() => trustProxyOption(['10.0.0.0/8', 'proxy.internal']), (err: unknown) => err instanceof ConfigError && err.key === 'trustedProxies');
    assert.throws(() => trustProxyOption(['10.0.0.0/33']), ConfigError);
    assert.deepEqual(trustProxyOption(['loopback', '10.0.0.0/8', '::1', '192.168.0.0/255.255.0.0']), ['loopback', '10.0.0.0/8', '::1', '192.168.0.0/255.255.0.0']);
    assert.equal(trustProxyOption([]), false);
  });
});
