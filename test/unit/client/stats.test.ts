/** RTT and inbound media figures read from WebRTC statistics (shaped as Chromium reports them). */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { rttFromStats, summarizeInbound, type StatsEntry } from '../../../src/client/stats.js';

const report = (...entries: StatsEntry[]) => new Map(entries.map((e) => [e.id, e]));

describe('stats', () => {
  test('RTT comes from the transport’s selected candidate pair, in ms', () => {
    const r = report(
      { id: 'T01', type: 'transport', selectedCandidatePairId: 'CP2' },
      { id: 'CP1', type: 'candidate-pair', state: 'succeeded', nominated: false, currentRoundTripTime: 0.5 },
      { id: 'CP2', type: 'candidate-pair', state: 'succeeded', nominated: true, currentRoundTripTime: 0.0423 },
    );
    assert.equal(rttFromStats(r), 42.3);
  });

  test('without a transport entry a nominated succeeded pair is used', () => {
    const r = report({ id: 'CP1', type: 'candidate-pair', state: 'succeeded', nominated: true, currentRoundTripTime: 0.002 });
    assert.equal(rttFromStats(r), 2);
  });

  test('no measured pair yet gives null', () => {
    assert.equal(rttFromStats(report({ id: 'T01', type: 'transport', selectedCandidatePairId: 'CP1' }, { id: 'CP1', type: 'candidate-pair', state: 'in-progress' })), null);
    assert.equal(rttFromStats(report()), null);
  });

  test('inbound RTP is attributed to the participant of its slot', () => {
    const r = report(
      { id: 'IV', type: 'inbound-rtp', kind: 'video', mid: 'v0', packetsReceived: 300, packetsLost: 2, bytesReceived: 300_000, framesDecoded: 120, frameWidth: 640, frameHeight: 480 },
      { id: 'IA', type: 'inbound-rtp', kind: 'audio', mid: 'a1', packetsReceived: 250, packetsLost: 0, bytesReceived: 20_000, totalSamplesReceived: 240_000 },
      { id: 'IX', type: 'inbound-rtp', kind: 'video', mid: 'v2', packetsReceived: 0 },
      { id: 'OUT', type: 'outbound-rtp', kind: 'video', mid: '0' },
    );
    const rows = summarizeInbound(r, [
      { mid: 'v0', kind: 'video', participantId: 'ann', trackId: 't1' },
      { mid: 'a1', kind: 'audio', participantId: 'ann', trackId: 't2' },
      { mid: 'v2', kind: 'video', participantId: null, trackId: null },
    ]);
    assert.deepEqual(
      rows.map((x) => [x.mid, x.participantId, x.kind, x.packetsReceived, x.framesDecoded ?? x.totalSamplesReceived]),
      [
        ['v0', 'ann', 'video', 300, 120],
        ['a1', 'ann', 'audio', 250, 240_000],
        ['v2', null, 'video', 0, 0],
      ],
    );
  });
});
