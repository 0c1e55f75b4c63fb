/**
 * PublishedTrack's key-frame requests after a hole its subscribers cannot repair: video shed
 * while the node's event loop was behind (never stored, so never resent), and NACKs for
 * packets the node never had. Without a request, a browser subscriber decodes nothing until
 * it gives up NACKing (about 2 s in Chrome) and sends its own PLI: that was the ~1 s freeze
 * of the untouched pair in test/e2e/cascade-browser.test.ts (docs/cascade.md). No sockets:
 * the publisher side is a stand-in InboundTrack that counts the requests it is asked to send.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import type { InboundTrack, InboundTrackInfo } from '../../../src/media/engine/MediaEngine.js';
import { Forwarder, type PacketSink } from '../../../src/media/sfu/Forwarder.js';
import { PublishedTrack } from '../../../src/media/sfu/PublishedTrack.js';

/** VP8 RTP: payload descriptor with S=1, partition 0; first payload byte bit 0 clear = key frame. */
function vp8(seq: number, key = false): Buffer {
  const b = Buffer.alloc(40);
  b[0] = 0x80;
  b[1] = 96;
  b.writeUInt16BE(seq & 0xffff, 2);
  b.writeUInt32BE(seq * 3000, 4);
  b.writeUInt32BE(1234, 8);
  b[12] = 0x10;
  b[13] = key ? 0 : 1;
  return b;
}

/** The publisher's end as the SFU sees it: packets in, requests out (counted). */
class Source implements InboundTrack {
  readonly info: InboundTrackInfo = { mid: '0', kind: 'video', ssrc: 1234, payloadType: 96, codec: 'VP8', clockRate: 90_000, audioLevelExtensionId: undefined, streamId: undefined, remoteTrackId: undefined };
  keyFrameRequests = 0;
  resendRequests: number[][] = [];
  closed = false;
  #listener: ((packet: Buffer) => void) | undefined;
  requestRetransmission?: (seqs: readonly number[]) => void;

  /** `relayed`: a track relayed from another node, which can be asked to resend. */
  constructor(relayed = false) {
    if (relayed) this.requestRetransmission = (seqs) => void this.resendRequests.push([...seqs]);
  }
  onPacket(listener: (packet: Buffer) => void): void {
    this.#listener = listener;
  }
  requestKeyFrame(): boolean {
    this.keyFrameRequests++;
    return true;
  }
  onClose(): void {}
  push(packet: Buffer): void {
    this.#listener?.(packet);
  }
}

class Sink implements PacketSink {
  open = true;
  readonly seqs: number[] = [];
  send(packet: Buffer): boolean {
    this.seqs.push(packet.readUInt16BE(2));
    return true;
  }
}

function setup(opts: { relayed?: boolean; keyFrameRequestIntervalMs?: number } = {}) {
  const source = new Source(opts.relayed);
  const overload = { overloaded: false };
  const track = new PublishedTrack({
    id: 'v',
    participantId: 'p',
    source,
    counters: { packetsIn: 0, packetsOut: 0 },
    overload,
    keyFrameRequestIntervalMs: opts.keyFrameRequestIntervalMs ?? 0,
    retransmissionSlots: 512,
    retransmissionMaxAgeMs: 2_000,
  });
  const sink = new Sink();
  const forwarder = new Forwarder({ ssrc: 99, payloadType: 96, clockRate: 90_000, waitForKeyFrame: true, sink });
  track.attach(forwarder);
  return { source, overload, track, sink, forwarder };
}

describe('PublishedTrack: key frames after holes that NACKs cannot fill', () => {
  test('video shed while the node was behind: a key frame is asked for as soon as forwarding resumes, and only then', () => {
    const { source, overload, track, sink } = setup();
    assert.equal(source.keyFrameRequests, 1, 'a new subscriber waits for a key frame');
    source.push(vp8(1, true));
    for (let s = 2; s <= 5; s++) source.push(vp8(s));
    assert.deepEqual(sink.seqs, [1, 2, 3, 4, 5]);
    assert.equal(source.keyFrameRequests, 1, 'no request while nothing is lost');

    overload.overloaded = true;
    for (let s = 6; s <= 9; s++) source.push(vp8(s));
    assert.equal(track.packetsShed, 4);
    assert.deepEqual(sink.seqs, [1, 2, 3, 4, 5], 'shed packets are not forwarded');
    assert.equal(source.keyFrameRequests, 1, 'not while still shedding (the key frame would be shed too)');

    overload.overloaded = false;
    source.push(vp8(10));
    assert.equal(source.keyFrameRequests, 2, 'asked for on the first packet forwarded again');
    source.push(vp8(11));
    source.push(vp8(12, true));
    source.push(vp8(13));
    assert.equal(source.keyFrameRequests, 2, 'once per shedding episode');
    assert.deepEqual(sink.seqs, [1, 2, 3, 4, 5, 10, 11, 12, 13], 'the hole stays a hole (the subscriber sees the loss)');
  });

  test('a request held back by the request interval is sent with the first packet after it', async () => {
    const { source, overload } = setup({ keyFrameRequestIntervalMs: 60 });
    assert.equal(source.keyFrameRequests, 1);
    source.push(vp8(1, true));
    overload.overloaded = true;
    source.push(vp8(2));
    overload.overloaded = false;
    source.push(vp8(3));
    assert.equal(source.keyFrameRequests, 1, 'within 60 ms of the previous request');
    await sleep(80);
    source.push(vp8(4));
    assert.equal(source.keyFrameRequests, 2, 'still owed, sent once the interval passed');
    source.push(vp8(5));
    assert.equal(source.keyFrameRequests, 2);
  });

  test('a NACK for a packet the node never had asks the publisher for a key frame; one the buffer holds is resent', () => {
    const { source, track, sink, forwarder } = setup();
    source.push(vp8(1, true));
    source.push(vp8(2));
    source.push(vp8(4)); // 3 was lost between the publisher and the node
    assert.equal(source.keyFrameRequests, 1);
    assert.equal(track.answerNack(forwarder, [2]), 1, 'held: resent');
    assert.equal(source.keyFrameRequests, 1, 'no key frame for a hole a resend fills');
    assert.deepEqual(sink.seqs.at(-1), 2);
    assert.equal(track.answerNack(forwarder, [3]), 0, 'never held: nothing to resend');
    assert.equal(track.nackMisses, 1);
    assert.equal(source.keyFrameRequests, 2, 'the subscriber cannot decode past the hole: key frame asked for');
  });

  test('a relayed track asks the node upstream to resend instead (that node asks for the key frame if it misses too)', () => {
    const { source, track, forwarder } = setup({ relayed: true });
    source.push(vp8(1, true));
    source.push(vp8(2));
    source.push(vp8(4));
    assert.equal(track.answerNack(forwarder, [3]), 0);
    assert.deepEqual(source.resendRequests, [[3]]);
    assert.equal(track.nackMisses, 0);
    assert.equal(source.keyFrameRequests, 1, 'only the new subscriber’s request');
  });
});
