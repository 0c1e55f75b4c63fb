/**
 * The SDP edits the node makes before its WebRTC stack sees a publisher's offer, and the
 * facts it reads from that offer. Editing the offer (rather than only the answer) keeps
 * both sides' state consistent, because the stack derives its answer from the offer:
 *
 * - one codec per m-line: VP8 for video, Opus for audio (the SFU forwards without
 *   transcoding, and subscribers are offered exactly these);
 * - no RTX/RED/FEC payload types and no simulcast (the SFU does not unwrap them yet);
 * - no transport-cc: the node does not send transport-wide feedback, and Chromium
 *   throttles video to ~30 kbit/s when transport-cc is negotiated but never answered
 *   (see shared/reference/media-hot-path.md). REMB and receiver reports are sent instead;
 * - only header extensions the node understands or that are harmless to pass through;
 * - `a=setup:actpass` becomes `a=setup:active`: the node answers `passive` and is the DTLS
 *   server, so the SRTP profile is the node's choice. libdatachannel (OpenSSL) prefers
 *   AEAD AES-256-GCM; Chromium, when it is the DTLS server, picks AES-128-CM + HMAC-SHA1-80
 *   first (WebRTC lists GCM last "since they increase the packet size"), which costs more
 *   to decrypt on every received packet. libdatachannel alone always answers `active`.
 */
import { MeridianError } from '../../contracts/errors.js';
import type { InboundTrackInfo, MediaKind } from './MediaEngine.js';

/** Longest SDP accepted from a client. */
export const MAX_SDP_BYTES = 32 * 1024;

/** Header extension URIs kept in a publisher's offer. */
const KEPT_EXTENSIONS = new Set([
  'urn:ietf:params:rtp-hdrext:ssrc-audio-level',
  'urn:ietf:params:rtp-hdrext:sdes:mid',
  'urn:ietf:params:rtp-hdrext:toffset',
  'urn:3gpp:video-orientation',
  'http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time',
  'http://www.webrtc.org/experiments/rtp-hdrext/playout-delay',
]);

const AUDIO_LEVEL_URI = 'urn:ietf:params:rtp-hdrext:ssrc-audio-level';
const PREFERRED_CODEC: Record<MediaKind, string> = { video: 'vp8', audio: 'opus' };

/** Result of {@link filterPublishOffer}. */
export interface FilteredOffer {
  /** The edited offer, CRLF line endings. */
  readonly sdp: string;
  /** What each audio/video m-line will carry, by mid. */
  readonly tracks: ReadonlyMap<string, InboundTrackInfo>;
}

function invalid(message: string): MeridianError {
  return new MeridianError('VALIDATION_FAILED', `Invalid SDP: ${message}`);
}

/** Cheap shape checks shared by offers and answers from clients. */
export function assertSdpShape(sdp: unknown): asserts sdp is string {
  if (typeof sdp !== 'string') throw invalid('not a string');
  if (Buffer.byteLength(sdp) > MAX_SDP_BYTES) throw invalid(`longer than ${MAX_SDP_BYTES} bytes`);
  if (!/^v=0\r?\n/.test(sdp)) throw invalid('must start with v=0');
  if (!/\r?\nm=(audio|video|application) /.test(sdp)) throw invalid('no media section');
  if (!/\r?\na=ice-ufrag:\S+/.test(sdp)) throw invalid('no ICE user fragment');
  if (!/\r?\na=ice-pwd:\S+/.test(sdp)) throw invalid('no ICE password');
  if (!/\r?\na=fingerprint:\S+ [0-9A-Fa-f:]+/.test(sdp)) throw invalid('no DTLS fingerprint');
  // NUL and other control characters have no business in SDP and upset native parsers.
  // eslint-disable-next-line no-control-regex
  if (/[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]/.test(sdp)) throw invalid('control characters');
}

interface Section {
  kind: string;
  header: string[]; // the m= line split on spaces
  lines: string[]; // attribute lines after the m= line
}

/**
 * Edits a publisher's offer as described in the module comment and reports the track each
 * m-line will carry. Throws `VALIDATION_FAILED` for offers the node cannot serve.
 */
export function filterPublishOffer(sdp: string): FilteredOffer {
  assertSdpShape(sdp);
  const { session, sections } = splitSections(sdp);
  const tracks = new Map<string, InboundTrackInfo>();
  const out: string[] = [...session];
  for (const section of sections) {
    if (section.kind !== 'audio' && section.kind !== 'video') {
      out.push(section.header.join(' '), ...section.lines);
      continue;
    }
    const kind = section.kind as MediaKind;
    const rejected = section.header[1] === '0';
    const rtpmaps = new Map<number, { name: string; clockRate: number }>();
    for (const line of section.lines) {
      const m = /^a=rtpmap:(\d+) ([^/\s]+)\/(\d+)/.exec(line);
      if (m) rtpmaps.set(Number(m[1]), { name: m[2]!, clockRate: Number(m[3]) });
    }
    const offered = section.header.slice(3).map(Number);
    const pt = offered.find((p) => rtpmaps.get(p)?.name.toLowerCase() === PREFERRED_CODEC[kind]);
    const mid = section.lines.find((l) => l.startsWith('a=mid:'))?.slice(6).trim();
    if (mid === undefined) throw invalid('m-line without a=mid');
    if (pt === undefined) {
      if (rejected) {
        out.push(section.header.join(' '), ...section.lines);
        continue;
      }
      throw invalid(`${kind} m-line ${mid} offers no ${PREFERRED_CODEC[kind]} codec`);
    }
    const rtxSsrcs = new Set<string>();
    let audioLevelId: number | undefined;
    for (const line of section.lines) {
      const g = /^a=ssrc-group:FID (\d+) (\d+)/.exec(line);
      if (g) rtxSsrcs.add(g[2]!);
      const e = /^a=extmap:(\d+)(?:\/\w+)? (\S+)/.exec(line);
      if (e && e[2] === AUDIO_LEVEL_URI) audioLevelId = Number(e[1]);
    }
    let ssrc = 0;
    let streamId: string | undefined;
    let remoteTrackId: string | undefined;
    const kept: string[] = [];
    for (const line of section.lines) {
      const ptLine = /^a=(rtpmap|fmtp|rtcp-fb):(\d+|\*)[ ]?(.*)$/.exec(line);
      if (ptLine) {
        if (ptLine[2] !== '*' && Number(ptLine[2]) !== pt) continue;
        if (ptLine[1] === 'rtcp-fb' && ptLine[3]!.trim() === 'transport-cc') continue;
        kept.push(line);
        continue;
      }
      const ext = /^a=extmap:\d+(?:\/\w+)? (\S+)/.exec(line);
      if (ext) {
        if (KEPT_EXTENSIONS.has(ext[1]!)) kept.push(line);
        continue;
      }
      if (line.startsWith('a=ssrc-group:') || line.startsWith('a=rid:') || line.startsWith('a=simulcast:')) continue;
      const s = /^a=ssrc:(\d+) (.*)$/.exec(line);
      if (s) {
        if (rtxSsrcs.has(s[1]!)) continue;
        if (ssrc === 0) ssrc = Number(s[1]);
        kept.push(line);
        continue;
      }
      const msid = /^a=msid:(\S+)(?: (\S+))?/.exec(line);
      if (msid) {
        streamId = msid[1];
        remoteTrackId = msid[2];
      }
      kept.push(line);
    }
    out.push([...section.header.slice(0, 3), String(pt)].join(' '), ...kept);
    if (!rejected) {
      const codec = rtpmaps.get(pt)!;
      tracks.set(mid, {
        mid,
        kind,
        ssrc,
        payloadType: pt,
        codec: codec.name,
        clockRate: codec.clockRate,
        audioLevelExtensionId: kind === 'audio' ? audioLevelId : undefined,
        streamId,
        remoteTrackId,
      });
    }
  }
  // The offerer left the DTLS role to us (actpass): take the server side (module comment).
  const sdpOut = out.map((l) => (l === 'a=setup:actpass' ? 'a=setup:active' : l));
  return { sdp: sdpOut.join('\r\n') + '\r\n', tracks };
}

/** Removes transport-cc feedback and its header extension from any SDP. */
export function stripTransportCc(sdp: string): string {
  const lines = sdp.split(/\r?\n/);
  const kept = lines.filter((l) => !/^a=rtcp-fb:\S+ transport-cc\s*$/.test(l) && !/^a=extmap:\d+(?:\/\w+)? \S*transport-wide-cc\S*/.test(l));
  return kept.join('\r\n');
}

function splitSections(sdp: string): { session: string[]; sections: Section[] } {
  const lines = sdp.split(/\r?\n/).filter((l) => l.length > 0);
  const session: string[] = [];
  const sections: Section[] = [];
  let current: Section | undefined;
  for (const line of lines) {
    if (line.startsWith('m=')) {
      const header = line.split(' ');
      if (header.length < 4) throw invalid(`bad media line "${line.slice(0, 80)}"`);
      current = { kind: header[0]!.slice(2), header, lines: [] };
      sections.push(current);
    } else if (current) {
      current.lines.push(line);
    } else {
      session.push(line);
    }
  }
  return { session, sections };
}
