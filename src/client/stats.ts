/**
 * Reading WebRTC statistics: the round-trip time to the node (from the selected ICE
 * candidate pair) and per-participant inbound media figures. Pure functions over the
 * values of an `RTCStatsReport`, so they run in Node tests with plain objects.
 */
import type { MediaKind, SlotInfo } from './protocol.js';

/** The fields of a stats entry this module reads (all optional: browsers differ). */
export interface StatsEntry {
  readonly id: string;
  readonly type: string;
  readonly [field: string]: unknown;
}

/** Anything with the `forEach` of a `Map`/`RTCStatsReport`. */
export interface StatsLike {
  forEach(cb: (value: StatsEntry) => void): void;
}

function entries(report: StatsLike): StatsEntry[] {
  const out: StatsEntry[] = [];
  report.forEach((v) => out.push(v));
  return out;
}

/**
 * RTT to the node in ms from `currentRoundTripTime` of the selected candidate pair (via the
 * transport's `selectedCandidatePairId`, else a nominated succeeded pair), or null when
 * there is no measured pair yet.
 */
export function rttFromStats(report: StatsLike): number | null {
  const all = entries(report);
  const byId = new Map(all.map((e) => [e.id, e]));
  const pairs: StatsEntry[] = [];
  for (const t of all) {
    if (t.type === 'transport' && typeof t.selectedCandidatePairId === 'string') {
      const pair = byId.get(t.selectedCandidatePairId);
      if (pair) pairs.push(pair);
    }
  }
  if (pairs.length === 0) {
    for (const p of all) if (p.type === 'candidate-pair' && p.state === 'succeeded' && (p.nominated === true || p.selected === true)) pairs.push(p);
  }
  for (const p of pairs) {
    const rtt = p.currentRoundTripTime;
    if (typeof rtt === 'number' && Number.isFinite(rtt) && rtt >= 0) return Math.round(rtt * 10_000) / 10;
  }
  return null;
}

/** Inbound media of one subscribe slot, attributed to the participant it carries. */
export interface InboundMediaStats {
  readonly participantId: string | null;
  readonly kind: MediaKind;
  readonly mid: string;
  readonly packetsReceived: number;
  readonly packetsLost: number;
  readonly bytesReceived: number;
  /** Video only. */
  readonly framesDecoded?: number;
  readonly frameWidth?: number;
  readonly frameHeight?: number;
  /** Audio only. */
  readonly totalSamplesReceived?: number;
}

const num = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) ? v : 0);

/** The `inbound-rtp` entries of a subscribe connection, each with the participant its slot carries now. */
export function summarizeInbound(report: StatsLike, slots: readonly SlotInfo[]): InboundMediaStats[] {
  const byMid = new Map(slots.map((s) => [s.mid, s]));
  const out: InboundMediaStats[] = [];
  for (const e of entries(report)) {
    if (e.type !== 'inbound-rtp' || typeof e.mid !== 'string') continue;
    const kind: MediaKind = e.kind === 'audio' ? 'audio' : 'video';
    const base = {
      participantId: byMid.get(e.mid)?.participantId ?? null,
      kind,
      mid: e.mid,
      packetsReceived: num(e.packetsReceived),
      packetsLost: num(e.packetsLost),
      bytesReceived: num(e.bytesReceived),
    };
    out.push(
      kind === 'video'
        ? { ...base, framesDecoded: num(e.framesDecoded), frameWidth: num(e.frameWidth), frameHeight: num(e.frameHeight) }
        : { ...base, totalSamplesReceived: num(e.totalSamplesReceived) },
    );
  }
  // In slot order (the order of the subscribe m-lines); mids the slots do not list go last.
  const order = new Map(slots.map((s, i) => [s.mid, i]));
  const rank = (mid: string) => order.get(mid) ?? Number.MAX_SAFE_INTEGER;
  return out.sort((a, b) => rank(a.mid) - rank(b.mid) || a.mid.localeCompare(b.mid));
}
