/**
 * Keeps a {@link RegionDirectory} in step with the registry: loads it through
 * `regions.list`, applies the registry's events, and resynchronises periodically in case an
 * event was missed (e.g. while the transporter reconnected).
 */
import type { ServiceBroker } from 'moleculer';
import { Actions, Events, type EventMap } from '../../contracts/index.js';
import { call } from '../../fabric/index.js';
import { RegionDirectory } from './RegionDirectory.js';

/** Event handlers to merge into a service schema's `events`. */
export function directoryEventHandlers(dir: RegionDirectory, resync: () => Promise<void>) {
  return {
    [Events.regionsChanged]: {
      handler(ctx: { params: EventMap['regions.changed'] }) {
        applyRegionChange(dir, ctx.params);
      },
    },
    [Events.nodeUpdated]: {
      handler(ctx: { params: EventMap['regions.nodeUpdated'] }) {
        // A node of a region we have not heard of yet: our view is behind, reload it.
        if (!dir.upsertNode(ctx.params.node)) void resync().catch(() => {});
      },
    },
    [Events.nodeRemoved]: {
      handler(ctx: { params: EventMap['regions.nodeRemoved'] }) {
        dir.removeNode(ctx.params.nodeId);
      },
    },
  };
}

/** Applies a `regions.changed` event to the directory. */
export function applyRegionChange(dir: RegionDirectory, ev: EventMap['regions.changed']): void {
  if (ev.region) dir.upsertRegion(ev.region);
  else dir.removeRegion(ev.regionId);
}

/** Loads the directory from the registry; returns a function that reloads it. */
export function directoryLoader(broker: ServiceBroker, dir: RegionDirectory): () => Promise<void> {
  let inflight: Promise<void> | undefined;
  return () =>
    (inflight ??= call(broker, Actions.regions.list, {})
      .then((r) => dir.replaceAll(r.regions))
      .finally(() => {
        inflight = undefined;
      }));
}
