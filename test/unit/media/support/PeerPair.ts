/**
 * Two node-datachannel peers in this process, connected over loopback with one video track,
 * for the native runtime's life-cycle tests. Both go through NativeRuntime like the engine.
 */
import nodeDataChannel from 'node-datachannel';
import type { NativeRuntime } from '../../../../src/media/engine/NativeRuntime.js';
import { applyAnswerThenCandidates, withoutCandidates } from '../../../../src/media/engine/OffererRace.js';
import { LOOPBACK_PEER_CONFIG } from '../../../helpers/media.js';
import { waitUntil } from './TestClient.js';

/** A connected pair; `close()` closes tracks, then peers. */
export interface PeerPair {
  /** Packets the answerer received. */
  readonly received: () => number;
  send(): void;
  close(): void;
}

function gathered(pc: nodeDataChannel.PeerConnection): Promise<void> {
  return waitUntil(() => pc.gatheringState() === 'complete', 5_000, 'ICE gathering');
}

/** Connects an offerer and an answerer and waits until the offerer's track is open. */
export async function connectPeerPair(runtime: NativeRuntime): Promise<PeerPair> {
  const offerer = runtime.createPeer('pair-offerer', { ...LOOPBACK_PEER_CONFIG });
  const answerer = runtime.createPeer('pair-answerer', { ...LOOPBACK_PEER_CONFIG });
  const tracks: nodeDataChannel.Track[] = [];
  let received = 0;
  answerer.onTrack((t) => {
    tracks.push(runtime.adoptTrack(t));
    t.onMessage(() => received++);
  });
  const video = new nodeDataChannel.Video('0', 'SendOnly');
  video.addVP8Codec(96);
  video.addSSRC(4242, 'pair', 'pair-stream', 'pair-video');
  const sender = runtime.adoptTrack(offerer.addTrack(video));
  tracks.push(sender);
  sender.onMessage(() => {});
  offerer.setLocalDescription('offer');
  await gathered(offerer);
  answerer.setRemoteDescription(withoutCandidates(offerer.localDescription()!.sdp), 'offer');
  answerer.setLocalDescription('answer');
  await gathered(answerer);
  applyAnswerThenCandidates(offerer, answerer.localDescription()!.sdp);
  await waitUntil(() => sender.isOpen() || offerer.state() === 'closed', 5_000, 'pair connected');
  if (!sender.isOpen()) throw new Error(`pair did not connect: ${offerer.state()}`);
  const packet = Buffer.alloc(200);
  packet[0] = 0x80;
  packet[1] = 96;
  packet.writeUInt32BE(4242, 8);
  let seq = 0;
  return {
    received: () => received,
    send: () => {
      packet.writeUInt16BE(seq++ & 0xffff, 2);
      try {
        sender.sendMessageBinary(packet);
      } catch {
        // closed
      }
    },
    close: () => {
      for (const t of tracks) t.close();
      offerer.close();
      answerer.close();
    },
  };
}
