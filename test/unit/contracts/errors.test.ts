import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { ERROR_CATALOG, ERROR_CODES, MeridianError } from '../../../src/contracts/index.js';
import { MeridianRegenerator, toMeridianError } from '../../../src/fabric/index.js';

test('every error code is documented in docs/errors.md', () => {
  const doc = readFileSync(new URL('../../../docs/errors.md', import.meta.url), 'utf8');
  const missing = ERROR_CODES.filter((c) => !doc.includes(`\`${c}\``));
  assert.deepEqual(missing, []);
});

test('every code maps to a 4xx or 5xx status', () => {
  for (const [code, spec] of Object.entries(ERROR_CATALOG)) assert.ok(spec.status >= 400 && spec.status < 600, code);
});

test('an error re-created from its serialised form keeps class, code and retryable flag', () => {
  const original = new MeridianError('REGION_HAS_LIVE_MEETINGS', 'still busy', { liveMeetings: 2 });
  const plain = JSON.parse(JSON.stringify({ name: original.name, message: original.message, code: original.code, type: original.type, data: original.data, retryable: original.retryable }));
  const back = new MeridianRegenerator().restoreCustomError(plain);
  assert.ok(back instanceof MeridianError);
  assert.equal(back.code, 'REGION_HAS_LIVE_MEETINGS');
  assert.equal(back.retryable, true);
  assert.equal(back.status, 409);
  assert.deepEqual(back.data, { liveMeetings: 2 });
});

test('broker failures become retryable SERVICE_UNAVAILABLE and unknown failures INTERNAL', () => {
  const timeout = Object.assign(new Error('Request timed out'), { name: 'RequestTimeoutError' });
  assert.equal(toMeridianError(timeout).code, 'SERVICE_UNAVAILABLE');
  assert.equal(toMeridianError(timeout).retryable, true);
  const weird = toMeridianError(new TypeError('x is undefined'));
  assert.equal(weird.code, 'INTERNAL');
  assert.ok(!weird.message.includes('undefined'), 'internal details are not leaked');
});
