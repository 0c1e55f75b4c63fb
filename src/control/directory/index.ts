/**
 * The registry's in-memory view, held by the region provider and the room manager, and the
 * one way it is kept in step ({@link DirectorySync}: registry events, a periodic reload,
 * background retries at start-up).
 */
export { RegionDirectory, type RegionDirectoryOptions } from './RegionDirectory.js';
export { DirectorySync, DIRECTORY_RESYNC_MS, registryLoader, type DirectorySyncOptions, type DirectoryEventHooks, type TimerApi } from './DirectorySync.js';
