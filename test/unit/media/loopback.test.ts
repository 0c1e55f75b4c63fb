/**
 * Static guard: every media configuration in test/ and bench/ keeps media on loopback. A
 * node, engine, test client, spawned `meridian` process or Chromium that could announce
 * another address fails this test. (The runtime check on the candidates actually announced
 * is in forwarding.test.ts, through TestClient's `nonLoopbackSdps`.)
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { REPO_ROOT } from '../../helpers/process.js';
import { LOOPBACK_CHROMIUM_ARGS, LOOPBACK_ICE_ADDRESS, announcesLoopbackOnly, candidateAddresses } from '../../helpers/media.js';

/** Files that mention an ICE address on purpose and start no media. */
const EXEMPT: Record<string, string> = {
  'test/unit/media/config.test.ts': 'validates settings (a refused foreign address); starts nothing',
  'test/unit/apps/deployment.test.ts': 'checks that a foreign ICE address stops start-up before any node exists',
  'test/unit/autoscaler/LocalProcessProvider.test.ts': 'launches a fake node process (fixtures/fakeNodeProcess.mjs) with no media engine',
  'test/helpers/media.ts': 'defines the loopback settings',
  'test/unit/media/loopback.test.ts': 'this guard',
};

function sources(): Array<{ path: string; text: string }> {
  const out: Array<{ path: string; text: string }> = [];
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir)) {
      const p = join(dir, name);
      if (statSync(p).isDirectory()) walk(p);
      else if (/\.(ts|mts|mjs|js)$/.test(name)) out.push({ path: relative(REPO_ROOT, p), text: readFileSync(p, 'utf8') });
    }
  };
  walk(join(REPO_ROOT, 'test'));
  walk(join(REPO_ROOT, 'bench'));
  return out.filter((f) => !(f.path in EXEMPT));
}

const LOOPBACK_LITERAL = /^['"`]127\.\d+\.\d+\.\d+['"`]$/;

describe('media in tests and benchmarks stays on loopback', () => {
  const files = sources();

  test('the guard sees the media test and benchmark sources', () => {
    const paths = files.map((f) => f.path);
    for (const p of ['test/unit/media/support/startNode.ts', 'test/unit/media/support/TestClient.ts', 'bench/forwarding.bench.ts', 'test/e2e/browser-harness.ts']) {
      assert.ok(paths.includes(p), p);
    }
  });

  test('every ICE address set in a test or benchmark is loopback', () => {
    const bad: string[] = [];
    for (const f of files) {
      for (const m of f.text.matchAll(/\b(bindAddress|iceAddress|MERIDIAN_ICE_ADDRESS)\s*[:=]\s*([^,}\n]+)/g)) {
        const line = f.text.slice(f.text.lastIndexOf('\n', m.index) + 1, m.index).trim();
        if (line.startsWith('*') || line.startsWith('//') || line.startsWith('/*')) continue; // prose
        const value = m[2]!.trim();
        if (!LOOPBACK_LITERAL.test(value) && value !== 'LOOPBACK_ICE_ADDRESS') bad.push(`${f.path}: ${m[0]}`);
      }
    }
    assert.deepEqual(bad, []);
  });

  test('every SFU node a test or benchmark constructs uses the loopback ICE settings', () => {
    const bad = files.filter((f) => /new SfuNode\(/.test(f.text) && !/\bice:\s*(\{\s*\.\.\.)?LOOPBACK_ICE\b/.test(f.text)).map((f) => f.path);
    assert.deepEqual(bad, []);
  });

  test('every node-datachannel peer a test or benchmark creates uses the loopback peer config', () => {
    const creates = /new\s+(nodeDataChannel|ndc)\.PeerConnection\(|\.createPeer\(/;
    const bad = files.filter((f) => creates.test(f.text) && !/LOOPBACK_PEER_CONFIG/.test(f.text)).map((f) => f.path);
    assert.deepEqual(bad, []);
  });

  test('every meridian process a test or benchmark starts gets MERIDIAN_ICE_ADDRESS=127.0.0.1', () => {
    const processHelper = readFileSync(join(REPO_ROOT, 'test/helpers/process.ts'), 'utf8');
    assert.match(processHelper, /env: \{ \.\.\.process\.env, \.\.\.LOOPBACK_ICE_ENV, \.\.\.env \}/, 'spawnMeridian defaults to loopback ICE');
    // Anything else that runs bin/meridian.js must set it itself.
    const bad = files
      .filter((f) => f.path !== 'test/helpers/process.ts' && /spawn\([^)]*bin\/meridian\.js/.test(f.text) && !/LOOPBACK_ICE_ENV/.test(f.text))
      .map((f) => f.path);
    assert.deepEqual(bad, []);
  });

  test('Chromium is launched with loopback candidates allowed', async () => {
    const harness = await import('../../e2e/browser-harness.js');
    for (const arg of LOOPBACK_CHROMIUM_ARGS) assert.ok(harness.CHROMIUM_ARGS.includes(arg), arg);
    const launches = files.filter((f) => /chromium\.launch\(/.test(f.text));
    assert.deepEqual(
      launches.filter((f) => !/chromium\.launch\(\{[^}]*args: CHROMIUM_ARGS/.test(f.text)).map((f) => f.path),
      [],
      'every chromium.launch passes CHROMIUM_ARGS',
    );
  });

  test('the candidate check tells loopback from other addresses', () => {
    const sdp = (addr: string) => `v=0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\na=candidate:1 1 UDP 2114977791 ${addr} 40000 typ host\r\n`;
    assert.equal(announcesLoopbackOnly(sdp(LOOPBACK_ICE_ADDRESS)), true);
    assert.equal(announcesLoopbackOnly(sdp('192.0.2.2')), false);
    assert.equal(announcesLoopbackOnly(sdp('fd00::2')), false);
    assert.equal(announcesLoopbackOnly('v=0\r\n'), false, 'no candidate at all is not loopback media');
    assert.deepEqual(candidateAddresses(sdp('127.0.0.1') + sdp('10.0.0.1')), ['127.0.0.1', '10.0.0.1']);
  });
});
