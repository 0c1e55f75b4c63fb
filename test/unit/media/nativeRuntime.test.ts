/**
 * The native runtime's life cycle (src/media/engine/NativeRuntime.ts): node-datachannel's
 * process-global cleanup() runs only when nothing native is alive, a collected wrapper never
 * meets it, and a process whose peers are closed exits by itself, with code 0.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { acquireNativeRuntime, nativeRuntimeIdle, nativeRuntimeStateForTesting } from '../../../src/media/engine/NativeRuntime.js';
import { connectPeerPair, type PeerPair } from './support/PeerPair.js';
import { waitUntil } from './support/TestClient.js';

const PER_TEST = { timeout: 90_000 };

/** A full garbage collection, in this process (the test runner does not pass --expose-gc). */
function forceGc(): void {
  setFlagsFromString('--expose-gc');
  (runInNewContext('gc') as () => void)();
}

/** Allocates and frees many small native blocks, so that freed wrapper memory gets reused. */
function reuseFreedNativeMemory(): void {
  const blocks: Buffer[] = [];
  for (let i = 0; i < 20_000; i++) blocks.push(Buffer.allocUnsafeSlow(64 + (i % 8) * 32).fill(0xa5));
}

/** Runs the churn fixture in a child; resolves with its exit code and how long it lived after its work. */
function churnChild(rounds: number): Promise<{ code: number | string; lingerMs: number; out: string; err: string }> {
  const script = fileURLToPath(new URL('./fixtures/peer-churn.ts', import.meta.url));
  const child = spawn(process.execPath, ['--expose-gc', '--import', 'tsx', script, String(rounds)], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => (out += String(d)));
  child.stderr.on('data', (d) => (err += String(d)));
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      resolve({ code: 'killed: still running after 60 s', lingerMs: Number.NaN, out, err });
    }, 60_000);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      const doneAt = Number(/done (\d+)/.exec(out)?.[1] ?? Number.NaN);
      resolve({ code: code ?? `signal ${signal}`, lingerMs: Date.now() - doneAt, out, err });
    });
  });
}

describe('native runtime', { timeout: 300_000 }, () => {
  test('cleanup() waits for the last holder and for every native object to report closed', PER_TEST, async () => {
    await nativeRuntimeIdle();
    const before = nativeRuntimeStateForTesting().cleanups;
    const a = acquireNativeRuntime();
    const b = acquireNativeRuntime();
    const pair = await connectPeerPair(a);
    assert.deepEqual({ ...nativeRuntimeStateForTesting(), cleanups: 0 }, { holders: 2, peers: 2, tracks: 2, cleanups: 0 });
    b.release();
    b.release();
    assert.equal(nativeRuntimeStateForTesting().holders, 1, 'release is idempotent');
    pair.close();
    await waitUntil(() => nativeRuntimeStateForTesting().peers === 0 && nativeRuntimeStateForTesting().tracks === 0, 5_000, 'close callbacks');
    assert.equal(nativeRuntimeStateForTesting().cleanups, before, 'no cleanup() while a holder remains');
    a.release();
    await nativeRuntimeIdle();
    assert.equal(nativeRuntimeStateForTesting().cleanups, before + 1);
  });

  test('twenty connect, send and close rounds with a forced GC between them leave nothing behind', PER_TEST, async () => {
    // The crash behind this: a Track wrapper collected by GC stays in the binding's instance
    // list, and the next cleanup() dereferences it (SIGSEGV / futex abort). This exercises
    // that order; the invariant that prevents it (every track tracked until its close
    // callback ran) is asserted by the test above.
    for (let round = 0; round < 20; round++) {
      // `keeper` holds cleanup() back until the closed objects were collected and their
      // memory reused: the order in which the old reference count crashed.
      const keeper = acquireNativeRuntime();
      const runtime = acquireNativeRuntime();
      let pair: PeerPair | undefined = await connectPeerPair(runtime);
      for (let i = 0; i < 50; i++) pair.send();
      pair.close();
      pair = undefined;
      runtime.release();
      forceGc();
      await new Promise((resolve) => setTimeout(resolve, 20)); // finalizers run
      reuseFreedNativeMemory();
      keeper.release();
      await nativeRuntimeIdle();
      assert.deepEqual({ ...nativeRuntimeStateForTesting(), cleanups: 0 }, { holders: 0, peers: 0, tracks: 0, cleanups: 0 }, `round ${round}`);
    }
  });

  test('thirty offerer-side connections all connect at the first attempt (offerer race worked around)', PER_TEST, async () => {
    const runtime = acquireNativeRuntime();
    let failures = 0;
    try {
      for (let i = 0; i < 30; i++) {
        const pair = await connectPeerPair(runtime).catch(() => undefined);
        if (!pair) failures++;
        pair?.close();
      }
    } finally {
      runtime.release();
    }
    assert.equal(failures, 0);
    await nativeRuntimeIdle();
  });

  test('child processes that connect and close peers exit by themselves with code 0', PER_TEST, async () => {
    const results = await Promise.all([churnChild(5), churnChild(5), churnChild(5), churnChild(5)]);
    for (const r of results) {
      assert.match(r.out, /done \d+ \{"holders":0,"peers":0,"tracks":0,"cleanups":\d+\}/, `stderr: ${r.err.slice(-500)}`);
      assert.equal(r.code, 0, `exit ${r.code}; stderr: ${r.err.slice(-500)}`);
      assert.ok(r.lingerMs < 5_000, `exited ${r.lingerMs} ms after its work`);
    }
  });
});
