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
    await rooms.meetingEnded('one', 'eu-a');
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
    await rooms.meetingEnded('old-ended', 'eu-a');
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
