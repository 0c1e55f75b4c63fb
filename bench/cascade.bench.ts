/**
 * Benchmark `cascade` (issue 13): what cascading a meeting over several nodes buys.
 *
 *   npx tsx bench/cascade.bench.ts        (prints the markdown; `benchCascade()` for bench/run.ts)
 *
 * **Latency** (a model, no processes; bench/cascade-latency.ts states every assumption):
 * seeded meetings whose participants sit in the reference regions' cities (three stated mixes:
 * uniform over the cities, scattered with a pull to the first joiner's continent, and gathered
 * at 1–3 sites), placed once with today's one-node rule and once with cascading
 * (`placeParticipant` in join order), on the measured inter-region RTT matrix. The
 * figures are the median and p95 one-way delay over the ordered pairs of participants, per
 * meeting (then the median over the meetings of a class) and pooled over a class; the
 * baseline is the one-node placement of the same meetings in the same run, and several seeds
 * give min / median / max. Bounds on the same meetings say what any placement could do (every
 * participant on a node of their own region; the pair-by-pair floor), a breakdown says why
 * some meetings' median rises, and sweeps of `gainMs`, of the forwarding time per node and of
 * the cap on a meeting's nodes follow.
 *
 * **Capacity** (bench/cascade-capacity.ts states the method): the forwarding section's
 * meeting on one node process against the same meeting over two relaying node processes,
 * interleaved rounds: node CPU per delivered packet (the fair figure on this machine, giving
 * the relay's overhead and the capacity ratio it implies) and the direct search for the
 * largest meeting at < 1 % loss with `taskset` (with its caveat). `CASCADE_BENCH_CAPACITY=0`
 * skips it (the latency model alone).
 */
import { pathToFileURL } from 'node:url';
import { awsRttMatrix, type RttMatrix } from '../test/helpers/awsReference.js';
import { prngUnit } from '../test/helpers/prng.js';
import { fmtSpread, spread, type Spread } from './spread.js';
import { benchCascadeCapacity, type CascadeCapacityOptions, type CascadeCapacityResult } from './cascade-capacity.js';
import {
  DEFAULT_MODEL,
  drawMeeting,
  drawMeetingSize,
  pairDelays,
  pairFloors,
  placeCascaded,
  placeInOwnRegions,
  placeOnOneNode,
  spansContinents,
  type CascadeModelOptions,
  type MeetingPopulation,
  type ModelParticipant,
} from './cascade-latency.js';

/** Median reduction the issue asks for, meetings that span continents. */
const TARGET_REDUCTION = 0.3;

/** The classes of meetings reported. */
type MeetingClass = 'spanning' | 'one continent' | 'all';
const CLASSES: readonly MeetingClass[] = ['spanning', 'one continent', 'all'];

/** One class's figures in one seed. */
interface ClassFigures extends BoundFigures {
  readonly meetings: number;
  // Per meeting (median and p95 over the meeting's ordered pairs), then the median over the
  // meetings of the class: what a typical meeting sees.
  readonly oneNodeMedianMs: number;
  readonly cascadeMedianMs: number;
  /** Median over meetings of 1 − cascading / one node, on each meeting's median. */
  readonly medianReduction: number;
  readonly oneNodeP95Ms: number;
  readonly cascadeP95Ms: number;
  readonly p95Reduction: number;
  /** Meetings whose median is at least 30 % lower with cascading. */
  readonly targetShare: number;
  /** Meetings whose median is higher with cascading. */
  readonly worseMedianShare: number;
  // Every ordered pair of the class's meetings pooled (a big meeting weighs more).
  readonly pooledOneNodeMedianMs: number;
  readonly pooledCascadeMedianMs: number;
  readonly pooledMedianReduction: number;
  readonly pooledOneNodeP95Ms: number;
  readonly pooledCascadeP95Ms: number;
  readonly pooledP95Reduction: number;
  /** Ordered pairs whose delay is more than 10 ms longer with cascading. */
  readonly worsePairShare: number;
  readonly nodesPerMeeting: number;
  /** Meetings carried by more than one node. */
  readonly multiNodeShare: number;
  /** Joins refused (`full`). */
  readonly refused: number;
}

/** The bounds and the breakdown of one class's figures. */
interface BoundFigures {
  // Bounds (NaN when not computed): the typical meeting's median and its reduction against
  // one node, and the pooled median's reduction, for every participant on a node of their
  // own region (the relay's node free, or at `nodeHopMs`) and for the pair-by-pair floor.
  readonly idealFreeMedianMs: number;
  readonly idealFreeReduction: number;
  readonly idealFreeTargetShare: number;
  readonly pooledIdealFreeReduction: number;
  readonly idealMedianMs: number;
  readonly idealReduction: number;
  readonly idealTargetShare: number;
  readonly pooledIdealReduction: number;
  readonly floorMedianMs: number;
  readonly floorReduction: number;
  readonly floorTargetShare: number;
  readonly pooledFloorReduction: number;
  // Why a meeting's median rises (shares of the class's meetings, NaN when not computed):
  /** Median higher, and the meeting has 2–8 participants. */
  readonly worseSmallShare: number;
  /** Median still higher with the relay's node free (cascading's placement). */
  readonly worseFreeRelayShare: number;
  /** Median still more than 1 ms higher with the relay's node free. */
  readonly worseFreeRelayBy1Share: number;
  /** Median higher, and higher for the ideal placement too (own regions, `nodeHopMs` per node). */
  readonly worseIdealShare: number;
}

/** Nearest-rank percentile of an ascending array. */
function percentile(sorted: ArrayLike<number>, q: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

/** Median of plain numbers (mean of the middle two for an even count). */
function medianOf(xs: readonly number[]): number {
  return xs.length ? spread(xs).median : Number.NaN;
}

/** Draws one seed's meetings (the same for every setting compared). */
function drawMeetings(matrix: RttMatrix, seed: number, count: number, population: MeetingPopulation, opts: CascadeModelOptions): ModelParticipant[][] {
  const rnd = prngUnit(seed);
  return Array.from({ length: count }, () => drawMeeting(matrix, rnd, drawMeetingSize(rnd), population, opts));
}

interface Accumulator {
  meetings: number;
  oneMed: number[];
  casMed: number[];
  medRed: number[];
  oneP95: number[];
  casP95: number[];
  p95Red: number[];
  target: number;
  worseMed: number;
  one: number[];
  cas: number[];
  worsePairs: number;
  compared: number;
  nodes: number;
  multi: number;
  refused: number;
  bound: Record<BoundKind, { med: number[]; red: number[]; target: number; pooled: number[] }>;
  worseSmall: number;
  worseFree: number;
  worseFree1: number;
  worseIdeal: number;
}

/** The bounds: own regions with the relay's node free, own regions at `nodeHopMs`, the floor. */
type BoundKind = 'idealFree' | 'ideal' | 'floor';
const BOUNDS: readonly BoundKind[] = ['idealFree', 'ideal', 'floor'];

/**
 * One seed: both placements of every meeting, figures per class. `pooled` false skips the
 * pooled figures, and `bounds` false the bounds and the breakdown (the sweeps need only the
 * per-meeting figures).
 */
function measureSeed(matrix: RttMatrix, meetings: readonly ModelParticipant[][], opts: CascadeModelOptions, pooled = true, bounds = pooled): Record<MeetingClass, ClassFigures> {
  const acc = {} as Record<MeetingClass, Accumulator>;
  for (const c of CLASSES) {
    const bound = Object.fromEntries(BOUNDS.map((b) => [b, { med: [], red: [], target: 0, pooled: [] }])) as unknown as Accumulator['bound'];
    acc[c] = { meetings: 0, oneMed: [], casMed: [], medRed: [], oneP95: [], casP95: [], p95Red: [], target: 0, worseMed: 0, one: [], cas: [], worsePairs: 0, compared: 0, nodes: 0, multi: 0, refused: 0, bound, worseSmall: 0, worseFree: 0, worseFree1: 0, worseIdeal: 0 };
  }
  const maxSize = Math.max(2, ...meetings.map((m) => m.length));
  const oneBuf = new Float64Array(maxSize * (maxSize - 1));
  const casBuf = new Float64Array(maxSize * (maxSize - 1));
  const bufs = Object.fromEntries(BOUNDS.map((b) => [b, new Float64Array(maxSize * (maxSize - 1))])) as Record<BoundKind, Float64Array>;
  const freeBuf = new Float64Array(maxSize * (maxSize - 1));
  for (const m of meetings) {
    const cascaded = placeCascaded(matrix, m, opts);
    const one = oneBuf.subarray(0, pairDelays(matrix, m, placeOnOneNode(matrix, m), opts.nodeHopMs, oneBuf));
    const cas = casBuf.subarray(0, pairDelays(matrix, m, cascaded, opts.nodeHopMs, casBuf));
    const refused = cascaded.nodeOf.filter((i) => i < 0).length;
    let worse = 0;
    // Pair by pair only when nobody was refused (then both lists are in the same order).
    if (refused === 0) for (let i = 0; i < one.length; i++) if (cas[i]! > one[i]! + 10) worse++;
    const os = one.sort();
    const cs = cas.sort();
    const oMed = percentile(os, 0.5);
    const cMed = percentile(cs, 0.5);
    const oP95 = percentile(os, 0.95);
    const cP95 = percentile(cs, 0.95);
    // The bounds, sorted, and cascading's placement with the relay's node free.
    const boundPairs = {} as Record<BoundKind, Float64Array>;
    let freeMed = Number.NaN;
    if (bounds) {
      const own = placeInOwnRegions(matrix, m);
      boundPairs.idealFree = bufs.idealFree.subarray(0, pairDelays(matrix, m, own, opts.nodeHopMs, bufs.idealFree, 0)).sort();
      boundPairs.ideal = bufs.ideal.subarray(0, pairDelays(matrix, m, own, opts.nodeHopMs, bufs.ideal)).sort();
      boundPairs.floor = bufs.floor.subarray(0, pairFloors(matrix, m, opts.nodeHopMs, bufs.floor)).sort();
      if (cMed > oMed) freeMed = percentile(freeBuf.subarray(0, pairDelays(matrix, m, cascaded, opts.nodeHopMs, freeBuf, 0)).sort(), 0.5);
    }
    for (const c of [spansContinents(m) ? 'spanning' : 'one continent', 'all'] as const) {
      const a = acc[c];
      a.meetings++;
      a.oneMed.push(oMed);
      a.casMed.push(cMed);
      a.medRed.push(1 - cMed / oMed);
      a.oneP95.push(oP95);
      a.casP95.push(cP95);
      a.p95Red.push(1 - cP95 / oP95);
      if (1 - cMed / oMed >= TARGET_REDUCTION) a.target++;
      if (cMed > oMed) a.worseMed++;
      if (pooled) {
        for (let i = 0; i < os.length; i++) a.one.push(os[i]!);
        for (let i = 0; i < cs.length; i++) a.cas.push(cs[i]!);
      }
      if (refused === 0) {
        a.worsePairs += worse;
        a.compared += one.length;
      }
      a.nodes += cascaded.nodes.length;
      if (cascaded.nodes.length > 1) a.multi++;
      a.refused += refused;
      if (!bounds) continue;
      for (const b of BOUNDS) {
        const x = a.bound[b];
        const bMed = percentile(boundPairs[b], 0.5);
        x.med.push(bMed);
        x.red.push(1 - bMed / oMed);
        if (1 - bMed / oMed >= TARGET_REDUCTION) x.target++;
        if (pooled) for (let i = 0; i < boundPairs[b].length; i++) x.pooled.push(boundPairs[b][i]!);
      }
      if (cMed > oMed) {
        if (m.length <= 8) a.worseSmall++;
        if (freeMed > oMed) a.worseFree++;
        if (freeMed > oMed + 1) a.worseFree1++;
        if (percentile(boundPairs.ideal, 0.5) > oMed) a.worseIdeal++;
      }

    }
  }
  const out = {} as Record<MeetingClass, ClassFigures>;
  for (const c of CLASSES) {
    const a = acc[c];
    const o = Float64Array.from(a.one).sort();
    const k = Float64Array.from(a.cas).sort();
    const n = Math.max(1, a.meetings);
    out[c] = {
      meetings: a.meetings,
      oneNodeMedianMs: medianOf(a.oneMed),
      cascadeMedianMs: medianOf(a.casMed),
      medianReduction: medianOf(a.medRed),
      oneNodeP95Ms: medianOf(a.oneP95),
      cascadeP95Ms: medianOf(a.casP95),
      p95Reduction: medianOf(a.p95Red),
      targetShare: a.target / n,
      worseMedianShare: a.worseMed / n,
      pooledOneNodeMedianMs: percentile(o, 0.5),
      pooledCascadeMedianMs: percentile(k, 0.5),
      pooledMedianReduction: 1 - percentile(k, 0.5) / percentile(o, 0.5),
      pooledOneNodeP95Ms: percentile(o, 0.95),
      pooledCascadeP95Ms: percentile(k, 0.95),
      pooledP95Reduction: 1 - percentile(k, 0.95) / percentile(o, 0.95),
      worsePairShare: a.compared ? a.worsePairs / a.compared : Number.NaN,
      nodesPerMeeting: a.nodes / n,
      multiNodeShare: a.multi / n,
      refused: a.refused,
      ...boundFigures(a, percentile(o, 0.5), bounds),
    };
  }
  return out;
}

/** The bound and breakdown fields of one class's figures (NaN when not computed). */
function boundFigures(a: Accumulator, pooledOneMedian: number, bounds: boolean): BoundFigures {
  const n = Math.max(1, a.meetings);
  const of = (b: BoundKind) => {
    const x = a.bound[b];
    if (!bounds) return { med: Number.NaN, red: Number.NaN, target: Number.NaN, pooled: Number.NaN };
    const pooledMed = x.pooled.length ? percentile(Float64Array.from(x.pooled).sort(), 0.5) : Number.NaN;
    return { med: medianOf(x.med), red: medianOf(x.red), target: x.target / n, pooled: 1 - pooledMed / pooledOneMedian };
  };
  const [f, i, l] = BOUNDS.map(of) as [ReturnType<typeof of>, ReturnType<typeof of>, ReturnType<typeof of>];
  const share = (k: number) => (bounds ? k / n : Number.NaN);
  return {
    idealFreeMedianMs: f.med,
    idealFreeReduction: f.red,
    idealFreeTargetShare: f.target,
    pooledIdealFreeReduction: f.pooled,
    idealMedianMs: i.med,
    idealReduction: i.red,
    idealTargetShare: i.target,
    pooledIdealReduction: i.pooled,
    floorMedianMs: l.med,
    floorReduction: l.red,
    floorTargetShare: l.target,
    pooledFloorReduction: l.pooled,
    worseSmallShare: share(a.worseSmall),
    worseFreeRelayShare: share(a.worseFree),
    worseFreeRelayBy1Share: share(a.worseFree1),
    worseIdealShare: share(a.worseIdeal),
  };
}

const POPULATIONS: readonly MeetingPopulation[] = ['uniform', 'scattered', 'sites'];

/** Figures of meetings that span continents under one variant of the settings. */
export interface SweepRow {
  readonly label: string;
  readonly population: MeetingPopulation;
  readonly medianReduction: Spread;
  readonly p95Reduction: Spread;
  readonly targetShare: Spread;
  readonly worseMedianShare: Spread;
  readonly nodesPerMeeting: Spread;
}

/** The result of {@link benchCascade}. */
export interface CascadeBenchResult {
  readonly seeds: readonly number[];
  readonly meetingsPerSeed: number;
  readonly model: CascadeModelOptions;
  /** Per population and class, the spread over seeds of each figure. */
  readonly latency: Record<MeetingPopulation, Record<MeetingClass, Record<keyof ClassFigures, Spread>>>;
  /** Other gain thresholds (`cascade.gainMs`), spanning meetings. */
  readonly gainSweep: readonly SweepRow[];
  /** Other forwarding times per node passed, spanning meetings. */
  readonly hopSweep: readonly SweepRow[];
  /** Other caps on a meeting's nodes (`cascade.maxNodesPerMeeting`), spanning meetings. */
  readonly maxNodesSweep: readonly SweepRow[];
  /** One node process against two relaying ones (undefined when skipped). */
  readonly capacity: CascadeCapacityResult | undefined;
  readonly markdown: string;
}

const fmt = (n: number, d = 0) => n.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });
const pct = (s: Spread) => fmtSpread({ min: s.min * 100, median: s.median * 100, max: s.max * 100, n: s.n }, 0, ' %');
const met = (ok: boolean) => (ok ? '**met**' : '**not met**');

/** Runs the latency model over the seeds; see the file header. */
export async function benchCascade(
  opts: { seeds?: readonly number[]; meetingsPerSeed?: number; model?: CascadeModelOptions; capacity?: CascadeCapacityOptions | false } = {},
): Promise<CascadeBenchResult> {
  const seeds = opts.seeds ?? [1, 2, 3, 4, 5];
  const meetingsPerSeed = opts.meetingsPerSeed ?? 1_000;
  const model = opts.model ?? DEFAULT_MODEL;
  const matrix = awsRttMatrix(1);
  const worlds = Object.fromEntries(POPULATIONS.map((p) => [p, seeds.map((s) => drawMeetings(matrix, s, meetingsPerSeed, p, model))])) as Record<MeetingPopulation, ModelParticipant[][][]>;

  const latency = {} as CascadeBenchResult['latency'];
  for (const p of POPULATIONS) {
    const perSeed = worlds[p].map((w) => measureSeed(matrix, w, model));
    latency[p] = {} as Record<MeetingClass, Record<keyof ClassFigures, Spread>>;
    for (const c of CLASSES) {
      const keys = Object.keys(perSeed[0]![c]) as Array<keyof ClassFigures>;
      latency[p][c] = Object.fromEntries(keys.map((k) => [k, spread(perSeed.map((s) => s[c][k]))])) as Record<keyof ClassFigures, Spread>;
    }
  }

  const sweep = (label: string, m: CascadeModelOptions): SweepRow[] =>
    POPULATIONS.map((population) => {
      const rs = worlds[population].map((w) => measureSeed(matrix, w, m, false).spanning);
      const of = (k: keyof ClassFigures) => spread(rs.map((r) => r[k]));
      return { label, population, medianReduction: of('medianReduction'), p95Reduction: of('p95Reduction'), targetShare: of('targetShare'), worseMedianShare: of('worseMedianShare'), nodesPerMeeting: of('nodesPerMeeting') };
    });
  const gainSweep = [0, 20, 40, 80, 160].flatMap((gainMs) =>
    sweep(`${gainMs}${gainMs === model.placement.gainMs ? ' (default)' : ''}`, { ...model, placement: { ...model.placement, gainMs } }),
  );
  const maxNodesSweep = [4, 8, 12].flatMap((maxNodes) =>
    sweep(`${maxNodes}${maxNodes === model.placement.maxNodes ? ' (default)' : ''}`, { ...model, placement: { ...model.placement, maxNodes } }),
  );
  const hopSweep = [1, 5, 10].flatMap((nodeHopMs) => sweep(`${nodeHopMs}${nodeHopMs === model.nodeHopMs ? ' (default)' : ''}`, { ...model, nodeHopMs }));

  const capacityOff = opts.capacity === false || process.env.CASCADE_BENCH_CAPACITY === '0';
  const capacity = capacityOff ? undefined : await benchCascadeCapacity(opts.capacity || {});

  const rowsOf = (render: (p: MeetingPopulation, c: MeetingClass, l: Record<keyof ClassFigures, Spread>) => string) =>
    POPULATIONS.flatMap((p) => CLASSES.map((c) => render(p, c, latency[p][c])));
  const perMeetingRow = (p: MeetingPopulation, c: MeetingClass, l: Record<keyof ClassFigures, Spread>) =>
    `| ${p} | ${c} | ${fmtSpread(l.meetings)} | ${fmtSpread(l.oneNodeMedianMs)} | ${fmtSpread(l.cascadeMedianMs)} | ${pct(l.medianReduction)} | ${pct(l.targetShare)} | ${pct(l.worseMedianShare)} | ${fmtSpread(l.oneNodeP95Ms)} | ${fmtSpread(l.cascadeP95Ms)} | ${pct(l.p95Reduction)} | ${fmtSpread(l.nodesPerMeeting, 2)} | ${pct(l.multiNodeShare)} |`;
  const pooledRow = (p: MeetingPopulation, c: MeetingClass, l: Record<keyof ClassFigures, Spread>) =>
    `| ${p} | ${c} | ${fmtSpread(l.pooledOneNodeMedianMs)} | ${fmtSpread(l.pooledCascadeMedianMs)} | ${pct(l.pooledMedianReduction)} | ${fmtSpread(l.pooledOneNodeP95Ms)} | ${fmtSpread(l.pooledCascadeP95Ms)} | ${pct(l.pooledP95Reduction)} | ${pct(l.worsePairShare)} |`;
  const sweepRows = (rows: readonly SweepRow[]) =>
    rows.map((g) => `| ${g.label} | ${g.population} | ${pct(g.medianReduction)} | ${pct(g.targetShare)} | ${pct(g.worseMedianShare)} | ${pct(g.p95Reduction)} | ${fmtSpread(g.nodesPerMeeting, 2)} |`);
  const sweepHead = ['| meetings | median lower by | median ≥ 30 % lower | median higher | p95 lower by | nodes per meeting |', '| --- | --- | --- | --- | --- | --- | --- |'];
  const verdict = (p: MeetingPopulation) => {
    const span = latency[p].spanning;
    return `${p}: per meeting ${met(span.medianReduction.median >= TARGET_REDUCTION)} (the typical spanning meeting's median is ${fmt(span.medianReduction.median * 100)} % lower; ${fmt(span.targetShare.median * 100)} % of them reach 30 %), all pairs pooled ${met(span.pooledMedianReduction.median >= TARGET_REDUCTION)} (${fmt(span.pooledMedianReduction.median * 100)} %)`;
  };
  const boundRow = (p: MeetingPopulation, l: Record<keyof ClassFigures, Spread>) =>
    `| ${p} | ${fmtSpread(l.oneNodeMedianMs)} | ${fmtSpread(l.cascadeMedianMs)} | ${pct(l.medianReduction)} | ${fmtSpread(l.idealFreeMedianMs)} | ${pct(l.idealFreeReduction)} | ${fmtSpread(l.idealMedianMs)} | ${pct(l.idealReduction)} | ${fmtSpread(l.floorMedianMs)} | ${pct(l.floorReduction)} | ${[l.targetShare, l.idealFreeTargetShare, l.floorTargetShare].map((x) => `${fmt(x.median * 100)} %`).join(' / ')} | ${[l.pooledMedianReduction, l.pooledIdealFreeReduction, l.pooledIdealReduction, l.pooledFloorReduction].map((x) => `${fmt(x.median * 100)} %`).join(' / ')} |`;
  // The floor bounds every placement: below 30 % there, no placement reaches the target.
  const reach = (p: MeetingPopulation) => {
    const l = latency[p].spanning;
    const word = (floor: number, own: number) =>
      floor < TARGET_REDUCTION ? '**out of reach of any placement**' : own < TARGET_REDUCTION ? '**out of reach with everyone near home**, not of every placement' : '**within reach**';
    return `${p}: per meeting ${word(l.floorReduction.median, l.idealFreeReduction.median)} (floor ${fmt(l.floorReduction.median * 100)} %, own regions ${fmt(l.idealFreeReduction.median * 100)} % with the relay free, ${fmt(l.idealReduction.median * 100)} % at ${model.nodeHopMs} ms), pooled ${word(l.pooledFloorReduction.median, l.pooledIdealFreeReduction.median)} (floor ${fmt(l.pooledFloorReduction.median * 100)} %, own regions ${fmt(l.pooledIdealFreeReduction.median * 100)} % / ${fmt(l.pooledIdealReduction.median * 100)} %)`;
  };
  const refused = Math.max(...POPULATIONS.map((p) => latency[p].all.refused.max));
  const markdown = [
    '### Latency (model)',
    '',
    `${fmt(meetingsPerSeed)} meetings per seed, seeds ${seeds.join(', ')}; each cell is min / **median** / max over the seeds. Participants sit in the ${matrix.regions.length} cities of the regions the measured inter-region RTT matrix covers (\`aws-inter-region-rtt-ms.csv\`; \`aws-regions.csv\` has no population column, so cities are drawn uniformly in three stated mixes: **uniform**, every participant from any city, the issue's words taken literally; **scattered**, each participant after the first from the first joiner's continent with probability ${model.localShare}, else from any city; **sites**, the meeting gathers 1–3 sites, the first joiner's city one of them, each participant at one of them); meeting sizes: half 2–8, a third 9–30, the rest 31–150. Delay is one-way, participant to participant: access (half of the matrix RTT plus the client's own last mile of 2–20 ms RTT) + ${model.nodeHopMs} ms per node passed + half the inter-node RTT when the two sit on different nodes. **One node**: today's placement, the whole meeting on its first joiner's best region. **Cascading**: \`placeParticipant\` per join, gainMs ${model.placement.gainMs}, maxNodes ${model.placement.maxNodes}, ${model.nodeCapacity} participants per node, ${model.nodesPerRegion} nodes per region. The model and its constants: bench/cascade-latency.ts, docs/cascade.md.`,
    '',
    'Per meeting (median and p95 over its ordered pairs; the cells are the median over the meetings of the class, the shares count meetings):',
    '',
    '| mix | meetings | count | one node median ms | cascading median ms | median lower by | median ≥ 30 % lower | median higher | one node p95 ms | cascading p95 ms | p95 lower by | nodes per meeting | on > 1 node |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
    ...rowsOf(perMeetingRow),
    '',
    'Every ordered pair of the class pooled (a meeting of 150 weighs 22,350 pairs, one of 3 weighs 6):',
    '',
    '| mix | meetings | one node median ms | cascading median ms | median lower by | one node p95 ms | cascading p95 ms | p95 lower by | pairs > 10 ms slower |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- |',
    ...rowsOf(pooledRow),
    '',
    `Median ≥ 30 % lower for meetings that span continents: ${POPULATIONS.map(verdict).join('; ')}. Joins refused (\`full\`): ${fmt(refused)} at most in a seed.`,
    '',
    `**What any placement could do**, meetings that span continents, same meetings. *Own regions*: every participant on a node of their own best region (one node per region, no capacity or node limit), the relay's second node free or at ${model.nodeHopMs} ms like any node; *floor*: each pair on its best path through one node or two of any regions, one node's forwarding paid: no placement gives any pair less, so no placement's median is below it. Per meeting (the median over the meetings, as above) and all pairs pooled:`,
    '',
    '| mix | one node median ms | cascading median ms | lower by | own regions, relay free: median ms | lower by | own regions, relay 5 ms: median ms | lower by | floor median ms | lower by | median ≥ 30 % lower: cascading / own regions, relay free / floor | pooled median lower by: cascading / own regions, relay free / own regions, relay 5 ms / floor |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
    ...POPULATIONS.map((p) => boundRow(p, latency[p].spanning)),
    '',
    `Within reach of the 30 % target, meetings that span continents: ${POPULATIONS.map(reach).join('; ')}.`,
    '',
    'Why a spanning meeting\'s median rises with cascading (shares of the mix\'s spanning meetings, same meetings):',
    '',
    '| mix | median higher | of which 2–8 participants | still higher with the relay\'s node free | still > 1 ms higher with it free | median higher for own regions, relay 5 ms, too |',
    '| --- | --- | --- | --- | --- | --- |',
    ...POPULATIONS.map((p) => {
      const l = latency[p].spanning;
      return `| ${p} | ${pct(l.worseMedianShare)} | ${pct(l.worseSmallShare)} | ${pct(l.worseFreeRelayShare)} | ${pct(l.worseFreeRelayBy1Share)} | ${pct(l.worseIdealShare)} |`;
    }),
    '',
    'The gain threshold (`cascade.gainMs`), meetings that span continents, per meeting as above (same meetings):',
    '',
    `| gainMs ${sweepHead[0]}`,
    sweepHead[1],
    ...sweepRows(gainSweep),
    '',
    'The forwarding time per node passed (the relay costs cascading one more node on a pair between nodes), same meetings:',
    '',
    `| ms per node ${sweepHead[0]}`,
    sweepHead[1],
    ...sweepRows(hopSweep),
    '',
    `The cap on a meeting's nodes (\`cascade.maxNodesPerMeeting\`; with ${model.nodeCapacity} participants per node a big meeting's home fills, and once the cap is reached its later joiners from the home's region go to another region's node), same meetings:`,
    '',
    `| maxNodes ${sweepHead[0]}`,
    sweepHead[1],
    ...sweepRows(maxNodesSweep),
    '',
    capacity ? capacity.markdown : '### Capacity\n\nNot measured in this run (`CASCADE_BENCH_CAPACITY=0`).',
  ].join('\n');
  return { seeds, meetingsPerSeed, model, latency, gainSweep, hopSweep, maxNodesSweep, capacity, markdown };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const r = await benchCascade();
  process.stdout.write(`${r.markdown}\n`);
}
