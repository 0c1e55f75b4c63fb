/**
 * What an autoscaler reads and writes in the rest of the control plane, as a port: the
 * broker implementation below, and fakes in tests and the benchmark's simulation.
 */
import { Actions, MeridianError, type Region } from '../../contracts/index.js';
import { call, type Caller } from '../../fabric/index.js';

export interface RegionControlPlane {
  /** The region with its nodes (load, status, health); undefined once it was removed. */
  region(regionId: string): Promise<Region | undefined>;
  /** Live meetings per node id, from the meeting placements. */
  liveByNode(regionId: string): Promise<Map<string, number>>;
  /** Stops (or resumes) new meetings on a node. */
  cordon(nodeId: string, cordoned: boolean): Promise<void>;
  /** Removes a stopped node from the registry. */
  deregister(nodeId: string): Promise<void>;
  /** Moves the node's live meetings elsewhere now (their participants reconnect); resolves with how many moved. */
  migrateNode?(nodeId: string): Promise<number>;
}

/** The control plane reached through the broker (`regions.*`, `rooms.liveByNode`). */
export function brokerControlPlane(broker: Caller): RegionControlPlane {
  return {
    async region(regionId) {
      try {
        return await call(broker, Actions.regions.get, { id: regionId });
      } catch (err) {
        if (err instanceof MeridianError && err.code === 'REGION_NOT_FOUND') return undefined;
        throw err;
      }
    },
    async liveByNode(regionId) {
      const r = await call(broker, Actions.rooms.liveByNode, { id: regionId });
      return new Map(r.nodes.map((n) => [n.nodeId, n.meetings]));
    },
    async cordon(nodeId, cordoned) {
      await call(broker, Actions.regions.cordonNode, { nodeId, cordoned });
    },
    async deregister(nodeId) {
      await call(broker, Actions.regions.deregisterNode, { nodeId });
    },
    async migrateNode(nodeId) {
      return (await call(broker, Actions.rooms.migrate, { nodeId, reason: 'rebalance' })).migrated;
    },
  };
}
