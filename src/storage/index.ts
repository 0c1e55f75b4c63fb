/** Storage: the one schema, its migrations, and the factory that opens PGlite or PostgreSQL. */
export { createDatabase, migrate, type DatabaseHandle, type DatabaseOptions } from './createDatabase.js';
export type { Database } from './schema.js';
export { toStorageError, withStorageErrors } from './errors.js';
export { EmbeddedMaintenance, type EmbeddedMaintenanceOptions } from './EmbeddedMaintenance.js';
