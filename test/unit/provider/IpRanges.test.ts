import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import ipaddr from 'ipaddr.js';
import { compiledRangesForTesting, intToIpv4, ipv4Range, ipv4ToInt, ipv6Range, ipv6ToWords } from '../../../src/control/provider/IpRanges.js';
import { prngUint32 } from '../../helpers/prng.js';


// First and last addresses around the special ranges, plus their neighbours.
const V4_EDGES = [
  '0.0.0.0', '0.255.255.255', '1.0.0.0', '9.255.255.255', '10.0.0.0', '10.255.255.255', '11.0.0.0',
  '100.63.255.255', '100.64.0.0', '100.127.255.255', '100.128.0.0', '126.255.255.255', '127.0.0.1', '128.0.0.0',
  '169.253.255.255', '169.254.0.0', '169.254.255.255', '169.255.0.0', '172.15.255.255', '172.16.0.0', '172.31.255.255',
  '172.32.0.0', '192.0.0.0', '192.0.0.255', '192.0.1.0', '192.0.2.0', '192.0.2.255', '192.31.196.1', '192.52.193.1',
  '192.88.99.1', '192.167.255.255', '192.168.0.0', '192.168.255.255', '192.169.0.0', '192.175.48.1', '198.17.255.255',
  '198.18.0.0', '198.19.255.255', '198.20.0.0', '198.51.100.1', '203.0.113.1', '223.255.255.255', '224.0.0.0',
  '239.255.255.255', '240.0.0.0', '255.255.255.254', '255.255.255.255',
];
const V6_EDGES = [
  '::', '::1', '::2', '::ffff:0:1', '::ffff:1.2.3.4', '::ffff:0:1.2.3.4', '64:ff9b::1.2.3.4', '64:ff9b:1::1', '100::1',
  '2001::1', '2001:0:ffff::1', '2001:1::1', '2001:2::1', '2001:3::1', '2001:4:112::1', '2001:10::1', '2001:20::1',
  '2001:30::1', '2001:1ff:ffff::1', '2001:200::1', '2001:db8::1', '2001:db9::1', '2002::1', '2002:ffff::1', '2003::1',
  '2620:4f:8000::1', '3fff::1', '3ffe::1', '5f00::1', 'fc00::1', 'fdff:ffff::1', 'fe80::1', 'fe80::1%eth0', 'febf::1',
  'fec0::1', 'ff00::1', 'ff02::1:ff00:1', '2a00:1450:4001:81b::200e', '1:2:3:4:5:6:7:8', '1::', '1:2::7:8',
];

describe('IpRanges', () => {
  it('uses the compiled form of the installed ipaddr.js range table', () => {
    assert.equal(compiledRangesForTesting(), true, 'ipaddr.js no longer exposes SpecialRanges as expected: classification is on the slow path');
  });

  it('classifies IPv4 addresses exactly like ipaddr.js range()', () => {
    const next = prngUint32(1);
    const ips = [...V4_EDGES, ...Array.from({ length: 20_000 }, () => intToIpv4(next()))];
    for (const ip of ips) assert.equal(ipv4Range(ipv4ToInt(ip)), ipaddr.IPv4.parse(ip).range(), ip);
  });

  it('parses and classifies IPv6 addresses exactly like ipaddr.js', () => {
    const next = prngUint32(2);
    const hex = () => (next() & 0xffff).toString(16);
    const random = Array.from({ length: 5_000 }, (_, i) => {
      // Mix of full, compressed and low-prefix forms so every rule sees traffic.
      const head = [0x2001, 0x2002, 0x2620, 0xfe80, 0xfc00, 0x64, 0][i % 7]!.toString(16);
      return i % 3 === 0 ? `${head}:${hex()}:${hex()}:${hex()}:${hex()}:${hex()}:${hex()}:${hex()}` : `${head}:${hex()}::${hex()}`;
    });
    for (const ip of [...V6_EDGES, ...random]) {
      const parsed = ipaddr.IPv6.parse(ip);
      assert.deepEqual(ipv6ToWords(ip), parsed.parts, `parse ${ip}`);
      assert.equal(ipv6Range(ipv6ToWords(ip)), parsed.range(), `range ${ip}`);
    }
  });

  it('round-trips IPv4 integers', () => {
    for (const ip of ['0.0.0.0', '1.2.3.4', '255.255.255.255', '81.2.69.142']) assert.equal(intToIpv4(ipv4ToInt(ip)), ip);
  });
});
