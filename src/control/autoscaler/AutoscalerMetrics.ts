/**
 * Prometheus metrics of the autoscalers of one process, in a registry of their own (like
 * the gateway's). Read them through the `autoscaler.metrics` action, on the probe port of a
 * distributed `autoscaler` role (`/metrics`), or merge {@link AutoscalerMetrics.registry}
 * into another registry with prom-client's `Registry.merge`.
 */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { ScaledNodePhase } from '../../contracts/index.js';
import type { AutoscalerObserver } from './RegionAutoscaler.js';

export class AutoscalerMetrics implements AutoscalerObserver {
  readonly registry = new Registry();
  readonly #decisions: Counter<'region' | 'action' | 'driver'>;
  readonly #nodes: Gauge<'region' | 'phase'>;
  readonly #desired: Gauge<'region'>;
  readonly #forecast: Gauge<'region'>;
  readonly #participants: Gauge<'region'>;
  readonly #meetings: Gauge<'region'>;
  readonly #scheduled: Gauge<'region'>;
  readonly #ready: Histogram<'region'>;
  readonly #drain: Histogram<'region'>;

  constructor() {
    const registers = [this.registry];
    this.#decisions = new Counter({
      name: 'meridian_autoscaler_decisions_total',
      help: 'Scaling decisions by region, action (scale-up, scale-down, reactivate, hold, node-ready, drained, node-lost, start-failed) and what drove them',
      labelNames: ['region', 'action', 'driver'],
      registers,
    });
    this.#nodes = new Gauge({ name: 'meridian_autoscaler_nodes', help: 'Nodes managed by the autoscaler, by phase (starting, ready, draining, stopping)', labelNames: ['region', 'phase'], registers });
    this.#desired = new Gauge({ name: 'meridian_autoscaler_desired_nodes', help: 'Nodes the region should have after the last sync (within min/max)', labelNames: ['region'], registers });
    this.#forecast = new Gauge({ name: 'meridian_autoscaler_forecast_participants', help: 'Participants the policy planned for at the last sync', labelNames: ['region'], registers });
    this.#participants = new Gauge({ name: 'meridian_autoscaler_participants', help: 'Participants on the region\'s healthy nodes at the last sync', labelNames: ['region'], registers });
    this.#meetings = new Gauge({ name: 'meridian_autoscaler_live_meetings', help: 'Live meetings placed in the region at the last sync', labelNames: ['region'], registers });
    this.#scheduled = new Gauge({ name: 'meridian_autoscaler_scheduled_participants', help: 'Participants of announced meetings not over yet', labelNames: ['region'], registers });
    this.#ready = new Histogram({
      name: 'meridian_autoscaler_node_ready_seconds',
      help: 'Time from starting a node to its first healthy heartbeat',
      labelNames: ['region'],
      buckets: [1, 2, 5, 10, 20, 30, 45, 60, 90, 120, 300],
      registers,
    });
    this.#drain = new Histogram({
      name: 'meridian_autoscaler_drain_seconds',
      help: 'Time from cordoning a node to stopping it (its meetings ended)',
      labelNames: ['region'],
      buckets: [1, 10, 30, 60, 300, 600, 1800, 3600, 7200, 14400],
      registers,
    });
  }

  decision(region: string, action: string, driver: string): void {
    this.#decisions.inc({ region, action, driver });
  }

  sample(region: string, s: { desired: number; forecast: number; participants: number; liveMeetings: number; nodes: Record<ScaledNodePhase, number>; scheduledParticipants: number }): void {
    this.#desired.set({ region }, s.desired);
    this.#forecast.set({ region }, Math.round(s.forecast));
    this.#participants.set({ region }, s.participants);
    this.#meetings.set({ region }, s.liveMeetings);
    this.#scheduled.set({ region }, s.scheduledParticipants);
    for (const [phase, n] of Object.entries(s.nodes)) this.#nodes.set({ region, phase }, n);
  }

  nodeReady(region: string, seconds: number): void {
    this.#ready.observe({ region }, seconds);
  }

  nodeDrained(region: string, seconds: number): void {
    this.#drain.observe({ region }, seconds);
  }

  /** Forgets a region's series (its autoscaler stopped). */
  forget(region: string): void {
    for (const m of [this.#nodes, this.#desired, this.#forecast, this.#participants, this.#meetings, this.#scheduled]) m.remove({ region } as never);
    for (const phase of ['starting', 'ready', 'draining', 'stopping']) this.#nodes.remove({ region, phase });
  }

  /** The Prometheus text exposition. */
  async render(): Promise<{ contentType: string; text: string }> {
    return { contentType: this.registry.contentType, text: await this.registry.metrics() };
  }
}
