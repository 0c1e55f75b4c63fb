/**
 * The capacity part of the `cascade` bench (issue 13): one meeting carried by one node process
 * against the same meeting over two node processes that relay to each other, same run.
 *
 * The meeting is bench/forwarding.bench.ts's: 2 publishers (video 150 packets/s, audio 50
 * packets/s each, over real DTLS-SRTP) and N subscribers that receive both; its machinery
 * (the `sfu` and `sfuload` roles, loss on probe subscribers) is reused as is. With two nodes
 * the publishers join node A, subscriber i joins node (i mod 2), and each node gets the
 * `relay` command the room manager would send (tokens from JoinTokenIssuer.issueRelay): A
 * sends B one copy of each track, B forwards it to its half of the subscribers.
 *
 * Every session (one setup, fresh processes) measures two things, and the sessions alternate
 * one node / two nodes for `rounds` rounds:
 * 1. **CPU per delivered packet** (fair on this machine): at the two `costSubscribers`
 *    sizes, meetings both setups carry without loss, with nothing pinned, the nodes' process
 *    CPU (every thread, process.cpuUsage() in each node process, read at the start and the end
 *    of the measured window) summed over the nodes ÷ the packets delivered to subscribers
 *    (subscribers × 400 packets/s); and the marginal cost, the CPU added between the two
 *    sizes ÷ the packets added (a node's fixed CPU, the same at any size, drops out: at
 *    capacity it is amortised). Relay overhead = two-node cost ÷ one-node cost − 1 (same
 *    round), and the capacity ratio it implies for two nodes on two free cores is
 *    2 ÷ (1 + overhead); bounded by the busier node, one-node CPU ÷ the busier node's CPU.
 * 2. **Direct search**: the nodes pinned with `taskset` (one node: node on CPU 0, load
 *    generator on CPU 1; two nodes: node A on CPU 0, node B on CPU 1, the load generator on
 *    both, since the machine has no third core), subscribers added in steps until the probes
 *    lose ≥ 1 % (or a join fails, or the session's time budget ends). Not a fair figure here:
 *    with two nodes the load generator competes with both, and other work shares the cores.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { cpus, loadavg } from 'node:os';
import { JoinTokenIssuer } from '../src/tokens/index.js';
import { LOSS_LIMIT, Role, hasTaskset, sfuLoadArgs, type LoadTarget } from './forwarding.bench.js';
import { fmtSpread, spread, type Spread } from './spread.js';

/** Packets/s one subscriber receives: 2 publishers × (150 video + 50 audio). */
const PACKETS_PER_SUBSCRIBER = 400;
const PUBLISHERS = 2;
const MEETING = 'bench';

/** One measured window of one session. */
interface Window {
  readonly subscribers: number;
  readonly loss: number;
  readonly p99Ms: number;
  readonly joinFailures: number;
  /** CPU of each node over the window (cores), node A first. */
  readonly nodeCpu: readonly number[];
  /** Packets each node sent over the window, per second (to subscribers, and A's relay copies). */
  readonly nodeOutPps: readonly number[];
  readonly loadCpu: number;
}

/** One session: one setup, fresh processes. */
interface Session {
  readonly nodes: 1 | 2;
  readonly round: number;
  /** The unpinned windows at the two cost sizes, smaller first. */
  readonly costs: readonly [Window, Window];
  /** The pinned steps of the direct search, in order. */
  readonly steps: readonly Window[];
  /** Largest step with loss < 1 % and no join failure (0: none). */
  readonly maxSubscribers: number;
  /** The search ended on the time budget, not on loss: the capacity is at least `maxSubscribers`. */
  readonly censored: boolean;
}

/** Options of {@link benchCascadeCapacity}. */
export interface CascadeCapacityOptions {
  readonly rounds?: number;
  /** The two meeting sizes (subscribers) of the cost windows, smaller first. */
  readonly costSubscribers?: readonly [number, number];
  readonly searchSteps?: readonly number[];
  readonly stepMs?: number;
  /** Time budget of one session's search. */
  readonly searchBudgetMs?: number;
}

/** Figures of {@link benchCascadeCapacity}. */
export interface CascadeCapacityResult {
  readonly sessions: readonly Session[];
  /** µs of node CPU per delivered subscriber packet at the larger cost size, per round. */
  readonly oneNodeUs: Spread;
  readonly twoNodeUs: Spread;
  /** µs of node CPU per packet added between the two cost sizes. */
  readonly oneNodeMarginalUs: Spread;
  readonly twoNodeMarginalUs: Spread;
  /** Two-node cost ÷ one-node cost − 1, same round: average at the larger size, and marginal. */
  readonly overhead: Spread;
  readonly marginalOverhead: Spread;
  /** 2 ÷ (1 + overhead), same round. */
  readonly impliedRatio: Spread;
  readonly marginalImpliedRatio: Spread;
  /** One-node CPU ÷ the busier of the two nodes' CPU at the larger size, same round. */
  readonly busierNodeRatio: Spread;
  /** Direct search: two-node ÷ one-node largest passing step, same round. */
  readonly searchRatio: Spread | undefined;
  readonly markdown: string;
}

/** Pins every thread of process `pid` to `cpuList`; a failure fails the section (the search would not be what it says). */
function taskset(pid: number | undefined, cpuList: string): void {
  if (pid === undefined || spawnSync('taskset', ['-a', '-p', '-c', cpuList, String(pid)], { stdio: 'ignore' }).status !== 0) {
    throw new Error(`taskset could not pin process ${pid} to CPU ${cpuList}`);
  }
}

/** Reads each node's counters. */
async function counters(nodes: readonly Role[]): Promise<Array<{ cpuUs: number; wallMs: number; packetsOut: number }>> {
  for (const n of nodes) n.send({ type: 'counters' });
  return Promise.all(nodes.map(async (n) => (await n.next('counters', 10_000)) as unknown as { cpuUs: number; wallMs: number; packetsOut: number }));
}

/** One step: grows the meeting to `subscribers` and measures one window. */
async function step(nodes: readonly Role[], load: Role, subscribers: number, stepMs: number): Promise<Window> {
  load.send({ type: 'step', subscribers, durationMs: stepMs });
  await load.next('window-open', 180_000);
  const before = await counters(nodes);
  const { result } = (await load.next('step-result', stepMs + 30_000)) as unknown as {
    result: { probeLoss: number; p99Ms: number; joinFailures: number; loadCpu: number; subscribers: number };
  };
  const after = await counters(nodes);
  const nodeCpu = before.map((b, i) => (after[i]!.cpuUs - b.cpuUs) / ((after[i]!.wallMs - b.wallMs) * 1000));
  const nodeOutPps = before.map((b, i) => ((after[i]!.packetsOut - b.packetsOut) * 1000) / (after[i]!.wallMs - b.wallMs));
  return { subscribers: result.subscribers, loss: result.probeLoss, p99Ms: result.p99Ms, joinFailures: result.joinFailures, nodeCpu, nodeOutPps, loadCpu: result.loadCpu };
}

const passes = (w: Window) => w.loss < LOSS_LIMIT && w.joinFailures === 0;

/** CPU of the nodes over a window, summed (cores). */
const cpuSum = (w: Window) => w.nodeCpu.reduce((a, c) => a + c, 0);
/** µs of node CPU (summed over the nodes) per packet delivered to subscribers. */
const usPerPacket = (w: Window) => (cpuSum(w) * 1e6) / (w.subscribers * PACKETS_PER_SUBSCRIBER);
/** µs of node CPU per delivered packet added from the smaller to the larger cost window. */
const marginalUs = ([a, b]: readonly [Window, Window]) => ((cpuSum(b) - cpuSum(a)) * 1e6) / ((b.subscribers - a.subscribers) * PACKETS_PER_SUBSCRIBER);

async function session(count: 1 | 2, round: number, opts: Required<CascadeCapacityOptions>, pin: boolean): Promise<Session> {
  const issuer = new JoinTokenIssuer(randomBytes(32), 60);
  const ids = count === 1 ? ['cap-a'] : ['cap-a', 'cap-b'];
  const keys = ids.map((id) => issuer.nodeKey(id).toString('base64url'));
  const nodes = ids.map((id, i) => new Role('sfu', undefined, { key: keys[i]!, nodeId: id }));
  let load: Role | undefined;
  try {
    const urls = await Promise.all(nodes.map(async (n) => (await n.next('sfu-ready')).url as string));
    const targets: LoadTarget[] = ids.map((nodeId, i) => ({ url: urls[i]!, nodeId, key: keys[i]! }));
    load = new Role('sfuload', undefined, sfuLoadArgs(targets, true));
    await load.next('load-ready', 60_000);
    if (count === 2) {
      // The room manager's broadcast: each node told of the other, with a relay token for it.
      // After the publishers are on node A: a node dials only once it has a participant of its
      // own (RelayManager), and A (the lower id) is the dialer.
      nodes.forEach((n, i) => {
        const j = 1 - i;
        const { token } = issuer.issueRelay({ meetingId: MEETING, fromNodeId: ids[i]!, fromRegionId: 'bench-1', toNodeId: ids[j]! });
        n.send({ type: 'relay', expect: 1, command: { meetingId: MEETING, peers: [{ nodeId: ids[j]!, regionId: 'bench-1', url: urls[j]!, token }] } });
      });
      const ok = await Promise.all(nodes.map((n) => n.next('relay-ok', 40_000)));
      if (ok.some((m) => (m.relays as number) < 1)) throw new Error('the two nodes did not set up their relay');
    }
    const costs: [Window, Window] = [await step(nodes, load, opts.costSubscribers[0], opts.stepMs), await step(nodes, load, opts.costSubscribers[1], opts.stepMs)];
    const cost = costs[1];
    // Pin for the search: a node per core; with two nodes the load generator gets no core of its own.
    if (pin) {
      if (count === 1) {
        taskset(nodes[0]!.child.pid, '0');
        taskset(load.child.pid, '1');
      } else {
        taskset(nodes[0]!.child.pid, '0');
        taskset(nodes[1]!.child.pid, '1');
      }
    }
    const steps: Window[] = [];
    const started = Date.now();
    // A cost window with loss already found the limit: no search above it.
    for (const s of passes(cost) ? opts.searchSteps : []) {
      if (s <= opts.costSubscribers[1]) continue;
      if (Date.now() - started > opts.searchBudgetMs) break;
      const w = await step(nodes, load, s, opts.stepMs);
      steps.push(w);
      if (!passes(w)) break;
    }
    // The largest size before the first failing one.
    const windows = [...costs, ...steps];
    const firstFail = windows.findIndex((w) => !passes(w));
    const ok = firstFail < 0 ? windows : windows.slice(0, firstFail);
    // No step failed: the search ended on its budget or its last step, the capacity is at least the last.
    const censored = costs.every(passes) && steps.every(passes);
    return { nodes: count, round, costs, steps, maxSubscribers: ok.at(-1)?.subscribers ?? 0, censored };
  } finally {
    await load?.stop();
    for (const n of nodes) await n.stop();
  }
}

const f = (n: number, d = 0) => (Number.isFinite(n) ? n.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d }) : 'n/a');
const pctOf = (n: number) => `${f(n * 100, 2)} %`;

/** Runs the interleaved sessions (see the file header) and renders the `### Capacity` part. */
export async function benchCascadeCapacity(options: CascadeCapacityOptions = {}): Promise<CascadeCapacityResult> {
  const opts: Required<CascadeCapacityOptions> = {
    rounds: options.rounds ?? 3,
    costSubscribers: options.costSubscribers ?? [40, 80],
    searchSteps: options.searchSteps ?? [100, 130, 160, 200],
    stepMs: options.stepMs ?? 2_000,
    searchBudgetMs: options.searchBudgetMs ?? 20_000,
  };
  const pin = hasTaskset();
  const loadBefore = loadavg()[0]!;
  const started = Date.now();
  const sessions: Session[] = [];
  for (let r = 0; r < opts.rounds; r++) {
    const order: Array<1 | 2> = r % 2 === 0 ? [1, 2] : [2, 1];
    for (const count of order) sessions.push(await session(count, r, opts, pin));
  }
  const perRound = Array.from({ length: opts.rounds }, (_, r) => ({
    one: sessions.find((s) => s.round === r && s.nodes === 1)!,
    two: sessions.find((s) => s.round === r && s.nodes === 2)!,
  }));
  // A round whose cost window lost packets measured a starved node, not its cost: left out.
  const fair = perRound.filter((p) => [...p.one.costs, ...p.two.costs].every(passes));
  const sp = (xs: number[]) => (xs.length ? spread(xs) : { min: Number.NaN, median: Number.NaN, max: Number.NaN, n: 0 });
  const oneNodeUs = sp(fair.map((p) => usPerPacket(p.one.costs[1])));
  const twoNodeUs = sp(fair.map((p) => usPerPacket(p.two.costs[1])));
  const oneNodeMarginalUs = sp(fair.map((p) => marginalUs(p.one.costs)));
  const twoNodeMarginalUs = sp(fair.map((p) => marginalUs(p.two.costs)));
  const overhead = sp(fair.map((p) => usPerPacket(p.two.costs[1]) / usPerPacket(p.one.costs[1]) - 1));
  const marginalOverhead = sp(fair.map((p) => marginalUs(p.two.costs) / marginalUs(p.one.costs) - 1));
  const impliedRatio = sp(fair.map((p) => 2 / (usPerPacket(p.two.costs[1]) / usPerPacket(p.one.costs[1]))));
  const marginalImpliedRatio = sp(fair.map((p) => 2 / (marginalUs(p.two.costs) / marginalUs(p.one.costs))));
  const busierNodeRatio = sp(fair.map((p) => p.one.costs[1].nodeCpu[0]! / Math.max(...p.two.costs[1].nodeCpu)));
  const searched = perRound.filter((p) => p.one.maxSubscribers > 0 && p.two.maxSubscribers > 0);
  const searchRatio = searched.length ? spread(searched.map((p) => p.two.maxSubscribers / p.one.maxSubscribers)) : undefined;

  const cell = (s: Spread, d = 1, unit = '') => (s.n ? fmtSpread(s, d, unit) : 'n/a');
  const pctSpread = (s: Spread) => (s.n ? fmtSpread({ min: s.min * 100, median: s.median * 100, max: s.max * 100, n: s.n }, 1, ' %') : 'n/a');
  const verdict = (x: number) => (Number.isFinite(x) ? (x >= 1.7 ? '**met**' : '**not met**') : '**not measured**');
  const sessionRows = sessions.map((s) => {
    const both = (g: (w: Window) => string) => s.costs.map(g).join(' · ');
    return `| ${s.round + 1} | ${s.nodes} | ${both((w) => pctOf(w.loss))} | ${both((w) => w.nodeCpu.map((c) => f(c, 2)).join(' + '))} | ${both((w) => f(usPerPacket(w), 1))} | ${f(marginalUs(s.costs), 1)} | ${both((w) => w.nodeOutPps.map((p) => f(p)).join(' + '))} | ${both((w) => f(w.loadCpu, 2))} | ${s.steps.map((w) => `${w.subscribers}: ${pctOf(w.loss)}${w.joinFailures ? ` (${w.joinFailures} join failures)` : ''}`).join(', ') || 'none'} | ${s.maxSubscribers} × ${PUBLISHERS} = ${s.maxSubscribers * PUBLISHERS}${s.censored ? ' (no step failed: ≥)' : ''} |`;
  });
  const markdown = [
    '### Capacity',
    '',
    `The meeting of the \`forwarding\` section: ${PUBLISHERS} video publishers (150 + 50 audio packets/s each, DTLS-SRTP) and N subscribers receiving both; size = subscribers × video publishers. **One node**: everyone on one node process. **Two nodes**: the publishers on node A, subscribers alternately on A and B, the two nodes relaying (the \`relay\` command and relay tokens as the room manager sends them; A sends B one copy of each track). ${opts.rounds} rounds, each a one-node and a two-node session (fresh processes, order alternating); cells are min / **median** / max over the rounds.`,
    '',
    `**CPU per delivered packet** (the fair figure on this shared 2-core machine): meetings of ${opts.costSubscribers[0]} then ${opts.costSubscribers[1]} subscribers × ${PUBLISHERS} publishers (${f(opts.costSubscribers[0] * PACKETS_PER_SUBSCRIBER)} and ${f(opts.costSubscribers[1] * PACKETS_PER_SUBSCRIBER)} packets/s to subscribers), nothing pinned, a ${f(opts.stepMs / 1000, 1)} s window each; node CPU is process.cpuUsage() (every thread) read in each node process at the window's start and end, summed over the nodes. *Average*: that CPU ÷ the packets delivered to subscribers, at ${opts.costSubscribers[1]} subscribers. *Marginal*: the CPU added from ${opts.costSubscribers[0]} to ${opts.costSubscribers[1]} subscribers ÷ the packets added; a node's fixed CPU (timers, keep-alives, libdatachannel's threads), which two nodes pay twice at any size, drops out of it, as it is amortised near capacity. ${fair.length} of ${opts.rounds} rounds had < 1 % loss in both setups at both sizes${fair.length < opts.rounds ? ' (the others are left out of these figures: a node that lost packets was starved, its CPU is not its cost)' : ''}.`,
    '',
    '| measure | min / **median** / max |',
    '| --- | --- |',
    `| one node, average µs of node CPU per delivered packet (${opts.costSubscribers[1]} subscribers) | ${cell(oneNodeUs)} |`,
    `| two relaying nodes, average µs summed over both per delivered packet | ${cell(twoNodeUs)} |`,
    `| one node, marginal µs per delivered packet (${opts.costSubscribers[0]} → ${opts.costSubscribers[1]}) | ${cell(oneNodeMarginalUs)} |`,
    `| two relaying nodes, marginal µs per delivered packet, summed | ${cell(twoNodeMarginalUs)} |`,
    `| relay overhead, average (two ÷ one − 1, same round) | ${pctSpread(overhead)} |`,
    `| relay overhead, marginal | ${pctSpread(marginalOverhead)} |`,
    `| implied capacity ratio, two nodes on two free cores ÷ one node: 2 ÷ (1 + average overhead) | ${cell(impliedRatio, 2, '×')} |`,
    `| implied capacity ratio from the marginal overhead | ${cell(marginalImpliedRatio, 2, '×')} |`,
    `| bound by the busier node at ${opts.costSubscribers[1]} subscribers: one-node CPU ÷ the busier node's CPU | ${cell(busierNodeRatio, 2, '×')} |`,
    '',
    `Target ≥ 1.7× with two nodes: ${verdict(marginalImpliedRatio.median)} on the ratio implied by the marginal overhead (median ${f(marginalImpliedRatio.median, 2)}×, the one that holds near capacity), ${verdict(impliedRatio.median)} on the average at ${opts.costSubscribers[1]} subscribers (median ${f(impliedRatio.median, 2)}×), ${verdict(busierNodeRatio.median)} on the busier-node bound (median ${f(busierNodeRatio.median, 2)}×). The marginal figures come from two 2 s windows on a busy machine and move more from round to round than the averages; node A carries the relay's sending side and half the subscribers.`,
    '',
    `**Direct search** (not fair here, stated as measured): after the cost windows each session pins its processes with \`taskset\`${pin ? '' : ' (unavailable on this run: nothing pinned)'} (one node: node on CPU 0, load generator on CPU 1; two nodes: node A on CPU 0, node B on CPU 1, and the load generator, which decrypts every subscriber's packets, shares both cores with them: there is no third core) and adds subscribers in steps (${opts.searchSteps.join(', ')}; ${f(opts.stepMs / 1000, 1)} s window, ${f(opts.searchBudgetMs / 1000)} s budget per session) until the probe subscribers lose ≥ 1 % or a join fails. Largest passing meeting, two nodes ÷ one node, same round: ${searchRatio ? `${fmtSpread(searchRatio, 2, '×')} (${searched.length} rounds)` : 'no ratio (a setup passed no step in every round)'}. Other work on the machine (load average ${f(loadBefore, 1)} at the start, ${f(loadavg()[0]!, 1)} at the end, ${cpus().length} cores) and the load generator's share of the cores cap the two-node figure, so this ratio understates what two nodes on their own cores carry; the CPU figures above are the ones to read.`,
    '',
    `| round | nodes | loss at ${opts.costSubscribers.join(' · ')} | node CPU (A + B) | average µs/packet | marginal µs/packet | node out pkt/s (A + B) | load CPU | search steps: probe loss | largest < 1 % loss (subscribers × publishers) |`,
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
    ...sessionRows,
    '',
    `Capacity part ran in ${f((Date.now() - started) / 1000)} s.`,
  ].join('\n');
  return { sessions, oneNodeUs, twoNodeUs, oneNodeMarginalUs, twoNodeMarginalUs, overhead, marginalOverhead, impliedRatio, marginalImpliedRatio, busierNodeRatio, searchRatio, markdown };
}
