/**
 * RTCP feedback parsing and building (RFC 3550 compound packets, RFC 4585 NACK/PLI, RFC 5104
 * FIR). A subscriber's receiver sends its feedback as compound packets (RR + SDES + PLI …,
 * or reduced-size ones); `parseRtcpFeedback` walks them all and keeps what the SFU acts on.
 */

/** Payload-specific feedback (PLI, FIR, REMB). */
export const RTCP_PSFB = 206;
/** Transport-layer feedback (generic NACK, transport-cc). */
export const RTCP_RTPFB = 205;
/** PSFB FMT of a Picture Loss Indication. */
export const FMT_PLI = 1;
/** PSFB FMT of a Full Intra Request. */
export const FMT_FIR = 4;
/** RTPFB FMT of a generic NACK. */
export const FMT_NACK = 1;

/** Feedback the SFU acts on. */
export type RtcpFeedback =
  | { readonly kind: 'pli'; readonly senderSsrc: number; readonly mediaSsrc: number }
  | { readonly kind: 'fir'; readonly senderSsrc: number; readonly requests: ReadonlyArray<{ ssrc: number; seqNr: number }> }
  | { readonly kind: 'nack'; readonly senderSsrc: number; readonly mediaSsrc: number; readonly seqs: readonly number[] };

/** Upper bound on sequence numbers taken from one NACK packet (17 per FCI entry). */
const MAX_NACK_SEQS = 1024;

/**
 * Walks a (compound) RTCP packet and returns its PLI, FIR and NACK entries in order. Other
 * packet types (SR, RR, SDES, BYE, REMB, transport-cc …) are skipped; a malformed packet
 * ends the walk and what was parsed before it is returned.
 */
export function parseRtcpFeedback(buf: Uint8Array): RtcpFeedback[] {
  const out: RtcpFeedback[] = [];
  let p = 0;
  while (p + 4 <= buf.length) {
    const b0 = buf[p]!;
    if (b0 >> 6 !== 2) break;
    const fmt = b0 & 0x1f;
    const pt = buf[p + 1]!;
    const len = (((buf[p + 2]! << 8) | buf[p + 3]!) + 1) * 4;
    if (p + len > buf.length) break;
    if ((pt === RTCP_PSFB || pt === RTCP_RTPFB) && len >= 12) {
      const senderSsrc = readU32(buf, p + 4);
      const mediaSsrc = readU32(buf, p + 8);
      if (pt === RTCP_PSFB && fmt === FMT_PLI) {
        out.push({ kind: 'pli', senderSsrc, mediaSsrc });
      } else if (pt === RTCP_PSFB && fmt === FMT_FIR) {
        const requests: Array<{ ssrc: number; seqNr: number }> = [];
        for (let q = p + 12; q + 8 <= p + len; q += 8) requests.push({ ssrc: readU32(buf, q), seqNr: buf[q + 4]! });
        out.push({ kind: 'fir', senderSsrc, requests });
      } else if (pt === RTCP_RTPFB && fmt === FMT_NACK) {
        const seqs: number[] = [];
        for (let q = p + 12; q + 4 <= p + len && seqs.length < MAX_NACK_SEQS; q += 4) {
          const pid = (buf[q]! << 8) | buf[q + 1]!;
          const blp = (buf[q + 2]! << 8) | buf[q + 3]!;
          seqs.push(pid);
          for (let bit = 0; bit < 16; bit++) if (blp & (1 << bit)) seqs.push((pid + bit + 1) & 0xffff);
        }
        out.push({ kind: 'nack', senderSsrc, mediaSsrc, seqs });
      }
    }
    p += len;
  }
  return out;
}

/** A Picture Loss Indication asking `mediaSsrc`'s sender for a key frame. */
export function buildPli(senderSsrc: number, mediaSsrc: number): Buffer {
  const b = Buffer.alloc(12);
  b[0] = 0x80 | FMT_PLI;
  b[1] = RTCP_PSFB;
  b.writeUInt16BE(2, 2);
  b.writeUInt32BE(senderSsrc >>> 0, 4);
  b.writeUInt32BE(mediaSsrc >>> 0, 8);
  return b;
}

/** A Full Intra Request for `mediaSsrc` with command sequence number `seqNr`. */
export function buildFir(senderSsrc: number, mediaSsrc: number, seqNr: number): Buffer {
  const b = Buffer.alloc(20);
  b[0] = 0x80 | FMT_FIR;
  b[1] = RTCP_PSFB;
  b.writeUInt16BE(4, 2);
  b.writeUInt32BE(senderSsrc >>> 0, 4);
  b.writeUInt32BE(0, 8);
  b.writeUInt32BE(mediaSsrc >>> 0, 12);
  b[16] = seqNr & 0xff;
  return b;
}

/** A generic NACK for `seqs` of `mediaSsrc`, packed into PID/BLP pairs. */
export function buildNack(senderSsrc: number, mediaSsrc: number, seqs: readonly number[]): Buffer {
  const pairs: Array<[number, number]> = [];
  const sorted = [...new Set(seqs.map((s) => s & 0xffff))];
  for (const seq of sorted) {
    const last = pairs[pairs.length - 1];
    const d = last ? (seq - last[0]) & 0xffff : 0;
    if (last && d >= 1 && d <= 16) last[1] |= 1 << (d - 1);
    else pairs.push([seq, 0]);
  }
  const b = Buffer.alloc(12 + pairs.length * 4);
  b[0] = 0x80 | FMT_NACK;
  b[1] = RTCP_RTPFB;
  b.writeUInt16BE(2 + pairs.length, 2);
  b.writeUInt32BE(senderSsrc >>> 0, 4);
  b.writeUInt32BE(mediaSsrc >>> 0, 8);
  pairs.forEach(([pid, blp], i) => {
    b.writeUInt16BE(pid, 12 + i * 4);
    b.writeUInt16BE(blp, 14 + i * 4);
  });
  return b;
}

/** A minimal empty Receiver Report, to prepend when building compound packets in tests. */
export function buildEmptyReceiverReport(senderSsrc: number): Buffer {
  const b = Buffer.alloc(8);
  b[0] = 0x80;
  b[1] = 201;
  b.writeUInt16BE(1, 2);
  b.writeUInt32BE(senderSsrc >>> 0, 4);
  return b;
}

function readU32(buf: Uint8Array, p: number): number {
  return ((buf[p]! << 24) | (buf[p + 1]! << 16) | (buf[p + 2]! << 8) | buf[p + 3]!) >>> 0;
}
