/** What the app hears about remote participants when the call changes node: no churn for those who follow. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ParticipantView } from '../../../src/client/ParticipantView.js';
import type { MediaKind, ParticipantInfo } from '../../../src/client/protocol.js';
import { ManualScheduler } from './support/manualScheduler.js';

type Entry = { info: ParticipantInfo; stream: string | null; kinds: MediaKind[] };

function node(...entries: Array<[string, string | null]>): { participants: Map<string, Entry> } {
  return { participants: new Map(entries.map(([id, stream]) => [id, { info: { id, name: id.toUpperCase() }, stream, kinds: stream ? (['audio', 'video'] as MediaKind[]) : [] }])) };
}

function setup(graceMs = 10_000, gate?: ConstructorParameters<typeof ParticipantView<string>>[3]) {
  const clock = new ManualScheduler();
  const heard: string[] = [];
  const view = new ParticipantView<string>(
    clock,
    {
      joined: (p) => heard.push(`joined ${p.id}`),
      left: (p) => heard.push(`left ${p.id}`),
      track: (p, s) => heard.push(`track ${p.id} ${s}`),
    },
    graceMs,
    gate,
  );
  return { clock, heard, view };
}

/** A gate whose promises the test settles. */
function manualGate() {
  const waiting = new Map<string, () => void>();
  const gate = (_id: string, stream: string) => new Promise<void>((resolve) => waiting.set(stream, resolve));
  return { gate, open: (stream: string) => waiting.get(stream)?.(), waiting };
}

const tick = () => new Promise((r) => setImmediate(r));

describe('participant view', () => {
  test('the first node announces everyone already there, with their streams, but never this client itself', () => {
    const { heard, view } = setup();
    view.adopt(node(['bob', 's1'], ['cat', null], ['me', 's0']), 'me');
    assert.deepEqual(heard, ['joined bob', 'track bob s1', 'joined cat']);
  });

  test('after a reconnect, participants already known are not announced again; their new streams are', () => {
    const { heard, view } = setup();
    view.adopt(node(['bob', 's1'], ['cat', 's2']), 'me');
    heard.length = 0;
    view.adopt(node(['bob', 's3'], ['cat', 's4'], ['dan', null]), 'me');
    assert.deepEqual(heard, ['track bob s3', 'track cat s4', 'joined dan']);
  });

  test('someone missing on the new node keeps its tile through the grace period and is not re-announced when it arrives', () => {
    const { clock, heard, view } = setup();
    view.adopt(node(['bob', 's1'], ['cat', 's2']), 'me');
    heard.length = 0;
    const next = node(['bob', null]);
    view.adopt(next, 'me');
    assert.deepEqual(view.awaiting, ['cat']);
    clock.advance(4_000);
    next.participants.set('cat', { info: { id: 'cat', name: 'CAT' }, stream: null, kinds: [] });
    view.show({ id: 'cat', name: 'CAT' });
    view.track({ id: 'cat', name: 'CAT' }, 's5', ['video']);
    clock.advance(20_000);
    assert.deepEqual(heard, ['track cat s5']);
    assert.deepEqual(view.awaiting, []);
  });

  test('someone who does not turn up within the grace period is reported gone', () => {
    const { clock, heard, view } = setup(10_000);
    view.adopt(node(['bob', 's1'], ['cat', 's2']), 'me');
    heard.length = 0;
    view.adopt(node(['bob', null]), 'me');
    clock.advance(9_999);
    assert.deepEqual(heard, []);
    clock.advance(1);
    assert.deepEqual(heard, ['left cat']);
    assert.equal(view.has('cat'), false);
  });

  test('a participant that leaves for good is reported once; clear() forgets everyone silently and stops timers', () => {
    const { clock, heard, view } = setup();
    view.adopt(node(['bob', 's1'], ['cat', 's2']), 'me');
    heard.length = 0;
    view.drop('bob');
    view.drop('bob');
    view.await('cat');
    view.clear();
    clock.advance(60_000);
    assert.deepEqual(heard, ['left bob']);
    assert.equal(clock.pending, 0);
  });
});

describe('participant view: replacing a shown stream', () => {
  test('a first stream is handed over at once; a replacement waits at the gate (the old picture stays)', async () => {
    const g = manualGate();
    const { heard, view } = setup(10_000, g.gate);
    view.adopt(node(['bob', 's1']), 'me');
    assert.deepEqual(heard, ['joined bob', 'track bob s1']);
    assert.equal(g.waiting.size, 0, 'no gate for a first stream');
    view.track({ id: 'bob', name: 'BOB' }, 's2', ['video']);
    await tick();
    assert.deepEqual(heard, ['joined bob', 'track bob s1']);
    assert.equal([...view.records()][0]!.stream, 's1');
    g.open('s2');
    await tick();
    assert.deepEqual(heard.slice(2), ['track bob s2']);
  });

  test('the newest replacement wins; one that waited longer is dropped', async () => {
    const g = manualGate();
    const { heard, view } = setup(10_000, g.gate);
    view.adopt(node(['bob', 's1']), 'me');
    view.track({ id: 'bob', name: 'BOB' }, 's2', ['video']);
    view.track({ id: 'bob', name: 'BOB' }, 's3', ['video']);
    g.open('s3');
    await tick();
    g.open('s2');
    await tick();
    assert.deepEqual(heard.slice(2), ['track bob s3']);
  });

  test('a participant who leaves while its new stream waits is not brought back', async () => {
    const g = manualGate();
    const { heard, view } = setup(10_000, g.gate);
    view.adopt(node(['bob', 's1']), 'me');
    view.track({ id: 'bob', name: 'BOB' }, 's2', ['video']);
    view.drop('bob');
    g.open('s2');
    await tick();
    assert.deepEqual(heard.slice(2), ['left bob']);
    assert.equal(view.has('bob'), false);
  });
});
