/**
 * Reading and rewriting RTP headers (RFC 3550) in place, without parsing whole packets.
 * The forwarding hot path touches only bytes 1–11; everything here works on the Buffer
 * delivered by the media engine and allocates nothing.
 */

/** The fixed RTP header length. */
export const RTP_HEADER_BYTES = 12;

/** True when `buf` looks like RTP (version 2, not an RTCP packet type, long enough). */
export function isRtp(buf: Uint8Array): boolean {
  if (buf.length < RTP_HEADER_BYTES || buf[0]! >> 6 !== 2) return false;
  const pt = buf[1]! & 0x7f;
  // RTCP packet types 192–223 share the first byte layout; RFC 5761 §4.
  return pt < 64 || pt > 95;
}

/** True when `buf` looks like RTCP (version 2, packet type 192–223). */
export function isRtcp(buf: Uint8Array): boolean {
  if (buf.length < 4 || buf[0]! >> 6 !== 2) return false;
  const pt = buf[1]!;
  return pt >= 192 && pt <= 223;
}

/** Sequence number (bytes 2–3). */
export function rtpSeq(buf: Buffer): number {
  return (buf[2]! << 8) | buf[3]!;
}

/** Timestamp (bytes 4–7). */
export function rtpTimestamp(buf: Buffer): number {
  return buf.readUInt32BE(4);
}

/** SSRC (bytes 8–11). */
export function rtpSsrc(buf: Buffer): number {
  return buf.readUInt32BE(8);
}

/** Payload type (low 7 bits of byte 1). */
export function rtpPayloadType(buf: Uint8Array): number {
  return buf[1]! & 0x7f;
}

/** Marker bit (high bit of byte 1). */
export function rtpMarker(buf: Uint8Array): boolean {
  return (buf[1]! & 0x80) !== 0;
}

/**
 * Offset of the payload: fixed header, CSRCs and the header extension. Returns -1 for a
 * truncated packet.
 */
export function rtpPayloadOffset(buf: Uint8Array): number {
  if (buf.length < RTP_HEADER_BYTES) return -1;
  let offset = RTP_HEADER_BYTES + (buf[0]! & 0x0f) * 4;
  if (buf[0]! & 0x10) {
    if (buf.length < offset + 4) return -1;
    const words = (buf[offset + 2]! << 8) | buf[offset + 3]!;
    offset += 4 + words * 4;
  }
  return offset <= buf.length ? offset : -1;
}

/**
 * Finds header extension element `id` (RFC 8285 one-byte or two-byte form) and returns the
 * offset and length of its data, or undefined.
 */
export function findHeaderExtension(buf: Uint8Array, id: number): { offset: number; length: number } | undefined {
  if (!(buf[0]! & 0x10) || id <= 0) return undefined;
  const start = RTP_HEADER_BYTES + (buf[0]! & 0x0f) * 4;
  if (buf.length < start + 4) return undefined;
  const profile = (buf[start]! << 8) | buf[start + 1]!;
  const end = start + 4 + ((buf[start + 2]! << 8) | buf[start + 3]!) * 4;
  if (end > buf.length) return undefined;
  let p = start + 4;
  if (profile === 0xbede) {
    while (p < end) {
      const b = buf[p]!;
      if (b === 0) {
        p++; // padding
        continue;
      }
      const elementId = b >> 4;
      const len = (b & 0x0f) + 1;
      if (elementId === 15) return undefined; // reserved: stop parsing (RFC 8285 §4.2)
      if (p + 1 + len > end) return undefined;
      if (elementId === id) return { offset: p + 1, length: len };
      p += 1 + len;
    }
  } else if ((profile & 0xfff0) === 0x1000) {
    while (p + 1 < end) {
      const elementId = buf[p]!;
      if (elementId === 0) {
        p++;
        continue;
      }
      const len = buf[p + 1]!;
      if (p + 2 + len > end) return undefined;
      if (elementId === id) return { offset: p + 2, length: len };
      p += 2 + len;
    }
  }
  return undefined;
}

/**
 * The audio level (RFC 6464) carried in extension `id`: 0 (loudest, 0 dBov) to 127
 * (silence), or -1 when absent. The voice-activity flag is ignored: Chromium sets it from
 * its own VAD, which is on for most of a talk spurt anyway.
 */
export function readAudioLevel(buf: Uint8Array, id: number): number {
  const ext = findHeaderExtension(buf, id);
  if (!ext || ext.length < 1) return -1;
  return buf[ext.offset]! & 0x7f;
}

/**
 * True when this VP8 RTP packet starts a key frame (RFC 7741 §4.3: first packet of a
 * partition 0 with the P bit of the VP8 payload header clear).
 */
export function isVp8KeyFrame(buf: Uint8Array): boolean {
  let p = rtpPayloadOffset(buf);
  if (p < 0 || p >= buf.length) return false;
  const desc = buf[p]!;
  const extended = (desc & 0x80) !== 0;
  const start = (desc & 0x10) !== 0;
  const partition = desc & 0x07;
  if (!start || partition !== 0) return false;
  p++;
  if (extended) {
    if (p >= buf.length) return false;
    const x = buf[p++]!;
    if (x & 0x80) {
      // PictureID: 7 or 15 bits.
      if (p >= buf.length) return false;
      p += buf[p]! & 0x80 ? 2 : 1;
    }
    if (x & 0x40) p++; // TL0PICIDX
    if (x & 0x30) p++; // TID/KEYIDX
  }
  if (p >= buf.length) return false;
  return (buf[p]! & 0x01) === 0;
}

/** Distance from `a` to `b` on the 16-bit sequence circle, in -32768..32767. */
export function seqDelta(a: number, b: number): number {
  const d = (b - a) & 0xffff;
  return d >= 0x8000 ? d - 0x10000 : d;
}
