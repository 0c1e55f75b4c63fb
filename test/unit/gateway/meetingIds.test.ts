/**
 * Meeting ids and participant names at the API edge (issue 14, findings 6 and 7), on a real
 * embedded platform behind the gateway:
 * - ids are unique per app: another app's id is neither revealed (409) nor squatted;
 * - every id the API creates can be addressed (the route parameter limit equals the id
 *   limit), and ids of only dots are refused;
 * - participant names lose control characters, bidi overrides and lone surrogates.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Platform } from '../../../src/apps/wire.js';
import { cleanParticipantName, MEETING_ID_MAX_LENGTH, PARTICIPANT_NAME_MAX_LENGTH } from '../../../src/contracts/index.js';
import { registerDefaultNodes, startTestPlatform, TEST_ADMIN_KEY } from '../../helpers/platform.js';

const auth = (key: string) => ({ authorization: `Bearer ${key}` });
const claimsOf = (token: string) => JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as Record<string, unknown>;

describe('meeting ids and names at the API', { timeout: 60_000 }, () => {
  let platform: Platform;
  let keyA: string;
  let keyB: string;
  before(async () => {
    platform = await startTestPlatform();
    await registerDefaultNodes(platform);
    const mk = async (appId: string) =>
      (await platform.gateway!.inject({ method: 'POST', url: '/v1/admin/keys', headers: auth(TEST_ADMIN_KEY), payload: { appId } })).json().key as string;
    keyA = await mk('app-a');
    keyB = await mk('app-b');
  });
  after(() => platform?.close());

  const create = (key: string, id: string) => platform.gateway!.inject({ method: 'POST', url: '/v1/meetings', headers: auth(key), payload: { id } });
  const join = (key: string, id: string, name = 'Ann') =>
    platform.gateway!.inject({ method: 'POST', url: `/v1/meetings/${id}/join`, headers: auth(key), payload: { participant: { id: 'ann', name } } });

  test("two apps each create a meeting 'standup': neither learns of the other's", async () => {
    assert.equal((await create(keyA, 'standup')).statusCode, 201);
    const b = await create(keyB, 'standup');
    assert.equal(b.statusCode, 201, b.body);
    assert.equal(b.json().appId, 'app-b');
    assert.equal((await create(keyA, 'standup')).statusCode, 409, 'the same app still cannot create it twice');
    const got = await platform.gateway!.inject({ method: 'GET', url: '/v1/meetings/standup', headers: auth(keyB) });
    assert.equal(got.json().appId, 'app-b');
  });

  test("joins of two apps' 'standup' get tokens naming their own app, so the node keeps them apart", async () => {
    const a = await join(keyA, 'standup');
    const b = await join(keyB, 'standup');
    assert.equal(a.statusCode, 200, a.body);
    assert.equal(b.statusCode, 200, b.body);
    assert.equal(claimsOf(a.json().token).app, 'app-a');
    assert.equal(claimsOf(b.json().token).app, 'app-b');
    assert.equal(claimsOf(b.json().token).mtg, 'standup');
  });

  test('an admin naming any app (*) must name the app when several apps have the id', async () => {
    const res = await platform.gateway!.inject({ method: 'GET', url: '/v1/meetings/standup?appId=*', headers: auth(TEST_ADMIN_KEY) });
    assert.equal(res.statusCode, 400, res.body);
    assert.equal(res.json().error.code, 'VALIDATION_FAILED');
    const named = await platform.gateway!.inject({ method: 'GET', url: '/v1/meetings/standup?appId=app-a', headers: auth(TEST_ADMIN_KEY) });
    assert.equal(named.json().appId, 'app-a');
  });

  test('a meeting id of the longest allowed length is created, read and joined', async () => {
    const id = `m${'x'.repeat(MEETING_ID_MAX_LENGTH - 1)}`;
    assert.equal((await create(keyA, id)).statusCode, 201);
    const got = await platform.gateway!.inject({ method: 'GET', url: `/v1/meetings/${id}`, headers: auth(keyA) });
    assert.equal(got.statusCode, 200, got.body);
    assert.equal((await join(keyA, id)).statusCode, 200);
    assert.equal((await create(keyA, `${id}y`)).statusCode, 400, 'one longer is refused at creation');
  });

  test('ids of only dots are refused', async () => {
    for (const id of ['.', '..', '...']) {
      const res = await create(keyA, id);
      assert.equal(res.statusCode, 400, `${id}: ${res.body}`);
      assert.equal(res.json().error.code, 'VALIDATION_FAILED');
    }
    assert.equal((await create(keyA, 'v1.2')).statusCode, 201, 'dots inside an id are fine');
  });

  test('participant names lose control characters, bidi overrides and lone surrogates; a name of nothing else is refused', async () => {
    await create(keyA, 'names');
    const res = await join(keyA, 'names', '  Ann\u0007\u202Egnp.exe\u202C \uD800Lee\n ');
    assert.equal(res.statusCode, 200, res.body);
    assert.equal(claimsOf(res.json().token).name, 'Anngnp.exe Lee');
    const empty = await join(keyA, 'names', '\u202E\u0000\u200F');
    assert.equal(empty.statusCode, 400);
    assert.equal(empty.json().error.code, 'VALIDATION_FAILED');
  });

  test('the demo route cleans names the same way', async () => {
    const res = await platform.gateway!.inject({ method: 'POST', url: '/demo/join', payload: { meetingId: 'demo-names', name: 'Bo\u202Eb\u0000' } });
    assert.equal(res.statusCode, 200, res.body);
    assert.equal(claimsOf(res.json().token).name, 'Bob');
  });
});

test('the name cleaner keeps letters and emoji, collapses white space and caps the length without splitting a pair', () => {
  assert.equal(cleanParticipantName('  Zoë  \t Ng 👩‍💻 '), 'Zoë Ng 👩‍💻');
  assert.equal(cleanParticipantName('\uDC00a\uD83D'), 'a');
  const long = cleanParticipantName('😀'.repeat(PARTICIPANT_NAME_MAX_LENGTH + 5));
  assert.equal(Array.from(long).length, PARTICIPANT_NAME_MAX_LENGTH);
  assert.ok(!/[\uD800-\uDBFF]$/.test(long));
});
