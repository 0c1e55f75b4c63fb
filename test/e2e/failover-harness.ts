/**
 * Live-call failover, end to end: `meridian start` as a real process (embedded mode, one
 * autoscaler per default region forking meeting-node processes), three headless Chromium
 * participants on the demo page, and the means to hurt the meeting's node: find its process
 * (the node's signaling port → its listening socket in /proc/net/tcp → the process holding
 * that socket), send it SIGKILL or SIGSTOP, drain or remove its region through the admin API.
 *
 * Evidence that a call survived is taken from the pages, never from the server:
 * - every page decodes every other participant's video: `framesDecoded` of its subscribe
 *   connection (`getStats`) rises over a window (an element's `currentTime` is not evidence);
 * - all pages name one node (`window.meridianDemo`);
 * - no page reloaded: a random `window.__loadId` set after the first load is unchanged, and
 *   Playwright saw exactly one page load;
 * - a watcher in each page (installed here, not part of the demo) timestamps every video
 *   frame presented per remote participant (`requestVideoFrameCallback`) with the track
 *   object it came from (a new subscribe connection means new track objects), and
 *   samples the client's state every 50 ms: the benchmark reads recovery times and freeze
 *   gaps from it, the drain test reads "never disconnected" from it.
 *
 * Not a test file: `failover-*.test.ts` and bench/failover.bench.ts import it. The processes
 * (the platform, finding and signalling a node) are in failover-platform.ts, re-exported
 * here; every process started there (and every process stopped with SIGSTOP) is cleaned up
 * by `Platform.stop` and by an exit hook: SIGCONT first, then SIGKILL.
 */
import { randomBytes } from 'node:crypto';
import type { Browser } from 'playwright-core';
import { inboundMedia, openParticipant, snapshot, until, type BrowserParticipant, type DemoSnapshot } from './browser-harness.js';
import { sleep } from './failover-platform.js';

export { chromiumMissing, launchChromium, until } from './browser-harness.js';
export * from './failover-platform.js';

/**
 * Installed in each page after it loaded. Plain JavaScript in a string so that no bundler
 * helper leaks into it. Records, per remote participant, every presented video frame as
 * `[wall-clock ms, serial of the track object]`, and the client's state every 50 ms (changes only).
 */
const WATCHER = String.raw`(() => {
  if (window.__failoverWatch) return window.__failoverWatch.loadId;
  const w = { loadId: Date.now() + '-' + Math.random().toString(36).slice(2), frames: {}, states: [], statuses: [], disconnects: [], reconnecting: [], reconnected: [], migrating: [], migrated: [], firstSeen: {} };
  window.__failoverWatch = w;
  window.__loadId = w.loadId;
  const seen = new WeakSet();
  // Track objects, not ids: a rebuilt connection may announce the same msid, so the same id.
  const serials = new WeakMap();
  let nextSerial = 1;
  const serialOf = (track) => {
    if (!track) return '';
    if (!serials.has(track)) {
      const serial = 't' + nextSerial++;
      serials.set(track, serial);
      w.firstSeen[serial] = Date.now();
    }
    return serials.get(track);
  };
  const watch = (v) => {
    const onFrame = () => {
      const id = v.dataset.participantId || '?';
      const s = v.srcObject;
      const track = s && s.getVideoTracks ? serialOf(s.getVideoTracks()[0]) : '';
      const list = (w.frames[id] = w.frames[id] || []);
      list.push([Date.now(), track]);
      if (list.length > 6000) list.splice(0, list.length - 6000);
      if (v.isConnected) v.requestVideoFrameCallback(onFrame);
    };
    v.requestVideoFrameCallback(onFrame);
  };
  const hooked = new WeakSet();
  const tick = () => {
    for (const v of document.querySelectorAll('video.remote')) {
      if (!seen.has(v)) { seen.add(v); watch(v); }
      // Every track the element holds, shown or not, gets its serial (and first-seen time) now.
      const src = v.srcObject;
      if (src && src.getTracks) for (const tr of src.getTracks()) serialOf(tr);
    }
    const d = window.meridianDemo;
    const c = d && d.client;
    const state = c ? c.state : null;
    const last = w.states[w.states.length - 1];
    if (!last || last[1] !== state) w.states.push([Date.now(), state]);
    const st = document.getElementById('status');
    const text = st ? (st.classList.contains('error') ? 'ERROR ' : '') + st.textContent : '';
    const lastS = w.statuses[w.statuses.length - 1];
    if (!lastS || lastS[1] !== text) w.statuses.push([Date.now(), text]);
    if (c && !hooked.has(c) && typeof c.on === 'function') {
      hooked.add(c);
      c.on('disconnected', (e) => w.disconnects.push([Date.now(), e && e.code, e && e.reason]));
      try { c.on('reconnecting', (e) => w.reconnecting.push([Date.now(), e && e.reason, e && e.attempt])); } catch (_) {}
      try { c.on('reconnected', (e) => w.reconnected.push([Date.now(), e && e.node && (e.node.id || e.node)])); } catch (_) {}
      try { c.on('migrating', (e) => w.migrating.push([Date.now(), e && e.reason])); } catch (_) {}
      try { c.on('migrated', (e) => w.migrated.push([Date.now(), e && e.node && (e.node.id || e.node)])); } catch (_) {}
    }
  };
  // At once (so the tracks held now are known, and the client's events hooked, before any
  // fault), then every 50 ms.
  tick();
  setInterval(tick, 50);
  return w.loadId;
})()`;

/**
 * Runs before the demo's scripts: records every RTCPeerConnection the page makes in
 * `window.__pcs`, so a test can reach the SDK's subscribe connection (the one that answered
 * the node's offer) without touching the SDK's private state.
 */
export const PC_RECORDER = String.raw`(() => {
  const Orig = window.RTCPeerConnection;
  if (!Orig || Orig.__recorded) return;
  class Recorded extends Orig {
    constructor(...args) { super(...args); (window.__pcs = window.__pcs || []).push(this); }
  }
  Recorded.__recorded = true;
  window.RTCPeerConnection = Recorded;
})()`;

/** What the in-page watcher recorded. */
export interface WatchRecord {
  loadId: string;
  frames: Record<string, Array<[number, string]>>;
  states: Array<[number, string | null]>;
  statuses: Array<[number, string]>;
  disconnects: Array<[number, number | undefined, string | undefined]>;
  reconnecting: Array<[number, unknown, unknown]>;
  reconnected: Array<[number, unknown]>;
  migrating: Array<[number, unknown]>;
  migrated: Array<[number, unknown]>;
  /** When each track object (by serial) was first seen in a remote video element. */
  firstSeen: Record<string, number>;
  /**
   * When the page handed this copy over (wall clock, set by {@link Call.watch}): nothing
   * after it is in the record, so a gap measured up to a later time would be invented.
   */
  readAt?: number;
}

/** One participant of a {@link Call}: the page, plus what it was at the start. */
export interface CallMember extends BrowserParticipant {
  loadId: string;
  /** Page loads seen by Playwright (1 = only the first load). */
  navigations: number;
  participantId: string;
}

/** Where every page is, and whether each decodes every other. */
export interface CallView {
  snaps: DemoSnapshot[];
  nodes: string[];
  regions: string[];
}

/** Reads the page's current node and region (the client's own view, updated on reconnection). */
async function where(p: BrowserParticipant): Promise<{ state: string | null; node: string | null; region: string | null; participantId: string | null }> {
  return p.page.evaluate(() => {
    const d = (window as unknown as { meridianDemo?: { client?: { state?: string; participantId?: string; connection?: { node?: { id?: string }; region?: { id?: string } } }; connection?: { node?: { id?: string }; region?: { id?: string } } } }).meridianDemo;
    const c = d?.client;
    const conn = c?.connection ?? d?.connection;
    return { state: c?.state ?? null, node: conn?.node?.id ?? null, region: conn?.region?.id ?? null, participantId: c?.participantId ?? null };
  });
}

/** Three (or more) Chromium participants in one meeting of a {@link Platform}. */
export class Call {
  private constructor(
    readonly browser: Browser,
    readonly meetingId: string,
    readonly members: CallMember[],
  ) {}

  /**
   * Opens one page per name (one browser context each) on `/?meeting=<id>&name=<n>`, waits
   * until all are connected on one node and each decodes every other's video, then installs
   * the watcher. `from` places the first joiner (and so the meeting) in a region; `froms`
   * gives every joiner a city of its own (a meeting that spans nodes: then pass `oneNode:
   * false`, and only "each decodes every other" is waited for).
   */
  static async open(browser: Browser, base: string, opts: { names?: string[]; from?: string; froms?: string[]; oneNode?: boolean; meetingId?: string; timeoutMs?: number } = {}): Promise<Call> {
    const names = opts.names ?? ['Ann', 'Bob', 'Cat'];
    const meetingId = opts.meetingId ?? `failover-${Date.now().toString(36)}-${randomBytes(2).toString('hex')}`;
    const members: CallMember[] = [];
    const call = new Call(browser, meetingId, members);
    try {
      for (const [i, name] of names.entries()) {
        const from = opts.froms?.[i] ?? (i === 0 ? opts.from : undefined);
        const p = await openParticipant(browser, base, meetingId, name, { initScript: PC_RECORDER, ...(from ? { from } : {}) });
        const m = p as CallMember;
        // Full loads after the first (same-document history changes are not loads).
        m.navigations = 1;
        p.page.on('load', () => m.navigations++);
        members.push(m);
        // Join one after the other, so the first joiner's placement decides the meeting's region.
        // With a city each, each joins in turn, so the joins meet a meeting that is already live.
        if (i === 0 || opts.froms) await until(`${name} connected`, opts.timeoutMs ?? 45_000, async () => ((await where(p)).state === 'connected' ? true : undefined));
      }
      await call.waitHealthy({ timeoutMs: opts.timeoutMs ?? 60_000, oneNode: opts.oneNode ?? true });
      for (const m of members) {
        m.loadId = (await m.page.evaluate(WATCHER)) as string;
        m.participantId = (await where(m)).participantId!;
      }
      // A history before any fault: every page has presented frames of every other participant.
      const ids = members.map((m) => m.participantId);
      await until('the watcher saw frames of every other participant on every page', 15_000, async () => {
        const recs = await call.watch();
        return recs.every((r, i) => ids.every((id, j) => i === j || (r?.frames[id]?.length ?? 0) >= 5)) ? true : undefined;
      });
      return call;
    } catch (err) {
      await call.close();
      throw err;
    }
  }

  /** Each page's node, region, state and participant id. */
  async where(): Promise<Array<Awaited<ReturnType<typeof where>>>> {
    return Promise.all(this.members.map((m) => where(m)));
  }

  /** The one node every page is connected to, or undefined when they differ or one is not connected. */
  async commonNode(): Promise<{ node: string; region: string } | undefined> {
    const w = await this.where();
    const nodes = new Set(w.map((x) => x.node));
    if (w.some((x) => x.state !== 'connected' || !x.node) || nodes.size !== 1) return undefined;
    return { node: w[0]!.node!, region: w[0]!.region! };
  }

  /**
   * Every page decodes every other participant's video: over one window of `windowMs`,
   * `framesDecoded` per remote participant (summed over the page's subscribe connection)
   * rises by at least `minFrames`. Returns what is missing (empty = all flowing).
   */
  async decodingGaps(windowMs = 1_500, minFrames = 5): Promise<string[]> {
    const w = await this.where();
    const ids = w.map((x) => x.participantId);
    const before = await Promise.all(this.members.map((m) => inboundMedia(m).catch(() => ({}) as Awaited<ReturnType<typeof inboundMedia>>)));
    await sleep(windowMs);
    const after = await Promise.all(this.members.map((m) => inboundMedia(m).catch(() => ({}) as Awaited<ReturnType<typeof inboundMedia>>)));
    const gaps: string[] = [];
    for (const [i, m] of this.members.entries()) {
      for (const [j, other] of this.members.entries()) {
        if (i === j) continue;
        const id = ids[j];
        if (!id) {
          gaps.push(`${other.name} has no participant id (state ${w[j]!.state})`);
          continue;
        }
        const a = before[i]![id]?.framesDecoded ?? 0;
        const b = after[i]![id]?.framesDecoded;
        if (b === undefined || b - a < minFrames) gaps.push(`${m.name} ← ${other.name}: framesDecoded ${a} → ${b ?? 'none'} in ${windowMs} ms`);
      }
    }
    return gaps;
  }

  /**
   * Waits until all pages are connected to one node (other than every node in `notOn`) and
   * each decodes every other's video. Returns that node. Throws with the last findings.
   * With `oneNode: false` (a meeting over several nodes), waits until every page is connected
   * to a node not in `notOn` and each decodes every other's video; returns the first page's node.
   */
  async waitHealthy(opts: { timeoutMs?: number; notOn?: readonly string[]; oneNode?: boolean } = {}): Promise<{ node: string; region: string }> {
    const deadline = Date.now() + (opts.timeoutMs ?? 45_000);
    let last = 'nothing checked yet';
    while (Date.now() < deadline) {
      try {
        if (opts.oneNode === false) {
          const w = await this.where();
          const gaps = w.some((x) => x.state !== 'connected' || !x.node || opts.notOn?.includes(x.node)) ? [`not all connected off ${JSON.stringify(opts.notOn ?? [])}: ${JSON.stringify(w)}`] : await this.decodingGaps();
          if (gaps.length === 0) return { node: w[0]!.node!, region: w[0]!.region! };
          last = gaps.join('; ');
          if (w.some((x) => x.state === 'closed')) break;
          await sleep(250);
          continue;
        }
        const common = await this.commonNode();
        if (!common) {
          const w = await this.where();
          last = `not all connected to one node: ${JSON.stringify(w)}`;
          // 'closed' is final: the client gave up (its reconnect budget is spent, or it has none).
          if (w.some((x) => x.state === 'closed')) break;
        } else if (opts.notOn?.includes(common.node)) {
          last = `still on ${common.node}`;
        } else {
          const gaps = await this.decodingGaps();
          if (gaps.length === 0) {
            // Still the same node after the window (not moving under our feet).
            const again = await this.commonNode();
            if (again?.node === common.node) return common;
            last = `moved during the check: ${common.node} → ${again?.node}`;
          } else last = `on ${common.node}, but: ${gaps.join('; ')}`;
        }
      } catch (err) {
        last = `check failed: ${(err as Error).message}`;
      }
      await sleep(250);
    }
    throw new Error(`the call did not become healthy (within ${opts.timeoutMs ?? 45_000} ms, or a page closed for good): ${last}\n${await this.describe()}`);
  }

  /** The watcher's records, one per page (loadId undefined when the page reloaded), each with its `readAt`. */
  async watch(): Promise<Array<WatchRecord | undefined>> {
    return Promise.all(
      this.members.map((m) =>
        m.page
          .evaluate(() => {
            const w = (window as unknown as { __failoverWatch?: WatchRecord }).__failoverWatch;
            return w ? { ...w, readAt: Date.now() } : undefined;
          })
          .catch(() => undefined),
      ),
    );
  }

  /** Pages that reloaded or navigated since {@link open} (empty = none). */
  async reloaded(): Promise<string[]> {
    const out: string[] = [];
    const ids = await Promise.all(this.members.map((m) => m.page.evaluate(() => (window as unknown as { __loadId?: string }).__loadId ?? null).catch(() => null)));
    for (const [i, m] of this.members.entries()) {
      if (ids[i] !== m.loadId) out.push(`${m.name}: __loadId ${m.loadId} → ${ids[i]}`);
      if (m.navigations !== 1) out.push(`${m.name}: ${m.navigations} page loads`);
    }
    return out;
  }

  /** Participants whose id changed since {@link open}. */
  async changedIds(): Promise<string[]> {
    const w = await this.where();
    return this.members.filter((m, i) => w[i]!.participantId !== m.participantId).map((m, i) => `${m.name}: ${m.participantId} → ${w[i]!.participantId}`);
  }

  /**
   * Closes `member`'s subscribe connection from the page (the open connection whose local
   * description is an answer: the node offers on subscribe sessions). Returns how many
   * connections matched (1 expected).
   */
  async closeSubscribeConnection(member: CallMember): Promise<number> {
    return member.page.evaluate(() => {
      const pcs = ((window as unknown as { __pcs?: RTCPeerConnection[] }).__pcs ?? []).filter((pc) => pc.signalingState !== 'closed' && pc.currentLocalDescription?.type === 'answer');
      for (const pc of pcs) pc.close();
      return pcs.length;
    });
  }

  /** A short account of every page for failure messages. */
  async describe(): Promise<string> {
    const lines: string[] = [];
    for (const m of this.members) {
      try {
        const s = await snapshot(m);
        const w = await where(m);
        const rec = await m.page.evaluate(() => (window as unknown as { __failoverWatch?: WatchRecord }).__failoverWatch).catch(() => undefined);
        const log = await m.page.evaluate(() => Array.from(document.querySelectorAll('#log li'), (li) => li.textContent ?? '').slice(0, 12)).catch(() => []);
        lines.push(
          `[${m.name}] state=${w.state} node=${w.node} region=${w.region} id=${w.participantId} videos=${s.remoteVideos.length} errors=${JSON.stringify(s.errors)} states=${JSON.stringify(rec?.states.slice(-8) ?? [])} log=${JSON.stringify(log)} problems=${m.problems.slice(-5).join(' | ')}`,
        );
      } catch (err) {
        lines.push(`[${m.name}] unreadable: ${(err as Error).message}`);
      }
    }
    return lines.join('\n');
  }

  async close(): Promise<void> {
    for (const m of this.members) {
      await m.page.evaluate(() => window.meridianDemo?.client?.leave()).catch(() => {});
      await m.close();
    }
  }
}

// ------------------------------------------------------------------ reading the watcher

/**
 * Recovery after a fault at wall-clock `faultAt`: for every page and remote participant, the
 * first frame presented on a video track the page first held after the fault (a new
 * subscribe connection); the figure is the latest of those, minus `faultAt`. Undefined when
 * some pair never got a new track.
 */
export function recoveryMs(records: Array<WatchRecord | undefined>, participantIds: string[], faultAt: number): { ms: number | undefined; perPair: Record<string, number | undefined> } {
  const perPair: Record<string, number | undefined> = {};
  let worst = 0;
  let complete = true;
  for (const [i, rec] of records.entries()) {
    for (const [j, id] of participantIds.entries()) {
      if (i === j) continue;
      const frames = rec?.frames[id] ?? [];
      // A track counts as new when the page first held it after the fault (a new connection).
      const isNew = (track: string) => (rec?.firstSeen[track] ?? 0) > faultAt;
      const first = frames.find(([t, track]) => t > faultAt && isNew(track));
      const key = `${i}←${j}`;
      perPair[key] = first ? first[0] - faultAt : undefined;
      if (!first) complete = false;
      else worst = Math.max(worst, first[0] - faultAt);
    }
  }
  return { ms: complete ? worst : undefined, perPair };
}

/**
 * When the slowest page reached a step after `since`: the first event of `kind` on each page
 * (`reconnecting` = the SDK noticed the loss, `reconnected` = joined the new node, …), as ms
 * after `since`, the latest over pages. Undefined when a page never got there.
 */
export function slowestStepMs(records: Array<WatchRecord | undefined>, kind: 'reconnecting' | 'reconnected' | 'migrating' | 'migrated', since: number): number | undefined {
  let worst = 0;
  for (const rec of records) {
    const first = (rec?.[kind] ?? []).find(([t]) => t >= since);
    if (!first) return undefined;
    worst = Math.max(worst, first[0] - since);
  }
  return worst;
}

/**
 * The longest gap between consecutive presented frames of any pair within [from, to]. A
 * page's window ends at its record's `readAt` when that is earlier than `to`: the record
 * cannot hold frames presented after the page handed it over (reading three pages under
 * load takes hundreds of ms, and `to` is usually taken after the slowest one).
 */
export function longestGapMs(records: Array<WatchRecord | undefined>, participantIds: string[], from: number, to: number): number {
  let worst = 0;
  for (const [i, rec] of records.entries()) {
    const end = Math.min(to, rec?.readAt ?? to);
    for (const [j, id] of participantIds.entries()) {
      if (i === j) continue;
      const times = (rec?.frames[id] ?? []).map(([t]) => t).filter((t) => t >= from && t <= end);
      let prev = from;
      for (const t of times) {
        worst = Math.max(worst, t - prev);
        prev = t;
      }
      worst = Math.max(worst, end - prev);
    }
  }
  return worst;
}

/** Everything a page showed that a participant would read as "the call dropped". */
export function disconnectedMoments(name: string, w: WatchRecord | undefined, since: number): string[] {
  if (!w) return [`${name}: the watcher is gone (page reloaded?)`];
  const out: string[] = [];
  for (const [t, s] of w.states) if (t >= since && s !== 'connected' && s !== 'migrating') out.push(`${name}: client state ${s} at +${t - since} ms`);
  for (const [t, code, reason] of w.disconnects) out.push(`${name}: disconnected event (${code}, ${reason}) at +${t - since} ms`);
  for (const [t, text] of w.statuses) if (t >= since && (/^ERROR /.test(text) || /reconnect/i.test(text))) out.push(`${name}: status "${text}" at +${t - since} ms`);
  return out;
}

/** p-th percentile (nearest rank) of a non-empty list. */
export function percentile(values: readonly number[], p: number): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!;
}
