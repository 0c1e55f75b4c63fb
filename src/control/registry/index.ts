/**
 * Region registry: owns the `regions` and `nodes` tables. Must not touch meetings (it asks
 * the room manager through its actions).
 */
export { createRegionsService, type RegionsServiceDeps } from './regions.service.js';
export { RegionStore } from './RegionStore.js';
