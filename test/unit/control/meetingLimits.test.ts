/**
 * What keeps one app (or an anonymous caller through the demo) from filling the meetings
 * table or holding capacity it does not use (issue 14): the per-app quota of idle and live
 * meetings, and the sweep that deletes meetings nobody used for `meetings.idleTtlSeconds`.
 * The real room manager and store over PGlite in memory; time from a manual clock.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { loadConfig } from '../../../src/config/index.js';
import { createDatabase, type DatabaseHandle } from '../../../src/storage/index.js';
import { RegionStore } from '../../../src/control/registry/index.js';
import { MeetingStore, RoomManager, type RoomManagerDeps } from '../../../src/control/rooms/index.js';
import { RegionDirectory } from '../../../src/control/directory/index.js';
import { JoinTokenIssuer, generateMasterSecret, parseMasterSecret } from '../../../src/control/auth/index.js';
import { createRegionProvider } from '../../../src/control/provider/index.js';
import { createLogger } from '../../../src/lib/logger.js';
import { MeridianError } from '../../../src/contracts/index.js';
import { ManualClock } from '../../helpers/clock.js';
import { IPS } from '../../helpers/platform.js';

const DAY = 86_400_000;

let db: DatabaseHandle;
let directory: RegionDirectory;
let clock: ManualClock;
let store: MeetingStore;
const tokens = new JoinTokenIssuer(parseMasterSecret(generateMasterSecret()), 60);

before(async () => {
  db = await createDatabase({ url: '', dataDir: 'memory://' });
  clock = new ManualClock(Date.now());
  const regions = new RegionStore(db.db, 60_000);
  await regions.add({ id: 'eu-central-1', name: 'Frankfurt', lat: 50.11, lon: 8.68 });
  await regions.heartbeat({ nodeId: 'eu-a', regionId: 'eu-central-1', url: 'ws://x/eu-a', capacity: 1000, load: { participants: 0, meetings: 0, tracks: 0, packetsPerSecond: 0, cpu: 0 } });
  // Node health is not what these tests are about: heartbeats never go stale here.
  directory = new RegionDirectory({ heartbeatTimeoutMs: 365 * DAY });
  directory.replaceAll(await regions.list());
  store = new MeetingStore(db.db, clock);
});
after(() => db.close());

function manager(extra: Partial<RoomManagerDeps> = {}): RoomManager {
  const provider = createRegionProvider({ config: loadConfig({ env: {} }), directory });
  return new RoomManager({ store, directory, tokens, rank: async (p) => provider.rank(p), onMeetingChanged: () => {}, logger: createLogger('silent'), rankCount: 3, clock, ...extra });
}

const isCode = (code: string) => (e: unknown) => e instanceof MeridianError && e.code === code;

describe('per-app meeting quota', () => {
  test('an app past meetings.maxPerApp idle and live meetings gets QUOTA_EXCEEDED; another app is unaffected', async () => {
    const rooms = manager({ maxMeetingsPerApp: 3 });
    for (let i = 0; i < 3; i++) await rooms.create({ appId: 'quota-a', id: `q-${i}` });
    await assert.rejects(rooms.create({ appId: 'quota-a', id: 'q-3' }), isCode('QUOTA_EXCEEDED'));
    await assert.rejects(rooms.create({ appId: 'quota-a' }), isCode('QUOTA_EXCEEDED'), 'generated ids count too');
    await rooms.create({ appId: 'quota-b', id: 'qb-0' });
  });

  test('ended meetings do not count against the quota', async () => {
    const rooms = manager({ maxMeetingsPerApp: 1 });
    await rooms.create({ appId: 'quota-end', id: 'one' });
    await rooms.join({ appId: 'quota-end', meetingId: 'one', participant: { id: 'p', name: 'P' }, ip: IPS.london });
    await rooms.meetingEnded('quota-end/one', 'eu-a');
    await rooms.create({ appId: 'quota-end', id: 'two' });
  });

  test("a caller's lower maxMeetings (the demo's cap) applies below the app quota", async () => {
    const rooms = manager({ maxMeetingsPerApp: 100 });
    await rooms.create({ appId: 'quota-demo', id: 'd-1', maxMeetings: 1 });
    await assert.rejects(rooms.create({ appId: 'quota-demo', id: 'd-2', maxMeetings: 1 }), isCode('QUOTA_EXCEEDED'));
  });
});

describe('idle meetings expire', () => {
  test('the sweep deletes idle and ended meetings untouched for idleTtlMs, and keeps live and recent ones', async () => {
    const rooms = manager({ idleTtlMs: DAY });
    await rooms.create({ appId: 'exp', id: 'old-idle' });
    await rooms.create({ appId: 'exp', id: 'old-ended' });
    await rooms.join({ appId: 'exp', meetingId: 'old-ended', participant: { id: 'p', name: 'P' }, ip: IPS.london });
    await rooms.meetingEnded('exp/old-ended', 'eu-a');
    await rooms.create({ appId: 'exp', id: 'old-live' });
    await rooms.join({ appId: 'exp', meetingId: 'old-live', participant: { id: 'p', name: 'P' }, ip: IPS.london });
    clock.advance(DAY - 1_000);
    await rooms.create({ appId: 'exp', id: 'recent-idle' });
    clock.advance(2_000);

    const { expired } = await rooms.sweep();
    assert.ok(expired >= 2, `expired ${expired}`);
    await assert.rejects(rooms.get('exp', 'old-idle'), isCode('MEETING_NOT_FOUND'));
    await assert.rejects(rooms.get('exp', 'old-ended'), isCode('MEETING_NOT_FOUND'));
    assert.equal((await rooms.get('exp', 'recent-idle')).status, 'idle');
    assert.equal((await rooms.get('exp', 'old-live')).status, 'live', 'a live meeting is not expired by age');
    // The id is free again.
    await rooms.create({ appId: 'exp', id: 'old-idle' });
  });
});

describe('placed meetings nobody connects to go back to idle', () => {
  const TTL = 60_000;
  const SLACK = 5_000;
  const rooms = () => manager({ tokenTtlMs: TTL, reportSlackMs: SLACK });
  const ann = { id: 'ann', name: 'Ann' };
  /** The node's heartbeat, as the registry forwards it: the room keys it hosts, now. */
  const report = (r: RoomManager, keys: string[]) => r.nodeMeetingsReported('eu-a', keys, clock.now());

  test('a placement whose node reports hosting other meetings but never this one is released after the token lifetime, and the next join places it again', async () => {
    const r = rooms();
    await r.create({ appId: 'rel', id: 'ghost' });
    assert.equal((await r.join({ appId: 'rel', meetingId: 'ghost', participant: ann, ip: IPS.london })).placed, true);
    clock.advance(TTL);
    report(r, ['rel/other']);
    await r.sweep();
    assert.equal((await r.get('rel', 'ghost')).status, 'live', 'tokens may still be valid: not yet');
    clock.advance(SLACK + 1);
    report(r, ['rel/other']);
    assert.ok((await r.sweep()).released >= 1);
    const idle = await r.get('rel', 'ghost');
    assert.equal(idle.status, 'idle');
    assert.equal(idle.nodeId, null);
    assert.equal((await r.join({ appId: 'rel', meetingId: 'ghost', participant: ann, ip: IPS.london })).placed, true);
  });

  test('a slow first connect within the token lifetime keeps the placement', async () => {
    const r = rooms();
    await r.create({ appId: 'rel', id: 'slow' });
    await r.join({ appId: 'rel', meetingId: 'slow', participant: ann, ip: IPS.london });
    clock.advance(TTL - 1_000);
    report(r, ['rel/slow']); // the participant connected just before its token expired
    clock.advance(SLACK + 2_000);
    report(r, ['rel/slow']);
    await r.sweep();
    assert.equal((await r.get('rel', 'slow')).status, 'live');
  });

  test('a later join with a fresh token keeps the placement until that token too has expired', async () => {
    const r = rooms();
    await r.create({ appId: 'rel', id: 'second' });
    await r.join({ appId: 'rel', meetingId: 'second', participant: ann, ip: IPS.london });
    clock.advance(TTL / 2);
    await r.join({ appId: 'rel', meetingId: 'second', participant: { id: 'bo', name: 'Bo' }, ip: IPS.london });
    await new Promise((resolve) => setImmediate(resolve)); // the join's record is written in the background
    clock.advance(TTL / 2 + SLACK + 1);
    report(r, []);
    await r.sweep();
    assert.equal((await r.get('rel', 'second')).status, 'live', "the second joiner's token is still valid");
    clock.advance(TTL / 2);
    report(r, []);
    await r.sweep();
    assert.equal((await r.get('rel', 'second')).status, 'idle');
  });

  test('without a heartbeat report after the token lifetime (node silent or dead) nothing is released: failover re-places on the next join instead', async () => {
    const r = rooms();
    await r.create({ appId: 'rel', id: 'silent' });
    await r.join({ appId: 'rel', meetingId: 'silent', participant: ann, ip: IPS.london });
    report(r, []); // a report from before the deadline does not count
    clock.advance(TTL + SLACK + 1);
    await r.sweep();
    assert.equal((await r.get('rel', 'silent')).status, 'live');
    r.nodeGone('eu-a');
    await r.sweep();
    assert.equal((await r.get('rel', 'silent')).status, 'live');
  });

  test('a release loses to a re-placement that happened meanwhile (epoch guard)', async () => {
    const r = rooms();
    await r.create({ appId: 'rel', id: 'raced' });
    await r.join({ appId: 'rel', meetingId: 'raced', participant: ann, ip: IPS.london });
    const seen = (await store.get('rel', 'raced'))!;
    // Another copy re-places it (failover) after this copy read it.
    assert.ok(await store.place('rel', 'raced', seen.epoch, 'eu-central-1', 'eu-a'));
    clock.advance(TTL + SLACK + 1);
    assert.equal(await store.release('rel', 'raced', seen.epoch, clock.now()), undefined);
    assert.equal((await store.get('rel', 'raced'))!.status, 'live');
  });
});

describe('meeting ids are per app', () => {
  test("two apps create, join and end their own 'standup'; a node's report of one app's room ends only that one", async () => {
    const rooms = manager();
    await rooms.create({ appId: 'ids-a', id: 'standup' });
    await rooms.create({ appId: 'ids-b', id: 'standup' });
    await assert.rejects(rooms.create({ appId: 'ids-a', id: 'standup' }), isCode('MEETING_EXISTS'));
    await rooms.join({ appId: 'ids-a', meetingId: 'standup', participant: { id: 'p', name: 'P' }, ip: IPS.london });
    await rooms.join({ appId: 'ids-b', meetingId: 'standup', participant: { id: 'p', name: 'P' }, ip: IPS.london });
    assert.equal(await rooms.meetingEnded('ids-b/standup', 'eu-a'), true);
    assert.equal((await rooms.get('ids-a', 'standup')).status, 'live');
    assert.equal((await rooms.get('ids-b', 'standup')).status, 'ended');
  });
});
