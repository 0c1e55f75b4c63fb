/**
 * Waiting for ICE gathering to finish: the node takes complete SDP (no trickle ICE), so each
 * local description is sent only once every candidate is in it.
 */

/** The part of RTCPeerConnection this needs. */
export interface GatheringPeer {
  readonly iceGatheringState: string;
  addEventListener(type: 'icegatheringstatechange' | 'icecandidate', cb: (ev: { candidate?: unknown }) => void): void;
  removeEventListener(type: 'icegatheringstatechange' | 'icecandidate', cb: (ev: { candidate?: unknown }) => void): void;
}

/**
 * Resolves when gathering is complete (state `complete` or the end-of-candidates event),
 * or after `timeoutMs` with whatever was gathered: host candidates come first and suffice
 * on a LAN, and a stuck STUN server must not stall the join.
 */
export function waitForIceGathering(pc: GatheringPeer, timeoutMs: number): Promise<void> {
  if (pc.iceGatheringState === 'complete') return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      pc.removeEventListener('icegatheringstatechange', onState);
      pc.removeEventListener('icecandidate', onCandidate);
      resolve();
    };
    const onState = () => {
      if (pc.iceGatheringState === 'complete') done();
    };
    const onCandidate = (ev: { candidate?: unknown }) => {
      if (ev.candidate === null) done();
    };
    const timer = setTimeout(done, timeoutMs);
    pc.addEventListener('icegatheringstatechange', onState);
    pc.addEventListener('icecandidate', onCandidate);
  });
}
