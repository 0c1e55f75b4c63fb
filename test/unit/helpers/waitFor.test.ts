/** The shared polling helper: what it returns and how it fails (short real-time bounds, no assertions on timing). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { waitFor } from '../../helpers/waitFor.js';

test('resolves with the first value that is not undefined, null or false', async () => {
  let n = 0;
  const v = await waitFor('the third probe', () => (++n >= 3 ? { n } : n === 1 ? null : false), { intervalMs: 1 });
  assert.deepEqual(v, { n: 3 });
});

test('a timeout names what was awaited and quotes the last error', async () => {
  await assert.rejects(
    waitFor('the database', () => {
      throw new Error('ECONNREFUSED');
    }, { timeoutMs: 20, intervalMs: 5 }),
    /timed out after 20 ms waiting for the database \(last error: ECONNREFUSED\)/,
  );
});

test('giveUpIf ends the wait at once with its reason', async () => {
  let probes = 0;
  await assert.rejects(
    waitFor('a port', () => (probes++, undefined), { timeoutMs: 60_000, giveUpIf: () => 'the process exited (1)', detail: () => 'child output' }),
    /gave up waiting for a port: the process exited \(1\)\nchild output/,
  );
  assert.equal(probes, 1);
});
