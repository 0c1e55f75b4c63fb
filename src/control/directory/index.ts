/** The registry's in-memory view, shared by the region provider and the room manager. */
export { RegionDirectory, type RegionDirectoryOptions } from './RegionDirectory.js';
export { directoryEventHandlers, directoryLoader, applyRegionChange } from './attachDirectory.js';
