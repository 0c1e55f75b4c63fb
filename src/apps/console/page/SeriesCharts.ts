/**
 * The last hour per region, as three uPlot charts (joins/s, participants, healthy nodes),
 * one line per region. Fed once from `/console/api/series`, then one point per region with
 * each live update (the snapshot's newest sample).
 */
import uPlot from 'uplot';

/** One sample of one region (as the server sends it). */
export interface Sample {
  readonly at: number;
  readonly joinsPerSec: number;
  readonly participants: number;
  readonly nodes: number;
}

type Metric = 'joinsPerSec' | 'participants' | 'nodes';
const METRICS: ReadonlyArray<{ key: Metric; el: string }> = [
  { key: 'joinsPerSec', el: 'chart-joins' },
  { key: 'participants', el: 'chart-participants' },
  { key: 'nodes', el: 'chart-nodes' },
];
const COLOURS = ['#2f6fde', '#1f9d55', '#d98a00', '#c62828', '#7b3fe4', '#00897b', '#6d4c41', '#ad1457'];
const HOUR_MS = 3_600_000;

export class SeriesCharts {
  /** Per region: samples by time. */
  readonly #data = new Map<string, Sample[]>();
  readonly #charts = new Map<Metric, uPlot>();
  #regionIds: string[] = [];

  /** Replaces all data (the initial load). */
  load(regions: Record<string, Sample[]>): void {
    this.#data.clear();
    for (const [id, samples] of Object.entries(regions)) this.#data.set(id, [...samples]);
    this.#redraw(true);
  }

  /** Adds the newest sample of each region (ignored when already there). */
  add(latest: Record<string, Sample>): void {
    let changed = false;
    for (const [id, s] of Object.entries(latest)) {
      const list = this.#data.get(id) ?? [];
      if (list.at(-1)?.at === s.at) continue;
      list.push(s);
      const cut = s.at - HOUR_MS;
      while (list.length && list[0]!.at < cut) list.shift();
      this.#data.set(id, list);
      changed = true;
    }
    if (changed) this.#redraw(false);
  }

  #redraw(force: boolean): void {
    const ids = [...this.#data.keys()].sort();
    const rebuild = force || ids.join() !== this.#regionIds.join();
    this.#regionIds = ids;
    // One shared time axis: the union of every region's sample times (seconds for uPlot).
    const times = [...new Set(ids.flatMap((id) => this.#data.get(id)!.map((s) => s.at)))].sort((a, b) => a - b);
    for (const m of METRICS) {
      const columns = ids.map((id) => {
        const byAt = new Map(this.#data.get(id)!.map((s) => [s.at, s[m.key]]));
        return times.map((t) => byAt.get(t) ?? null);
      });
      const data = [times.map((t) => t / 1000), ...columns] as uPlot.AlignedData;
      const existing = this.#charts.get(m.key);
      if (existing && !rebuild) {
        existing.setData(data);
        continue;
      }
      existing?.destroy();
      const host = document.getElementById(m.el)!;
      host.replaceChildren();
      const chart = new uPlot(
        {
          width: Math.max(240, host.clientWidth),
          height: 170,
          series: [{}, ...ids.map((id, i) => ({ label: id, stroke: COLOURS[i % COLOURS.length]!, width: 2, spanGaps: true }))],
          axes: [{ stroke: 'currentColor' }, { stroke: 'currentColor', size: 44 }],
          scales: { x: { time: true }, y: { range: (_u, min, max) => [0, Math.max(m.key === 'joinsPerSec' ? 1 : 2, max * 1.15, min)] } },
          legend: { live: false },
          cursor: { drag: { x: false, y: false } },
        },
        data,
        host,
      );
      this.#charts.set(m.key, chart);
    }
  }

  /** Follows the width of the page. */
  resize(): void {
    for (const m of METRICS) {
      const host = document.getElementById(m.el)!;
      this.#charts.get(m.key)?.setSize({ width: Math.max(240, host.clientWidth), height: 170 });
    }
  }
}
