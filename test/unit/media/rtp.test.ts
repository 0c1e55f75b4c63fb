/**
 * Packet-level units of the SFU: RTP header helpers, RTCP feedback parsing, the
 * retransmission buffer, the forwarder's rewriting, the active speaker detector and the
 * publish-offer SDP filter. No sockets.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { Forwarder, ForwardResult, type PacketSink } from '../../../src/media/sfu/Forwarder.js';
import { RetransmissionBuffer } from '../../../src/media/sfu/RetransmissionBuffer.js';
import { buildEmptyReceiverReport, buildFir, buildNack, buildPli, parseRtcpFeedback } from '../../../src/media/sfu/Rtcp.js';
import { isRtcp, isRtp, isVp8KeyFrame, readAudioLevel, rtpPayloadOffset, seqDelta } from '../../../src/media/sfu/RtpPacket.js';
import { ActiveSpeakerDetector } from '../../../src/media/sfu/ActiveSpeakerDetector.js';
import { filterPublishOffer, stripTransportCc } from '../../../src/media/engine/Sdp.js';
import { MeridianError } from '../../../src/contracts/errors.js';

function rtp(seq: number, ts: number, ssrc: number, opts: { pt?: number; marker?: boolean; key?: boolean; size?: number } = {}): Buffer {
  const b = Buffer.alloc(opts.size ?? 40);
  b[0] = 0x80;
  b[1] = (opts.marker ? 0x80 : 0) | (opts.pt ?? 96);
  b.writeUInt16BE(seq & 0xffff, 2);
  b.writeUInt32BE(ts >>> 0, 4);
  b.writeUInt32BE(ssrc >>> 0, 8);
  b[12] = 0x10;
  b[13] = opts.key ? 0 : 1;
  return b;
}

class RecordingSink implements PacketSink {
  open = true;
  readonly sent: Buffer[] = [];
  send(packet: Buffer): boolean {
    this.sent.push(Buffer.from(packet));
    return true;
  }
}

describe('RTP headers', () => {
  test('tells RTP from RTCP by payload type', () => {
    assert.equal(isRtp(rtp(1, 1, 1)), true);
    assert.equal(isRtcp(buildPli(1, 2)), true);
    assert.equal(isRtp(buildPli(1, 2)), false);
    assert.equal(isRtp(Buffer.alloc(5)), false);
  });

  test('reads a one-byte-header audio level and skips padding', () => {
    const b = Buffer.alloc(12 + 4 + 8 + 10);
    b[0] = 0x90;
    b[1] = 111;
    b.writeUInt16BE(0xbede, 12);
    b.writeUInt16BE(2, 14);
    b[16] = (3 << 4) | 1; // id 3, two bytes
    b[19] = 0; // padding
    b[20] = (1 << 4) | 0; // id 1, one byte
    b[21] = 0x80 | 42;
    assert.equal(readAudioLevel(b, 1), 42);
    assert.equal(readAudioLevel(b, 2), -1);
    assert.equal(rtpPayloadOffset(b), 24);
  });

  test('reads a two-byte-header audio level', () => {
    const b = Buffer.alloc(12 + 4 + 4 + 10);
    b[0] = 0x90;
    b.writeUInt16BE(0x1000, 12);
    b.writeUInt16BE(1, 14);
    b[16] = 5;
    b[17] = 1;
    b[18] = 17;
    assert.equal(readAudioLevel(b, 5), 17);
  });

  test('ignores a header extension that runs past the packet', () => {
    const b = Buffer.alloc(20);
    b[0] = 0x90;
    b.writeUInt16BE(0xbede, 12);
    b.writeUInt16BE(50, 14);
    assert.equal(readAudioLevel(b, 1), -1);
    assert.equal(rtpPayloadOffset(b), -1);
  });

  test('recognises VP8 key frames, with and without the extended descriptor', () => {
    assert.equal(isVp8KeyFrame(rtp(1, 1, 1, { key: true })), true);
    assert.equal(isVp8KeyFrame(rtp(1, 1, 1, { key: false })), false);
    const ext = Buffer.alloc(30);
    ext[0] = 0x80;
    ext[1] = 96;
    ext[12] = 0x90; // X=1, S=1
    ext[13] = 0x80; // I: picture id present
    ext[14] = 0x81; // 15-bit picture id
    ext[15] = 0x23;
    ext[16] = 0x00; // P=0
    assert.equal(isVp8KeyFrame(ext), true);
    const continuation = rtp(1, 1, 1, { key: true });
    continuation[12] = 0x00; // S=0: not the start of a partition
    assert.equal(isVp8KeyFrame(continuation), false);
  });

  test('seqDelta goes the short way around the wrap', () => {
    assert.equal(seqDelta(65535, 0), 1);
    assert.equal(seqDelta(0, 65535), -1);
    assert.equal(seqDelta(65300, 264), 500);
  });
});

describe('RTCP feedback', () => {
  test('walks a compound packet to find a PLI after the receiver report', () => {
    const compound = Buffer.concat([buildEmptyReceiverReport(9), buildPli(9, 1234)]);
    assert.deepEqual(parseRtcpFeedback(compound), [{ kind: 'pli', senderSsrc: 9, mediaSsrc: 1234 }]);
  });

  test('parses FIR requests', () => {
    const [fb] = parseRtcpFeedback(buildFir(9, 555, 7));
    assert.deepEqual(fb, { kind: 'fir', senderSsrc: 9, requests: [{ ssrc: 555, seqNr: 7 }] });
  });

  test('a NACK round-trips through PID/BLP packing, across the wrap', () => {
    const seqs = [65534, 65535, 0, 3, 40, 41];
    const [fb] = parseRtcpFeedback(buildNack(9, 77, seqs));
    assert.ok(fb && fb.kind === 'nack');
    assert.deepEqual([...fb.seqs].sort((a, b) => a - b), [...seqs].sort((a, b) => a - b));
    assert.equal(fb.mediaSsrc, 77);
  });

  test('stops at a truncated packet but keeps what came before', () => {
    const truncated = Buffer.concat([buildPli(1, 2), buildNack(1, 2, [5]).subarray(0, 10)]);
    assert.deepEqual(parseRtcpFeedback(truncated), [{ kind: 'pli', senderSsrc: 1, mediaSsrc: 2 }]);
    assert.deepEqual(parseRtcpFeedback(Buffer.from('garbage!')), []);
  });
});

describe('RetransmissionBuffer', () => {
  test('returns a stored packet by sequence number until it is overwritten or too old', () => {
    const buf = new RetransmissionBuffer({ capacity: 16, maxAgeMs: 100 });
    const p = rtp(65535, 0, 1);
    buf.store(65535, p, 0);
    assert.equal(buf.get(65535, 50), p);
    assert.equal(buf.get(65535, 150), undefined, 'too old');
    buf.store(15, rtp(15, 0, 1), 60); // same slot as 65535 (mod 16)
    assert.equal(buf.get(65535, 60), undefined, 'overwritten');
    assert.equal(buf.get(7, 60), undefined, 'never stored');
  });
});

describe('Forwarder', () => {
  test('rewrites SSRC, payload type and keeps the marker bit', () => {
    const sink = new RecordingSink();
    const f = new Forwarder({ ssrc: 0xdeadbeef, payloadType: 100, clockRate: 90_000, waitForKeyFrame: false, sink });
    f.setSource('a');
    const p = rtp(10, 1000, 42, { pt: 96, marker: true });
    assert.equal(f.forward(p, false, 0), ForwardResult.Sent);
    const out = sink.sent[0]!;
    assert.equal(out.readUInt32BE(8), 0xdeadbeef);
    assert.equal(out[1]! & 0x7f, 100);
    assert.equal(out[1]! & 0x80, 0x80);
    assert.equal(out.readUInt16BE(2), 10, 'the first source keeps its numbering');
  });

  test('drops video until a key frame, then forwards everything', () => {
    const sink = new RecordingSink();
    const f = new Forwarder({ ssrc: 1, payloadType: 96, clockRate: 90_000, waitForKeyFrame: true, sink });
    f.setSource('a');
    assert.equal(f.forward(rtp(1, 0, 5), false, 0), ForwardResult.AwaitingKeyFrame);
    assert.equal(f.forward(rtp(2, 0, 5, { key: true }), true, 0), ForwardResult.Sent);
    assert.equal(f.forward(rtp(3, 0, 5), false, 0), ForwardResult.Sent);
    assert.equal(f.forward(rtp(1, 0, 5), false, 0), ForwardResult.Stale, 'older than the epoch start');
    assert.deepEqual(sink.sent.map((p) => p.readUInt16BE(2)), [2, 3]);
  });

  test('does not forward before the subscriber transport is open', () => {
    const sink = new RecordingSink();
    sink.open = false;
    const f = new Forwarder({ ssrc: 1, payloadType: 96, clockRate: 90_000, waitForKeyFrame: true, sink });
    f.setSource('a');
    assert.equal(f.forward(rtp(1, 0, 5, { key: true }), true, 0), ForwardResult.NotOpen);
    assert.equal(f.awaitingKeyFrame, true, 'the key frame is still needed once open');
  });

  test('keeps sequence numbers and timestamps continuous across a publisher switch', () => {
    const sink = new RecordingSink();
    const f = new Forwarder({ ssrc: 7, payloadType: 96, clockRate: 90_000, waitForKeyFrame: true, sink });
    f.setSource('alice');
    f.forward(rtp(65534, 1_000_000, 1, { key: true }), true, 0);
    f.forward(rtp(65535, 1_003_000, 1), false, 33);
    f.setSource('bob');
    assert.equal(f.forward(rtp(100, 5_000, 2), false, 66), ForwardResult.AwaitingKeyFrame);
    f.forward(rtp(101, 8_000, 2, { key: true }), true, 100);
    f.forward(rtp(102, 11_000, 2), false, 133);
    const seqs = sink.sent.map((p) => p.readUInt16BE(2));
    assert.deepEqual(seqs, [65534, 65535, 0, 1], 'bob continues alice’s sequence, across the wrap');
    const ts = sink.sent.map((p) => p.readUInt32BE(4));
    assert.ok(ts[2]! > ts[1]!, 'timestamps keep increasing');
    assert.equal(ts[2]! - ts[1]!, Math.round((67 * 90_000) / 1000), 'the gap follows wall-clock time');
    assert.equal(ts[3]! - ts[2]!, 3_000, 'then the source’s own spacing');
    assert.ok(sink.sent.every((p) => p.readUInt32BE(8) === 7));
  });

  test('maps NACKed sequence numbers back to the current source, and only those', () => {
    const sink = new RecordingSink();
    const f = new Forwarder({ ssrc: 7, payloadType: 96, clockRate: 90_000, waitForKeyFrame: false, sink });
    f.setSource('alice');
    f.forward(rtp(500, 0, 1), false, 0);
    f.forward(rtp(501, 0, 1), false, 0);
    f.setSource('bob');
    f.forward(rtp(9000, 0, 2), false, 1);
    f.forward(rtp(9001, 0, 2), false, 2);
    assert.equal(f.sourceSeqFor(502), 9000);
    assert.equal(f.sourceSeqFor(503), 9001);
    assert.equal(f.sourceSeqFor(501), undefined, 'belongs to the previous source');
    assert.equal(f.sourceSeqFor(504), undefined, 'not sent yet');
    const original = rtp(9000, 77, 2);
    f.retransmit(original);
    const resent = sink.sent.at(-1)!;
    assert.equal(resent.readUInt16BE(2), 502);
    assert.equal(resent.readUInt32BE(8), 7);
    assert.equal(original.readUInt32BE(8), 2, 'the buffered original is not modified');
  });

  test('a gap of 500 packets across the wrap passes through unchanged', () => {
    const sink = new RecordingSink();
    const f = new Forwarder({ ssrc: 7, payloadType: 96, clockRate: 90_000, waitForKeyFrame: false, sink });
    f.setSource('a');
    for (let s = 65200; s <= 65300; s++) f.forward(rtp(s, s * 3000, 1), false, 0);
    for (let s = 65801; s <= 65900; s++) f.forward(rtp(s, s * 3000, 1), false, 0); // 65801 & 0xffff = 265
    assert.equal(sink.sent.length, 201);
    assert.equal(sink.sent[101]!.readUInt16BE(2), 265);
    assert.equal(f.sourceSeqFor(300), 300);
  });
});

describe('ActiveSpeakerDetector', () => {
  test('picks the loudest participant and resists brief noises', () => {
    const d = new ActiveSpeakerDetector({ silenceLevel: 60, switchMargin: 6, smoothing: 0.5 });
    const changes: Array<string | null | undefined> = [];
    for (let t = 0; t < 3; t++) {
      d.record('alice', 20);
      d.record('bob', 100);
      changes.push(d.tick());
    }
    assert.deepEqual(changes.filter((c) => c !== undefined), ['alice']);
    d.record('alice', 25);
    d.record('bob', 22); // bob a bit louder for one tick: not enough to take over
    assert.equal(d.tick(), undefined);
    for (let t = 0; t < 4; t++) {
      d.record('alice', 110);
      d.record('bob', 15);
      d.tick();
    }
    assert.equal(d.speaker, 'bob');
    assert.equal(d.remove('bob'), true);
    assert.equal(d.speaker, null);
  });

  test('silence never makes a speaker', () => {
    const d = new ActiveSpeakerDetector();
    d.record('alice', 127);
    assert.equal(d.tick(), undefined);
    assert.equal(d.speaker, null);
  });
});

describe('publish offer SDP filter', () => {
  const chromeOffer = readFileSync(new URL('./fixtures/chrome-offer.sdp', import.meta.url), 'utf8');

  test('removes transport-cc, RTX and every codec but VP8 and Opus', () => {
    const { sdp, tracks } = filterPublishOffer(chromeOffer);
    assert.doesNotMatch(sdp, /transport-cc|transport-wide-cc/);
    assert.doesNotMatch(sdp, /rtx\/90000|H264|AV1|red\/48000|ssrc-group|a=ssrc:2002/);
    assert.match(sdp, /m=video 9 UDP\/TLS\/RTP\/SAVPF 96\r\n/);
    assert.match(sdp, /m=audio 9 UDP\/TLS\/RTP\/SAVPF 111\r\n/);
    assert.deepEqual(tracks.get('1'), {
      mid: '1',
      kind: 'video',
      ssrc: 2001,
      payloadType: 96,
      codec: 'VP8',
      clockRate: 90_000,
      audioLevelExtensionId: undefined,
      streamId: 'stream1',
      remoteTrackId: 'video1',
    });
    assert.equal(tracks.get('0')?.audioLevelExtensionId, 1);
  });

  test('takes the DTLS server role: every actpass in the offer becomes active, so the node answers passive and picks the SRTP profile', () => {
    assert.equal(chromeOffer.match(/a=setup:actpass/g)?.length, 2, 'the fixture leaves the role to the answerer');
    const { sdp } = filterPublishOffer(chromeOffer);
    assert.doesNotMatch(sdp, /a=setup:actpass/);
    assert.equal(sdp.match(/a=setup:active\r\n/g)?.length, 2);
    // An offerer that already chose a role keeps it.
    assert.match(filterPublishOffer(chromeOffer.replace(/a=setup:actpass/g, 'a=setup:passive')).sdp, /a=setup:passive\r\n/);
  });

  test('refuses offers without ICE credentials, with control characters, or without VP8', () => {
    const codes = (sdp: string): string => {
      try {
        filterPublishOffer(sdp);
        return 'accepted';
      } catch (err) {
        return (err as MeridianError).code;
      }
    };
    assert.equal(codes('v=0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\n'), 'VALIDATION_FAILED');
    assert.equal(codes(chromeOffer.replace('a=mid:0', 'a=mid:0\u0000')), 'VALIDATION_FAILED');
    assert.equal(codes(chromeOffer.replace(/VP8/g, 'VP9')), 'VALIDATION_FAILED');
    assert.equal(codes('hello'), 'VALIDATION_FAILED');
  });

  test('strips transport-cc from an answer', () => {
    const answer = 'v=0\r\na=extmap:3 http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01\r\na=rtcp-fb:96 transport-cc\r\na=rtcp-fb:96 nack\r\n';
    assert.equal(stripTransportCc(answer), 'v=0\r\na=rtcp-fb:96 nack\r\n');
  });
});
