/**
 * Working around libdatachannel 0.24's offerer race (node-datachannel 0.33.4) on a peer that
 * uses node-datachannel as the *offerer*.
 *
 * The race: in `setRemoteDescription(answer)` the answer's ICE credentials and candidates
 * reach the ICE agent before the answer's DTLS fingerprint is committed. Connectivity checks
 * can then succeed and a fast answerer's DTLS handshake arrive inside that window; the
 * fingerprint check fails and the connection closes ("Got a remote candidate without ICE
 * transport" from `setRemoteDescription`, or the peer going to `closed`). It also starts
 * earlier: the answerer knows the offerer's candidates from the offer and starts checking
 * them as soon as it has answered, before the offerer has even received the answer.
 *
 * The workaround keeps all ICE traffic out of that window:
 * 1. the offer goes out without candidates ({@link withoutCandidates}): the answerer has no
 *    address to check, so nothing reaches the offerer before it applied the answer (ICE
 *    still works: the answerer learns the offerer's address from the offerer's checks, as a
 *    peer-reflexive candidate);
 * 2. the answer is applied without its candidates, and the candidates are added only after
 *    `setRemoteDescription` returned, i.e. after the fingerprint is committed
 *    ({@link applyAnswerThenCandidates}): the offerer starts checking only then.
 */
import type nodeDataChannel from 'node-datachannel';

const CANDIDATE_LINE = /^a=(?:candidate|end-of-candidates)[^\r\n]*\r?\n/gm;

/** The SDP with every `a=candidate` and `a=end-of-candidates` line removed. */
export function withoutCandidates(sdp: string): string {
  return sdp.replace(CANDIDATE_LINE, '');
}

/** `a=candidate` lines of an SDP with the mid of the media section they belong to. */
export function candidatesOf(sdp: string): Array<{ candidate: string; mid: string }> {
  const out: Array<{ candidate: string; mid: string }> = [];
  for (const section of sdp.split(/\r?\nm=/).slice(1)) {
    const mid = /^a=mid:([^\r\n]+)/m.exec(section)?.[1];
    if (mid === undefined) continue;
    for (const m of section.matchAll(/^a=(candidate:[^\r\n]+)/gm)) out.push({ candidate: m[1]!, mid });
  }
  return out;
}

/**
 * Applies an answer on a node-datachannel offerer with its candidates held back until the
 * DTLS fingerprint is committed (see the module comment). With BUNDLE, one section's
 * candidates serve the whole transport; they are added once per distinct candidate.
 */
export function applyAnswerThenCandidates(pc: nodeDataChannel.PeerConnection, sdp: string): void {
  pc.setRemoteDescription(withoutCandidates(sdp), 'answer');
  const seen = new Set<string>();
  for (const { candidate, mid } of candidatesOf(sdp)) {
    if (seen.has(candidate)) continue;
    seen.add(candidate);
    pc.addRemoteCandidate(candidate, mid);
  }
}
