/**
 * `placeParticipant`, the pure rule that says where a joining participant goes when a
 * meeting may span several nodes (src/control/rooms/ParticipantPlacement.ts). Every rule and
 * its edges, on hand-written facts: RTTs are the client's estimates per region (a Mumbai
 * client here, unless a test says otherwise), nodes are the meeting's nodes as the room
 * manager sees them.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  placeParticipant,
  type MeetingNodeState,
  type ParticipantPlacementInput,
  type ParticipantPlacementSettings,
} from '../../../src/control/rooms/ParticipantPlacement.js';

const SETTINGS: ParticipantPlacementSettings = { enabled: true, gainMs: 40, maxNodes: 8 };

/** A healthy node with room and no load, unless overridden. */
function node(nodeId: string, regionId: string, over: Partial<MeetingNodeState> = {}): MeetingNodeState {
  return { nodeId, regionId, healthy: true, hasRoom: true, load: 0, ...over };
}

/** A client in Mumbai: estimated RTTs as the reference matrix has them (+ a few ms of access). */
const MUMBAI_RTT: ReadonlyMap<string, number> = new Map([
  ['ap-south-1', 5],
  ['ap-southeast-1', 59],
  ['eu-central-1', 117],
  ['ap-northeast-1', 129],
  ['us-east-1', 187],
]);
const MUMBAI_RANKED = ['ap-south-1', 'ap-southeast-1', 'eu-central-1'];

function input(over: Partial<ParticipantPlacementInput> = {}): ParticipantPlacementInput {
  return {
    nodes: [],
    ranked: MUMBAI_RANKED,
    rttMs: MUMBAI_RTT,
    canAddIn: new Set(['ap-south-1', 'ap-southeast-1', 'eu-central-1', 'us-east-1']),
    settings: SETTINGS,
    ...over,
  };
}

describe('placeParticipant: a meeting without a healthy node', () => {
  it('asks for a whole-meeting placement when the meeting has no node yet', () => {
    assert.deepEqual(placeParticipant(input()), { kind: 'place' });
  });

  it('asks for a whole-meeting placement when every node of the meeting is unhealthy', () => {
    const nodes = [node('fra-1', 'eu-central-1', { healthy: false }), node('bom-1', 'ap-south-1', { healthy: false })];
    assert.deepEqual(placeParticipant(input({ nodes })), { kind: 'place' });
  });
});

describe('placeParticipant: rule 1, a node of the meeting in the best region', () => {
  it('joins the meeting\'s node in the client\'s best region when it has room', () => {
    const nodes = [node('iad-1', 'us-east-1'), node('bom-1', 'ap-south-1')];
    assert.deepEqual(placeParticipant(input({ nodes })), { kind: 'existing', nodeId: 'bom-1', regionId: 'ap-south-1' });
  });

  it('picks the least loaded node with room among several in the best region', () => {
    const nodes = [
      node('bom-1', 'ap-south-1', { load: 0.7 }),
      node('bom-2', 'ap-south-1', { load: 0.2 }),
      node('bom-3', 'ap-south-1', { load: 0.1, hasRoom: false }),
      node('bom-4', 'ap-south-1', { load: 0.05, healthy: false }),
      node('bom-5', 'ap-south-1', { load: 0.4 }),
    ];
    assert.deepEqual(placeParticipant(input({ nodes })), { kind: 'existing', nodeId: 'bom-2', regionId: 'ap-south-1' });
  });

  it('joins its best region\'s node even with cascading off (the meeting has one node there anyway)', () => {
    const nodes = [node('bom-1', 'ap-south-1')];
    const r = placeParticipant(input({ nodes, settings: { ...SETTINGS, enabled: false } }));
    assert.deepEqual(r, { kind: 'existing', nodeId: 'bom-1', regionId: 'ap-south-1' });
  });

  it('ignores an unhealthy node in the best region and looks elsewhere', () => {
    const nodes = [node('bom-1', 'ap-south-1', { healthy: false }), node('sin-1', 'ap-southeast-1')];
    // ap-south-1 (5 ms) vs the meeting's nearest live node ap-southeast-1 (59 ms): a gain of
    // 54 ms, so a node is added in ap-south-1; the unhealthy one is not reused.
    assert.deepEqual(placeParticipant(input({ nodes })), { kind: 'add', regionId: 'ap-south-1', role: 'regional' });
    // Without a node to add there, the live node in Singapore.
    const r = placeParticipant(input({ nodes, canAddIn: new Set() }));
    assert.deepEqual(r, { kind: 'existing', nodeId: 'sin-1', regionId: 'ap-southeast-1' });
  });
});

describe('placeParticipant: rule 2, the gain threshold for adding a node in the client\'s region', () => {
  // The meeting lives in Frankfurt only; the client's own region is 5 ms away.
  const FRA = [node('fra-1', 'eu-central-1')];
  const rtt = (frankfurtMs: number) => new Map([['ap-south-1', 5], ['eu-central-1', frankfurtMs]]);

  it('adds a node in the client\'s best region when it is far closer than the meeting\'s nearest node', () => {
    assert.deepEqual(placeParticipant(input({ nodes: FRA })), { kind: 'add', regionId: 'ap-south-1', role: 'regional' });
  });

  it('does not add one when the gain is just below gainMs', () => {
    const r = placeParticipant(input({ nodes: FRA, rttMs: rtt(5 + 39.9) }));
    assert.deepEqual(r, { kind: 'existing', nodeId: 'fra-1', regionId: 'eu-central-1' });
  });

  it('adds one when the gain is exactly gainMs', () => {
    const r = placeParticipant(input({ nodes: FRA, rttMs: rtt(5 + 40) }));
    assert.deepEqual(r, { kind: 'add', regionId: 'ap-south-1', role: 'regional' });
  });

  it('adds one when the gain is just above gainMs', () => {
    const r = placeParticipant(input({ nodes: FRA, rttMs: rtt(5 + 40.1) }));
    assert.deepEqual(r, { kind: 'add', regionId: 'ap-south-1', role: 'regional' });
  });

  it('follows the configured gainMs, not a fixed 40', () => {
    const settings = { ...SETTINGS, gainMs: 120 };
    assert.deepEqual(placeParticipant(input({ nodes: FRA, settings })), { kind: 'existing', nodeId: 'fra-1', regionId: 'eu-central-1' }); // gain 112
    const lower = { ...SETTINGS, gainMs: 10 };
    assert.deepEqual(placeParticipant(input({ nodes: FRA, rttMs: rtt(20), settings: lower })), { kind: 'add', regionId: 'ap-south-1', role: 'regional' }); // gain 15
  });

  it('measures the gain against the meeting\'s nearest node, not its home', () => {
    // Home in Virginia (187 ms), a second node in Singapore (59 ms): the gain is 54, not 182.
    const nodes = [node('iad-1', 'us-east-1'), node('sin-1', 'ap-southeast-1')];
    assert.deepEqual(placeParticipant(input({ nodes })), { kind: 'add', regionId: 'ap-south-1', role: 'regional' });
    const settings = { ...SETTINGS, gainMs: 60 };
    assert.deepEqual(placeParticipant(input({ nodes, settings })), { kind: 'existing', nodeId: 'sin-1', regionId: 'ap-southeast-1' });
  });

  it('does not add a node in a region that has none to add', () => {
    const r = placeParticipant(input({ nodes: FRA, canAddIn: new Set(['ap-southeast-1']) }));
    assert.deepEqual(r, { kind: 'existing', nodeId: 'fra-1', regionId: 'eu-central-1' });
  });

  it('never adds a node with cascading off', () => {
    const r = placeParticipant(input({ nodes: FRA, settings: { ...SETTINGS, enabled: false } }));
    assert.deepEqual(r, { kind: 'existing', nodeId: 'fra-1', regionId: 'eu-central-1' });
  });

  it('stops adding nodes once the meeting spans maxNodes healthy nodes', () => {
    const nodes = [node('fra-1', 'eu-central-1'), node('iad-1', 'us-east-1')];
    const r = placeParticipant(input({ nodes, settings: { ...SETTINGS, maxNodes: 2 } }));
    assert.deepEqual(r, { kind: 'existing', nodeId: 'fra-1', regionId: 'eu-central-1' });
    // One node fewer than the limit: it adds.
    const r3 = placeParticipant(input({ nodes, settings: { ...SETTINGS, maxNodes: 3 } }));
    assert.deepEqual(r3, { kind: 'add', regionId: 'ap-south-1', role: 'regional' });
  });

  it('does not count an unhealthy node against maxNodes (it is on its way out of the meeting)', () => {
    const nodes = [node('fra-1', 'eu-central-1'), node('iad-1', 'us-east-1', { healthy: false })];
    const r = placeParticipant(input({ nodes, settings: { ...SETTINGS, maxNodes: 2 } }));
    assert.deepEqual(r, { kind: 'add', regionId: 'ap-south-1', role: 'regional' });
  });

  it('does not add a regional node when the client\'s best region has no estimated RTT', () => {
    const r = placeParticipant(input({ nodes: FRA, rttMs: new Map([['eu-central-1', 117]]) }));
    assert.deepEqual(r, { kind: 'existing', nodeId: 'fra-1', regionId: 'eu-central-1' });
  });

  it('adds a regional node when the meeting\'s nodes have no estimated RTT but the best region has one', () => {
    const r = placeParticipant(input({ nodes: FRA, rttMs: new Map([['ap-south-1', 5]]) }));
    assert.deepEqual(r, { kind: 'add', regionId: 'ap-south-1', role: 'regional' });
  });

  it('does not add a regional node when neither the best region nor the meeting\'s nodes have an estimated RTT', () => {
    // No evidence of any gain (∞ against ∞): the meeting's node, not a new one.
    const r = placeParticipant(input({ nodes: FRA, rttMs: new Map() }));
    assert.deepEqual(r, { kind: 'existing', nodeId: 'fra-1', regionId: 'eu-central-1' });
  });

  it('does nothing regional for a client with no ranked region: the meeting\'s nearest node', () => {
    const r = placeParticipant(input({ nodes: FRA, ranked: [] }));
    assert.deepEqual(r, { kind: 'existing', nodeId: 'fra-1', regionId: 'eu-central-1' });
  });
});

describe('placeParticipant: rule 3, the meeting\'s nearest node', () => {
  it('goes to the nearest region of the meeting, then its least loaded node with room', () => {
    const nodes = [
      node('iad-1', 'us-east-1'),
      node('fra-1', 'eu-central-1', { load: 0.5 }),
      node('fra-2', 'eu-central-1', { load: 0.3 }),
      node('fra-3', 'eu-central-1', { load: 0.1, hasRoom: false }),
    ];
    const r = placeParticipant(input({ nodes, canAddIn: new Set() }));
    assert.deepEqual(r, { kind: 'existing', nodeId: 'fra-2', regionId: 'eu-central-1' });
  });

  it('orders the meeting\'s regions by this client\'s RTT, not by the order of the nodes', () => {
    const nodes = [node('iad-1', 'us-east-1'), node('nrt-1', 'ap-northeast-1'), node('fra-1', 'eu-central-1')];
    const r = placeParticipant(input({ nodes, canAddIn: new Set() }));
    assert.deepEqual(r, { kind: 'existing', nodeId: 'fra-1', regionId: 'eu-central-1' });
  });

  it('puts a meeting region with no estimated RTT last', () => {
    const nodes = [node('gru-1', 'sa-east-1'), node('iad-1', 'us-east-1')];
    const r = placeParticipant(input({ nodes, canAddIn: new Set() }));
    assert.deepEqual(r, { kind: 'existing', nodeId: 'iad-1', regionId: 'us-east-1' });
  });

  it('breaks an RTT tie between two meeting regions by region id', () => {
    const rttMs = new Map([['ap-south-1', 5], ['us-east-1', 100], ['eu-central-1', 100]]);
    const nodes = [node('iad-1', 'us-east-1'), node('fra-1', 'eu-central-1')];
    const r = placeParticipant(input({ nodes, rttMs, canAddIn: new Set() }));
    assert.deepEqual(r, { kind: 'existing', nodeId: 'fra-1', regionId: 'eu-central-1' });
  });

  it('breaks a tie between equally loaded nodes by their order (the first listed)', () => {
    const nodes = [node('fra-2', 'eu-central-1', { load: 0.25 }), node('fra-1', 'eu-central-1', { load: 0.25 })];
    const r = placeParticipant(input({ nodes, canAddIn: new Set() }));
    assert.deepEqual(r, { kind: 'existing', nodeId: 'fra-2', regionId: 'eu-central-1' });
  });
});

describe('placeParticipant: rule 4, growth past a full node', () => {
  it('grows onto another node of the best region when the meeting\'s node there is full', () => {
    const nodes = [node('bom-1', 'ap-south-1', { hasRoom: false, load: 1 }), node('fra-1', 'eu-central-1')];
    assert.deepEqual(placeParticipant(input({ nodes })), { kind: 'add', regionId: 'ap-south-1', role: 'overflow' });
  });

  it('grows in the nearest region rather than send the client to a farther node with room', () => {
    // Frankfurt is the client's nearest meeting region and full; Virginia has room. The
    // meeting grows in Frankfurt (117 ms) before the client goes to Virginia (187 ms).
    const nodes = [node('fra-1', 'eu-central-1', { hasRoom: false }), node('iad-1', 'us-east-1')];
    const canAddIn = new Set(['eu-central-1']);
    assert.deepEqual(placeParticipant(input({ nodes, canAddIn })), { kind: 'add', regionId: 'eu-central-1', role: 'overflow' });
  });

  it('goes to the next region of the meeting when the nearest one is full and cannot grow', () => {
    const nodes = [node('fra-1', 'eu-central-1', { hasRoom: false }), node('iad-1', 'us-east-1')];
    const r = placeParticipant(input({ nodes, canAddIn: new Set() }));
    assert.deepEqual(r, { kind: 'existing', nodeId: 'iad-1', regionId: 'us-east-1' });
  });

  it('does not grow with cascading off: the meeting is full', () => {
    const nodes = [node('bom-1', 'ap-south-1', { hasRoom: false })];
    assert.deepEqual(placeParticipant(input({ nodes, settings: { ...SETTINGS, enabled: false } })), { kind: 'full' });
  });

  it('does not grow past maxNodes: a meeting whose every node is full is full', () => {
    const nodes = [node('bom-1', 'ap-south-1', { hasRoom: false }), node('bom-2', 'ap-south-1', { hasRoom: false })];
    assert.deepEqual(placeParticipant(input({ nodes, settings: { ...SETTINGS, maxNodes: 2 } })), { kind: 'full' });
    assert.deepEqual(placeParticipant(input({ nodes, settings: { ...SETTINGS, maxNodes: 3 } })), { kind: 'add', regionId: 'ap-south-1', role: 'overflow' });
  });

  it('is full when every node is full and no region has a node to add', () => {
    const nodes = [node('bom-1', 'ap-south-1', { hasRoom: false }), node('fra-1', 'eu-central-1', { hasRoom: false })];
    assert.deepEqual(placeParticipant(input({ nodes, canAddIn: new Set() })), { kind: 'full' });
  });

  it('grows in the client\'s own region, below the gain threshold, rather than refuse the join', () => {
    // A Dublin client: its region is only 25 ms closer than the meeting's full Frankfurt
    // node, which cannot grow. Rule 2 does not apply; refusing would waste eu-west-1's room.
    const rttMs = new Map([['eu-west-1', 5], ['eu-central-1', 30], ['us-east-1', 80]]);
    const ranked = ['eu-west-1', 'eu-central-1', 'us-east-1'];
    const nodes = [node('fra-1', 'eu-central-1', { hasRoom: false })];
    const r = placeParticipant(input({ nodes, rttMs, ranked, canAddIn: new Set(['us-east-1', 'eu-west-1']) }));
    assert.deepEqual(r, { kind: 'add', regionId: 'eu-west-1', role: 'overflow' });
    // Its best region has nothing to add: the next serving region in its ranking.
    const next = placeParticipant(input({ nodes, rttMs, ranked, canAddIn: new Set(['us-east-1']) }));
    assert.deepEqual(next, { kind: 'add', regionId: 'us-east-1', role: 'overflow' });
    // A region outside the client's ranking is never added for it.
    assert.deepEqual(placeParticipant(input({ nodes, rttMs, ranked, canAddIn: new Set(['ap-south-1']) })), { kind: 'full' });
  });
});
